#include "audit/firewall.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"

namespace mamori::audit {
namespace {

constexpr size_t kMaxLine = 1 << 20;
constexpr int kMaxJumpDepth = 16;
constexpr size_t kMaxSteps = 20000;

// Words of a rule: quoted strings and "{ … }" groups (nested) are single tokens; a '#'
// outside quotes starts a comment ("# handle 7").
std::vector<std::string> tokens(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
    if (i >= s.size() || s[i] == '#') break;
    std::string w;
    if (s[i] == '{') {
      int depth = 0;
      bool q = false;
      for (; i < s.size(); ++i) {
        char c = s[i];
        if (c == '"') q = !q;
        if (!q && c == '{') ++depth;
        if (!q && c == '}') --depth;
        w.push_back(c);
        if (depth == 0) {
          ++i;
          break;
        }
      }
    } else if (s[i] == '"') {
      w.push_back(s[i++]);
      while (i < s.size() && s[i] != '"') w.push_back(s[i++]);
      if (i < s.size()) w.push_back(s[i++]);
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != ';')
        w.push_back(s[i++]);
      if (i < s.size() && s[i] == ';') ++i;
    }
    if (!w.empty()) out.push_back(std::move(w));
  }
  return out;
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

// Elements of "{ a, b }" (or the single value).
std::vector<std::string> elements(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() >= 2 && v.front() == '{' && v.back() == '}') {
    for (auto e : split(v.substr(1, v.size() - 2), ',')) {
      e = trim(e);
      if (!e.empty()) out.push_back(unquote(e));
    }
  } else {
    out.push_back(unquote(v));
  }
  return out;
}

int service_port(std::string_view s) {
  static const std::pair<std::string_view, int> k[] = {{"ssh", 22},
                                                       {"telnet", 23},
                                                       {"smtp", 25},
                                                       {"domain", 53},
                                                       {"http", 80},
                                                       {"https", 443},
                                                       {"ms-wbt-server", 3389},
                                                       {"mysql", 3306},
                                                       {"postgresql", 5432},
                                                       {"rfb", 5900},
                                                       {"openvpn", 1194}};
  for (auto& [n, p] : k)
    if (s == n) return p;
  int v = 0;
  if (s.empty() || s.size() > 5) return -1;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Does a port value (number, name, range, set) contain `port`? -1: cannot tell (named set).
int port_in(std::string_view v, int port) {
  if (v.starts_with('@')) return -1;
  for (const auto& e : elements(v)) {
    if (auto dash = e.find('-'); dash != std::string::npos && dash > 0) {
      int a = service_port(e.substr(0, dash)), b = service_port(e.substr(dash + 1));
      if (a >= 0 && b >= 0 && port >= a && port <= b) return 1;
      continue;
    }
    if (service_port(e) == port) return 1;
  }
  return 0;
}

struct Match {
  bool possible = true;              // the rule can match our packet
  bool any_source = true;            // … from every source
  std::vector<std::string> sources;  // else from these
  std::string verdict;               // accept, drop, reject, jump, goto, return, ""
  std::string target;                // jump/goto chain
};

Match match_rule(const NftRule& r, const NftChain& ch, std::string_view proto, int port, bool v6) {
  Match m;
  const auto& w = r.words;
  auto val = [&](size_t& i, bool& neg) -> std::string {
    neg = false;
    if (i + 1 < w.size() && w[i + 1] == "!=") {
      neg = true;
      ++i;
    }
    return i + 1 < w.size() ? w[++i] : "";
  };
  auto fam_mismatch = [&](bool rule_v6) {
    if (ch.family == "inet") return rule_v6 != v6;
    return false;
  };
  for (size_t i = 0; i < w.size(); ++i) {
    const std::string& t = w[i];
    bool neg = false;
    if (t == "ct" && i + 1 < w.size() && w[i + 1] == "state") {
      ++i;
      auto v = val(i, neg);
      if (v.size() >= 2 && v.front() == '{') v = v.substr(1, v.size() - 2);
      bool has_new = false;
      for (auto s : split(v, ','))
        if (trim(s) == "new") has_new = true;
      if (has_new == neg) m.possible = false;
    } else if (t == "iif" || t == "iifname") {
      auto v = unquote(val(i, neg));
      if ((v == "lo") != neg) m.possible = false;
    } else if ((t == "ip" || t == "ip6") && i + 1 < w.size()) {
      bool rule_v6 = t == "ip6";
      if (fam_mismatch(rule_v6)) m.possible = false;
      const std::string& field = w[++i];
      if (field == "saddr") {
        auto v = val(i, neg);
        if (!neg) {
          m.any_source = false;
          for (auto& e : v.starts_with('@') ? std::vector<std::string>{v} : elements(v))
            m.sources.push_back(e);
        }
      } else if (field == "protocol" || field == "nexthdr") {
        auto v = val(i, neg);
        bool hit = false;
        for (auto& e : elements(v)) hit |= e == proto;
        if (hit == neg) m.possible = false;
      } else {
        val(i, neg);  // daddr and the like: may match
      }
    } else if ((t == "tcp" || t == "udp" || t == "th") && i + 1 < w.size()) {
      if (t != "th" && t != proto) m.possible = false;
      const std::string& field = w[++i];
      if (field == "dport") {
        auto v = val(i, neg);
        int in = port_in(v, port);
        if (in >= 0 && (in == 1) == neg) m.possible = false;
      } else if (field != "flags") {
        val(i, neg);
      }
    } else if (t == "meta" && i + 1 < w.size()) {
      const std::string& field = w[++i];
      auto v = val(i, neg);
      if (field == "l4proto") {
        bool hit = false;
        for (auto& e : elements(v)) hit |= e == proto;
        if (hit == neg) m.possible = false;
      } else if (field == "nfproto") {
        bool hit = (v == "ipv6") == v6;
        if (hit == neg) m.possible = false;
      } else if (field == "iif" || field == "iifname") {
        if ((unquote(v) == "lo") != neg) m.possible = false;
      }
    } else if (t == "accept" || t == "drop" || t == "return") {
      m.verdict = t;
    } else if (t == "reject") {
      m.verdict = "drop";
      break;  // "with …" follows
    } else if ((t == "jump" || t == "goto") && i + 1 < w.size()) {
      m.verdict = t;
      m.target = w[++i];
    } else if (t == "comment" || t == "prefix") {
      ++i;  // the quoted text
    }
  }
  return m;
}

struct Evaluator {
  const NftRuleset& rs;
  std::string_view proto;
  int port;
  bool v6;
  std::vector<std::string> allowed;  // sources let in so far
  std::string why;
  size_t steps = 0;  // rules looked at: jumps can fan out (a chain jumping to itself twice)

  const NftChain* find(const NftChain& from, const std::string& name) const {
    for (const auto& c : rs.chains)
      if (c.family == from.family && c.table == from.table && c.name == name) return &c;
    return nullptr;
  }

  enum Out { kAccept, kDrop, kContinue, kEndChain };

  // `restrict`: the sources this evaluation is limited to (empty = all).
  Out run(const NftChain& ch, const std::vector<std::string>& restrict, int depth) {
    if (depth > kMaxJumpDepth) return kContinue;
    for (const auto& r : ch.rules) {
      if (++steps > kMaxSteps) return kContinue;
      Match m = match_rule(r, ch, proto, port, v6);
      if (!m.possible || m.verdict.empty()) continue;
      std::vector<std::string> src = restrict;
      bool any = m.any_source&& restrict.empty();
      if (!m.any_source) src = m.sources;  // (a narrower rule inside a restricted jump)
      if (m.verdict == "accept") {
        if (any) {
          why = fmt::format("accepted by rule at line {} of {} {} {}", r.line, ch.family, ch.table,
                            ch.name);
          return kAccept;
        }
        for (auto& s : src) allowed.push_back(s);
        if (why.empty())
          why = fmt::format("accepted from some sources by line {} of {} {} {}", r.line, ch.family,
                            ch.table, ch.name);
      } else if (m.verdict == "drop") {
        if (any) {
          if (why.empty())
            why = fmt::format("dropped by rule at line {} of {} {} {}", r.line, ch.family, ch.table,
                              ch.name);
          return kDrop;
        }
      } else if (m.verdict == "return") {
        if (any) return kContinue;
      } else if (const NftChain* t = find(ch, m.target)) {
        Out o = run(*t, any ? std::vector<std::string>{} : src, depth + 1);
        if (any && (o == kAccept || o == kDrop || o == kEndChain)) return o;
        if (any && m.verdict == "goto") return kEndChain;
      }
    }
    return kContinue;
  }
};

}  // namespace

std::vector<const NftChain*> NftRuleset::filtering_input_chains() const {
  std::vector<const NftChain*> out;
  for (const auto& c : chains) {
    if (c.hook != "input") continue;
    bool drops = c.policy == "drop";
    if (!drops && !c.rules.empty()) {
      const auto& w = c.rules.back().words;
      bool uncond = std::none_of(w.begin(), w.end(), [](const std::string& t) {
        return t == "saddr" || t == "dport" || t == "iif" || t == "iifname" || t == "ct" ||
               t == "l4proto" || t == "protocol";
      });
      drops = uncond && std::any_of(w.begin(), w.end(), [](const std::string& t) {
                return t == "drop" || t == "reject";
              });
    }
    if (drops) out.push_back(&c);
  }
  return out;
}

Result<NftRuleset> parse_nft_ruleset(std::string_view text) {
  NftRuleset rs;
  std::string family, table;
  NftChain* chain = nullptr;
  int skip_depth = 0;  // inside a set/map/flowtable block
  size_t pos = 0;
  std::string_view line;
  int lineno = 0;
  while (next_line(text, pos, line)) {
    ++lineno;
    if (line.size() > kMaxLine)
      return Error::invalid(fmt::format("ruleset line {}: longer than {} bytes", lineno, kMaxLine));
    auto w = tokens(line);
    if (w.empty()) continue;
    if (skip_depth > 0) {
      for (char c : line) skip_depth += c == '{' ? 1 : c == '}' ? -1 : 0;
      continue;
    }
    if (w[0] == "}") {
      if (chain)
        chain = nullptr;
      else
        table.clear();
      continue;
    }
    if (table.empty()) {
      if (w[0] == "table") {
        if (w.size() < 3)
          return Error::invalid(fmt::format("ruleset line {}: bad table line", lineno));
        if (w.size() >= 4) {
          family = w[1];
          table = w[2];
        } else {  // "table NAME {": the ip family
          family = "ip";
          table = w[1];
        }
      }
      continue;
    }
    if (!chain) {
      if (w[0] == "chain" && w.size() >= 2) {
        rs.chains.push_back({family, table, w[1], "", "accept", {}});
        chain = &rs.chains.back();
        if (w.back().starts_with("{") && w.back().ends_with("}")) chain = nullptr;  // empty
      } else if (line.find('{') != std::string_view::npos) {
        skip_depth = 0;
        for (char c : line) skip_depth += c == '{' ? 1 : c == '}' ? -1 : 0;
      }
      continue;
    }
    if (w[0] == "type") {
      for (size_t i = 0; i + 1 < w.size(); ++i) {
        if (w[i] == "hook") chain->hook = w[i + 1];
        if (w[i] == "policy") chain->policy = w[i + 1];
      }
      continue;
    }
    if (w[0] == "policy" && w.size() >= 2) {
      chain->policy = w[1];
      continue;
    }
    chain->rules.push_back({std::move(w), lineno});
  }
  return rs;
}

Reach reachable(const NftRuleset& rs, std::string_view proto, int port, bool ipv6) {
  Reach out;
  bool any_chain = false;
  size_t best = SIZE_MAX;
  for (const auto& c : rs.chains) {
    if (c.hook != "input") continue;
    if (c.family != "inet" && c.family != (ipv6 ? "ip6" : "ip")) continue;
    any_chain = true;
    Evaluator ev{rs, proto, port, ipv6, {}, {}};
    auto o = ev.run(c, {}, 0);
    Reach r;
    if (o == Evaluator::kAccept || (o != Evaluator::kDrop && c.policy != "drop")) {
      r.kind = Reach::kOpen;
      r.why = ev.why.empty() ? fmt::format("policy accept in {} {} {}", c.family, c.table, c.name)
                             : ev.why;
    } else if (ev.allowed.empty()) {
      r.kind = Reach::kClosed;
      r.why = ev.why.empty() ? fmt::format("policy drop in {} {} {}", c.family, c.table, c.name)
                             : ev.why;
    } else {
      r.kind = Reach::kRestricted;
      r.sources = ev.allowed;
      r.why = ev.why;
    }
    // Every input chain must let the packet through: keep the most restrictive answer.
    if (r.kind == Reach::kClosed) return r;
    if (r.kind == Reach::kRestricted && r.sources.size() < best) {
      best = r.sources.size();
      out = r;
    } else if (r.kind == Reach::kOpen && best == SIZE_MAX) {
      out = r;
    }
  }
  if (!any_chain) {
    out.kind = Reach::kOpen;
    out.why = rs.empty() ? "no firewall rules loaded" : "no chain filters incoming traffic";
  }
  return out;
}

}  // namespace mamori::audit
