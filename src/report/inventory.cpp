// Inventory sinks: text table, the JSON contract of docs/json.md, CycloneDX 1.5.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "report/report.h"

namespace mamori::report {

namespace {
nlohmann::json opt(const std::optional<std::string>& s) {
  return s ? nlohmann::json(valid_utf8(*s)) : nlohmann::json();
}
}  // namespace

std::string render_inventory_text(const InventoryView& v) {
  std::string out = fmt::format("host {} — {}\n", sanitize(v.host), sanitize(v.os));
  size_t wn = 4, wv = 7;
  for (const auto& p : v.packages) {
    wn = std::max(wn, std::min<size_t>(p.name.size(), 48));
    wv = std::max(wv, std::min<size_t>(p.version.size(), 40));
  }
  out += fmt::format("{:<16} {:<{}} {:<{}} {:<8} {}\n", "ECOSYSTEM", "NAME", wn, "VERSION", wv,
                     "ARCH", "LOCATION");
  std::map<std::string, int> counts;
  for (const auto& p : v.packages) {
    std::string_view eco = ecosystem_name(p.ecosystem);
    ++counts[std::string(eco)];
    out += fmt::format("{:<16} {:<{}} {:<{}} {:<8} {}{}\n", eco, sanitize(p.name), wn,
                       sanitize(p.version), wv, sanitize(p.arch.value_or("-")),
                       sanitize(p.location), p.status == "installed" ? "" : " [" + p.status + "]");
  }
  std::string parts;
  for (const auto& [e, n] : counts)
    parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, e);
  out += fmt::format("{} packages ({})\n", v.packages.size(), parts.empty() ? "none" : parts);
  for (const auto& w : v.warnings) out += "warning: " + sanitize(w) + "\n";
  return out;
}

std::string render_inventory_json(const InventoryView& v) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& p : v.packages) {
    arr.push_back({{"ecosystem", ecosystem_name(p.ecosystem)},
                   {"name", valid_utf8(p.name)},
                   {"version", valid_utf8(p.version)},
                   {"arch", opt(p.arch)},
                   {"source_name", opt(p.source_name)},
                   {"source_version", opt(p.source_version)},
                   {"purl", valid_utf8(p.purl)},
                   {"location", valid_utf8(p.location)},
                   {"installed_at",
                    p.installed_at ? nlohmann::json(iso8601(*p.installed_at)) : nlohmann::json()},
                   {"status", p.status}});
  }
  nlohmann::json w = nlohmann::json::array();
  for (const auto& s : v.warnings) w.push_back(valid_utf8(s));
  nlohmann::json j = {{"host", valid_utf8(v.host)},
                      {"os", valid_utf8(v.os)},
                      {"packages", std::move(arr)},
                      {"warnings", std::move(w)}};
  return j.dump(2) + "\n";
}

std::string render_cyclonedx(const InventoryView& v, const std::string& serial_uuid,
                             const std::string& timestamp) {
  nlohmann::json comps = nlohmann::json::array();
  std::map<std::string, int> refs;
  std::vector<std::string> bom_refs;
  for (const auto& p : v.packages) {
    std::string ref = valid_utf8(p.purl);
    int n = refs[ref]++;
    if (n > 0) ref += fmt::format("#{}", n);  // the same package in two lockfiles
    bom_refs.push_back(ref);
    nlohmann::json props = nlohmann::json::array(
        {{{"name", "mamori:ecosystem"}, {"value", ecosystem_name(p.ecosystem)}},
         {{"name", "mamori:location"}, {"value", valid_utf8(p.location)}}});
    if (p.source_name)
      props.push_back({{"name", "mamori:source_name"}, {"value", valid_utf8(*p.source_name)}});
    if (p.source_version)
      props.push_back(
          {{"name", "mamori:source_version"}, {"value", valid_utf8(*p.source_version)}});
    comps.push_back({{"type", is_wordpress(p.ecosystem) ? "application" : "library"},
                     {"bom-ref", ref},
                     {"name", valid_utf8(p.name)},
                     {"version", valid_utf8(p.version)},
                     {"purl", valid_utf8(p.purl)},
                     {"properties", std::move(props)}});
  }
  nlohmann::json j = {
      {"bomFormat", "CycloneDX"},
      {"specVersion", "1.5"},
      {"serialNumber", serial_uuid},
      {"version", 1},
      {"metadata",
       {{"timestamp", timestamp},
        {"tools",
         {{"components",
           nlohmann::json::array(
               {{{"type", "application"}, {"name", "mamori"}, {"version", v.tool_version}}})}}},
        {"component",
         {{"type", "operating-system"},
          {"name", valid_utf8(v.host)},
          {"description", valid_utf8(v.os)},
          {"bom-ref", "host:" + valid_utf8(v.host)}}}}},
      {"components", std::move(comps)}};
  if (!v.vulnerabilities.empty()) {
    // CycloneDX 1.5 vulnerabilities (VEX): each affects the components it was matched on.
    nlohmann::json vulns = nlohmann::json::array();
    for (const auto& e : v.vulnerabilities) {
      nlohmann::json affects = nlohmann::json::array();
      for (size_t i : e.affects)
        if (i < v.packages.size())
          affects.push_back(
              {{"ref", bom_refs[i]},
               {"versions", nlohmann::json::array({{{"version", valid_utf8(v.packages[i].version)},
                                                    {"status", "affected"}}})}});
      nlohmann::json x = {
          {"bom-ref", "vuln:" + e.id + ":" + std::to_string(vulns.size())},
          {"id", e.id},
          {"description", valid_utf8(e.description)},
          {"recommendation", valid_utf8(e.recommendation)},
          {"affects", std::move(affects)},
          {"analysis",
           {{"state", e.known_exploited ? "exploitable" : "in_triage"},
            {"detail", valid_utf8(e.tier_reason)}}},
          {"properties", nlohmann::json::array({{{"name", "mamori:tier"}, {"value", e.tier}}})}};
      if (e.id.starts_with("CVE-"))
        x["source"] = {{"name", "NVD"}, {"url", "https://nvd.nist.gov/vuln/detail/" + e.id}};
      nlohmann::json refs_j = nlohmann::json::array();
      for (const auto& r : e.references)
        if (r != e.id && r.find("://") == std::string::npos)
          refs_j.push_back({{"id", valid_utf8(r)}, {"source", {{"name", "OSV"}}}});
      if (!refs_j.empty()) x["references"] = std::move(refs_j);
      nlohmann::json rating = {{"severity", e.severity == "info" ? "info" : e.severity}};
      if (e.cvss >= 0) {
        rating["score"] = e.cvss;
        rating["method"] = "CVSSv31";
      }
      x["ratings"] = nlohmann::json::array({rating});
      vulns.push_back(std::move(x));
    }
    j["vulnerabilities"] = std::move(vulns);
  }
  return j.dump(2) + "\n";
}

}  // namespace mamori::report
