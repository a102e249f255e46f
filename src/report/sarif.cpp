// SARIF 2.1.0 sink (OASIS SARIF v2.1.0). One run, one rule per module/check;
// lifecycle as baselineState, acceptance as an external suppression.
#include <fmt/format.h>

#include <map>

#include "core/enum_names.h"
#include "core/text.h"
#include "report/common.h"

namespace mamori::report {

namespace {

const char* level(Severity s) {
  switch (s) {
    case Severity::kCritical:
    case Severity::kHigh:
      return "error";
    case Severity::kMedium:
      return "warning";
    default:
      return "note";
  }
}

// GitHub code scanning reads "security-severity" (CVSS-like 0.0–10.0).
constexpr Named<Severity> kSecuritySeverity[] = {{Severity::kInfo, "0.0"},
                                                 {Severity::kLow, "3.0"},
                                                 {Severity::kMedium, "5.5"},
                                                 {Severity::kHigh, "8.0"},
                                                 {Severity::kCritical, "9.5"}};
static_assert(names_cover(kSecuritySeverity, Severity::kCritical));

std::string_view security_severity(Severity s) { return name_in(kSecuritySeverity, s, "0.0"); }

const char* baseline(FindingState s) {
  switch (s) {
    case FindingState::kNew:
      return "new";
    case FindingState::kFixed:
      return "absent";
    default:
      return "unchanged";
  }
}

}  // namespace

std::string render_sarif(const Report& r) {
  using nlohmann::json;
  std::map<std::string, size_t> rule_index;
  json rules = json::array();
  json results = json::array();
  for (const auto& f : r.findings) {
    std::string id = valid_utf8(f.module + "/" + f.check);
    auto it = rule_index.find(id);
    if (it == rule_index.end()) {
      it = rule_index.emplace(id, rules.size()).first;
      json rule;
      rule["id"] = id;
      rule["name"] = valid_utf8(f.check);
      rule["shortDescription"] = {{"text", valid_utf8(f.module + ": " + f.check)}};
      rule["defaultConfiguration"] = {{"level", level(f.severity)}};
      rule["properties"] = {{"security-severity", security_severity(f.severity)},
                            {"tags", json::array({"security", valid_utf8(f.module)})}};
      rules.push_back(std::move(rule));
    }
    json res;
    res["ruleId"] = id;
    res["ruleIndex"] = it->second;
    res["level"] = level(f.severity);
    std::string text = valid_utf8(f.title);
    if (!f.evidence.empty()) text += "\nEvidence: " + valid_utf8(f.evidence);
    if (!f.remediation.empty()) text += "\nFix: " + valid_utf8(f.remediation);
    res["message"] = {{"text", text}};
    res["locations"] = json::array(
        {{{"logicalLocations",
           json::array({{{"fullyQualifiedName", valid_utf8(f.asset)}, {"kind", "resource"}}})}}});
    res["partialFingerprints"] = {{"mamoriFingerprint/v1", valid_utf8(f.fingerprint)}};
    res["baselineState"] = baseline(f.state);
    if (f.state == FindingState::kAccepted)
      res["suppressions"] = json::array({{{"kind", "external"},
                                          {"status", "accepted"},
                                          {"justification", valid_utf8(f.accepted_reason)}}});
    json props = {{"severity", severity_name(f.severity)},
                  {"state", state_name(f.state)},
                  {"owner", valid_utf8(owner_or_unassigned(f))},
                  {"asset", valid_utf8(f.asset)}};
    if (!f.references.empty()) props["references"] = valid_utf8_all(f.references);
    if (!f.tier.empty()) {
      props["tier"] = valid_utf8(f.tier);
      props["tier_reason"] = valid_utf8(f.tier_reason);
      if (!f.fixed_version.empty()) props["fixed_version"] = valid_utf8(f.fixed_version);
    }
    res["properties"] = std::move(props);
    results.push_back(std::move(res));
  }
  json driver = {{"name", "mamori"},
                 {"version", r.tool_version},
                 {"semanticVersion", r.tool_version},
                 {"rules", rules}};
  json invocation = {{"executionSuccessful", true}};
  if (r.scan) {
    invocation["startTimeUtc"] = iso8601(r.scan->started_at);
    invocation["endTimeUtc"] = iso8601(r.scan->finished_at);
  }
  invocation["machine"] = valid_utf8(r.host);
  json run = {{"tool", {{"driver", driver}}},
              {"invocations", json::array({invocation})},
              {"results", results},
              {"properties", {{"host", valid_utf8(r.host)}, {"summary", summary_json(r)}}}};
  if (r.scan)
    run["automationDetails"] = {
        {"id", fmt::format("{}/{}/{}", valid_utf8(r.host), r.scan->scope, r.scan->id)}};
  json doc = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", json::array({run})}};
  return doc.dump(2) + "\n";
}

}  // namespace mamori::report
