#pragma once
// Responsibility: who has to fix an asset. Owners are assigned to assets by glob
// patterns (core/text.h glob_match). When several patterns match, the longest
// (most specific) pattern wins; equal lengths resolve to the lexically smaller
// pattern so the answer never depends on insertion order.
//
// Example:
//   std::vector<OwnerRule> rules = {{"pkg:deb/*openssh*", "vendor-x"}, {"pkg:*", "ops"}};
//   resolve_owner(rules, "pkg:deb/debian/openssh-server?arch=amd64");  // "vendor-x"
//   resolve_owner(rules, "os:debian-12");                              // "" (unassigned)

#include <string>
#include <string_view>
#include <vector>

namespace mamori {

struct OwnerRule {
  std::string pattern;
  std::string owner;
};

inline constexpr const char* kUnassigned = "unassigned";

// The owner of an asset, or "" when no pattern matches.
std::string resolve_owner(const std::vector<OwnerRule>& rules, std::string_view asset);

}  // namespace mamori
