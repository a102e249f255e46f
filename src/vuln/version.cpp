#include "vuln/version.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/enum_names.h"
#include "vuln/version_chars.h"

namespace mamori::vuln {

using namespace version_chars;

constexpr Named<Scheme> kSchemeNames[] = {
    {Scheme::kDpkg, "dpkg"},     {Scheme::kRpm, "rpm"},           {Scheme::kSemver, "semver"},
    {Scheme::kPep440, "pep440"}, {Scheme::kComposer, "composer"}, {Scheme::kPhp, "php"}};
static_assert(names_cover(kSchemeNames, Scheme::kPhp));

std::string_view scheme_name(Scheme s) { return name_in(kSchemeNames, s, "?"); }

// ---------------------------------------------------------------- dpkg
// deb-version(7): [epoch:]upstream[-revision]. Within a part, non-digit runs compare
// character by character with '~' before everything (even the end), letters before
// non-letters; digit runs compare numerically.
namespace {

int dpkg_order(char c) {
  if (is_digit(c)) return 0;
  if (is_alpha(c)) return static_cast<unsigned char>(c);
  if (c == '~') return -1;
  if (c) return static_cast<unsigned char>(c) + 256;
  return 0;
}

int verrevcmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int ac = dpkg_order(at(a, i)), bc = dpkg_order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (at(a, i) == '0') ++i;
    while (at(b, j) == '0') ++j;
    while (is_digit(at(a, i)) && is_digit(at(b, j))) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (is_digit(at(a, i))) return 1;
    if (is_digit(at(b, j))) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct DebVersion {
  std::string_view epoch, upstream, revision;
};

// As libapt-pkg: the epoch ends at the first ':', the revision starts after the last '-'.
DebVersion split_deb(std::string_view v) {
  DebVersion d;
  size_t colon = v.find(':');
  if (colon != std::string_view::npos) {
    d.epoch = v.substr(0, colon);
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  if (dash != std::string_view::npos) {
    d.upstream = v.substr(0, dash);
    d.revision = v.substr(dash + 1);
  } else {
    d.upstream = v;
  }
  return d;
}

}  // namespace

int dpkg_compare(std::string_view a, std::string_view b) {
  DebVersion x = split_deb(a), y = split_deb(b);
  int r = verrevcmp(x.epoch, y.epoch);  // "" and "0" are equal, as no epoch means 0
  if (r) return sign(r);
  r = verrevcmp(x.upstream, y.upstream);
  if (r) return sign(r);
  return sign(verrevcmp(x.revision, y.revision));  // a missing revision compares like "0"
}

// ---------------------------------------------------------------- rpm
int rpmvercmp(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t one = 0, two = 0;
  while (one < a.size() || two < b.size()) {
    while (one < a.size() && !is_alnum(a[one]) && a[one] != '~' && a[one] != '^') ++one;
    while (two < b.size() && !is_alnum(b[two]) && b[two] != '~' && b[two] != '^') ++two;
    char c1 = at(a, one), c2 = at(b, two);
    // '~' sorts before everything, even the end of the string.
    if (c1 == '~' || c2 == '~') {
      if (c1 != '~') return 1;
      if (c2 != '~') return -1;
      ++one;
      ++two;
      continue;
    }
    // '^' sorts after the end of the string but before anything else.
    if (c1 == '^' || c2 == '^') {
      if (!c1) return -1;
      if (!c2) return 1;
      if (c1 != '^') return 1;
      if (c2 != '^') return -1;
      ++one;
      ++two;
      continue;
    }
    if (!(c1 && c2)) break;
    size_t e1 = one, e2 = two;
    bool isnum;
    if (is_digit(a[e1])) {
      while (e1 < a.size() && is_digit(a[e1])) ++e1;
      while (e2 < b.size() && is_digit(b[e2])) ++e2;
      isnum = true;
    } else {
      while (e1 < a.size() && is_alpha(a[e1])) ++e1;
      while (e2 < b.size() && is_alpha(b[e2])) ++e2;
      isnum = false;
    }
    if (e2 == two) return isnum ? 1 : -1;  // numeric segments are newer than alpha ones
    std::string_view s1 = a.substr(one, e1 - one), s2 = b.substr(two, e2 - two);
    if (isnum) {
      int c = cmp_digits(s1, s2);
      if (c) return c;
    } else {
      int c = s1.compare(s2);
      if (c) return c < 0 ? -1 : 1;
    }
    one = e1;
    two = e2;
  }
  if (one >= a.size() && two >= b.size()) return 0;
  return one >= a.size() ? -1 : 1;
}

namespace {
struct Evr {
  std::optional<std::string_view> e, r;
  std::string_view v;
};
// rpm's parseEVR: an all-digit prefix ending in ':' is the epoch; the release follows
// the last '-' after it.
Evr parse_evr(std::string_view s) {
  Evr out;
  size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  size_t dash = s.rfind('-');
  if (dash != std::string_view::npos && dash < i) dash = std::string_view::npos;
  if (i < s.size() && s[i] == ':') {
    out.e = i == 0 ? std::string_view("0") : s.substr(0, i);
    s.remove_prefix(i + 1);
    if (dash != std::string_view::npos) dash -= i + 1;
  }
  if (dash != std::string_view::npos) {
    out.r = s.substr(dash + 1);
    out.v = s.substr(0, dash);
  } else {
    out.v = s;
  }
  return out;
}
}  // namespace

int rpm_compare(std::string_view a, std::string_view b) {
  Evr x = parse_evr(a), y = parse_evr(b);
  // As librpm's rpmverCmp: a missing epoch is 0; a version with a release sorts after the
  // same version without one.
  int rc = rpmvercmp(x.e.value_or("0"), y.e.value_or("0"));
  if (rc == 0) rc = rpmvercmp(x.v, y.v);
  if (rc == 0) {
    if (x.r && y.r)
      rc = rpmvercmp(*x.r, *y.r);
    else if (x.r || y.r)
      rc = x.r ? 1 : -1;
  }
  return rc;
}

// ---------------------------------------------------------------- PHP version_compare
namespace {

std::string php_canonicalize(std::string_view v) {
  // s/[-_+]/./g; a '.' between digit and non-digit runs; other non-alnum chars become '.';
  // never two dots in a row. The first character is copied as is.
  std::string out;
  if (v.empty()) return out;
  out.push_back(v[0]);
  char lp = v[0];
  auto isdig = [](char c) { return is_digit(c) && c != '.'; };
  auto isndig = [](char c) { return !is_digit(c) && c != '.'; };
  for (size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    char lq = out.back();
    if (c == '-' || c == '_' || c == '+') {
      if (lq != '.') out.push_back('.');
    } else if ((isndig(lp) && isdig(c)) || (isdig(lp) && isndig(c))) {
      if (lq != '.') out.push_back('.');
      out.push_back(c);
    } else if (!is_alnum(c)) {
      if (lq != '.') out.push_back('.');
    } else {
      out.push_back(c);
    }
    lp = c;
  }
  return out;
}

int special_form(std::string_view f) {
  static constexpr std::pair<std::string_view, int> kForms[] = {
      {"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2},
      {"RC", 3},  {"rc", 3},    {"#", 4}, {"pl", 5},   {"p", 5}};
  for (const auto& [name, order] : kForms)
    if (f.substr(0, name.size()) == name) return order;
  return -1;
}

int compare_special(std::string_view a, std::string_view b) {
  return sign(special_form(a) - special_form(b));
}

long php_strtol(std::string_view s) {
  // strtol on a digit run: saturates at LONG_MAX like the C library.
  long v = 0;
  for (char c : s) {
    if (!is_digit(c)) break;
    if (v > (LONG_MAX - (c - '0')) / 10) return LONG_MAX;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

int php_version_compare(std::string_view orig1, std::string_view orig2) {
  if (orig1.empty() || orig2.empty()) {
    if (orig1.empty() && orig2.empty()) return 0;
    return orig1.empty() ? -1 : 1;
  }
  std::string v1 = orig1[0] == '#' ? std::string(orig1) : php_canonicalize(orig1);
  std::string v2 = orig2[0] == '#' ? std::string(orig2) : php_canonicalize(orig2);
  // Walk '.'-separated parts; n1/n2 mirror PHP's "was a separator found" pointers.
  size_t p1 = 0, p2 = 0;
  bool n1 = true, n2 = true;
  int compare = 0;
  while (p1 < v1.size() && p2 < v2.size() && n1 && n2) {
    size_t d1 = v1.find('.', p1), d2 = v2.find('.', p2);
    n1 = d1 != std::string::npos;
    n2 = d2 != std::string::npos;
    std::string_view part1 = std::string_view(v1).substr(p1, n1 ? d1 - p1 : std::string::npos);
    std::string_view part2 = std::string_view(v2).substr(p2, n2 ? d2 - p2 : std::string::npos);
    bool dig1 = is_digit(at(part1, 0)), dig2 = is_digit(at(part2, 0));
    if (dig1 && dig2) {
      long l1 = php_strtol(part1), l2 = php_strtol(part2);
      compare = (l1 > l2) - (l1 < l2);
    } else if (!dig1 && !dig2) {
      compare = compare_special(part1, part2);
    } else if (dig1) {
      compare = compare_special("#N#", part2);
    } else {
      compare = compare_special(part1, "#N#");
    }
    if (compare != 0) break;
    if (n1) p1 = d1 + 1;
    if (n2) p2 = d2 + 1;
  }
  if (compare == 0) {
    if (n1) {
      std::string_view rest = std::string_view(v1).substr(std::min(p1, v1.size()));
      compare = is_digit(at(rest, 0)) ? 1 : php_version_compare(rest, "#N#");
    } else if (n2) {
      std::string_view rest = std::string_view(v2).substr(std::min(p2, v2.size()));
      compare = is_digit(at(rest, 0)) ? -1 : php_version_compare("#N#", rest);
    }
  }
  return compare;
}

// ---------------------------------------------------------------- Composer
namespace {

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool istarts(std::string_view s, size_t pos, std::string_view word) {
  return pos + word.size() <= s.size() && iequals_ascii(s.substr(pos, word.size()), word);
}

// Matches Composer's modifier regex  [._-]?(?:(STAB)((?:[.-]?\d+)*+)?)?([.-]?dev)?$  on s
// from pos, trying alternatives in PCRE's order. Returns false when nothing matches.
bool match_modifier(std::string_view s, size_t pos, std::string& stab, std::string& nums,
                    bool& dev) {
  static constexpr std::string_view kStab[] = {"stable", "beta",  "b",  "RC", "alpha",
                                               "a",      "patch", "pl", "p"};
  auto try_dev = [&](size_t p) -> bool {  // ([.-]?dev)?$
    if (p == s.size()) {
      dev = false;
      return true;
    }
    size_t q = p;
    if (s[q] == '.' || s[q] == '-') {
      if (istarts(s, q + 1, "dev") && q + 4 == s.size()) {
        dev = true;
        return true;
      }
    }
    if (istarts(s, q, "dev") && q + 3 == s.size()) {
      dev = true;
      return true;
    }
    return false;
  };
  bool has_sep = pos < s.size() && (s[pos] == '.' || s[pos] == '_' || s[pos] == '-');
  for (int sep = has_sep ? 1 : 0; sep >= 0; --sep) {
    size_t p = pos + static_cast<size_t>(sep);
    for (std::string_view word : kStab) {
      if (!istarts(s, p, word)) continue;
      size_t q = p + word.size();
      size_t nstart = q;
      // (?:[.-]?\d+)*+  (possessive)
      for (;;) {
        size_t r = q;
        if (r < s.size() && (s[r] == '.' || s[r] == '-')) ++r;
        if (r < s.size() && is_digit(s[r])) {
          while (r < s.size() && is_digit(s[r])) ++r;
          q = r;
        } else {
          break;
        }
      }
      if (try_dev(q)) {
        stab = std::string(s.substr(p, word.size()));
        nums = std::string(s.substr(nstart, q - nstart));
        return true;
      }
    }
    if (try_dev(p)) {
      stab.clear();
      nums.clear();
      return true;
    }
  }
  return false;
}

std::string expand_stability(std::string_view st) {
  std::string l;
  for (char c : st) l.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (l == "a") return "alpha";
  if (l == "b") return "beta";
  if (l == "p" || l == "pl") return "patch";
  if (l == "rc") return "RC";
  return l;
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' ||
                        s.front() == '\r' || s.front() == '\v' || s.front() == '\0'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' ||
                        s.back() == '\r' || s.back() == '\v' || s.back() == '\0'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> composer_normalize(std::string_view in) {
  std::string_view v = trim_ws(in);
  auto invalid = [&] {
    return Error::invalid("invalid Composer version '" + std::string(in) + "'");
  };
  if (v.size() > 128) return invalid();
  if (istarts(v, 0, "dev-") || v == "master" || v == "trunk" || v == "default")
    return Error::invalid("'" + std::string(in) + "' is a branch, not a comparable version");
  // Build metadata: "1.0+build" → "1.0" (only when the part before '+' has no spaces/commas).
  size_t plus = v.find('+');
  if (plus != std::string_view::npos && plus > 0) {
    std::string_view head = v.substr(0, plus), tail = v.substr(plus + 1);
    if (head.find_first_of(", \t") == std::string_view::npos && !tail.empty() &&
        tail.find_first_of(" \t") == std::string_view::npos)
      v = head;
  }
  size_t i = 0;
  if (i < v.size() && (v[i] == 'v' || v[i] == 'V')) ++i;
  size_t d0 = i;
  while (i < v.size() && is_digit(v[i])) ++i;
  if (i == d0 || i - d0 > 5) return invalid();
  std::string out(v.substr(d0, i - d0));
  int groups = 0;
  while (groups < 3 && i + 1 < v.size() && v[i] == '.' && is_digit(v[i + 1])) {
    size_t s = i;
    ++i;
    while (i < v.size() && is_digit(v[i])) ++i;
    out.append(v.substr(s, i - s));
    ++groups;
  }
  for (; groups < 3; ++groups) out += ".0";
  std::string stab, nums;
  bool dev = false;
  if (!match_modifier(v, i, stab, nums, dev)) return invalid();
  if (!stab.empty()) {
    if (stab == "stable") return out;
    size_t k = 0;
    while (k < nums.size() && (nums[k] == '.' || nums[k] == '-')) ++k;
    out += "-" + expand_stability(stab) + nums.substr(k);
  }
  if (dev) out += "-dev";
  return out;
}

Result<int> composer_compare(std::string_view a, std::string_view b) {
  auto na = composer_normalize(a);
  if (!na) return na.error();
  auto nb = composer_normalize(b);
  if (!nb) return nb.error();
  return php_version_compare(*na, *nb);
}

// ---------------------------------------------------------------- SemVer 2.0.0
namespace {

struct SemVer {
  std::string_view major, minor, patch;
  std::vector<std::string_view> pre;
};

bool numeric_id(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

bool valid_id(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

Result<SemVer> parse_semver(std::string_view in) {
  std::string_view s = in;
  auto invalid = [&] {
    return Error::invalid("invalid semantic version '" + std::string(in) + "'");
  };
  if (!s.empty() && (s.front() == 'v' || s.front() == '=')) s.remove_prefix(1);  // Go, npm
  size_t plus = s.find('+');
  if (plus != std::string_view::npos) {
    std::string_view build = s.substr(plus + 1);
    size_t st = 0;
    while (true) {
      size_t dot = build.find('.', st);
      if (!valid_id(build.substr(st, dot == std::string_view::npos ? build.npos : dot - st)))
        return invalid();
      if (dot == std::string_view::npos) break;
      st = dot + 1;
    }
    s = s.substr(0, plus);
  }
  SemVer v;
  size_t dash = s.find('-');
  std::string_view core = s.substr(0, dash);
  if (dash != std::string_view::npos) {
    std::string_view pre = s.substr(dash + 1);
    size_t st = 0;
    while (true) {
      size_t dot = pre.find('.', st);
      std::string_view id = pre.substr(st, dot == std::string_view::npos ? pre.npos : dot - st);
      if (!valid_id(id) || (numeric_id(id) && id.size() > 1 && id[0] == '0')) return invalid();
      v.pre.push_back(id);
      if (dot == std::string_view::npos) break;
      st = dot + 1;
    }
  }
  std::string_view* parts[3] = {&v.major, &v.minor, &v.patch};
  size_t st = 0;
  for (int k = 0; k < 3; ++k) {
    size_t dot = core.find('.', st);
    if ((k < 2) != (dot != std::string_view::npos)) return invalid();
    std::string_view n = core.substr(st, dot == std::string_view::npos ? core.npos : dot - st);
    if (!numeric_id(n) || (n.size() > 1 && n[0] == '0') || n.size() > 16) return invalid();
    *parts[k] = n;
    st = dot + 1;
  }
  return v;
}

}  // namespace

Result<int> semver_compare(std::string_view a, std::string_view b) {
  auto x = parse_semver(a);
  if (!x) return x.error();
  auto y = parse_semver(b);
  if (!y) return y.error();
  for (auto [p, q] : {std::pair{x->major, y->major}, {x->minor, y->minor}, {x->patch, y->patch}})
    if (int c = cmp_digits(p, q)) return c;
  // A version with a pre-release is lower than the same version without.
  if (x->pre.empty() != y->pre.empty()) return x->pre.empty() ? 1 : -1;
  if (x->pre.empty()) return 0;
  for (size_t i = 0; i < std::min(x->pre.size(), y->pre.size()); ++i) {
    std::string_view p = x->pre[i], q = y->pre[i];
    bool pn = numeric_id(p), qn = numeric_id(q);
    int c;
    if (pn && qn)
      c = cmp_digits(p, q);
    else if (pn != qn)
      c = pn ? -1 : 1;  // numeric identifiers sort before alphanumeric ones
    else
      c = sign(p.compare(q));
    if (c) return c;
  }
  if (x->pre.size() == y->pre.size()) return 0;
  return x->pre.size() < y->pre.size() ? -1 : 1;
}

Result<int> compare_versions(Scheme s, std::string_view a, std::string_view b) {
  switch (s) {
    case Scheme::kDpkg:
      return dpkg_compare(a, b);
    case Scheme::kRpm:
      return sign(rpm_compare(a, b));
    case Scheme::kSemver:
      return semver_compare(a, b);
    case Scheme::kPep440:
      return pep440_compare(a, b);
    case Scheme::kComposer:
      return composer_compare(a, b);
    case Scheme::kPhp:
      return php_version_compare(a, b);
  }
  return Error::internal("unknown version scheme");
}

}  // namespace mamori::vuln
