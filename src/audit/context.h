#pragma once
// What the audit's checks share (internal to the audit): the facts they read, collected first
// with all the I/O (facts.cpp), and the results they write. The checks are pure functions of
// these (checks_*.cpp).

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

#include "audit/audit.h"
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

constexpr uint64_t kMaxSmallFile = 16 << 20;

struct Account {
  std::string name, home, shell, hash;
  uint32_t uid = 0;
  long last_change_days = -1;
  bool has_shadow = false;
};

struct Possible {
  std::string value;
  std::string where;  // "global" or "Match Address 10.0.0.0/8 (file:line)"
};
std::vector<Possible> possible_values(const SshdConfig& c, const std::string& kw);

struct Advisory {
  const char* os;       // os-release ID and VERSION_ID the versions are of ("debian 12")
  const char* package;  // binary package
  const char* fixed;    // first fixed Debian 12 version
  const char* id;
  Severity severity;
  const char* what;
  bool leaks_credentials;  // exploited, it hands over the machine (and its password hashes)
};
constexpr Advisory kAdvisories[] = {
    {"debian 12", "openssh-server", "1:9.2p1-2+deb12u3", "CVE-2024-6387", Severity::kCritical,
     "regreSSHion: unauthenticated remote code execution as root in sshd (DSA-5724-1)", true},
    {"debian 12", "openssh-server", "1:9.2p1-2+deb12u2", "CVE-2023-48795", Severity::kMedium,
     "Terrapin: an attacker in the path can drop SSH handshake messages (DSA-5586-1)", false},
};

// A finding of check c on asset (one per check and asset: its fingerprint is made of them).
Finding make_finding(const Check& c, std::string asset, Severity sev, std::string evidence);

// The facts every check reads (collected first, all the I/O), and the checks' results. The
// checks are pure: they read these fields and never the root.

struct Ctx {
  explicit Ctx(AuditReport& r) : rep(r) {}
  AuditReport& rep;
  std::optional<SshdConfig> sshd;
  std::vector<Account> accounts;
  std::map<std::string, std::set<std::string>> groups;  // group → members
  std::vector<inventory::Listener> listeners;
  std::optional<NftRuleset> nft;
  std::string nft_source;
  std::vector<Package> packages;
  inventory::OsRelease os;
  std::optional<PamStack> sshd_auth, common_auth, login_auth, password_stack;
  std::map<std::string, std::string> login_defs;
  const vuln::VulnDb* vuln_db = nullptr;
  // Files read for the checks (authorized_keys, pwquality, ufw.conf, nftables.conf): path → text
  // (nullopt: absent or unreadable).
  std::map<std::string, std::optional<std::string>> files;
  std::vector<std::string> pwquality_d;  // the texts of /etc/security/pwquality.conf.d/*.conf
  std::vector<inventory::DpkgRecord> dpkg_history;
  std::vector<std::string> dpkg_warnings;
  const std::optional<std::string>& file(const std::string& path) const {
    static const std::optional<std::string> none;
    auto it = files.find(path);
    return it == files.end() ? none : it->second;
  }

  // The check `id` of the table (table.cpp), to be evaluated. A deque: the references handed
  // out stay valid while more checks are added.
  std::deque<Check> checks;
  Check& add(std::string_view id) {
    const CheckInfo& info = check_info(id);
    Check c;
    c.id = info.id;
    c.title = info.title;
    c.severity = info.severity;
    c.rationale = info.rationale;
    c.remediation = info.remediation;
    checks.push_back(std::move(c));
    return checks.back();
  }

  void fail(Check& c, std::string asset, std::string evidence, std::optional<Severity> sev = {}) {
    c.result = CheckResult::kFail;
    Severity s = sev.value_or(c.severity);
    if (s > c.severity || c.findings.empty()) c.severity = s;
    c.evidence.push_back(evidence);
    // One finding per (check, asset): the fingerprint is made of them.
    for (auto& f : c.findings)
      if (f.asset == asset) {
        f.evidence += "; " + evidence;
        f.severity = std::max(f.severity, s);
        return;
      }
    c.findings.push_back(make_finding(c, std::move(asset), s, std::move(evidence)));
  }

  Reach reach(const inventory::Listener& l) const {
    if (!nft) return Reach{Reach::kOpen, {}, "firewall state unknown"};
    bool v6 = l.protocol.ends_with('6');
    std::string proto = l.protocol.starts_with("tcp") ? "tcp" : "udp";
    return reachable(*nft, proto, l.port, v6);
  }
};

std::optional<std::string> read_opt(const Root& root, const std::string& p);
std::map<std::string, std::string> key_values(std::string_view text, bool lower_keys);
bool login_shell(std::string_view s);
std::string listener_text(const inventory::Listener& l);

// A vendor or service account: a login shell, a home, not root and not in an admin group.
bool vendor_account(const Ctx& x, const Account& a);
// The account's authorized_keys files: AuthorizedKeysFile with %h, %u expanded.
std::vector<std::string> authorized_key_files(const Ctx& x, const Account& a);

// The facts, read under the root (facts.cpp); warnings go to the report.
Status collect_facts(const Root& root, const AuditOptions& opts, Ctx& x);

// The checks, each group adding its rows of the table in order.
void exposure_checks(Ctx& x);
void ssh_checks(Ctx& x);
void key_checks(Ctx& x);
void pam_checks(Ctx& x);
void lockout_check(Ctx& x);
void package_checks(Ctx& x);
void firewall_check(Ctx& x);

}  // namespace mamori::audit::detail
