// JSON sink: the contract documented in docs/json.md.
#include <algorithm>
#include <set>

#include "core/owners.h"
#include "core/text.h"
#include "report/common.h"

namespace mamori::report {

Result<Format> parse_format(std::string_view s) {
  if (s == "text") return Format::kText;
  if (s == "json") return Format::kJson;
  if (s == "sarif") return Format::kSarif;
  if (s == "html") return Format::kHtml;
  return Error::invalid("unknown format '" + std::string(s) +
                        "' (expected text, json, sarif or html)");
}

std::vector<const Finding*> fix_first(const Report& r, size_t limit) {
  std::vector<const Finding*> v;
  for (const auto& f : r.findings)
    if (f.state != FindingState::kFixed && f.state != FindingState::kAccepted && !f.tier.empty())
      v.push_back(&f);
  std::stable_sort(v.begin(), v.end(),
                   [](const Finding* a, const Finding* b) { return a->priority > b->priority; });
  if (v.size() > limit) v.resize(limit);
  return v;
}

std::vector<std::string> unassigned_assets(const Report& r) {
  std::set<std::string> s;
  for (const auto& f : r.findings)
    if (active(f) && f.owner.empty()) s.insert(f.asset);
  return {s.begin(), s.end()};
}

nlohmann::json summary_json(const Report& r) {
  nlohmann::json by_sev = nlohmann::json::object(), by_state = nlohmann::json::object();
  for (auto s :
       {Severity::kCritical, Severity::kHigh, Severity::kMedium, Severity::kLow, Severity::kInfo})
    by_sev[std::string(severity_name(s))] = 0;
  for (auto s :
       {FindingState::kNew, FindingState::kOpen, FindingState::kFixed, FindingState::kAccepted})
    by_state[std::string(state_name(s))] = 0;
  int active_count = 0;
  for (const auto& f : r.findings) {
    by_state[std::string(state_name(f.state))] =
        by_state[std::string(state_name(f.state))].get<int>() + 1;
    if (!active(f)) continue;
    ++active_count;
    by_sev[std::string(severity_name(f.severity))] =
        by_sev[std::string(severity_name(f.severity))].get<int>() + 1;
  }
  nlohmann::json j;
  j["active"] = active_count;
  j["by_severity"] = by_sev;
  j["by_state"] = by_state;
  j["unassigned_assets"] = unassigned_assets(r);
  nlohmann::json ff = nlohmann::json::array();
  for (const Finding* f : fix_first(r, 10)) ff.push_back(f->fingerprint);
  j["fix_first"] = std::move(ff);
  nlohmann::json pk = nlohmann::json::object();
  int64_t total = 0;
  for (const auto& [eco, n] : r.packages) {
    pk[eco] = n;
    total += n;
  }
  j["packages"] = {{"total", total}, {"by_ecosystem", pk}};
  return j;
}

nlohmann::json finding_json(const Finding& f) {
  nlohmann::json j;
  j["fingerprint"] = valid_utf8(f.fingerprint);
  j["module"] = valid_utf8(f.module);
  j["check"] = valid_utf8(f.check);
  j["severity"] = severity_name(f.severity);
  j["state"] = state_name(f.state);
  j["asset"] = valid_utf8(f.asset);
  j["title"] = valid_utf8(f.title);
  j["evidence"] = valid_utf8(f.evidence);
  j["remediation"] = valid_utf8(f.remediation);
  j["references"] = valid_utf8_all(f.references);
  j["owner"] = valid_utf8(owner_or_unassigned(f));
  j["first_seen"] = f.first_seen ? nlohmann::json(iso8601(f.first_seen)) : nlohmann::json();
  j["last_seen"] = f.last_seen ? nlohmann::json(iso8601(f.last_seen)) : nlohmann::json();
  j["fixed_at"] = f.fixed_at ? nlohmann::json(iso8601(*f.fixed_at)) : nlohmann::json();
  j["priority"] =
      f.tier.empty()
          ? nlohmann::json()
          : nlohmann::json{{"tier", valid_utf8(f.tier)},
                           {"reasons", valid_utf8(f.tier_reason)},
                           {"score", f.priority},
                           {"fixed_version", f.fixed_version.empty()
                                                 ? nlohmann::json()
                                                 : nlohmann::json(valid_utf8(f.fixed_version))}};
  j["accepted_reason"] =
      f.accepted_reason.empty() ? nlohmann::json() : nlohmann::json(valid_utf8(f.accepted_reason));
  if (!f.facts.empty()) {  // only findings that have them (fim watch's writer)
    nlohmann::json facts = nlohmann::json::object();
    for (const auto& [k, v] : f.facts) facts[valid_utf8(k)] = valid_utf8(v);
    j["facts"] = std::move(facts);
  }
  return j;
}

std::string render_finding_json_line(const Finding& f, std::string_view host) {
  nlohmann::json j = finding_json(f);
  j["host"] = valid_utf8(host);
  return j.dump() + "\n";
}

std::string render_json(const Report& r) {
  nlohmann::json j;
  j["host"] = valid_utf8(r.host);
  if (r.scan) {
    j["scan"] = {{"id", r.scan->id},
                 {"scope", r.scan->scope},
                 {"started_at", iso8601(r.scan->started_at)},
                 {"finished_at", iso8601(r.scan->finished_at)},
                 {"os", valid_utf8(r.scan->os)},
                 {"package_count", r.scan->package_count},
                 {"tool_version", r.tool_version}};
  } else {
    j["scan"] = nullptr;
  }
  j["summary"] = summary_json(r);
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : r.findings) arr.push_back(finding_json(f));
  j["findings"] = std::move(arr);
  nlohmann::json w = nlohmann::json::array();
  for (const auto& s : r.warnings) w.push_back(valid_utf8(s));
  j["warnings"] = std::move(w);
  return j.dump(2) + "\n";
}

std::string render(const Report& r, Format f, bool color) {
  switch (f) {
    case Format::kText:
      return render_text(r, color);
    case Format::kJson:
      return render_json(r);
    case Format::kSarif:
      return render_sarif(r);
    case Format::kHtml:
      return render_html(r);
  }
  return render_text(r, color);
}

}  // namespace mamori::report
