#include "core/finding.h"

#include "core/enum_names.h"
#include "core/hash.h"
#include "core/text.h"

namespace mamori {

namespace {

constexpr Named<Severity> kSeverityNames[] = {{Severity::kInfo, "info"},
                                              {Severity::kLow, "low"},
                                              {Severity::kMedium, "medium"},
                                              {Severity::kHigh, "high"},
                                              {Severity::kCritical, "critical"}};
static_assert(names_cover(kSeverityNames, Severity::kCritical));

constexpr Named<FindingState> kStateNames[] = {{FindingState::kNew, "new"},
                                               {FindingState::kOpen, "open"},
                                               {FindingState::kFixed, "fixed"},
                                               {FindingState::kAccepted, "accepted"}};
static_assert(names_cover(kStateNames, FindingState::kAccepted));

}  // namespace

std::string_view severity_name(Severity s) { return name_in(kSeverityNames, s, "info"); }

Result<Severity> parse_severity(std::string_view s) {
  if (auto v = parse_in(kSeverityNames, to_lower(s))) return *v;
  return Error::invalid("unknown severity '" + std::string(s) +
                        "' (expected critical, high, medium, low or info)");
}

std::string_view state_name(FindingState s) { return name_in(kStateNames, s, "new"); }

Result<FindingState> parse_state(std::string_view s) {
  if (auto v = parse_in(kStateNames, s)) return *v;
  return Error::invalid("unknown finding state '" + std::string(s) + "'");
}

std::string fingerprint(std::string_view module, std::string_view check, std::string_view asset) {
  std::string input;
  input.reserve(module.size() + check.size() + asset.size() + 2);
  input.append(module).push_back('\0');
  input.append(check).push_back('\0');
  input.append(asset);
  return sha256_hex(input).substr(0, 16);
}

void assign_fingerprint(Finding& f) { f.fingerprint = fingerprint(f.module, f.check, f.asset); }

bool fails_threshold(const Finding& f, Severity threshold) {
  if (f.state != FindingState::kNew && f.state != FindingState::kOpen) return false;
  return static_cast<int>(f.severity) >= static_cast<int>(threshold);
}

}  // namespace mamori
