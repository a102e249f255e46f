#pragma once
// Rows of the store as values (internal to the store): the columns read for a finding and a
// scan, each position named, and the conversions.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/finding.h"
#include "store/db.h"
#include "store/store.h"

namespace mamori::store {

// The columns read for a finding (table alias f), in the order of FindingCol; a query may
// select more after them, from kFindingExtra on.
inline constexpr const char* kFindingCols =
    "f.fingerprint, f.module, f.check_id, f.severity, f.asset, f.title, f.evidence, "
    "f.remediation, f.refs, f.state, f.first_seen, f.last_seen, f.fixed_at, f.tier, "
    "f.tier_reason, f.priority, f.fixed_version, f.facts";
enum FindingCol : size_t {
  kFpCol,
  kModuleCol,
  kCheckCol,
  kSeverityCol,
  kAssetCol,
  kTitleCol,
  kEvidenceCol,
  kRemediationCol,
  kRefsCol,
  kStateCol,
  kFirstSeenCol,
  kLastSeenCol,
  kFixedAtCol,
  kTierCol,
  kTierReasonCol,
  kPriorityCol,
  kFixedVersionCol,
  kFactsCol,
  kFindingExtra  // the first column a query selects after these
};

inline constexpr const char* kScanCols =
    "id, host, scope, started_at, finished_at, tool_version, os, package_count, finding_count";
enum ScanCol : size_t {
  kIdCol,
  kHostCol,
  kScopeCol,
  kStartedCol,
  kFinishedCol,
  kToolCol,
  kOsCol,
  kPackagesCol,
  kFindingsCol,
  kScanColCount
};

inline constexpr const char* kPackageCols =
    "ecosystem, name, version, arch, source_name, source_version, purl, location, installed_at, "
    "status";
enum PackageCol : size_t {
  kEcosystemCol,
  kNameCol,
  kVersionCol,
  kArchCol,
  kSourceNameCol,
  kSourceVersionCol,
  kPurlCol,
  kLocationCol,
  kInstalledAtCol,
  kStatusCol,
  kPackageColCount
};

// The list and the names cannot drift apart: one name per comma-separated column.
constexpr size_t count_columns(const char* s) {
  size_t n = 1;
  for (; *s; ++s) n += *s == ',';
  return n;
}
static_assert(count_columns(kFindingCols) == kFindingExtra);
static_assert(count_columns(kScanCols) == kScanColCount);
static_assert(count_columns(kPackageCols) == kPackageColCount);

std::string refs_json(const std::vector<std::string>& refs);
std::vector<std::string> refs_from_json(const std::string& s);
std::string facts_json(const std::map<std::string, std::string>& facts);
std::map<std::string, std::string> facts_from_json(const std::string& s);
Finding finding_from_row(const Row& r);
ScanRecord scan_from_row(const Row& r);
// A row whose ecosystem this version does not know is an error (a newer writer, or a damaged
// store).
Result<Package> package_from_row(const Row& r);

}  // namespace mamori::store
