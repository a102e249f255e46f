#pragma once
// Character classes of the version comparators (internal to vuln): ASCII only, never the
// locale's.

#include <string_view>

namespace mamori::vuln::version_chars {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
inline int sign(int v) { return (v > 0) - (v < 0); }
inline char at(std::string_view s, size_t i) { return i < s.size() ? s[i] : '\0'; }

// Compare two digit strings numerically (any length), ignoring leading zeros.
inline int cmp_digits(std::string_view a, std::string_view b) {
  while (!a.empty() && a.front() == '0') a.remove_prefix(1);
  while (!b.empty() && b.front() == '0') b.remove_prefix(1);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return sign(a.compare(b));
}

}  // namespace mamori::vuln::version_chars
