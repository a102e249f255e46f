#include "core/owners.h"

#include "core/text.h"

namespace mamori {

std::string resolve_owner(const std::vector<OwnerRule>& rules, std::string_view asset) {
  const OwnerRule* best = nullptr;
  for (const auto& r : rules) {
    if (!glob_match(r.pattern, asset)) continue;
    if (!best || r.pattern.size() > best->pattern.size() ||
        (r.pattern.size() == best->pattern.size() && r.pattern < best->pattern))
      best = &r;
  }
  return best ? best->owner : std::string();
}

}  // namespace mamori
