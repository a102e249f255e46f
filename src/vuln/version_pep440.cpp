// PEP 440 versions (Python packages), compared as pip's packaging library does.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <vector>

#include "vuln/version.h"
#include "vuln/version_chars.h"

namespace mamori::vuln {

using namespace version_chars;

// ---------------------------------------------------------------- PEP 440
namespace {

// A PEP 440 version reduced to the comparison key of Python's packaging library.
struct Pep440 {
  std::string epoch = "0";
  std::vector<std::string> release;  // digit strings, trailing zeros removed
  // pre: kind 0 = none; letter rank a=1, b=2, rc=3
  int pre_rank = 0;
  std::string pre_num;
  bool has_post = false;
  std::string post_num;
  bool has_dev = false;
  std::string dev_num;
  std::vector<std::string> local;  // lowercased segments
};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

Result<Pep440> parse_pep440(std::string_view in) {
  auto invalid = [&] {
    return Error::invalid("invalid PEP 440 version '" + std::string(in) + "'");
  };
  std::string s;
  {
    std::string_view t = in;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\n' ||
                          t.front() == '\r' || t.front() == '\f' || t.front() == '\v'))
      t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n' ||
                          t.back() == '\r' || t.back() == '\f' || t.back() == '\v'))
      t.remove_suffix(1);
    if (t.size() > 256) return invalid();
    for (char c : t) s.push_back(lower(c));
  }
  size_t i = 0;
  auto digits = [&](std::string& out) {
    size_t st = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    out = s.substr(st, i - st);
    return i > st;
  };
  auto sep = [&]() {
    if (i < s.size() && (s[i] == '-' || s[i] == '_' || s[i] == '.')) ++i;
  };
  auto word = [&](std::string_view w) {
    if (s.compare(i, w.size(), w) == 0) {
      i += w.size();
      return true;
    }
    return false;
  };
  Pep440 v;
  if (i < s.size() && s[i] == 'v') ++i;
  // Epoch: digits followed by '!'.
  {
    size_t save = i;
    std::string n;
    if (digits(n) && i < s.size() && s[i] == '!') {
      v.epoch = n;
      ++i;
    } else {
      i = save;
    }
  }
  std::string n;
  if (!digits(n)) return invalid();
  v.release.push_back(n);
  while (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
    ++i;
    digits(n);
    v.release.push_back(n);
  }
  // Pre-release: [-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?N?
  {
    size_t save = i;
    sep();
    int rank = 0;
    if (word("alpha"))
      rank = 1;
    else if (word("a"))
      rank = 1;
    else if (word("beta"))
      rank = 2;
    else if (word("b"))
      rank = 2;
    else if (word("preview"))
      rank = 3;
    else if (word("pre"))
      rank = 3;
    else if (word("c"))
      rank = 3;
    else if (word("rc"))
      rank = 3;
    if (rank) {
      size_t after = i;
      sep();
      if (!digits(n)) {
        i = after;
        n = "0";
      }
      v.pre_rank = rank;
      v.pre_num = n;
    } else {
      i = save;
    }
  }
  // Post-release: -N | [-_.]?(post|rev|r)[-_.]?N?
  {
    size_t save = i;
    if (i + 1 < s.size() && s[i] == '-' && is_digit(s[i + 1])) {
      ++i;
      digits(n);
      v.has_post = true;
      v.post_num = n;
    } else {
      sep();
      if (word("post") || word("rev") || word("r")) {
        size_t after = i;
        sep();
        if (!digits(n)) {
          i = after;
          n = "0";
        }
        v.has_post = true;
        v.post_num = n;
      } else {
        i = save;
      }
    }
  }
  // Dev release: [-_.]?dev[-_.]?N?
  {
    size_t save = i;
    sep();
    if (word("dev")) {
      size_t after = i;
      sep();
      if (!digits(n)) {
        i = after;
        n = "0";
      }
      v.has_dev = true;
      v.dev_num = n;
    } else {
      i = save;
    }
  }
  // Local version: +[a-z0-9]+([-_.][a-z0-9]+)*
  if (i < s.size() && s[i] == '+') {
    ++i;
    std::string seg;
    for (;; ++i) {
      if (i < s.size() && is_alnum(s[i])) {
        seg.push_back(s[i]);
        continue;
      }
      if (seg.empty()) return invalid();
      v.local.push_back(seg);
      seg.clear();
      if (i >= s.size()) break;
      if (s[i] != '-' && s[i] != '_' && s[i] != '.') return invalid();
    }
  }
  if (i != s.size()) return invalid();
  while (v.release.size() > 1 && cmp_digits(v.release.back(), "0") == 0) v.release.pop_back();
  if (v.release.size() == 1 && cmp_digits(v.release[0], "0") == 0) v.release.clear();
  return v;
}

// packaging's _cmpkey: pre is -inf for "X.devN" without pre/post, +inf when absent;
// post is -inf when absent; dev is +inf when absent; local -inf when absent, and in a
// local version numeric segments sort after alphanumeric ones.
int cmp_pep440(const Pep440& a, const Pep440& b) {
  if (int c = cmp_digits(a.epoch, b.epoch)) return c;
  size_t n = std::max(a.release.size(), b.release.size());
  for (size_t k = 0; k < n; ++k) {
    std::string_view x = k < a.release.size() ? std::string_view(a.release[k]) : "0";
    std::string_view y = k < b.release.size() ? std::string_view(b.release[k]) : "0";
    if (int c = cmp_digits(x, y)) return c;
  }
  auto pre_key = [](const Pep440& v) -> int {  // -1 = -inf, 1 = +inf, 0 = has pre
    if (v.pre_rank == 0 && !v.has_post && v.has_dev) return -1;
    if (v.pre_rank == 0) return 1;
    return 0;
  };
  int pa = pre_key(a), pb = pre_key(b);
  if (pa != pb) return pa < pb ? -1 : 1;
  if (pa == 0) {
    if (a.pre_rank != b.pre_rank) return a.pre_rank < b.pre_rank ? -1 : 1;
    if (int c = cmp_digits(a.pre_num, b.pre_num)) return c;
  }
  if (a.has_post != b.has_post) return a.has_post ? 1 : -1;
  if (a.has_post)
    if (int c = cmp_digits(a.post_num, b.post_num)) return c;
  if (a.has_dev != b.has_dev) return a.has_dev ? -1 : 1;
  if (a.has_dev)
    if (int c = cmp_digits(a.dev_num, b.dev_num)) return c;
  if (a.local.empty() != b.local.empty()) return a.local.empty() ? -1 : 1;
  for (size_t k = 0; k < std::min(a.local.size(), b.local.size()); ++k) {
    const std::string& x = a.local[k];
    const std::string& y = b.local[k];
    bool xn = std::all_of(x.begin(), x.end(), is_digit),
         yn = std::all_of(y.begin(), y.end(), is_digit);
    int c;
    if (xn && yn)
      c = cmp_digits(x, y);
    else if (xn != yn)
      c = xn ? 1 : -1;
    else
      c = sign(x.compare(y));
    if (c) return c;
  }
  if (a.local.size() != b.local.size()) return a.local.size() < b.local.size() ? -1 : 1;
  return 0;
}

}  // namespace

Result<int> pep440_compare(std::string_view a, std::string_view b) {
  auto x = parse_pep440(a);
  if (!x) return x.error();
  auto y = parse_pep440(b);
  if (!y) return y.error();
  return cmp_pep440(*x, *y);
}

}  // namespace mamori::vuln
