#include "core/finding.h"

#include "core/hash.h"
#include "core/text.h"

namespace mamori {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "info";
}

Result<Severity> parse_severity(std::string_view s) {
  std::string l = to_lower(s);
  if (l == "info") return Severity::kInfo;
  if (l == "low") return Severity::kLow;
  if (l == "medium") return Severity::kMedium;
  if (l == "high") return Severity::kHigh;
  if (l == "critical") return Severity::kCritical;
  return Error::invalid("unknown severity '" + std::string(s) +
                        "' (expected critical, high, medium, low or info)");
}

std::string_view state_name(FindingState s) {
  switch (s) {
    case FindingState::kNew:
      return "new";
    case FindingState::kOpen:
      return "open";
    case FindingState::kFixed:
      return "fixed";
    case FindingState::kAccepted:
      return "accepted";
  }
  return "new";
}

Result<FindingState> parse_state(std::string_view s) {
  if (s == "new") return FindingState::kNew;
  if (s == "open") return FindingState::kOpen;
  if (s == "fixed") return FindingState::kFixed;
  if (s == "accepted") return FindingState::kAccepted;
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
