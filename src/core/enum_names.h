// One table names the values of an enum: the name written to output and the parse of input
// come from the same place, so they cannot disagree. A switch per direction used to say it twice.
//
//   constexpr Named<Tier> kTierNames[] = {{Tier::kPatchNow, "patch-now"}, ...};
//   static_assert(names_cover(kTierNames, Tier::kRoutine));   // every value 0..last, once
//   name_in(kTierNames, t, "routine");  parse_in(kTierNames, "patch-now");
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace mamori {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

// True when the table names each value from 0 to `last` exactly once and nothing else: the
// compile-time stand-in for the exhaustiveness warning a switch would give.
template <typename E, size_t N>
constexpr bool names_cover(const Named<E> (&table)[N], E last) {
  if (N != static_cast<size_t>(last) + 1) return false;
  for (size_t v = 0; v < N; ++v) {
    size_t seen = 0;
    for (const auto& n : table) seen += static_cast<size_t>(n.value) == v;
    if (seen != 1) return false;
  }
  return true;
}

template <typename E, size_t N>
constexpr std::string_view name_in(const Named<E> (&table)[N], E value,
                                   std::string_view otherwise) {
  for (const auto& n : table)
    if (n.value == value) return n.name;
  return otherwise;
}

template <typename E, size_t N>
constexpr std::optional<E> parse_in(const Named<E> (&table)[N], std::string_view name) {
  for (const auto& n : table)
    if (n.name == name) return n.value;
  return std::nullopt;
}

}  // namespace mamori
