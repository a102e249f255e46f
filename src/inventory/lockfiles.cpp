// Language lockfiles: composer.lock (Composer) and package-lock.json (npm,
// lockfileVersion 1, 2 and 3).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

namespace {

Result<nlohmann::json> parse_json(std::string_view text, std::string_view label) {
  // nlohmann reports positions only through exceptions; they stay inside this adapter.
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Error::invalid(fmt::format("{}: not valid JSON: {}", label, sanitize(e.what())));
  }
  if (!j.is_object())
    return Error::invalid(fmt::format("{}: top level is not a JSON object", label));
  return j;
}

std::string str_field(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

Result<std::vector<Package>> parse_composer_lock(std::string_view text, std::string_view label) {
  auto j = parse_json(text, label);
  if (!j) return j.error();
  std::vector<Package> out;
  bool any_section = false;
  for (const char* section : {"packages", "packages-dev"}) {
    auto it = j->find(section);
    if (it == j->end()) continue;
    any_section = true;
    if (!it->is_array())
      return Error::invalid(fmt::format("{}: '{}' is not an array", label, section));
    size_t idx = 0;
    for (const auto& e : *it) {
      if (!e.is_object())
        return Error::invalid(fmt::format("{}: {}[{}] is not an object", label, section, idx));
      std::string name = str_field(e, "name"), version = str_field(e, "version");
      if (name.empty() || version.empty())
        return Error::invalid(
            fmt::format("{}: {}[{}] has no name or version", label, section, idx));
      Package p;
      p.ecosystem = kComposer;
      p.name = to_lower(name);
      p.version = version;
      p.location = std::string(label);
      out.push_back(std::move(p));
      ++idx;
    }
  }
  if (!any_section)
    return Error::invalid(fmt::format("{}: no 'packages' array: not a composer.lock", label));
  return out;
}

namespace {
// lockfileVersion 1: nested "dependencies": {name: {version, dependencies}}.
Status walk_v1(const nlohmann::json& deps, std::string_view label, std::vector<Package>& out,
               int depth) {
  if (depth > 64) return Error::invalid(fmt::format("{}: dependencies nested too deeply", label));
  for (auto it = deps.begin(); it != deps.end(); ++it) {
    if (!it.value().is_object()) continue;
    std::string version = str_field(it.value(), "version");
    if (!version.empty() && version.find(':') == std::string::npos) {  // skip "file:", "git+…"
      Package p;
      p.ecosystem = kNpm;
      p.name = it.key();
      p.version = version;
      p.location = std::string(label);
      out.push_back(std::move(p));
    }
    auto sub = it.value().find("dependencies");
    if (sub != it.value().end() && sub->is_object())
      MAMORI_TRY(walk_v1(*sub, label, out, depth + 1), "package-lock");
  }
  return ok();
}
}  // namespace

Result<std::vector<Package>> parse_package_lock(std::string_view text, std::string_view label) {
  auto j = parse_json(text, label);
  if (!j) return j.error();
  std::vector<Package> out;
  auto pk = j->find("packages");
  if (pk != j->end()) {
    if (!pk->is_object())
      return Error::invalid(fmt::format("{}: 'packages' is not an object", label));
    for (auto it = pk->begin(); it != pk->end(); ++it) {
      const std::string& key = it.key();
      if (key.empty() || !it.value().is_object()) continue;  // "" is the project itself
      size_t nm = key.rfind("node_modules/");
      if (nm == std::string::npos) continue;  // workspace folders, not installed packages
      if (it.value().value("link", false)) continue;
      std::string name = key.substr(nm + 13);
      std::string version = str_field(it.value(), "version");
      if (name.empty() || version.empty()) continue;
      Package p;
      p.ecosystem = kNpm;
      p.name = name;
      p.version = version;
      p.location = std::string(label);
      out.push_back(std::move(p));
    }
    return out;
  }
  auto deps = j->find("dependencies");
  if (deps != j->end() && deps->is_object()) {
    MAMORI_TRY(walk_v1(*deps, label, out, 0), "package-lock");
    return out;
  }
  if (j->contains("lockfileVersion")) return out;  // a lockfile with no dependencies
  return Error::invalid(
      fmt::format("{}: neither 'packages' nor 'dependencies': not a package-lock.json", label));
}

}  // namespace mamori::inventory
