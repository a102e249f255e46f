// The audit's facts, read under the root: every file and live state the checks look at.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "audit/context.h"
#include "audit/firewall.h"
#include "audit/pam.h"
#include "audit/sshd.h"
#include "core/text.h"
#include "inventory/checks.h"
#include "inventory/inventory.h"
#include "inventory/listeners.h"
#include "inventory/parsers.h"
#include "vuln/version.h"
#include "vuln/vuln.h"

namespace mamori::audit::detail {

std::optional<std::string> read_opt(const Root& root, const std::string& p) {
  auto t = root.read(p, kMaxSmallFile);
  if (!t) return std::nullopt;
  return std::move(*t);
}

// login.defs style "KEY value" (also "key = value" for pwquality.conf). Keys as written.

std::map<std::string, std::string> key_values(std::string_view text, bool lower_keys) {
  std::map<std::string, std::string> m;
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t cut = line.find_first_of(" \t=");
    if (cut == std::string_view::npos) continue;
    std::string k(line.substr(0, cut));
    std::string_view v = trim(line.substr(cut));
    if (!v.empty() && v[0] == '=') v = trim(v.substr(1));
    if (lower_keys) k = to_lower(k);
    if (!m.count(k)) m[k] = std::string(v);
  }
  return m;
}

bool login_shell(std::string_view s) {
  return !(s.ends_with("/nologin") || s.ends_with("/false") || s.empty() || s == "/bin/sync");
}

std::vector<Account> read_accounts(const Root& root, std::vector<std::string>& warnings) {
  std::vector<Account> out;
  std::map<std::string, size_t> by_name;
  if (auto p = read_opt(root, "/etc/passwd")) {
    size_t pos = 0;
    std::string_view line;
    while (next_line(*p, pos, line)) {
      auto f = split(line, ':');
      if (f.size() < 7 || f[0].empty()) continue;
      Account a;
      a.name = std::string(f[0]);
      a.uid = static_cast<uint32_t>(std::strtoul(std::string(f[2]).c_str(), nullptr, 10));
      a.home = std::string(f[5]);
      a.shell = std::string(f[6]);
      by_name[a.name] = out.size();
      out.push_back(std::move(a));
    }
  }
  auto sh = root.read("/etc/shadow", kMaxSmallFile);
  if (!sh) {
    warnings.push_back("cannot read /etc/shadow: " + sh.error().message +
                       " (password hashes not checked; run as root)");
    return out;
  }
  size_t pos = 0;
  std::string_view line;
  while (next_line(*sh, pos, line)) {
    auto f = split(line, ':');
    if (f.size() < 3 || f[0].empty()) continue;
    auto it = by_name.find(std::string(f[0]));
    if (it == by_name.end()) {
      Account a;
      a.name = std::string(f[0]);
      by_name[a.name] = out.size();
      out.push_back(std::move(a));
      it = by_name.find(std::string(f[0]));
    }
    Account& a = out[it->second];
    a.hash = std::string(f[1]);
    a.has_shadow = true;
    // days since 1970 (shadow(5)); anything past year 2200 is not a date but damage
    if (!f[2].empty()) {
      long d = std::strtol(std::string(f[2]).c_str(), nullptr, 10);
      a.last_change_days = d >= 0 && d < 84000 ? d : -1;
    }
  }
  return out;
}

// The sshd configuration's possible values of a keyword: the global one, and the first value
// inside every Match block (it applies to the connections that block matches).

std::optional<std::string> live_ruleset(std::string& why) {
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft"}) {
    if (::access(p, X_OK) != 0) continue;
    std::string cmd = std::string(p) + " list ruleset 2>/dev/null";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) break;
    std::string out;
    std::array<char, 65536> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0 && out.size() < kMaxSmallFile)
      out.append(buf.data(), n);
    int rc = ::pclose(f);
    if (rc != 0) {
      why = fmt::format("'{} list ruleset' failed (exit {}; needs CAP_NET_ADMIN)", p,
                        WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
      return std::nullopt;
    }
    why = "nft list ruleset";
    return out;
  }
  why = "nft is not installed (apt install nftables) and no snapshot given";
  return std::nullopt;
}

Status collect_facts(const Root& root, const AuditOptions& opts, Ctx& x) {
  AuditReport& rep = x.rep;
  x.vuln_db = opts.vuln_db;
  if (root.exists("/etc/ssh/sshd_config")) {
    auto c = read_sshd_config(root);
    if (!c) return c.error().with_context("audit");
    for (auto& w : c->warnings) rep.warnings.push_back(w);
    x.sshd = std::move(*c);
  }
  auto pam = [&](const char* service, const char* type) -> Result<std::optional<PamStack>> {
    if (!root.exists(std::string("/etc/pam.d/") + service)) return std::optional<PamStack>{};
    auto s = read_pam_stack(root, service, type);
    if (!s) return s.error().with_context("audit");
    for (auto& w : s->warnings) rep.warnings.push_back(w);
    return std::optional<PamStack>(std::move(*s));
  };
  auto a1 = pam("sshd", "auth");
  if (!a1) return a1.error();
  x.sshd_auth = std::move(*a1);
  auto a2 = pam("common-auth", "auth");
  if (!a2) return a2.error();
  x.common_auth = std::move(*a2);
  auto a3 = pam("login", "auth");
  if (!a3) return a3.error();
  x.login_auth = std::move(*a3);
  auto a4 = pam(root.exists("/etc/pam.d/passwd") ? "passwd" : "common-password", "password");
  if (!a4) return a4.error();
  x.password_stack = std::move(*a4);
  if (auto t = read_opt(root, "/etc/login.defs")) x.login_defs = key_values(*t, false);
  x.accounts = read_accounts(root, rep.warnings);
  if (auto g = read_opt(root, "/etc/group")) {
    size_t pos = 0;
    std::string_view line;
    while (next_line(*g, pos, line)) {
      auto f = split(line, ':');
      if (f.size() < 4 || f[0].empty()) continue;
      auto& members = x.groups[std::string(f[0])];
      for (auto m : split(f[3], ','))
        if (!m.empty()) members.insert(std::string(m));
    }
  }
  x.listeners = inventory::listening_sockets(root);
  if (auto osr = inventory::read_os_release(root)) x.os = std::move(*osr);
  if (auto st = read_opt(root, "/var/lib/dpkg/status")) {
    auto pk = inventory::parse_dpkg_status(*st, "/var/lib/dpkg/status");
    if (!pk) return pk.error().with_context("audit");
    x.packages = std::move(*pk);
  }
  // The firewall: given, live (host), or a snapshot under the root.
  std::optional<std::string> ruleset;
  if (opts.nft_ruleset_given) {
    ruleset = opts.nft_ruleset;
    x.nft_source = "given ruleset";
  } else if (root.is_host()) {
    ruleset = live_ruleset(x.nft_source);
  } else if (auto snap = read_opt(root, "/run/nft-ruleset.txt")) {
    ruleset = std::move(snap);
    x.nft_source = "snapshot /run/nft-ruleset.txt";
  } else {
    x.nft_source = "no /run/nft-ruleset.txt snapshot under the root";
  }
  // iptables-legacy keeps its rules in x_tables, which nft cannot show: with such tables
  // loaded, what reaches a port is unknown (iptables-nft rules are in the nft ruleset).
  std::string legacy;
  for (const char* f : {"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"})
    if (auto t = read_opt(root, f)) {
      size_t pos = 0;
      std::string_view line;
      while (next_line(*t, pos, line))
        if (!trim(line).empty())
          legacy += fmt::format(
              "{}{} {}", legacy.empty() ? "" : ", ",
              std::string_view(f).find("ip6") != std::string_view::npos ? "ip6" : "ip", trim(line));
    }
  if (!legacy.empty() && ruleset) {
    ruleset.reset();
    x.nft_source = "iptables-legacy tables are loaded (" + legacy +
                   ") and their rules are not visible to nft: read them with "
                   "iptables-legacy-save, or move to nftables (iptables-nft)";
  }
  if (ruleset) {
    auto rs = parse_nft_ruleset(*ruleset);
    if (!rs) return rs.error().with_context("audit: firewall ruleset");
    x.nft = std::move(*rs);
  } else {
    rep.warnings.push_back("firewall state unknown (" + x.nft_source +
                           "): listening ports are taken as reachable");
  }
  // What the checks read besides: files named by the configuration, and dpkg's history.
  for (const auto& a : x.accounts)
    if (vendor_account(x, a))
      for (const auto& f : authorized_key_files(x, a)) x.files[f] = read_opt(root, f);
  for (const char* f : {"/etc/security/pwquality.conf", "/etc/ufw/ufw.conf", "/etc/nftables.conf"})
    x.files[f] = read_opt(root, f);
  for (const auto& p : root.list("/etc/security/pwquality.conf.d", "*.conf"))
    if (auto t = root.read(p, kMaxSmallFile)) x.pwquality_d.push_back(std::move(*t));
  x.dpkg_history = inventory::dpkg_history(root, x.dpkg_warnings);
  return ok();
}

}  // namespace mamori::audit::detail
