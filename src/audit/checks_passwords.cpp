// The checks of PAM, password policy and stored hashes (PAM-*, PW-*, SHADOW-*).
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

// ---- PAM and passwords -------------------------------------------------------------------

void pam_checks(Ctx& x) {
  auto& nullok = x.add("PAM-NULLOK");
  std::set<std::pair<std::string, int>> seen;
  for (const auto* st : {&x.common_auth, &x.sshd_auth, &x.login_auth}) {
    if (!*st) continue;
    for (const PamRule* r : pam_rules_flat(**st))
      if (r->module_name() == "pam_unix" && r->has_arg("nullok") &&
          seen.insert({r->file, r->line}).second)
        x.fail(nullok, "pam:" + r->file,
               fmt::format("{}:{}: auth {} pam_unix.so nullok", r->file, r->line, r->control));
  }
  bool has_empty = std::any_of(x.accounts.begin(), x.accounts.end(),
                               [](const Account& a) { return a.has_shadow && a.hash.empty(); });
  if (has_empty)
    for (auto& f : nullok.findings) f.severity = Severity::kCritical;

  auto& minlen = x.add("PW-POLICY-MINLEN");
  // A tree without any password configuration (a container image, say) has nothing to judge.
  const bool no_password_config = !x.password_stack && x.login_defs.empty();
  if (no_password_config) {
    minlen.result = CheckResult::kSkipped;
    minlen.evidence.push_back("no PAM password stack and no /etc/login.defs under the root");
  } else {
    int best = -1;
    std::vector<std::string> how;
    if (x.password_stack) {
      for (const PamRule* r : pam_rules_flat(*x.password_stack)) {
        std::string m = r->module_name();
        std::string ctl = to_lower(r->control);
        bool enforced = ctl != "optional" && ctl != "sufficient";
        if (!enforced) continue;
        int len = -1;
        if (m == "pam_pwquality" || m == "pam_cracklib") {
          std::map<std::string, std::string> conf;
          if (m == "pam_pwquality") {
            if (const auto& t = x.file("/etc/security/pwquality.conf")) conf = key_values(*t, true);
            for (const auto& t : x.pwquality_d)
              for (auto& [k, v] : key_values(t, true)) conf[k] = v;
          }
          for (const char* k : {"minlen", "dcredit", "ucredit", "lcredit", "ocredit"}) {
            std::string a = r->arg_value(k);
            if (!a.empty()) conf[k] = a;
          }
          int ml = conf.count("minlen") ? std::atoi(conf["minlen"].c_str())
                                        : (m == "pam_cracklib" ? 9 : 8);
          int credit_default = m == "pam_cracklib" ? 1 : 0;
          int credits = 0;
          for (const char* k : {"dcredit", "ucredit", "lcredit", "ocredit"}) {
            int c = conf.count(k) ? std::atoi(conf[k].c_str()) : credit_default;
            if (c > 0) credits += c;
          }
          len = std::max(0, ml - credits);
          how.push_back(
              fmt::format("{}:{}: {} minlen {}{}", r->file, r->line, m, ml,
                          credits ? fmt::format(" (minus up to {} credits)", credits) : ""));
        } else if (m == "pam_unix") {
          std::string a = r->arg_value("minlen");
          len = a.empty() ? 6 : std::atoi(a.c_str());
          how.push_back(fmt::format("{}:{}: pam_unix minlen {}", r->file, r->line, len));
        } else if (m == "pam_passwdqc") {
          std::string a = r->arg_value("min");
          int lo = 1000;
          for (auto p : split(a, ','))
            if (p != "disabled" && !p.empty()) lo = std::min(lo, std::atoi(std::string(p).c_str()));
          len = lo == 1000 ? -1 : lo;
          how.push_back(fmt::format("{}:{}: pam_passwdqc min={}", r->file, r->line, a));
        }
        best = std::max(best, len);
      }
    }
    if (best < 0) {
      auto it = x.login_defs.find("PASS_MIN_LEN");
      best = it == x.login_defs.end() ? 0 : std::atoi(it->second.c_str());
      how.push_back(
          fmt::format("no length rule in the PAM password stack; login.defs PASS_MIN_LEN {}",
                      it == x.login_defs.end() ? "unset" : it->second));
    }
    std::string ev =
        fmt::format("shortest password accepted: {} characters ({})", best, fmt::join(how, "; "));
    if (best < 14)
      x.fail(minlen, "pam:/etc/pam.d/common-password", ev);
    else
      minlen.evidence.push_back(ev);
  }

  auto& hashdef = x.add("PW-HASH-DEFAULT");
  if (no_password_config) {
    hashdef.result = CheckResult::kSkipped;
    hashdef.evidence.push_back("no PAM password stack and no /etc/login.defs under the root");
  } else {
    static const std::set<std::string> weak = {"des", "md5", "bigcrypt", "DES", "MD5"};
    std::string pam_method;
    std::string where;
    if (x.password_stack)
      for (const PamRule* r : pam_rules_flat(*x.password_stack))
        if (r->module_name() == "pam_unix")
          for (const char* m :
               {"md5", "bigcrypt", "sha256", "sha512", "blowfish", "yescrypt", "gost_yescrypt"})
            if (r->has_arg(m)) {
              pam_method = m;
              where = fmt::format("{}:{}", r->file, r->line);
            }
    auto it = x.login_defs.find("ENCRYPT_METHOD");
    std::string defs = it == x.login_defs.end() ? "DES" : it->second;
    bool bad = weak.count(defs) > 0 || weak.count(pam_method) > 0;
    std::string ev =
        fmt::format("login.defs ENCRYPT_METHOD {}{}", defs,
                    pam_method.empty() ? "" : fmt::format("; pam_unix {} ({})", pam_method, where));
    if (bad)
      x.fail(hashdef, "pam:/etc/pam.d/common-password", ev);
    else
      hashdef.evidence.push_back(ev);
  }

  auto& weakh = x.add("SHADOW-WEAK-HASH");
  auto& emptyp = x.add("SHADOW-EMPTY-PASSWORD");
  for (const auto& a : x.accounts) {
    if (!a.has_shadow) continue;
    HashInfo h = classify_hash(a.hash);
    if (h.scheme == "empty") {
      x.fail(emptyp, "account:" + a.name,
             fmt::format("{}: empty password field, shell {}", a.name,
                         a.shell.empty() ? "?" : a.shell),
             login_shell(a.shell) ? Severity::kCritical : Severity::kHigh);
    } else if (h.weak) {
      x.fail(weakh, "account:" + a.name, fmt::format("{}: {} ({})", a.name, h.scheme, h.why));
    }
  }
}

void lockout_check(Ctx& x) {
  auto& lock = x.add("PW-LOCKOUT");
  bool passwords = false;
  for (const auto& c : x.checks)
    if (c.id == "SSH-PASSWORD-AUTH") passwords = c.result == CheckResult::kFail;
  std::vector<std::string> found;
  for (const auto* st : {&x.common_auth, &x.sshd_auth})
    if (*st)
      for (const PamRule* r : pam_rules_flat(**st))
        if (r->module_name() == "pam_faillock" || r->module_name() == "pam_tally2")
          found.push_back(fmt::format("{}:{}: {}", r->file, r->line, r->module_name()));
  if (!found.empty()) {
    for (auto& f : found) lock.evidence.push_back(f);
  } else if (!passwords) {
    lock.evidence.push_back("no lockout module, but SSH does not accept passwords");
  } else {
    x.fail(lock, "pam:/etc/pam.d/common-auth",
           "SSH accepts passwords and no pam_faillock (or pam_tally2) is in the auth stack");
  }
}

}  // namespace mamori::audit::detail
