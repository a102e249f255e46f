#include "core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <vector>

namespace mamori {

namespace {
// ASCII case folding without the locale (std::tolower is a call per byte; the "C" locale, the
// only one Mamori runs in, folds exactly A–Z).
inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return s.substr(b, e - b);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

bool next_line(std::string_view text, size_t& pos, std::string_view& line) {
  if (pos >= text.size()) return false;
  size_t nl = text.find('\n', pos);
  if (nl == std::string_view::npos) nl = text.size();
  line = text.substr(pos, nl - pos);
  pos = nl + 1;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

namespace {
// Matches one class starting at pattern[pi] == '['; returns the index after ']' or npos when
// the class is unterminated (then '[' is literal).
size_t match_class(std::string_view p, size_t pi, char c, bool& matched) {
  size_t i = pi + 1;
  bool negate = false;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
    negate = true;
    ++i;
  }
  bool any = false;
  bool first = true;
  while (i < p.size() && (p[i] != ']' || first)) {
    first = false;
    char lo = p[i];
    char hi = lo;
    if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
      hi = p[i + 2];
      i += 3;
    } else {
      ++i;
    }
    if (c >= lo && c <= hi) any = true;
  }
  if (i >= p.size()) return std::string_view::npos;
  matched = any != negate;
  return i + 1;
}
}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size()) {
      char pc = p[pi];
      if (pc == '*') {
        star_p = pi++;
        star_t = ti;
        continue;
      }
      if (pc == '?') {
        ++pi;
        ++ti;
        continue;
      }
      if (pc == '[') {
        bool m = false;
        size_t next = match_class(p, pi, t[ti], m);
        if (next != std::string_view::npos) {
          if (m) {
            pi = next;
            ++ti;
            continue;
          }
        } else if (t[ti] == '[') {
          ++pi;
          ++ti;
          continue;
        }
      } else {
        if (pc == '\\' && pi + 1 < p.size()) pc = p[++pi];
        if (pc == t[ti]) {
          ++pi;
          ++ti;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {
// Memoised matcher: a state (pattern position at a star, text position) that failed once is
// never tried again, so any pattern costs at most O(pattern × text) steps.
struct PathGlob {
  std::string_view p, t;
  std::vector<uint32_t>& memo;
  uint32_t gen;

  bool at(size_t pi, size_t ti) {
    for (;;) {
      if (pi == p.size()) return ti == t.size();
      char pc = p[pi];
      if (pc == '*') break;
      if (ti == t.size()) return false;
      if (pc == '?') {
        if (t[ti] == '/') return false;
      } else if (bool m = false; pc == '[') {
        size_t next = match_class(p, pi, t[ti], m);
        if (next == std::string_view::npos) {  // no closing ']': a literal '['
          if (t[ti] != '[') return false;
        } else {
          if (!m || t[ti] == '/') return false;
          pi = next;
          ++ti;
          continue;
        }
      } else {
        if (pc == '\\' && pi + 1 < p.size()) pc = p[++pi];
        if (pc != t[ti]) return false;
      }
      ++pi;
      ++ti;
    }
    uint32_t& seen = memo[pi * (t.size() + 1) + ti];
    if (seen == gen) return false;
    bool deep = pi + 1 < p.size() && p[pi + 1] == '*';
    size_t rest = pi + 1;
    while (rest < p.size() && p[rest] == '*') ++rest;  // "***" is "**"
    bool r = deep && rest < p.size() && p[rest] == '/' && pi > 0 && p[pi - 1] == '/' &&
             at(rest + 1, ti);  // "/**/" standing for no directory
    if (!r) r = at(rest, ti);   // the star matches nothing more
    if (!r && ti < t.size() && (deep || t[ti] != '/')) r = at(pi, ti + 1);  // or one more byte
    if (!r) seen = gen;
    return r;
  }
};
}  // namespace

bool path_glob_match(std::string_view p, std::string_view t) {
  // Bounded memory (16 MB at most); a longer path is simply not matched.
  if (p.size() > 1024 || t.size() > 4096) return false;
  thread_local std::vector<uint32_t> memo;
  thread_local uint32_t gen = 0;
  size_t need = (p.size() + 1) * (t.size() + 1);
  if (memo.size() < need) memo.assign(need, 0), gen = 0;
  if (++gen == 0) {
    std::fill(memo.begin(), memo.end(), 0);
    gen = 1;
  }
  PathGlob g{p, t, memo, gen};
  return g.at(0, 0);
}

bool is_ascii(std::string_view s) {
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (w & 0x8080808080808080ULL) return false;
  }
  for (; i < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  return true;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and out-of-range code points.
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
               cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
      ok = false;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

namespace {
// The two bytes after 0xE2 of a UTF-8 bidirectional control character.
bool bidi_control(char b1, char b2) {
  auto x = static_cast<unsigned char>(b1), y = static_cast<unsigned char>(b2);
  if (x == 0x80 && (y == 0x8E || y == 0x8F)) return true;  // U+200E, U+200F
  if (x == 0x80 && y >= 0xAA && y <= 0xAE) return true;    // U+202A..U+202E
  if (x == 0x81 && y >= 0xA6 && y <= 0xA9) return true;    // U+2066..U+2069
  return false;
}
}  // namespace

std::string sanitize(std::string_view s) {
  std::string u = valid_utf8(s);
  std::string out;
  out.reserve(u.size());
  for (size_t i = 0; i < u.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(u[i]);
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xC2 && i + 1 < u.size() && static_cast<unsigned char>(u[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(u[i + 1]) <= 0x9F) {
      // C1 control characters (U+0080..U+009F) are interpreted by some terminals.
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(u[i + 1]));
      ++i;
    } else if (c == 0xE2 && i + 2 < u.size() && bidi_control(u[i + 1], u[i + 2])) {
      // Bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E/F): they reorder what
      // follows on the line, so a file name could show another name's letters.
      unsigned cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(u[i + 1]) & 0x3F) << 6) |
                    (static_cast<unsigned char>(u[i + 2]) & 0x3F);
      out += fmt::format("\\u{:04x}", cp);
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string iso8601(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

namespace {
bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}
}  // namespace

int64_t parse_date(std::string_view ymd) {
  if (ymd.size() != 10 || ymd[4] != '-' || ymd[7] != '-') return -1;
  int y, m, d;
  if (!parse_int(ymd.substr(0, 4), y) || !parse_int(ymd.substr(5, 2), m) ||
      !parse_int(ymd.substr(8, 2), d) || m < 1 || m > 12 || d < 1 || d > 31)
    return -1;
  // a day the month has (2026-02-30 is no date): February of leap years included
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return -1;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return static_cast<int64_t>(timegm(&tm));
}

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string shell_quote(std::string_view s) {
  bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
  });
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

int64_t parse_datetime(std::string_view s) {
  if (s.size() != 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':') return -1;
  int64_t day = parse_date(s.substr(0, 10));
  int h, mi, se;
  if (day < 0 || !parse_int(s.substr(11, 2), h) || !parse_int(s.substr(14, 2), mi) ||
      !parse_int(s.substr(17, 2), se) || h > 23 || mi > 59 || se > 60)
    return -1;
  return day + h * 3600 + mi * 60 + se;
}

std::vector<std::string> valid_utf8_all(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back(valid_utf8(s));
  return out;
}

}  // namespace mamori
