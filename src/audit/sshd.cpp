#include "audit/sshd.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "core/ip.h"
#include "core/text.h"

namespace mamori::audit {
namespace {

constexpr int kMaxIncludeDepth = 16;           // sshd's SERVCONF_MAX_DEPTH
constexpr uint64_t kMaxConfigBytes = 4 << 20;  // a bigger sshd_config is not a config
constexpr size_t kMaxLine = 64 * 1024;

// OpenSSH 9.2 (Debian 12) defaults, as `sshd -T` prints them, for the keywords the audit uses
// and the common ones an operator looks at.
const std::map<std::string, std::string, std::less<>>& defaults() {
  static const std::map<std::string, std::string, std::less<>> d = {
      {"port", "22"},
      {"addressfamily", "any"},
      {"usepam", "no"},
      {"logingracetime", "120"},
      {"maxauthtries", "6"},
      {"maxsessions", "10"},
      {"clientaliveinterval", "0"},
      {"clientalivecountmax", "3"},
      {"permitrootlogin", "without-password"},
      {"ignorerhosts", "yes"},
      {"hostbasedauthentication", "no"},
      {"pubkeyauthentication", "yes"},
      {"kerberosauthentication", "no"},
      {"gssapiauthentication", "no"},
      {"passwordauthentication", "yes"},
      {"kbdinteractiveauthentication", "yes"},
      {"printmotd", "yes"},
      {"x11forwarding", "no"},
      {"permittty", "yes"},
      {"strictmodes", "yes"},
      {"permitemptypasswords", "no"},
      {"gatewayports", "no"},
      {"usedns", "no"},
      {"allowtcpforwarding", "yes"},
      {"allowagentforwarding", "yes"},
      {"disableforwarding", "no"},
      {"allowstreamlocalforwarding", "yes"},
      {"permituserenvironment", "no"},
      {"permittunnel", "no"},
      {"loglevel", "INFO"},
      {"authorizedkeysfile", ".ssh/authorized_keys .ssh/authorized_keys2"},
      {"authenticationmethods", "any"},
      {"maxstartups", "10:30:100"},
      {"banner", "none"},
      {"forcecommand", "none"},
      {"chrootdirectory", "none"},
      {"trustedusercakeys", "none"},
      {"authorizedkeyscommand", "none"},
      {"ciphers",
       "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
       "aes256-gcm@openssh.com"},
      {"macs",
       "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
       "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
       "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"},
      {"kexalgorithms",
       "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
       "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,"
       "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,"
       "diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"},
  };
  return d;
}

// Keywords whose every occurrence adds values (all others: the first occurrence wins).
bool accumulates(std::string_view k) {
  static const std::set<std::string, std::less<>> a = {
      "port",       "listenaddress", "hostkey",     "hostcertificate", "acceptenv",
      "allowusers", "denyusers",     "allowgroups", "denygroups",      "include"};
  return a.count(k) > 0;
}

// Keywords whose value is a yes/no style word: printed in lower case by sshd -T.
bool is_flag(std::string_view k) {
  static const std::set<std::string, std::less<>> f = {"usepam",
                                                       "permitrootlogin",
                                                       "ignorerhosts",
                                                       "hostbasedauthentication",
                                                       "pubkeyauthentication",
                                                       "kerberosauthentication",
                                                       "gssapiauthentication",
                                                       "passwordauthentication",
                                                       "kbdinteractiveauthentication",
                                                       "printmotd",
                                                       "x11forwarding",
                                                       "permittty",
                                                       "strictmodes",
                                                       "permitemptypasswords",
                                                       "gatewayports",
                                                       "usedns",
                                                       "allowtcpforwarding",
                                                       "allowagentforwarding",
                                                       "disableforwarding",
                                                       "allowstreamlocalforwarding",
                                                       "permituserenvironment",
                                                       "permittunnel",
                                                       "compression",
                                                       "tcpkeepalive"};
  return f.count(k) > 0;
}

std::string canonical_keyword(std::string k) {
  k = to_lower(k);
  if (k == "challengeresponseauthentication") return "kbdinteractiveauthentication";
  if (k == "pubkeyacceptedkeytypes") return "pubkeyacceptedalgorithms";
  if (k == "hostbasedacceptedkeytypes") return "hostbasedacceptedalgorithms";
  return k;
}

// sshd's argv_split(…, terminate_on_comment=1): whitespace-separated words, "double" and
// 'single' quotes, backslash escaping a quote or a backslash, '#' at a word start ends the line.
// The keyword may be separated from its value by '=' (strdelim).
bool split_line(std::string_view line, std::vector<std::string>& out, std::string& why) {
  out.clear();
  size_t i = 0;
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  // keyword
  while (i < line.size() && ws(line[i])) ++i;
  if (i == line.size() || line[i] == '#') return true;
  size_t k = i;
  while (i < line.size() && !ws(line[i]) && line[i] != '=') ++i;
  out.emplace_back(line.substr(k, i - k));
  while (i < line.size() && ws(line[i])) ++i;
  if (i < line.size() && line[i] == '=') {
    ++i;
  }
  for (;;) {
    while (i < line.size() && ws(line[i])) ++i;
    if (i == line.size() || line[i] == '#') break;
    std::string w;
    char quote = 0;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quote) {
        if (c == '\\' && i + 1 < line.size() && (line[i + 1] == quote || line[i + 1] == '\\')) {
          w.push_back(line[++i]);
        } else if (c == quote) {
          quote = 0;
        } else {
          w.push_back(c);
        }
        continue;
      }
      if (ws(c)) break;
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '\\' && i + 1 < line.size() &&
                 (line[i + 1] == '"' || line[i + 1] == '\'' || line[i + 1] == '\\' ||
                  ws(line[i + 1]))) {
        w.push_back(line[++i]);
      } else {
        w.push_back(c);
      }
    }
    if (quote) {
      why = "unterminated quote";
      return false;
    }
    out.push_back(std::move(w));
  }
  return true;
}

// "2m30s" → 150; -1 when malformed (sshd's convtime).
long convtime(std::string_view s) {
  if (s.empty()) return -1;
  long total = 0, cur = 0;
  bool digits = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      digits = true;
      if (cur > 100000000) return -1;
      continue;
    }
    if (!digits) return -1;
    long mult = 0;
    switch (c | 0x20) {
      case 's':
        mult = 1;
        break;
      case 'm':
        mult = 60;
        break;
      case 'h':
        mult = 3600;
        break;
      case 'd':
        mult = 86400;
        break;
      case 'w':
        mult = 604800;
        break;
      default:
        return -1;
    }
    total += cur * mult;
    cur = 0;
    digits = false;
  }
  return total + cur;
}

// "+a,b" / "-a*" / "^a" / "a,b" against the default list, as kex_assemble_names does.
std::string assemble_list(std::string_view def, std::string_view spec) {
  if (spec.empty()) return std::string(def);
  std::vector<std::string> base;
  for (auto x : split(def, ',')) base.emplace_back(x);
  auto items = [](std::string_view s) {
    std::vector<std::string> v;
    for (auto x : split(s, ','))
      if (!x.empty()) v.emplace_back(x);
    return v;
  };
  std::vector<std::string> out;
  if (spec[0] == '+') {
    out = base;
    for (auto& x : items(spec.substr(1)))
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  } else if (spec[0] == '-') {
    auto pats = items(spec.substr(1));
    for (auto& x : base) {
      bool drop = std::any_of(pats.begin(), pats.end(),
                              [&](const std::string& p) { return glob_match(p, x); });
      if (!drop) out.push_back(x);
    }
  } else if (spec[0] == '^') {
    out = items(spec.substr(1));
    for (auto& x : base)
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  } else {
    out = items(spec);
  }
  std::string r;
  for (auto& x : out) r += (r.empty() ? "" : ",") + x;
  return r;
}

// The value of one directive as sshd -T prints it.
std::string render(const SshDirective& d) {
  const std::string& k = d.keyword;
  std::string first = d.args.empty() ? "" : d.args[0];
  if (is_flag(k)) {
    std::string v = to_lower(first);
    if (k == "permitrootlogin" && v == "prohibit-password") return "without-password";
    return v;
  }
  if (k == "logingracetime" || k == "clientaliveinterval") {
    long t = convtime(first);
    return t < 0 ? first : std::to_string(t);
  }
  if (k == "ciphers" || k == "macs" || k == "kexalgorithms") {
    auto it = defaults().find(k);
    return assemble_list(it->second, first);
  }
  if (k == "loglevel") {
    std::string v = first;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::toupper(c); });
    return v;
  }
  std::string all;
  for (const auto& a : d.args) all += (all.empty() ? "" : " ") + a;
  return all;
}

// Expands an Include pattern (relative ones are under /etc/ssh) to in-root paths, sorted per
// component as glob(3) does; the pattern may hold wildcards in any component.
std::vector<std::string> expand_include(const Root& root, std::string pattern) {
  if (pattern.empty()) return {};
  if (pattern[0] != '/' && pattern[0] != '~') pattern = "/etc/ssh/" + pattern;
  std::vector<std::string> found = {""};
  for (auto comp : split(pattern, '/')) {
    if (comp.empty()) continue;
    std::vector<std::string> next;
    bool wild = comp.find_first_of("*?[") != std::string_view::npos;
    for (const auto& base : found) {
      if (!wild) {
        next.push_back(base + "/" + std::string(comp));
        continue;
      }
      for (const auto& p : root.list(base.empty() ? "/" : base, comp)) {
        std::string name = p.substr(p.rfind('/') + 1);
        if (name.starts_with('.') && !comp.starts_with('.')) continue;  // glob(3): no dotfiles
        next.push_back(base + "/" + name);
      }
    }
    found = std::move(next);
  }
  std::vector<std::string> out;
  for (auto& f : found)
    if (root.exists(f)) out.push_back(f);
  return out;
}

struct Parser {
  const Root& root;
  SshdConfig cfg;

  // `match` = index of the Match block the lines go to (-1: global).
  Status parse(std::string_view text, const std::string& file, int depth, int match) {
    cfg.files.push_back(file);
    size_t pos = 0;
    std::string_view line;
    int lineno = 0;
    std::vector<std::string> words;
    while (next_line(text, pos, line)) {
      ++lineno;
      if (line.size() > kMaxLine)
        return Error::invalid(
            fmt::format("{}:{}: line longer than {} bytes", file, lineno, kMaxLine));
      std::string why;
      if (!split_line(line, words, why))
        return Error::invalid(fmt::format("{}:{}: {}", file, lineno, why));
      if (words.empty()) continue;
      std::string kw = canonical_keyword(words[0]);
      if (words.size() < 2)
        return Error::invalid(fmt::format("{}:{}: no argument after keyword \"{}\"", file, lineno,
                                          sanitize(words[0])));
      if (kw == "match") {
        SshMatchBlock b;
        b.criteria.assign(words.begin() + 1, words.end());
        b.file = file;
        b.line = lineno;
        cfg.matches.push_back(std::move(b));
        match = static_cast<int>(cfg.matches.size()) - 1;
        continue;
      }
      if (kw == "include") {
        if (depth + 1 > kMaxIncludeDepth)
          return Error::invalid(
              fmt::format("{}:{}: Include nested more than {} deep (an Include loop?)", file,
                          lineno, kMaxIncludeDepth));
        for (size_t i = 1; i < words.size(); ++i) {
          auto files = expand_include(root, words[i]);
          for (const auto& f : files) {
            auto text2 = root.read(f, kMaxConfigBytes);
            if (!text2) {
              cfg.warnings.push_back(
                  fmt::format("{}:{}: Include {}: {}", file, lineno, f, text2.error().message));
              continue;
            }
            // A Match inside the included file ends with it; the including block goes on.
            if (auto st = parse(*text2, f, depth + 1, match); !st) return st;
          }
        }
        continue;
      }
      SshDirective d{kw, {words.begin() + 1, words.end()}, file, lineno};
      if (match < 0)
        cfg.global.push_back(std::move(d));
      else
        cfg.matches[static_cast<size_t>(match)].directives.push_back(std::move(d));
    }
    return {};
  }
};

// first-wins / accumulate over a sequence of directives.
void apply_directives(const std::vector<const SshDirective*>& ds,
                      std::map<std::string, std::pair<std::string, const SshDirective*>>& out) {
  std::map<std::string, std::pair<std::string, const SshDirective*>> mine;
  for (const SshDirective* d : ds) {
    if (accumulates(d->keyword)) {
      auto& slot = mine[d->keyword];
      for (const auto& a : d->args) {
        std::string v = a;
        slot.first += (slot.first.empty() ? "" : "\n") + v;
      }
      if (!slot.second) slot.second = d;
    } else if (!mine.count(d->keyword)) {
      mine[d->keyword] = {render(*d), d};
    }
  }
  for (auto& [k, v] : mine) out[k] = std::move(v);
}

std::map<std::string, std::pair<std::string, const SshDirective*>> resolve(
    const SshdConfig& c, const SshConnection* conn) {
  std::map<std::string, std::pair<std::string, const SshDirective*>> out;
  for (const auto& [k, v] : defaults()) out[k] = {v, nullptr};
  std::vector<const SshDirective*> g;
  for (const auto& d : c.global) g.push_back(&d);
  apply_directives(g, out);
  // Without a connection only "Match all" applies (as in sshd -T without -C).
  std::vector<const SshDirective*> m;
  for (const auto& b : c.matches) {
    bool all = b.criteria.size() == 1 && iequals(b.criteria[0], "all");
    if (all || (conn && ssh_match(b.criteria, *conn)))
      for (const auto& d : b.directives) m.push_back(&d);
  }
  apply_directives(m, out);
  return out;
}

}  // namespace

bool ssh_match_pattern_list(std::string_view value, std::string_view list) {
  bool positive = false;
  for (auto p : split(list, ',')) {
    bool neg = !p.empty() && p[0] == '!';
    if (neg) p.remove_prefix(1);
    if (p.empty()) continue;
    if (glob_match(to_lower(p), to_lower(value))) {
      if (neg) return false;
      positive = true;
    }
  }
  return positive;
}

bool ssh_match_address_list(std::string_view addr, std::string_view list) {
  bool positive = false;
  for (auto p : split(list, ',')) {
    bool neg = !p.empty() && p[0] == '!';
    if (neg) p.remove_prefix(1);
    if (p.empty()) continue;
    bool hit = p.find('/') != std::string_view::npos ? in_prefix(addr, p) : glob_match(p, addr);
    if (hit) {
      if (neg) return false;
      positive = true;
    }
  }
  return positive;
}

bool ssh_match(const std::vector<std::string>& criteria, const SshConnection& c) {
  if (criteria.size() == 1 && iequals(criteria[0], "all")) return true;
  for (size_t i = 0; i < criteria.size(); ++i) {
    std::string k = to_lower(criteria[i]);
    if (k == "all") return false;  // "all" only stands alone
    if (i + 1 >= criteria.size()) return false;
    const std::string& v = criteria[++i];
    bool ok = false;
    if (k == "user")
      ok = ssh_match_pattern_list(c.user, v);
    else if (k == "group")
      ok = std::any_of(c.groups.begin(), c.groups.end(),
                       [&](const std::string& g) { return ssh_match_pattern_list(g, v); });
    else if (k == "host")
      ok = ssh_match_pattern_list(c.host, v);
    else if (k == "address")
      ok = ssh_match_address_list(c.addr, v);
    else if (k == "localaddress")
      ok = ssh_match_address_list(c.laddr, v);
    else if (k == "localport")
      ok = ssh_match_pattern_list(std::to_string(c.lport), v);
    else if (k == "rdomain")
      ok = ssh_match_pattern_list(c.rdomain, v);
    else
      return false;  // unknown criterion: sshd refuses the file; never matches here
    if (!ok) return false;
  }
  return true;
}

std::map<std::string, std::string> SshdConfig::effective(const SshConnection* conn) const {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : resolve(*this, conn)) out[k] = v.first;
  return out;
}

std::string SshdConfig::origin(std::string_view keyword, const SshConnection* conn) const {
  auto r = resolve(*this, conn);
  auto it = r.find(std::string(keyword));
  if (it == r.end() || !it->second.second) return "";
  return fmt::format("{}:{}", it->second.second->file, it->second.second->line);
}

Result<SshdConfig> parse_sshd_config(const Root& root, std::string_view text,
                                     const std::string& file) {
  Parser p{root, {}};
  MAMORI_TRY(p.parse(text, file, 0, -1), "sshd_config");
  return std::move(p.cfg);
}

Result<SshdConfig> read_sshd_config(const Root& root, const std::string& path) {
  auto text = root.read(path, kMaxConfigBytes);
  if (!text) return text.error();
  return parse_sshd_config(root, *text, path);
}

}  // namespace mamori::audit
