// SecLang operators (@rx, @pm, @streq, @within, @validateByteRange …) compiled once and run per
// value, with ModSecurity's semantics: @rx is PCRE with DOTALL and MULTILINE, @pm matches any
// phrase case-insensitively, numbers compare as C's atoi reads them, @within is "the value
// occurs in the parameter".
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/text.h"
#include "waf/detect.h"
#include "waf/engine_impl.h"

namespace mamori::waf::detail {

Result<Regex> Regex::compile(std::string_view pattern, bool caseless) {
  if (pattern.empty()) pattern = ".*";
  int code = 0;
  PCRE2_SIZE off = 0;
  uint32_t flags = PCRE2_DOTALL | PCRE2_MULTILINE | (caseless ? PCRE2_CASELESS : 0);
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 flags, &code, &off, nullptr);
  if (!re) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(code, buf, sizeof buf);
    return Error::invalid("regular expression: " + std::string(reinterpret_cast<char*>(buf)));
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when it cannot
  Regex r;
  r.code_ = re;
  return r;
}

Regex& Regex::operator=(Regex&& o) noexcept {
  if (this != &o) {
    if (code_) pcre2_code_free(code_);
    code_ = o.code_;
    o.code_ = nullptr;
  }
  return *this;
}

Regex::~Regex() {
  if (code_) pcre2_code_free(code_);
}

namespace {

// The match context every search uses: bounded backtracking (a pattern that would take
// super-linear time on a crafted value stops at the limit) and a JIT stack large enough for
// deeply nested input (the 32 KiB default makes such input an error).
struct MatchContext {
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
  pcre2_match_data* md = pcre2_match_data_create(32, nullptr);
  MatchContext() {
    pcre2_jit_stack_assign(ctx, nullptr, stack);
    pcre2_set_depth_limit(ctx, 10000);
  }
  ~MatchContext() {
    pcre2_match_data_free(md);
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(ctx);
  }
};

}  // namespace

RxResult Regex::search(std::string_view s, std::vector<std::string>* groups) const {
  if (!code_) return RxResult::kNoMatch;
  thread_local MatchContext mc;
  // At least a million steps, more for long values (each start position costs some).
  pcre2_set_match_limit(
      mc.ctx, static_cast<uint32_t>(std::min<size_t>(1000000 + 64 * s.size(), UINT32_MAX / 2)));
  int rc =
      pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, mc.md, mc.ctx);
  if (rc == PCRE2_ERROR_NOMATCH) return RxResult::kNoMatch;
  if (rc < 0) return RxResult::kError;  // a limit: the caller fails closed
  if (groups) {
    groups->clear();
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(mc.md);
    int n = std::min(rc == 0 ? 32 : rc, 10);
    for (int i = 0; i < n; ++i) {
      if (ov[2 * i] == PCRE2_UNSET) {
        groups->emplace_back();
      } else {
        groups->emplace_back(s.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]));
      }
    }
  }
  return RxResult::kMatch;
}

namespace {

std::vector<std::string_view> words(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && seps.find(s[i]) != std::string_view::npos) ++i;
    size_t j = i;
    while (j < s.size() && seps.find(s[j]) == std::string_view::npos) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool valid_url_encoding(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '%') continue;
    if (i + 2 >= v.size()) return false;  // too few characters
    if (!std::isxdigit(static_cast<unsigned char>(v[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(v[i + 2])))
      return false;
    i += 2;
  }
  return true;
}

bool valid_utf8(std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || i + n > v.size()) return false;
    uint32_t cp = c & (n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07);
    for (size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(v[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff)
      return false;  // overlong, or beyond Unicode
    i += n;
  }
  return true;
}

bool lower_contains(std::string_view hay_lower, std::string_view needle_lower) {
  return !needle_lower.empty() && hay_lower.find(needle_lower) != std::string_view::npos;
}

}  // namespace

Result<CompiledOp> compile_op(const Operator& o) {
  CompiledOp c;
  c.kind = o.kind;
  c.negated = o.negated;
  c.param = o.param;
  c.dynamic = o.param.find("%{") != std::string::npos;
  switch (o.kind) {
    case OpKind::kRx:
      if (!c.dynamic) {
        auto re = Regex::compile(o.param, false);
        if (!re) return re.error();
        c.re = std::move(*re);
      }
      break;
    case OpKind::kPm:
      for (auto w : words(o.param, " ")) c.phrases.push_back(to_lower(w));
      break;
    case OpKind::kPmFromFile:
      for (const auto& p : o.phrases) c.phrases.push_back(to_lower(p));
      break;
    case OpKind::kValidateByteRange:
      for (auto w : words(o.param, ", ")) {
        size_t dash = w.find('-');
        int a = static_cast<int>(to_number(w.substr(0, dash)));
        int b =
            dash == std::string_view::npos ? a : static_cast<int>(to_number(w.substr(dash + 1)));
        c.ranges.emplace_back(std::clamp(a, 0, 255), std::clamp(b, 0, 255));
      }
      break;
    case OpKind::kIpMatch:
    case OpKind::kIpMatchFromFile: {
      std::vector<std::string> items;
      if (o.kind == OpKind::kIpMatch)
        for (auto w : words(o.param, ", ")) items.emplace_back(w);
      else
        items = o.phrases;
      for (const auto& a : items) {
        Ip ip;
        int bits = 0;
        if (parse_prefix(a, ip, bits)) c.nets.emplace_back(ip, bits);
      }
      break;
    }
    default:
      break;
  }
  return c;
}

bool run_op(const CompiledOp& op, std::string_view param, std::string_view v, Transaction& tx,
            std::vector<std::string>* groups) {
  bool m = false;
  switch (op.kind) {
    case OpKind::kRx: {
      RxResult res = RxResult::kNoMatch;
      if (op.dynamic) {
        auto re = Regex::compile(param, false);
        if (re) res = re->search(v, groups);
      } else {
        res = op.re.search(v, groups);
      }
      // A search stopped by a limit is a match: padding a payload must not switch a rule off
      // (ModSecurity counts it as no match, which is how such padding gets through).
      if (res == RxResult::kError) {  // fires whether negated or not: fail closed
        ++tx.verdict.limits_hit;
        return true;
      }
      m = res == RxResult::kMatch;
    } break;
    case OpKind::kPm:
    case OpKind::kPmFromFile: {
      std::string lv = to_lower(v);
      for (const auto& p : op.phrases)
        if (lower_contains(lv, p)) {
          m = true;
          if (groups) *groups = {p};
          break;
        }
      break;
    }
    case OpKind::kStreq:
      m = v == param;
      break;
    case OpKind::kStrmatch:
    case OpKind::kContains:
      m = !param.empty() && v.find(param) != std::string_view::npos;
      break;
    case OpKind::kContainsWord: {
      if (param.empty()) break;
      for (size_t p = v.find(param); p != std::string_view::npos; p = v.find(param, p + 1)) {
        bool left = p == 0 || !std::isalnum(static_cast<unsigned char>(v[p - 1]));
        size_t e = p + param.size();
        bool right = e == v.size() || !std::isalnum(static_cast<unsigned char>(v[e]));
        if (left && right) {
          m = true;
          break;
        }
      }
      break;
    }
    case OpKind::kBeginsWith:
      m = v.starts_with(param);
      break;
    case OpKind::kEndsWith:
      m = v.ends_with(param);
      break;
    case OpKind::kWithin:
      m = param.find(v) != std::string_view::npos;
      break;
    case OpKind::kEq:
      m = to_number(v) == to_number(param);
      break;
    case OpKind::kGe:
      m = to_number(v) >= to_number(param);
      break;
    case OpKind::kGt:
      m = to_number(v) > to_number(param);
      break;
    case OpKind::kLe:
      m = to_number(v) <= to_number(param);
      break;
    case OpKind::kLt:
      m = to_number(v) < to_number(param);
      break;
    case OpKind::kIpMatch:
    case OpKind::kIpMatchFromFile: {
      Ip ip;
      if (!parse_ip(v, ip)) break;
      for (const auto& [net, bits] : op.nets) {
        int b128 = net.v4 ? bits + 96 : bits;
        if (masked(ip, b128) == masked(net, b128)) {
          m = true;
          break;
        }
      }
      break;
    }
    case OpKind::kValidateByteRange:
      for (unsigned char ch : v) {
        bool in = false;
        for (auto [a, b] : op.ranges)
          if (ch >= a && ch <= b) {
            in = true;
            break;
          }
        if (!in) {
          m = true;
          break;
        }
      }
      break;
    case OpKind::kValidateUrlEncoding:
      m = !valid_url_encoding(v);
      break;
    case OpKind::kValidateUtf8Encoding:
      m = !valid_utf8(v);
      break;
    case OpKind::kDetectSqli: {
      std::string fp;
      m = detect_sqli(v, &fp);
      if (m && groups) *groups = {fp};
      break;
    }
    case OpKind::kDetectXss:
      m = detect_xss(v);
      break;
    case OpKind::kUnconditionalMatch:
      m = true;
      break;
    case OpKind::kNoMatch:
    case OpKind::kRbl:
    case OpKind::kGeoLookup:
      m = false;
      break;
  }
  return op.negated ? !m : m;
}

}  // namespace mamori::waf::detail
