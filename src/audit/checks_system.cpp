// The checks of installed remote-access software, rotated credentials and the firewall.
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

// ---- packages and firewall ----------------------------------------------------------------

void package_checks(Ctx& x) {
  auto& old = x.add("PKG-OUTDATED-REMOTE");
  // The table's versions are of one release: other releases (older OpenSSH without the
  // regression, say) are left to the vulnerability database.
  std::string os = x.os.id + " " + x.os.version_id;
  for (const auto& p : x.packages)
    for (const auto& a : kAdvisories)
      if (os == a.os && p.name == a.package && vuln::dpkg_compare(p.version, a.fixed) < 0)
        x.fail(old, "pkg:deb/" + p.name,
               fmt::format("{} {} < {}: {} — {}", p.name, p.version, a.fixed, a.id, a.what),
               a.severity);
  // keep one finding per package (the asset), the worst advisory first
  std::map<std::string, Finding> one;
  for (auto& f : old.findings) {
    auto it = one.find(f.asset);
    if (it == one.end()) {
      one[f.asset] = f;
    } else {
      if (f.severity > it->second.severity) std::swap(it->second.severity, f.severity);
      it->second.evidence += "; " + f.evidence;
    }
  }
  old.findings.clear();
  for (auto& [k, f] : one) old.findings.push_back(std::move(f));

  // Patched, but a password stolen while the hole was open still works: accounts whose
  // password is older than the installation of the fix.
  auto& rot = x.add("CRED-NOT-ROTATED");
  // The fixes to consider: the pinned remote-access table, and every known-exploited (CISA KEV)
  // vulnerability the vulnerability database says the installed version fixes.
  struct Fix {
    std::string source;  // Debian source package: its binaries share the history
    std::string fixed;   // first fixed version
    std::string id;      // "CVE-2024-6387"
  };
  std::vector<Fix> fixes;
  std::set<std::pair<std::string, std::string>> fix_seen;  // (source, id)
  auto source_of = [](const Package& p) { return p.source_name.value_or(p.name); };
  auto add_fix = [&](const Package& p, std::string fixed, std::string id) {
    if (fix_seen.emplace(source_of(p), id).second)
      fixes.push_back({source_of(p), std::move(fixed), std::move(id)});
  };
  for (const auto& p : x.packages)
    for (const auto& a : kAdvisories)
      if (a.leaks_credentials && os == a.os && p.name == a.package &&
          vuln::dpkg_compare(p.version, a.fixed) >= 0)
        add_fix(p, a.fixed, a.id);
  if (x.vuln_db) {
    for (const auto& fe : vuln::fixed_exploited(*x.vuln_db, x.os, x.packages)) {
      const Package& p = x.packages[fe.package];
      // dpkg.log has binary versions: comparable with the source's only when they are the same
      // (or a binNMU of it, "+bN")
      std::string sv = p.source_version.value_or(p.version);
      if (p.version != sv && !p.version.starts_with(sv + "+b")) {
        rot.evidence.push_back(fmt::format(
            "{} {} fixes {} (known exploited), but its binary versions differ from the source's "
            "({}): the date of the fix is not read",
            p.name, p.version, fe.cve, sv));
        continue;
      }
      add_fix(p, fe.fixed, fe.cve);
    }
  } else {
    rot.evidence.push_back(
        "no vulnerability database: only the pinned remote-access fixes were considered (mamori "
        "db update adds every known-exploited vulnerability)");
  }

  const auto& history = x.dpkg_history;
  for (const auto& w : x.dpkg_warnings) x.rep.warnings.push_back(w);
  struct Applied {
    int64_t at;
    std::string what;  // "openssh-server 1:9.2p1-2+deb12u3 (CVE-2024-6387)"
  };
  std::vector<Applied> applied;
  for (const auto& fx : fixes) {
    std::set<std::string> binaries;
    for (const auto& p : x.packages)
      if (source_of(p) == fx.source) binaries.insert(p.name);
    // When did a fixed version first reach "installed", and had a vulnerable one been there?
    const inventory::DpkgRecord* first_fixed = nullptr;
    bool vulnerable_before = false;
    for (const auto& r : history) {
      if (!binaries.count(r.package)) continue;
      bool is_fixed = vuln::dpkg_compare(r.version, fx.fixed) >= 0;
      if (!is_fixed) vulnerable_before = true;
      if (is_fixed && !r.before) {
        first_fixed = &r;
        break;
      }
    }
    if (!first_fixed) {
      rot.evidence.push_back(
          fmt::format("{} fixes {} ({}), but /var/log/dpkg.log* does not say when it was installed",
                      fx.source, fx.id, fx.fixed));
      continue;
    }
    if (!vulnerable_before) {
      rot.evidence.push_back(fmt::format(
          "{} was installed already fixed for {} on {} (no older version in /var/log/dpkg.log*)",
          first_fixed->package, fx.id, iso8601(first_fixed->t).substr(0, 10)));
      continue;
    }
    applied.push_back({first_fixed->t, fmt::format("{} {} ({})", first_fixed->package,
                                                   first_fixed->version, fx.id)});
  }
  // Newest fix first: an account is flagged once, for the latest fix its password predates.
  std::stable_sort(applied.begin(), applied.end(),
                   [](const Applied& a, const Applied& b) { return a.at > b.at; });
  for (const auto& acc : x.accounts) {
    HashInfo h = classify_hash(acc.hash);
    if (!acc.has_shadow || h.scheme == "locked" || h.scheme == "empty" || !login_shell(acc.shell) ||
        acc.last_change_days <= 0)
      continue;
    int64_t changed = acc.last_change_days * 86400;
    size_t missed = 0;
    for (const auto& a : applied) missed += changed < a.at;
    if (missed == 0) continue;
    const Applied& a = applied.front();  // the newest, so after the change
    x.fail(rot, "account:" + acc.name,
           fmt::format("{}: password last changed {}, before {} was installed on {}{}", acc.name,
                       iso8601(changed).substr(0, 10), a.what, iso8601(a.at).substr(0, 10),
                       missed > 1 ? fmt::format(" (and {} earlier fixes)", missed - 1) : ""));
  }
  if (applied.empty() && rot.evidence.empty())
    rot.evidence.push_back("no fix of a credential-leaking vulnerability is recorded installed");

  auto& ra = x.add("REMOTE-ACCESS-SOFTWARE");
  ra.result = CheckResult::kInfo;
  for (const auto& p : x.packages)
    if (inventory::is_remote_access_package(p)) ra.evidence.push_back(p.name + " " + p.version);
}

void firewall_check(Ctx& x) {
  auto& fw = x.add("FIREWALL-ACTIVE");
  if (!x.nft) {
    fw.result = CheckResult::kSkipped;
    fw.evidence.push_back("firewall state unknown: " + x.nft_source);
    return;
  }
  auto chains = x.nft->filtering_input_chains();
  if (const auto& ufw = x.file("/etc/ufw/ufw.conf")) {
    auto kv = key_values(*ufw, false);
    fw.evidence.push_back("ufw ENABLED=" + (kv.count("ENABLED") ? kv["ENABLED"] : "?"));
  }
  if (chains.empty()) {
    std::string why =
        x.nft->empty() ? "the loaded ruleset is empty" : "no input chain drops by default";
    if (x.file("/etc/nftables.conf"))
      why += " (/etc/nftables.conf exists but is not what is loaded, or it does not drop)";
    x.fail(fw, "firewall", fmt::format("{} ({})", why, x.nft_source));
  } else {
    for (const auto* c : chains)
      fw.evidence.push_back(
          fmt::format("{} {} {}: hook input, policy {}", c->family, c->table, c->name, c->policy));
  }
}

// `nft list ruleset` on this host; nullopt when nft is missing or not allowed.

}  // namespace mamori::audit::detail
