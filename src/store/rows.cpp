// Rows of the store as values (rows.h).
#include "store/rows.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace mamori::store {

std::string refs_json(const std::vector<std::string>& refs) { return nlohmann::json(refs).dump(); }

std::vector<std::string> refs_from_json(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

std::string facts_json(const std::map<std::string, std::string>& facts) {
  return nlohmann::json(facts).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::map<std::string, std::string> facts_from_json(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  std::map<std::string, std::string> out;
  if (j.is_object())
    for (const auto& [k, v] : j.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

Finding finding_from_row(const Row& r) {
  Finding f;
  f.fingerprint = as_text(r[kFpCol]);
  f.module = as_text(r[kModuleCol]);
  f.check = as_text(r[kCheckCol]);
  int64_t sev = as_int(r[kSeverityCol]);
  f.severity = static_cast<Severity>(sev < 0 || sev > 4 ? 0 : sev);
  f.asset = as_text(r[kAssetCol]);
  f.title = as_text(r[kTitleCol]);
  f.evidence = as_text(r[kEvidenceCol]);
  f.remediation = as_text(r[kRemediationCol]);
  f.references = refs_from_json(as_text(r[kRefsCol]));
  auto st = parse_state(as_text(r[kStateCol]));
  f.state = st ? *st : FindingState::kOpen;
  f.first_seen = as_int(r[kFirstSeenCol]);
  f.last_seen = as_int(r[kLastSeenCol]);
  if (r[kFixedAtCol]) f.fixed_at = as_int(r[kFixedAtCol]);
  f.tier = as_text(r[kTierCol]);
  f.tier_reason = as_text(r[kTierReasonCol]);
  f.priority = r[kPriorityCol] ? std::strtod(r[kPriorityCol]->c_str(), nullptr) : 0.0;
  f.fixed_version = as_text(r[kFixedVersionCol]);
  f.facts = facts_from_json(as_text(r[kFactsCol]));
  return f;
}

ScanRecord scan_from_row(const Row& r) {
  ScanRecord s;
  s.id = as_int(r[kIdCol]);
  s.host = as_text(r[kHostCol]);
  s.scope = as_text(r[kScopeCol]);
  s.started_at = as_int(r[kStartedCol]);
  s.finished_at = as_int(r[kFinishedCol]);
  s.tool_version = as_text(r[kToolCol]);
  s.os = as_text(r[kOsCol]);
  s.package_count = as_int(r[kPackagesCol]);
  s.finding_count = as_int(r[kFindingsCol]);
  return s;
}

Result<Package> package_from_row(const Row& r) {
  Package p;
  std::string eco = as_text(r[kEcosystemCol]);
  auto e = parse_ecosystem(eco);
  if (!e)
    return Error::data_loss("stored package with an unknown ecosystem '" + sanitize(eco) + "'");
  p.ecosystem = *e;
  p.name = as_text(r[kNameCol]);
  p.version = as_text(r[kVersionCol]);
  p.arch = r[kArchCol];
  p.source_name = r[kSourceNameCol];
  p.source_version = r[kSourceVersionCol];
  p.purl = as_text(r[kPurlCol]);
  p.location = as_text(r[kLocationCol]);
  if (r[kInstalledAtCol]) p.installed_at = as_int(r[kInstalledAtCol]);
  p.status = as_text(r[kStatusCol]);
  return p;
}

}  // namespace mamori::store
