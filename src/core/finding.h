#pragma once
// Finding: the one currency every Mamori module produces. A finding names what
// is wrong (module + check), where (asset), why it matters (title, evidence) and
// what to do (remediation). Its fingerprint depends only on module, check and
// asset, so the store can tell whether the same problem is new, still open or
// fixed between two scans of a host.
//
// Example:
//   Finding f;
//   f.module = "inventory"; f.check = "os-end-of-support"; f.asset = "os:debian-9";
//   f.severity = Severity::kHigh;
//   f.title = "Debian 9 no longer receives security updates";
//   f.fingerprint = fingerprint(f.module, f.check, f.asset);

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori {

enum class Severity { kInfo = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };

std::string_view severity_name(Severity s);
Result<Severity> parse_severity(std::string_view s);

// Lifecycle state relative to the previous scan of the same host and scope.
enum class FindingState { kNew, kOpen, kFixed, kAccepted };
std::string_view state_name(FindingState s);
Result<FindingState> parse_state(std::string_view s);

struct Finding {
  std::string fingerprint;
  std::string module;
  std::string check;
  Severity severity = Severity::kInfo;
  std::string asset;
  std::string title;
  std::string evidence;
  std::string remediation;
  std::vector<std::string> references;  // CVE-…, CWE-…, URLs

  // Fix priority (vulnerability findings): tier "patch-now", "patch-this-week" or "routine",
  // the reasons in one line, a score that sorts findings (higher first), the version that
  // fixes it (empty: none known).
  std::string tier;
  std::string tier_reason;
  double priority = 0;
  std::string fixed_version;
  // Machine-readable facts the module vouches for, kept in the store (the text fields are for
  // people and may quote what an attacker chose): fim watch's writer ("writer_pid",
  // "writer_uid", "writer_exe", "writer_comm"), read back by `web incident`.
  std::map<std::string, std::string> facts;
  // Analyzer facts for exporters (CycloneDX VEX); not kept in the store.
  double cvss = -1;
  bool known_exploited = false;

  // Filled by the store / owners resolution, not by analyzers.
  FindingState state = FindingState::kNew;
  std::string owner;            // empty = unassigned
  std::string accepted_reason;  // non-empty when accepted
  int64_t first_seen = 0;       // unix seconds
  int64_t last_seen = 0;
  std::optional<int64_t> fixed_at;
};

// Stable id: first 16 hex digits of SHA-256(module NUL check NUL asset).
std::string fingerprint(std::string_view module, std::string_view check, std::string_view asset);

// Convenience: set f.fingerprint from its fields.
void assign_fingerprint(Finding& f);

// True when the finding counts against --fail-on: active (new/open), not accepted,
// at or above the threshold.
bool fails_threshold(const Finding& f, Severity threshold);

}  // namespace mamori
