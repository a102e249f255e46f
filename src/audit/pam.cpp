#include "audit/pam.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/text.h"

namespace mamori::audit {
namespace {

constexpr int kMaxDepth = 16;
constexpr uint64_t kMaxPamFile = 1 << 20;

// Splits a PAM line into words; "[ … ]" is one word (with "\]" inside it for a literal ']').
std::vector<std::string> pam_words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size()) break;
    std::string w;
    if (line[i] == '[') {
      ++i;
      w.push_back('[');
      while (i < line.size() && line[i] != ']') {
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == ']') ++i;
        w.push_back(line[i++]);
      }
      if (i < line.size()) ++i;
      w.push_back(']');
    } else {
      while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
        w.push_back(line[i++]);
    }
    out.push_back(std::move(w));
  }
  return out;
}

struct Reader {
  const Root& root;
  std::vector<std::string>& warnings;

  static std::string include_path(std::string_view f) {
    return f.starts_with('/') ? std::string(f) : "/etc/pam.d/" + std::string(f);
  }

  // The rules of `type` in `file` (an in-root path), `all` = every type (for @include).
  Status read(const std::string& file, std::string_view type, int depth,
              std::vector<PamRule>& out) {
    if (depth > kMaxDepth)
      return Error::invalid(fmt::format(
          "{}: PAM includes nested more than {} deep (an include loop?)", file, kMaxDepth));
    auto text = root.read(file, kMaxPamFile);
    if (!text) {
      // PAM itself fails the whole stack on a missing include; say so, keep going.
      warnings.push_back(fmt::format("{}: {}", file, text.error().message));
      return {};
    }
    return parse(*text, file, type, depth, out);
  }

  Status parse(std::string_view text, const std::string& file, std::string_view type, int depth,
               std::vector<PamRule>& out) {
    size_t pos = 0;
    std::string_view raw;
    int lineno = 0;
    std::string line;
    int start = 0;
    while (next_line(text, pos, raw)) {
      ++lineno;
      if (line.empty()) start = lineno;
      if (!raw.empty() && raw.back() == '\\') {  // continuation
        line.append(raw.substr(0, raw.size() - 1)).push_back(' ');
        continue;
      }
      line.append(raw);
      std::string_view l = line;
      if (auto hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
      auto w = pam_words(l);
      line.clear();
      if (w.empty()) continue;
      if (w[0] == "@include") {
        if (w.size() < 2)
          return Error::invalid(fmt::format("{}:{}: @include without a file", file, start));
        if (auto s = read(include_path(w[1]), type, depth + 1, out); !s) return s;
        continue;
      }
      if (w.size() < 3) {
        warnings.push_back(fmt::format("{}:{}: incomplete line (PAM ignores it)", file, start));
        continue;
      }
      PamRule r;
      r.dash = w[0].starts_with('-');
      r.type = to_lower(r.dash ? w[0].substr(1) : w[0]);
      if (r.type != type) continue;
      r.control = w[1];
      r.file = file;
      r.line = start;
      std::string ctl = to_lower(w[1]);
      if (ctl == "include") {
        if (auto s = read(include_path(w[2]), type, depth + 1, out); !s) return s;
        continue;
      }
      if (ctl == "substack") {
        r.substack = true;
        r.module = w[2];
        if (auto s = read(include_path(w[2]), type, depth + 1, r.sub); !s) return s;
        out.push_back(std::move(r));
        continue;
      }
      r.module = w[2];
      r.args.assign(w.begin() + 3, w.end());
      out.push_back(std::move(r));
    }
    return {};
  }
};

// libpam's actions.
enum Action { kIgnore, kOk, kDone, kBad, kDie, kReset, kJump };
struct Act {
  Action a = kBad;
  int n = 0;
};

// The action a control takes for a return value ("success" or "auth_err").
Act action_for(const std::string& control, bool success, bool substack) {
  std::string c = to_lower(control);
  if (substack || c == "required") return success ? Act{kOk} : Act{kBad};
  if (c == "requisite") return success ? Act{kOk} : Act{kDie};
  if (c == "sufficient") return success ? Act{kDone} : Act{kIgnore};
  if (c == "optional") return success ? Act{kOk} : Act{kIgnore};
  if (c.size() < 2 || c.front() != '[') return Act{kBad};  // PAM rejects such a line
  std::map<std::string, std::string> m;
  for (auto kv : split(std::string_view(c).substr(1, c.size() - 2), ' ')) {
    kv = trim(kv);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    m[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  auto it = m.find(success ? "success" : "auth_err");
  if (it == m.end()) it = m.find("default");
  if (it == m.end()) return Act{kBad};
  const std::string& v = it->second;
  if (v == "ignore") return {kIgnore};
  if (v == "ok") return {kOk};
  if (v == "done") return {kDone};
  if (v == "bad") return {kBad};
  if (v == "die") return {kDie};
  if (v == "reset") return {kReset};
  if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 4)
    return {kJump, std::stoi(v)};
  return {kBad};
}

struct Eval {
  const std::vector<bool>& choice;  // per kAny module, in walk order
  const std::function<PamOutcome(const PamRule&)>& outcome;
  size_t next_choice = 0;

  bool result_of(const PamRule& r) {
    std::string m = r.module_name();
    if (m == "pam_deny") return false;
    if (m == "pam_permit") return true;
    PamOutcome o = outcome(r);
    if (o == PamOutcome::kSuccess) return true;
    if (o == PamOutcome::kFail) return false;
    size_t i = next_choice++;
    return i < choice.size() ? choice[i] : true;
  }

  // Runs one level; returns success of the level.
  bool run(const std::vector<PamRule>& rules) {
    enum { kUndef, kPositive, kNegative } impression = kUndef;
    bool status = false;
    int skip = 0;
    for (const auto& r : rules) {
      if (skip > 0) {
        --skip;
        continue;
      }
      bool ret = r.substack ? run(r.sub) : result_of(r);
      Act act = action_for(r.control, ret, r.substack);
      switch (act.a) {
        case kIgnore:
          break;
        case kReset:
          impression = kUndef;
          status = false;
          break;
        case kOk:
        case kDone:
          if (impression == kUndef || (impression == kPositive && status)) {
            impression = kPositive;
            status = ret;
          }
          if (impression != kNegative && act.a == kDone) return impression == kPositive && status;
          break;
        case kBad:
        case kDie:
          if (impression != kNegative) {
            impression = kNegative;
            status = false;
          }
          if (act.a == kDie) return false;
          break;
        case kJump:
          skip = act.n;
          break;
      }
    }
    return impression == kPositive && status;
  }
};

void count_any(const std::vector<PamRule>& rules,
               const std::function<PamOutcome(const PamRule&)>& outcome, size_t& n) {
  for (const auto& r : rules) {
    if (r.substack) {
      count_any(r.sub, outcome, n);
      continue;
    }
    std::string m = r.module_name();
    if (m != "pam_deny" && m != "pam_permit" && outcome(r) == PamOutcome::kAny) ++n;
  }
}

void flatten(const std::vector<PamRule>& rules, std::vector<const PamRule*>& out) {
  for (const auto& r : rules) {
    out.push_back(&r);
    if (r.substack) flatten(r.sub, out);
  }
}

}  // namespace

std::string PamRule::module_name() const {
  std::string_view m = module;
  if (auto s = m.rfind('/'); s != std::string_view::npos) m = m.substr(s + 1);
  if (m.ends_with(".so")) m.remove_suffix(3);
  return std::string(m);
}

bool PamRule::has_arg(std::string_view a) const {
  return std::find(args.begin(), args.end(), a) != args.end();
}

std::string PamRule::arg_value(std::string_view key) const {
  for (const auto& a : args)
    if (a.size() > key.size() && a.starts_with(key) && a[key.size()] == '=')
      return a.substr(key.size() + 1);
  return "";
}

Result<PamStack> parse_pam_stack(const Root& root, std::string_view text, std::string_view type,
                                 const std::string& file) {
  PamStack s;
  s.type = std::string(type);
  s.found = true;
  Reader rd{root, s.warnings};
  if (auto st = rd.parse(text, file, type, 0, s.rules); !st) return st.error();
  return s;
}

Result<PamStack> read_pam_stack(const Root& root, std::string_view service, std::string_view type) {
  std::string file = "/etc/pam.d/" + std::string(service);
  if (!root.exists(file)) {
    // Linux-PAM falls back to the "other" service.
    PamStack s;
    s.service = std::string(service);
    s.type = std::string(type);
    if (root.exists("/etc/pam.d/other")) {
      auto o = read_pam_stack(root, "other", type);
      if (!o) return o.error();
      s.rules = std::move(o->rules);
      s.warnings = std::move(o->warnings);
    }
    return s;
  }
  auto text = root.read(file, kMaxPamFile);
  if (!text) return text.error();
  auto s = parse_pam_stack(root, *text, type, file);
  if (s) s->service = std::string(service);
  return s;
}

std::vector<const PamRule*> pam_rules_flat(const PamStack& s) {
  std::vector<const PamRule*> out;
  flatten(s.rules, out);
  return out;
}

bool pam_can_succeed(const PamStack& s, const std::function<PamOutcome(const PamRule&)>& outcome) {
  size_t n = 0;
  count_any(s.rules, outcome, n);
  n = std::min<size_t>(n, 12);
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    std::vector<bool> choice(n);
    for (size_t i = 0; i < n; ++i) choice[i] = !((mask >> i) & 1);  // all-success first
    Eval ev{choice, outcome};
    if (ev.run(s.rules)) return true;
  }
  return false;
}

bool is_mfa_module(std::string_view m) {
  static constexpr std::string_view kMfa[] = {"pam_google_authenticator",
                                              "pam_oath",
                                              "pam_u2f",
                                              "pam_duo",
                                              "pam_yubico",
                                              "pam_radius_auth",
                                              "pam_privacyidea",
                                              "pam_totp",
                                              "pam_linotp",
                                              "pam_mfa",
                                              "pam_okta_auth",
                                              "pam_2fa"};
  for (auto x : kMfa)
    if (m == x) return true;
  return false;
}

}  // namespace mamori::audit
