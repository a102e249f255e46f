#pragma once
// Small text helpers the native detectors share (native.cpp, native_ssrf.cpp); internal.

#include <string>
#include <string_view>

#include "core/text.h"
#include "waf/transform.h"

namespace mamori::waf::native_text {

inline constexpr size_t npos = std::string_view::npos;

inline char lc(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
inline bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

// Case-insensitive search of an ASCII needle.
inline size_t ifind(std::string_view hay, std::string_view needle, size_t from = 0) {
  if (needle.empty() || hay.size() < needle.size()) return npos;
  const char first = lc(needle[0]);
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (lc(hay[i]) != first) continue;
    size_t k = 1;
    while (k < needle.size() && lc(hay[i + k]) == lc(needle[k])) ++k;
    if (k == needle.size()) return i;
  }
  return npos;
}
inline bool istarts(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}
inline size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}
// What a hit reports: at most 120 bytes from `at`.
inline std::string fragment(std::string_view v, size_t at, size_t len = 120) {
  return std::string(v.substr(at, len));
}

// f on the value, then — when there is anything to decode — on the value percent-decoded once
// more, as a client decoding twice would read it.
template <typename F>
auto with_decoded(std::string_view v, F f) -> decltype(f(v)) {
  if (auto r = f(v)) return r;
  if (v.find('%') == npos) return {};
  std::string d = url_decode(v, true);
  if (d == v) return {};
  return f(d);
}

}  // namespace mamori::waf::native_text
