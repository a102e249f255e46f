#include "audit/audit.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

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

namespace mamori::audit {

std::string_view result_name(CheckResult r) {
  switch (r) {
    case CheckResult::kPass:
      return "pass";
    case CheckResult::kFail:
      return "fail";
    case CheckResult::kInfo:
      return "info";
    case CheckResult::kSkipped:
      return "skipped";
  }
  return "?";
}

std::vector<Finding> AuditReport::findings() const {
  std::vector<Finding> out;
  for (const auto& c : checks)
    for (const auto& f : c.findings) out.push_back(f);
  return out;
}

HashInfo classify_hash(std::string_view f) {
  HashInfo h;
  if (f.empty()) return {"empty", true, "no password at all"};
  if (f[0] == '!' || f[0] == '*') return {"locked", false, ""};
  auto rounds = [&](std::string_view rest) -> long {
    if (!rest.starts_with("rounds=")) return -1;
    rest.remove_prefix(7);
    long v = 0;
    for (char c : rest) {
      if (c == '$') break;
      if (c < '0' || c > '9' || v > 100000000) return 0;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (f.starts_with("$1$") || f.starts_with("$apr1$"))
    return {"md5", true, "MD5-crypt is cracked at billions of guesses per second"};
  if (f.starts_with("$3$")) return {"nt", true, "NT hash: unsalted MD4"};
  if (f.starts_with("$5$") || f.starts_with("$6$")) {
    bool is256 = f[1] == '5';
    long r = rounds(f.substr(3));
    std::string name = is256 ? "sha256" : "sha512";
    if (r >= 0 && r < 5000)
      return {name, true, fmt::format("SHA-crypt with only {} rounds (default 5000)", r)};
    return {name, false, ""};
  }
  if (f.starts_with("$2a$") || f.starts_with("$2b$") || f.starts_with("$2y$")) {
    int cost = f.size() > 6 && std::isdigit(static_cast<unsigned char>(f[4])) &&
                       std::isdigit(static_cast<unsigned char>(f[5]))
                   ? (f[4] - '0') * 10 + (f[5] - '0')
                   : 0;
    if (cost < 10) return {"bcrypt", true, fmt::format("bcrypt with cost {} (< 10)", cost)};
    return {"bcrypt", false, ""};
  }
  if (f.starts_with("$y$")) return {"yescrypt", false, ""};
  if (f.starts_with("$gy$")) return {"gost-yescrypt", false, ""};
  if (f.starts_with("$7$")) return {"scrypt", false, ""};
  if (f.size() == 13 && f[0] != '$') return {"des", true, "DES-crypt: 8 characters, 56-bit keys"};
  if (f[0] != '$') return {"unknown", true, "not a crypt(3) hash: cannot be a valid password"};
  return {"unknown", false, ""};
}

namespace {

constexpr uint64_t kMaxSmallFile = 16 << 20;

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

struct Account {
  std::string name, home, shell, hash;
  uint32_t uid = 0;
  long last_change_days = -1;
  bool has_shadow = false;
};

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
struct Possible {
  std::string value;
  std::string where;  // "global" or "Match Address 10.0.0.0/8 (file:line)"
};
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

struct Ctx {
  const Root& root;
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

  Check& add(std::string id, std::string title, Severity sev, std::string rationale,
             std::string remediation) {
    Check c;
    c.id = std::move(id);
    c.title = std::move(title);
    c.severity = sev;
    c.rationale = std::move(rationale);
    c.remediation = std::move(remediation);
    if (rep.checks.size() == rep.checks.capacity()) std::abort();  // see run_audit's reserve
    rep.checks.push_back(std::move(c));
    return rep.checks.back();
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
  struct Def {
    Svc svc;
    const char* id;
    const char* title;
    Severity open_sev;
    const char* rationale;
    const char* remediation;
  };
  const Def defs[] = {
      {Svc::kSsh, "EXPOSE-SSH", "SSH is reachable from the network", Severity::kMedium,
       "Internet-facing SSH is scanned and password-guessed around the clock; every exposed "
       "login is a way in when a password leaks or a vulnerability appears.",
       "Allow SSH only from the addresses that need it (VPN, office, vendor): an nftables rule "
       "such as 'ip saddr 203.0.113.0/24 tcp dport 22 accept' before a 'policy drop', or "
       "ListenAddress on an internal interface; use keys, not passwords."},
      {Svc::kRdp, "EXPOSE-RDP", "Remote desktop (RDP) is reachable from the network",
       Severity::kCritical,
       "Exposed RDP is the most common way ransomware crews get in: guessed or bought "
       "passwords, and pre-authentication vulnerabilities.",
       "Do not expose RDP: reach it through a VPN or an SSH tunnel, bind xrdp to 127.0.0.1 "
       "(port=tcp://127.0.0.1:3389 in /etc/xrdp/xrdp.ini), or drop 3389/tcp in the firewall."},
      {Svc::kVnc, "EXPOSE-VNC", "VNC is reachable from the network", Severity::kCritical,
       "VNC authenticates with at most 8-character passwords and sends the session "
       "unencrypted; exposed VNC servers are found and entered within hours.",
       "Bind the VNC server to localhost (-localhost / x11vnc -localhost) and reach it through "
       "an SSH tunnel or VPN; drop 5900-5999/tcp in the firewall."},
      {Svc::kTelnet, "EXPOSE-TELNET", "Telnet is reachable from the network", Severity::kCritical,
       "Telnet sends passwords in clear text and is a favourite of botnets.",
       "Remove the telnet server (apt purge telnetd inetutils-telnetd) and use SSH."},
      {Svc::kMgmt, "EXPOSE-MGMT", "An administration console or API is reachable from the network",
       Severity::kHigh,
       "Web admin consoles (Webmin, Cockpit, Proxmox), IPMI and container APIs give full "
       "control of the machine; they are prime targets for credential stuffing and exploits.",
       "Bind the console to localhost or a management network, or allow only admin addresses "
       "in the firewall; never expose Docker's API without TLS client certificates."},
      {Svc::kLocalOnly, "EXPOSE-LOOPBACK-ONLY",
       "A database or internal service listens on a network address", Severity::kHigh,
       "Databases, caches and file-sharing services are meant for local or internal clients; "
       "on a public address they are brute-forced or read without authentication.",
       "Bind the service to 127.0.0.1 (bind-address, listen_addresses, bind) or an internal "
       "address, and drop its port in the firewall."},
  };
  std::map<Svc, std::vector<std::pair<const inventory::Listener*, std::string>>> by;
  for (const auto& l : x.listeners) {
    std::string name;
    Svc s = classify(l, ssh_ports, name);
    if (s != Svc::kNone) by[s].push_back({&l, name});
  }
  for (const auto& d : defs) {
    Check& c = x.add(d.id, d.title, d.open_sev, d.rationale, d.remediation);
    for (auto& [l, name] : by[d.svc]) {
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
               d.svc == Svc::kSsh ? Severity::kLow : Severity::kMedium);
        continue;
      }
      Severity sev = d.open_sev;
      if (d.svc == Svc::kMgmt && l->port == 2375) sev = Severity::kCritical;
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
  auto& pw = x.add("SSH-PASSWORD-AUTH", "SSH accepts passwords", Severity::kHigh,
                   "Password logins can be guessed, sprayed or replayed from a leak; keys (and "
                   "a second factor) cannot be brute-forced.",
                   "Set 'PasswordAuthentication no' in the FIRST file sshd reads that sets it "
                   "(drop-ins in /etc/ssh/sshd_config.d/ come first on Debian: look for "
                   "'PasswordAuthentication yes' there, e.g. 50-cloud-init.conf), also inside "
                   "Match blocks; check with 'sshd -T | grep passwordauth'; reload sshd.");
  auto& root =
      x.add("SSH-ROOT-LOGIN", "SSH allows root to log in (PermitRootLogin yes)", Severity::kHigh,
            "root is the account every attacker tries first, and its logins cannot be "
            "told apart per person.",
            "Set 'PermitRootLogin no' (or 'prohibit-password' for key-only automation) "
            "globally and in every Match block; log in as a named user and use sudo.");
  auto& mfa = x.add("SSH-MFA", "SSH logins need only one factor", Severity::kMedium,
                    "A single factor — a key file or a password — is what gets stolen; a second "
                    "factor stops the login with stolen credentials.",
                    "Require two methods: 'AuthenticationMethods publickey,keyboard-interactive' "
                    "with 'KbdInteractiveAuthentication yes', 'UsePAM yes' and "
                    "'auth required pam_google_authenticator.so' (or pam_u2f, pam_oath, "
                    "pam_duo) in /etc/pam.d/sshd.");
  auto& empty =
      x.add("SSH-EMPTY-PASSWORDS", "SSH lets accounts with empty passwords in", Severity::kCritical,
            "An empty password is no password.", "Set 'PermitEmptyPasswords no' (the default).");
  auto& tries =
      x.add("SSH-MAX-AUTH-TRIES", "SSH allows many password tries per connection", Severity::kLow,
            "Each connection may try MaxAuthTries passwords; a low value slows guessing "
            "and makes it visible sooner.",
            "Set 'MaxAuthTries 4' (or lower).");
  auto& crypto =
      x.add("SSH-WEAK-CRYPTO", "SSH offers weak ciphers, MACs or key exchanges", Severity::kMedium,
            "CBC ciphers, 3DES/arcfour, MD5 or truncated MACs and SHA-1 key exchanges "
            "are broken or downgrade targets.",
            "Remove them from Ciphers, MACs and KexAlgorithms, or delete those lines "
            "to get OpenSSH's defaults.");
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

void key_checks(Ctx& x) {
  auto& keys =
      x.add("SSH-KEYS-NO-FROM", "A vendor or service account's SSH key works from anywhere",
            Severity::kMedium,
            "Keys handed to vendors and tools are copied, shared and rarely revoked; "
            "restricted to the addresses they come from, a leaked key is useless elsewhere.",
            "Prefix the key with from=\"VENDOR_NET\" (and restrict=, command= where it "
            "only runs one thing) in the account's authorized_keys; remove keys nobody "
            "can name.");
  if (!x.sshd) {
    keys.result = CheckResult::kSkipped;
    keys.evidence.push_back("sshd not configured");
    return;
  }
  static const std::set<std::string> kAdminGroups = {"sudo", "wheel", "admin", "root"};
  auto admin = [&](const Account& a) {
    if (a.uid == 0) return true;
    for (const auto& g : kAdminGroups) {
      auto it = x.groups.find(g);
      if (it != x.groups.end() && it->second.count(a.name)) return true;
    }
    return false;
  };
  std::string files = x.sshd->effective()["authorizedkeysfile"];
  for (const auto& a : x.accounts) {
    if (a.home.empty() || !login_shell(a.shell) || admin(a)) continue;
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
      auto text = read_opt(x.root, f);
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

// ---- PAM and passwords -------------------------------------------------------------------

void pam_checks(Ctx& x) {
  auto& nullok =
      x.add("PAM-NULLOK", "PAM accepts empty passwords (pam_unix nullok)", Severity::kMedium,
            "With nullok, an account whose password field is empty logs in without a "
            "password through every service that uses this stack.",
            "Remove 'nullok' from the pam_unix.so auth line in "
            "/etc/pam.d/common-auth (and any service file that has it).");
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

  auto& minlen = x.add("PW-POLICY-MINLEN", "Passwords may be short", Severity::kMedium,
                       "Short passwords fall to guessing and cracking; length matters more than "
                       "character classes.",
                       "Install libpam-pwquality, keep 'password requisite pam_pwquality.so' in "
                       "/etc/pam.d/common-password and set 'minlen = 14' in "
                       "/etc/security/pwquality.conf.");
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
            if (auto t = read_opt(x.root, "/etc/security/pwquality.conf"))
              conf = key_values(*t, true);
            for (const auto& p : x.root.list("/etc/security/pwquality.conf.d", "*.conf"))
              if (auto t = x.root.read(p, kMaxSmallFile))
                for (auto& [k, v] : key_values(*t, true)) conf[k] = v;
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

  auto& hashdef =
      x.add("PW-HASH-DEFAULT", "New passwords are hashed with a weak scheme", Severity::kMedium,
            "Every password set from now on is stored with this scheme; MD5-crypt "
            "and DES fall to offline cracking within hours once /etc/shadow leaks.",
            "Use yescrypt: 'ENCRYPT_METHOD YESCRYPT' in /etc/login.defs and the "
            "'yescrypt' option (instead of md5/sha256/bigcrypt) on pam_unix.so in "
            "/etc/pam.d/common-password; then have users change their passwords.");
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

  auto& weakh = x.add("SHADOW-WEAK-HASH", "Passwords are stored with a weak hash", Severity::kHigh,
                      "A leaked /etc/shadow with DES, MD5 or low-round hashes gives the passwords "
                      "back within hours; they are often reused elsewhere.",
                      "Have these users set a new password (passwd USER) after fixing "
                      "PW-HASH-DEFAULT, or lock unused accounts (usermod -L USER).");
  auto& emptyp =
      x.add("SHADOW-EMPTY-PASSWORD", "An account has an empty password", Severity::kCritical,
            "Anyone can log in as this account wherever PAM allows empty passwords "
            "(nullok) or su from a local account.",
            "Lock the account (passwd -l USER) or set a password; remove 'nullok'.");
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
  auto& lock = x.add("PW-LOCKOUT", "Password guessing is not slowed by a lockout", Severity::kLow,
                     "Where passwords are accepted over the network, a lockout (pam_faillock) "
                     "turns millions of guesses into a handful per account and per hour.",
                     "Add pam_faillock to /etc/pam.d/common-auth ('auth required pam_faillock.so "
                     "preauth' before pam_unix, 'auth [default=die] pam_faillock.so authfail' "
                     "after it, 'account required pam_faillock.so'), with deny=5 unlock_time=900 "
                     "in /etc/security/faillock.conf; or turn password logins off (SSH keys).");
  bool passwords = false;
  for (const auto& c : x.rep.checks)
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

// ---- packages and firewall ----------------------------------------------------------------

void package_checks(Ctx& x) {
  auto& old =
      x.add("PKG-OUTDATED-REMOTE", "Remote-access software has a known critical vulnerability",
            Severity::kCritical,
            "The login service itself is the door; a pre-authentication hole in it needs "
            "no password at all.",
            "Upgrade now: apt-get update && apt-get install --only-upgrade PACKAGE; then "
            "restart the service.");
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
  auto& rot =
      x.add("CRED-NOT-ROTATED", "Passwords were not changed after a critical fix", Severity::kHigh,
            "A hole that gave attackers the machine also gave them /etc/shadow and any "
            "password typed in; installing the fix does not take those back.",
            "Have these users set new passwords (passwd USER, or chage -d 0 USER to force "
            "it at the next login) and replace SSH keys and VPN credentials issued before "
            "the fix.");
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

  std::vector<std::string> log_warnings;
  auto history = inventory::dpkg_history(x.root, log_warnings);
  for (auto& w : log_warnings) x.rep.warnings.push_back(std::move(w));
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

  auto& ra =
      x.add("REMOTE-ACCESS-SOFTWARE", "Remote-access software installed", Severity::kInfo,
            "VPN, remote desktop and SSH servers are the maintenance path: their updates "
            "and exposure come first.",
            "Keep only what is used; give each an owner (mamori owners set) who patches it.");
  ra.result = CheckResult::kInfo;
  for (const auto& p : x.packages)
    if (inventory::is_remote_access_package(p)) ra.evidence.push_back(p.name + " " + p.version);
}

void firewall_check(Ctx& x) {
  auto& fw = x.add("FIREWALL-ACTIVE", "No firewall filters incoming connections", Severity::kMedium,
                   "Without an input filter, every service that listens on a network address — "
                   "including ones started later by mistake — is reachable.",
                   "Load a ruleset with 'policy drop' on the input hook that accepts only what "
                   "must be reachable (apt install nftables; edit /etc/nftables.conf; systemctl "
                   "enable --now nftables), or enable ufw ('ufw default deny incoming; ufw allow "
                   "from ADMIN_NET to any port 22; ufw enable').");
  if (!x.nft) {
    fw.result = CheckResult::kSkipped;
    fw.evidence.push_back("firewall state unknown: " + x.nft_source);
    return;
  }
  auto chains = x.nft->filtering_input_chains();
  if (auto ufw = read_opt(x.root, "/etc/ufw/ufw.conf")) {
    auto kv = key_values(*ufw, false);
    fw.evidence.push_back("ufw ENABLED=" + (kv.count("ENABLED") ? kv["ENABLED"] : "?"));
  }
  if (chains.empty()) {
    std::string why =
        x.nft->empty() ? "the loaded ruleset is empty" : "no input chain drops by default";
    if (read_opt(x.root, "/etc/nftables.conf"))
      why += " (/etc/nftables.conf exists but is not what is loaded, or it does not drop)";
    x.fail(fw, "firewall", fmt::format("{} ({})", why, x.nft_source));
  } else {
    for (const auto* c : chains)
      fw.evidence.push_back(
          fmt::format("{} {} {}: hook input, policy {}", c->family, c->table, c->name, c->policy));
  }
}

// `nft list ruleset` on this host; nullopt when nft is missing or not allowed.
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

}  // namespace

Result<AuditReport> run_audit(const Root& root, const AuditOptions& opts) {
  AuditReport rep;
  rep.checks.reserve(64);  // Ctx::add hands out references: no reallocation while checking
  Ctx x{root, rep, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, opts.vuln_db};
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
  exposure_checks(x);
  ssh_checks(x);
  key_checks(x);
  pam_checks(x);
  lockout_check(x);
  package_checks(x);
  firewall_check(x);
  return rep;
}

}  // namespace mamori::audit
