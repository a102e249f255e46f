// The checks of what is exposed and how SSH lets people in (EXPOSE-*, SSH-*).
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

std::vector<Possible> possible_values(const SshdConfig& c, const std::string& kw) {
  std::vector<Possible> out;
  auto g = c.effective();
  std::string origin = c.origin(kw);
  out.push_back({g[kw], origin.empty() ? "default" : origin});
  for (const auto& m : c.matches) {
    for (const auto& d : m.directives) {
      if (d.keyword != kw) continue;
      SshdConfig one;
      one.global = {d};
      std::string v = one.effective()[kw];
      out.push_back(
          {v, fmt::format("Match {} ({}:{})", fmt::join(m.criteria, " "), d.file, d.line)});
      break;
    }
  }
  return out;
}

std::string listener_text(const inventory::Listener& l) {
  std::string s = fmt::format("{} {}", l.protocol, l.address);
  if (!l.exe.empty()) s += " (" + l.exe + ")";
  return s;
}

Finding make_finding(const Check& c, std::string asset, Severity sev, std::string evidence) {
  Finding f;
  f.module = "audit";
  f.check = c.id;
  f.asset = std::move(asset);
  f.severity = sev;
  f.title = c.title;
  f.evidence = std::move(evidence);
  f.remediation = c.remediation;
  assign_fingerprint(f);
  return f;
}

// A pinned table of remote-access vulnerabilities that are exploited in the wild or let an
// unauthenticated attacker in, with the Debian 12 versions that fix them (docs/audit.md).

// ---- exposure ----------------------------------------------------------------------------

enum class Svc { kNone, kSsh, kRdp, kVnc, kTelnet, kMgmt, kLocalOnly };

Svc classify(const inventory::Listener& l, const std::set<int>& ssh_ports, std::string& name) {
  bool tcp = l.protocol.starts_with("tcp");
  std::string exe = l.exe.substr(l.exe.rfind('/') + 1);
  if (tcp && (ssh_ports.count(l.port) || exe == "sshd")) return name = "SSH", Svc::kSsh;
  if (tcp && (l.port == 3389 || exe == "xrdp")) return name = "remote desktop (RDP)", Svc::kRdp;
  if (tcp && ((l.port >= 5900 && l.port <= 5999) || (l.port >= 5800 && l.port <= 5899) ||
              exe == "Xvnc" || exe == "x11vnc" || exe == "Xtigervnc" || exe == "vncserver"))
    return name = "VNC", Svc::kVnc;
  if (tcp && (l.port == 23 || exe == "in.telnetd" || exe == "telnetd"))
    return name = "telnet", Svc::kTelnet;
  static const std::map<std::pair<bool, int>, const char*> mgmt = {
      {{true, 10000}, "Webmin"},
      {{true, 9090}, "Cockpit"},
      {{false, 623}, "IPMI (BMC)"},
      {{true, 2375}, "Docker API (no TLS)"},
      {{true, 2376}, "Docker API"},
      {{true, 6443}, "Kubernetes API"},
      {{true, 10250}, "kubelet API"},
      {{true, 2379}, "etcd"},
      {{true, 8006}, "Proxmox VE"},
      {{true, 5985}, "WinRM"},
      {{true, 5986}, "WinRM (TLS)"},
      {{true, 8834}, "Nessus"},
      {{true, 15672}, "RabbitMQ management"}};
  if (auto it = mgmt.find({tcp, l.port}); it != mgmt.end()) return name = it->second, Svc::kMgmt;
  static const std::map<int, const char*> local = {{3306, "MySQL/MariaDB"},
                                                   {5432, "PostgreSQL"},
                                                   {1433, "SQL Server"},
                                                   {1521, "Oracle"},
                                                   {27017, "MongoDB"},
                                                   {6379, "Redis"},
                                                   {9200, "Elasticsearch"},
                                                   {11211, "memcached"},
                                                   {5984, "CouchDB"},
                                                   {9042, "Cassandra"},
                                                   {8086, "InfluxDB"},
                                                   {2049, "NFS"},
                                                   {445, "SMB"},
                                                   {139, "NetBIOS/SMB"},
                                                   {111, "rpcbind"}};
  if (auto it = local.find(l.port); it != local.end()) return name = it->second, Svc::kLocalOnly;
  return Svc::kNone;
}

void exposure_checks(Ctx& x) {
  std::set<int> ssh_ports;
  if (x.sshd) {
    const std::string ports = x.sshd->effective()["port"];  // named: split() returns views
    for (auto p : split(ports, '\n')) ssh_ports.insert(std::atoi(std::string(p).c_str()));
  }
  if (ssh_ports.empty()) ssh_ports.insert(22);
  // The exposure checks of each kind of service, in the table's order.
  const std::pair<Svc, const char*> defs[] = {
      {Svc::kSsh, "EXPOSE-SSH"},   {Svc::kRdp, "EXPOSE-RDP"},
      {Svc::kVnc, "EXPOSE-VNC"},   {Svc::kTelnet, "EXPOSE-TELNET"},
      {Svc::kMgmt, "EXPOSE-MGMT"}, {Svc::kLocalOnly, "EXPOSE-LOOPBACK-ONLY"},
  };
  std::map<Svc, std::vector<std::pair<const inventory::Listener*, std::string>>> by;
  for (const auto& l : x.listeners) {
    std::string name;
    Svc s = classify(l, ssh_ports, name);
    if (s != Svc::kNone) by[s].push_back({&l, name});
  }
  for (const auto& [svc, id] : defs) {
    Check& c = x.add(id);
    for (auto& [l, name] : by[svc]) {
      if (l->loopback) {
        c.evidence.push_back(fmt::format("{} {}: loopback only, not reachable from the network",
                                         name, listener_text(*l)));
        continue;
      }
      Reach r = x.reach(*l);
      std::string asset = fmt::format("port:{}/{}", l->protocol, l->port);
      if (r.kind == Reach::kClosed) {
        c.evidence.push_back(
            fmt::format("{} {}: blocked by the firewall ({})", name, listener_text(*l), r.why));
        continue;
      }
      if (r.kind == Reach::kRestricted) {
        x.fail(c, asset,
               fmt::format("{} listens on {}; the firewall lets in only {} ({})", name,
                           listener_text(*l), fmt::join(r.sources, ", "), r.why),
               svc == Svc::kSsh ? Severity::kLow : Severity::kMedium);
        continue;
      }
      Severity sev = check_info(id).severity;
      if (svc == Svc::kMgmt && l->port == 2375) sev = Severity::kCritical;
      x.fail(c, asset,
             fmt::format("{} listens on {} and is open to any address ({})", name,
                         listener_text(*l), r.why),
             sev);
    }
  }
}

// ---- SSH -----------------------------------------------------------------------------------

// How many distinct factors an authentication method list needs ("publickey,keyboard-
// interactive" → key + what PAM asks). nullopt when the list cannot be satisfied.
std::optional<std::set<std::string>> factors(const Ctx& x,
                                             const std::map<std::string, std::string>& e,
                                             std::string_view list) {
  std::set<std::string> f;
  for (auto m : split(list, ',')) {
    std::string_view method = m.substr(0, m.find(':'));
    if (method == "publickey") {
      if (e.at("pubkeyauthentication") != "yes") return std::nullopt;
      f.insert("key");
    } else if (method == "password") {
      if (e.at("passwordauthentication") != "yes") return std::nullopt;
      f.insert("password");
    } else if (method == "keyboard-interactive") {
      if (e.at("kbdinteractiveauthentication") != "yes") return std::nullopt;
      if (e.at("usepam") == "yes" && x.sshd_auth) {
        bool otp = !pam_can_succeed(*x.sshd_auth, [](const PamRule& r) {
          return is_mfa_module(r.module_name()) ? PamOutcome::kFail : PamOutcome::kAny;
        });
        bool pw = !pam_can_succeed(*x.sshd_auth, [](const PamRule& r) {
          return r.module_name() == "pam_unix" ? PamOutcome::kFail : PamOutcome::kAny;
        });
        if (otp) f.insert("one-time code");
        if (pw) f.insert("password");
      } else {
        f.insert("password");
      }
    } else if (method == "hostbased") {
      f.insert("host key");
    } else if (method == "gssapi-with-mic") {
      f.insert("kerberos");
    }
  }
  return f;
}

void ssh_checks(Ctx& x) {
  auto& pw = x.add("SSH-PASSWORD-AUTH");
  auto& root = x.add("SSH-ROOT-LOGIN");
  auto& mfa = x.add("SSH-MFA");
  auto& empty = x.add("SSH-EMPTY-PASSWORDS");
  auto& tries = x.add("SSH-MAX-AUTH-TRIES");
  auto& crypto = x.add("SSH-WEAK-CRYPTO");
  if (!x.sshd) {
    for (Check* c : {&pw, &root, &mfa, &empty, &tries, &crypto}) {
      c->result = CheckResult::kSkipped;
      c->evidence.push_back("no /etc/ssh/sshd_config under the root: sshd not configured");
    }
    return;
  }
  const SshdConfig& cfg = *x.sshd;
  const std::string asset = "ssh:/etc/ssh/sshd_config";
  auto g = cfg.effective();
  // passwords
  for (const auto& p : possible_values(cfg, "passwordauthentication"))
    if (p.value == "yes")
      x.fail(pw, asset, fmt::format("PasswordAuthentication yes ({})", p.where));
  if (pw.result != CheckResult::kFail) {
    // keyboard-interactive through PAM asks for the Unix password when PAM does
    bool kbd = g["kbdinteractiveauthentication"] == "yes" && g["usepam"] == "yes";
    bool alone = false;
    if (kbd) {
      std::string am = g["authenticationmethods"];
      if (am == "any") {
        alone = true;
      } else {
        for (auto list : split(am, ' '))
          if (list == "keyboard-interactive" || list.starts_with("keyboard-interactive:"))
            alone = list.find(',') == std::string_view::npos;
      }
    }
    auto flat = x.sshd_auth ? pam_rules_flat(*x.sshd_auth) : std::vector<const PamRule*>{};
    bool pam_password = std::any_of(
        flat.begin(), flat.end(), [](const PamRule* r) { return r->module_name() == "pam_unix"; });
    if (kbd && alone && pam_password && pam_can_succeed(*x.sshd_auth, [](const PamRule& r) {
          return is_mfa_module(r.module_name()) ? PamOutcome::kFail : PamOutcome::kAny;
        }))
      x.fail(pw, asset,
             "KbdInteractiveAuthentication yes with UsePAM yes: PAM asks for the Unix password "
             "(pam_unix) and nothing else");
    else
      pw.evidence.push_back(fmt::format(
          "passwordauthentication {} ({})", g["passwordauthentication"],
          cfg.origin("passwordauthentication").empty() ? "default"
                                                       : cfg.origin("passwordauthentication")));
  }
  // root
  for (const auto& p : possible_values(cfg, "permitrootlogin")) {
    if (p.value == "yes")
      x.fail(root, asset, fmt::format("PermitRootLogin yes ({})", p.where));
    else
      root.evidence.push_back(fmt::format("PermitRootLogin {} ({})", p.value, p.where));
  }
  // second factor
  {
    std::string am = g["authenticationmethods"];
    std::vector<std::string> lists;
    if (am == "any") {
      for (const char* m : {"publickey", "password", "keyboard-interactive"}) lists.push_back(m);
    } else {
      for (auto l : split(am, ' '))
        if (!l.empty()) lists.emplace_back(l);
    }
    bool any_usable = false;
    for (const auto& l : lists) {
      auto f = factors(x, g, l);
      if (!f) continue;
      any_usable = true;
      std::string fs = fmt::format("{}", fmt::join(*f, " + "));
      if (f->size() < 2)
        x.fail(mfa, asset,
               fmt::format("AuthenticationMethods {}: a login with '{}' needs only {}", am, l,
                           fs.empty() ? "nothing" : fs));
      else
        mfa.evidence.push_back(fmt::format("'{}' needs {}", l, fs));
    }
    if (!any_usable) mfa.evidence.push_back("no authentication method is usable");
  }
  for (const auto& p : possible_values(cfg, "permitemptypasswords"))
    if (p.value == "yes")
      x.fail(empty, asset, fmt::format("PermitEmptyPasswords yes ({})", p.where));
  {
    int n = std::atoi(g["maxauthtries"].c_str());
    if (n > 4)
      x.fail(
          tries, asset,
          fmt::format("MaxAuthTries {} ({})", n,
                      cfg.origin("maxauthtries").empty() ? "default" : cfg.origin("maxauthtries")));
    else
      tries.evidence.push_back(fmt::format("MaxAuthTries {}", n));
  }
  {
    std::vector<std::string> weak;
    auto check = [&](const char* kw, auto bad) {
      for (auto a : split(g[kw], ','))
        if (bad(a)) weak.push_back(fmt::format("{} {}", kw, a));
    };
    check("ciphers", [](std::string_view a) {
      return a.find("-cbc") != std::string_view::npos || a.starts_with("3des") ||
             a.starts_with("arcfour") || a.starts_with("blowfish") || a.starts_with("cast");
    });
    check("macs", [](std::string_view a) {
      return a.find("md5") != std::string_view::npos || a.find("-96") != std::string_view::npos ||
             a.find("ripemd") != std::string_view::npos;
    });
    check("kexalgorithms", [](std::string_view a) {
      return a.ends_with("-sha1") || a.find("group1-") != std::string_view::npos;
    });
    if (!weak.empty()) x.fail(crypto, asset, fmt::format("{}", fmt::join(weak, ", ")));
  }
}

// Options of an authorized_keys line ("from=\"10.0.0.0/8\",no-pty ssh-ed25519 AAAA… c"), or
// nullopt when the line is not a key. Options end at the first unquoted blank.

std::optional<std::string> key_options(std::string_view line, std::string& comment) {
  line = trim(line);
  if (line.empty() || line[0] == '#') return std::nullopt;
  auto is_type = [](std::string_view w) {
    return w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-") ||
           w.starts_with("rsa-sha2");
  };
  std::string opts;
  std::string_view rest = line;
  auto first_blank = line.find_first_of(" \t");
  if (!is_type(line.substr(0, first_blank))) {
    bool q = false;
    size_t i = 0;
    for (; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        continue;
      }
      if (line[i] == '"') q = !q;
      if (!q && (line[i] == ' ' || line[i] == '\t')) break;
    }
    opts = std::string(line.substr(0, i));
    rest = trim(line.substr(i));
  }
  auto w = split(rest, ' ');
  if (w.size() < 2 || !is_type(w[0])) return std::nullopt;
  comment.clear();
  for (size_t i = 2; i < w.size(); ++i) comment += (comment.empty() ? "" : " ") + std::string(w[i]);
  return opts;
}

// A vendor or service account: a login shell, a home, not root and not in an admin group.
bool vendor_account(const Ctx& x, const Account& a) {
  static const std::set<std::string> kAdminGroups = {"sudo", "wheel", "admin", "root"};
  if (a.home.empty() || !login_shell(a.shell) || a.uid == 0) return false;
  for (const auto& g : kAdminGroups) {
    auto it = x.groups.find(g);
    if (it != x.groups.end() && it->second.count(a.name)) return false;
  }
  return true;
}

// The account's authorized_keys files: AuthorizedKeysFile with %h, %u expanded.
std::vector<std::string> authorized_key_files(const Ctx& x, const Account& a) {
  std::vector<std::string> out;
  if (!x.sshd) return out;
  const std::string files = x.sshd->effective()["authorizedkeysfile"];
  for (auto pat : split(files, ' ')) {
    if (pat.empty() || pat == "none") continue;
    std::string f;
    for (size_t i = 0; i < pat.size(); ++i) {
      if (pat[i] == '%' && i + 1 < pat.size()) {
        char c = pat[++i];
        f += c == 'h' ? a.home : c == 'u' ? a.name : c == '%' ? "%" : "";
      } else {
        f.push_back(pat[i]);
      }
    }
    if (f.empty() || f[0] != '/') f = a.home + "/" + f;
    out.push_back(std::move(f));
  }
  return out;
}

void key_checks(Ctx& x) {
  auto& keys = x.add("SSH-KEYS-NO-FROM");
  if (!x.sshd) {
    keys.result = CheckResult::kSkipped;
    keys.evidence.push_back("sshd not configured");
    return;
  }

  for (const auto& a : x.accounts) {
    if (!vendor_account(x, a)) continue;
    for (const auto& f : authorized_key_files(x, a)) {
      const auto& text = x.file(f);
      if (!text) continue;
      size_t pos = 0;
      std::string_view line;
      int n = 0;
      while (next_line(*text, pos, line)) {
        ++n;
        std::string comment;
        auto o = key_options(line, comment);
        if (!o) continue;
        bool from = false;
        for (auto opt : split(*o, ','))
          if (to_lower(opt.substr(0, 5)) == "from=") from = true;
        std::string where =
            fmt::format("{}:{} ({})", f, n, comment.empty() ? "no comment" : comment);
        if (from)
          keys.evidence.push_back(a.name + ": " + where + " restricted with from=");
        else
          x.fail(keys, "account:" + a.name, a.name + ": " + where + " accepted from any address");
      }
    }
  }
}

}  // namespace mamori::audit::detail
