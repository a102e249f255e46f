// Remote-maintenance audit: the shared fixture trees (weak / hardened) against expected.tsv,
// OpenSSH's configuration semantics, PAM stack evaluation, shadow hash schemes and the
// firewall reachability model.
#include "audit/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "audit/firewall.h"
#include "audit/pam.h"
#include "audit/sshd.h"
#include "core/text.h"
#include "support/temp_dir.h"
#include "vuln/vuln.h"

namespace mamori::audit {
namespace {

namespace fs = std::filesystem;

using testing_support::write_file;
using TempRoot = testing_support::TempDirTest;

// ---- the shared fixtures -----------------------------------------------------------------

class Fixture : public TempRoot {};

TEST_F(Fixture, EveryExpectedRowOnBothTrees) {
  std::string cmd = "python3 " MAMORI_SHARED "/bench/audit/make_fixture.py " + dir_.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir_ / "expected.tsv");
  std::string line;
  std::getline(in, line);  // header
  std::map<std::string, std::pair<std::string, std::string>> expected;
  while (std::getline(in, line)) {
    auto f = split(line, '\t');
    ASSERT_GE(f.size(), 3u);
    expected[std::string(f[0])] = {std::string(f[1]), std::string(f[2])};
  }
  ASSERT_EQ(expected.size(), 15u);
  for (const char* tree : {"weak", "hardened"}) {
    auto rep = run_audit(Root(dir_ / tree), {});
    ASSERT_TRUE(rep.has_value()) << rep.error().message;
    std::map<std::string, const Check*> got;
    for (const auto& c : rep->checks) got[c.id] = &c;
    for (const auto& [id, want] : expected) {
      ASSERT_TRUE(got.count(id)) << id;
      std::string w = std::string(tree) == "weak" ? want.first : want.second;
      EXPECT_EQ(result_name(got[id]->result), w)
          << tree << " " << id << ": " << fmt::format("{}", fmt::join(got[id]->evidence, " | "));
      // a failing check carries findings of module audit with its id; a passing one none
      for (const auto& f : got[id]->findings) {
        EXPECT_EQ(f.module, "audit");
        EXPECT_EQ(f.check, id);
        EXPECT_FALSE(f.remediation.empty());
      }
      EXPECT_EQ(got[id]->findings.empty(), w == "pass") << tree << " " << id;
    }
    // never two findings with one fingerprint (the store keys on it)
    std::set<std::string> fps;
    for (const auto& f : rep->findings()) EXPECT_TRUE(fps.insert(f.fingerprint).second) << f.check;
  }
}

TEST_F(Fixture, ExposureNamesSourcesAndNeverBlamesLoopback) {
  std::string cmd = "python3 " MAMORI_SHARED "/bench/audit/make_fixture.py " + dir_.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto rep = run_audit(Root(dir_ / "hardened"), {});
  ASSERT_TRUE(rep.has_value()) << (rep ? std::string() : rep.error().message);
  ASSERT_FALSE(rep->findings().empty());  // EXPOSE-SSH, per listening address
  for (const auto& f : rep->findings()) {
    EXPECT_EQ(f.check, "EXPOSE-SSH");  // the only failure of the hardened tree
    EXPECT_EQ(f.severity, Severity::kLow);
    EXPECT_NE(f.evidence.find("lets in only"), std::string::npos) << f.evidence;
  }
  auto weak = run_audit(Root(dir_ / "weak"), {});
  ASSERT_TRUE(weak.has_value());
  ASSERT_GE(weak->findings().size(), 10u);
  for (const auto& f : weak->findings()) {
    EXPECT_EQ(f.asset.find("5432"), std::string::npos) << "loopback PostgreSQL blamed";
    EXPECT_EQ(f.evidence.find("Winter"), std::string::npos);
    EXPECT_EQ(f.evidence.find("$1$"), std::string::npos) << "a hash leaked into a finding";
  }
}

TEST_F(Fixture, PinnedAdvisoriesApplyToTheirReleaseOnly) {
  auto status = [](const std::string& v) {
    return "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: " +
           v + "\n\n";
  };
  auto result = [&](const std::string& os, const std::string& version) {
    write_file(dir_ / "etc/os-release", "ID=debian\nVERSION_ID=\"" + os + "\"\n");
    write_file(dir_ / "var/lib/dpkg/status", status(version));
    auto rep = run_audit(Root(dir_), {});
    EXPECT_TRUE(rep.has_value()) << (rep ? std::string() : rep.error().message);
    for (const auto& c : rep->checks)
      if (c.id == "PKG-OUTDATED-REMOTE")
        return std::string(result_name(c.result)) +
               (c.findings.empty() ? "" : " " + std::string(severity_name(c.findings[0].severity)));
    return std::string("missing");
  };
  EXPECT_EQ(result("12", "1:9.2p1-2+deb12u2"), "fail critical");  // regreSSHion + Terrapin
  EXPECT_EQ(result("12", "1:9.2p1-2+deb12u1+b1"), "fail critical");
  EXPECT_EQ(result("12", "1:9.2p1-2+deb12u3"), "pass");
  // OpenSSH 7.9 of Debian 10 predates the regression: the table's versions are not its own
  EXPECT_EQ(result("10", "1:7.9p1-10+deb10u2"), "pass");
}

TEST_F(Fixture, PasswordsOlderThanACriticalFixAreFlagged) {
  write_file(dir_ / "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  write_file(dir_ / "var/lib/dpkg/status",
             "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: "
             "1:9.2p1-2+deb12u7\n\n");
  // rotated logs: the fix (deb12u3) went in on 2024-07-02, later upgrades do not move that date
  write_file(dir_ / "var/log/dpkg.log.1",
             "2024-03-01 09:00:00 status installed openssh-server:amd64 1:9.2p1-2+deb12u2\n"
             "2024-07-02 08:30:00 status installed openssh-server:amd64 1:9.2p1-2+deb12u3\n");
  write_file(dir_ / "var/log/dpkg.log",
             "2025-06-01 10:00:00 status installed openssh-server:amd64 1:9.2p1-2+deb12u7\n");
  write_file(dir_ / "etc/passwd",
             "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
             "bob:x:1001:1001::/home/bob:/bin/bash\nsvc:x:1002:1002::/srv:/usr/sbin/nologin\n"
             "old:x:1003:1003::/home/old:/bin/bash\n");
  // 19800 = 2024-03-18 (before the fix), 19950 = 2024-08-15 (after)
  write_file(dir_ / "etc/shadow",
             "root:!:19800:0:99999:7:::\nalice:$y$j9T$a$b:19800:0:99999:7:::\n"
             "bob:$y$j9T$a$b:19950:0:99999:7:::\nsvc:$y$j9T$a$b:19000:0:99999:7:::\n"
             "old:$y$j9T$a$b::0:99999:7:::\n");
  auto rep = run_audit(Root(dir_), {});
  ASSERT_TRUE(rep.has_value()) << (rep ? std::string() : rep.error().message);
  const Check* rot = nullptr;
  for (const auto& c : rep->checks)
    if (c.id == "CRED-NOT-ROTATED") rot = &c;
  ASSERT_NE(rot, nullptr);
  ASSERT_EQ(rot->findings.size(), 1u) << fmt::format("{}", fmt::join(rot->evidence, " | "));
  EXPECT_EQ(rot->findings[0].asset, "account:alice");  // root locked, svc no shell, old unknown
  EXPECT_NE(rot->findings[0].evidence.find("last changed 2024-03-18, before openssh-server "
                                           "1:9.2p1-2+deb12u3 (CVE-2024-6387) was installed on "
                                           "2024-07-02"),
            std::string::npos)
      << rot->findings[0].evidence;
}

// The vulnerability database adds every fixed known-exploited vulnerability: glibc's Looney
// Tunables (CVE-2023-4911, in CISA KEV; Debian 12 fixed it in 2.36-9+deb12u3) from the real
// Debian 12 data in ../shared, with the upgrade recorded in dpkg.log.
TEST_F(Fixture, FixedKnownExploitedVulnerabilitiesComeFromTheDatabase) {
  const std::string data = std::string(MAMORI_SHARED) + "/data/vuln/";
  if (!fs::exists(data + "osv/Debian12.jsonl")) GTEST_SKIP() << "no shared data at " MAMORI_SHARED;
  const fs::path db_file = dir_.string() + ".vuln.db";
  auto built = vuln::build_database(
      {data + "osv/Debian12.jsonl", data + "kev/known_exploited_vulnerabilities.json"},
      db_file.string(), {});
  ASSERT_TRUE(built.has_value()) << built.error().message;
  auto db = vuln::VulnDb::open(db_file.string());
  ASSERT_TRUE(db.has_value());
  fs::remove(db_file);

  write_file(dir_ / "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  write_file(
      dir_ / "var/lib/dpkg/status",
      "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\n"
      "Version: 2.36-9+deb12u4\n\n"
      "Package: libc-bin\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\n"
      "Version: 2.36-9+deb12u4\n\n"
      "Package: libwebp7\nStatus: install ok installed\nArchitecture: amd64\nSource: libwebp\n"
      "Version: 1.2.4-0.2+deb12u1\n\n");
  // libc6 ran 2.36-9+deb12u1 until the fix on 2023-10-03; libwebp7 came in already fixed
  write_file(dir_ / "var/log/dpkg.log.2.gz", "");  // an unreadable rotation is only a warning
  write_file(dir_ / "var/log/dpkg.log",
             "2023-10-03 06:00:01 upgrade libc6:amd64 2.36-9+deb12u1 2.36-9+deb12u3\n"
             "2023-10-03 06:00:05 status installed libc6:amd64 2.36-9+deb12u3\n"
             "2023-11-20 07:00:00 install libwebp7:amd64 <none> 1.2.4-0.2+deb12u1\n"
             "2023-11-20 07:00:01 status installed libwebp7:amd64 1.2.4-0.2+deb12u1\n"
             "2024-02-01 07:00:01 status installed libc6:amd64 2.36-9+deb12u4\n");
  write_file(dir_ / "etc/passwd",
             "alice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n");
  // 19600 = 2023-08-31 (before the fix), 19650 = 2023-10-20 (after)
  write_file(dir_ / "etc/shadow",
             "alice:$y$j9T$a$b:19600:0:99999:7:::\nbob:$y$j9T$a$b:19650:0:99999:7:::\n");
  auto rot_of = [&](const vuln::VulnDb* d) {
    AuditOptions o;
    o.vuln_db = d;
    auto rep = run_audit(Root(dir_), o);
    EXPECT_TRUE(rep.has_value()) << (rep ? std::string() : rep.error().message);
    for (auto& c : rep->checks)
      if (c.id == "CRED-NOT-ROTATED") return c;
    return Check{};
  };
  Check rot = rot_of(db->get());
  ASSERT_EQ(rot.findings.size(), 1u) << fmt::format("{}", fmt::join(rot.evidence, " | "));
  EXPECT_EQ(rot.findings[0].asset, "account:alice");
  EXPECT_EQ(rot.findings[0].evidence,
            "alice: password last changed 2023-08-31, before libc6 2.36-9+deb12u3 "
            "(CVE-2023-4911) was installed on 2023-10-03");
  // libwebp's KEV fix (CVE-2023-4863) was never missing on this host: named, not held against
  // anyone
  bool webp = false;
  for (const auto& e : rot.evidence)
    webp |= e ==
            "libwebp7 was installed already fixed for CVE-2023-4863 on 2023-11-20 (no older "
            "version in /var/log/dpkg.log*)";
  EXPECT_TRUE(webp) << fmt::format("{}", fmt::join(rot.evidence, " | "));
  // Without the database only the pinned table counts, and the check says so
  Check without = rot_of(nullptr);
  EXPECT_EQ(without.result, CheckResult::kPass);
  ASSERT_FALSE(without.evidence.empty());
  EXPECT_NE(without.evidence[0].find("no vulnerability database"), std::string::npos);
}

TEST_F(Fixture, IptablesLegacyTablesMakeTheFirewallUnknown) {
  write_file(dir_ / "run/nft-ruleset.txt", "");  // nft sees nothing…
  auto fw_of = [&]() {
    auto rep = run_audit(Root(dir_), {});
    EXPECT_TRUE(rep.has_value()) << (rep ? std::string() : rep.error().message);
    for (auto& c : rep->checks)
      if (c.id == "FIREWALL-ACTIVE") return c;
    return Check{};
  };
  EXPECT_EQ(fw_of().result, CheckResult::kFail);
  // …but iptables-legacy has loaded tables whose rules nft cannot show
  write_file(dir_ / "proc/net/ip_tables_names", "filter\nnat\n");
  write_file(dir_ / "proc/net/ip6_tables_names", "filter\n");
  Check fw = fw_of();
  EXPECT_EQ(fw.result, CheckResult::kSkipped);
  ASSERT_EQ(fw.evidence.size(), 1u);
  EXPECT_NE(fw.evidence[0].find("iptables-legacy tables are loaded (ip filter, ip nat, ip6 "
                                "filter)"),
            std::string::npos)
      << fw.evidence[0];
}

TEST_F(Fixture, VendorKeysWithoutFromAreFlagged) {
  write_file(
      dir_ / "etc/ssh/sshd_config",
      "AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%u\nPasswordAuthentication no\n");
  write_file(dir_ / "etc/passwd",
             "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n"
             "vendor:x:1001:1001::/home/vendor:/bin/bash\nbackup:x:1002:1002::/srv/b:/bin/sh\n");
  write_file(dir_ / "etc/group", "sudo:x:27:alice\n");
  const std::string key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq";
  write_file(dir_ / "root/.ssh/authorized_keys", key + " root@admin\n");
  write_file(dir_ / "home/alice/.ssh/authorized_keys", key + " alice@laptop\n");
  write_file(dir_ / "home/vendor/.ssh/authorized_keys",
             "# vendor keys\n"
             "from=\"203.0.113.0/24\",command=\"/usr/bin/rsync --server a b\" " +
                 key +
                 " ok\n"
                 "no-pty,environment=\"X=a b\" " +
                 key + " support@vendor.example\n");
  write_file(dir_ / "etc/ssh/keys/backup", "restrict " + key + "\n");
  auto rep = run_audit(Root(dir_), {});
  ASSERT_TRUE(rep.has_value()) << (rep ? std::string() : rep.error().message);
  std::vector<std::string> flagged;
  for (const auto& c : rep->checks)
    if (c.id == "SSH-KEYS-NO-FROM")
      for (const auto& f : c.findings) flagged.push_back(f.evidence);
  ASSERT_EQ(flagged.size(), 2u) << fmt::format("{}", fmt::join(flagged, " | "));
  EXPECT_EQ(flagged[0],
            "vendor: /home/vendor/.ssh/authorized_keys:3 (support@vendor.example) accepted from "
            "any address");
  EXPECT_EQ(flagged[1], "backup: /etc/ssh/keys/backup:1 (no comment) accepted from any address");
}

// ---- sshd_config ----------------------------------------------------------------------------

class Sshd : public TempRoot {};

TEST_F(Sshd, FirstValueWinsAndIncludeComesFirst) {
  write_file(dir_ / "etc/ssh/sshd_config",
             "Include /etc/ssh/sshd_config.d/*.conf\n"
             "PasswordAuthentication no\n"
             "passwordauthentication yes\n"
             "PORT 2222\nPort=22\n"
             "PermitRootLogin \"prohibit-password\"  # comment\n"
             "LoginGraceTime 2m30s\n"
             "Ciphers +aes128-cbc\n");
  write_file(dir_ / "etc/ssh/sshd_config.d/20-b.conf", "PasswordAuthentication no\n");
  write_file(dir_ / "etc/ssh/sshd_config.d/10-a.conf",
             "PasswordAuthentication YES\nMaxAuthTries 3\n");
  write_file(dir_ / "etc/ssh/sshd_config.d/.hidden.conf", "MaxAuthTries 1\n");
  auto c = read_sshd_config(Root(dir_));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  auto e = c->effective();
  EXPECT_EQ(e["passwordauthentication"], "yes");  // 10-a.conf is read first
  EXPECT_EQ(c->origin("passwordauthentication"), "/etc/ssh/sshd_config.d/10-a.conf:1");
  EXPECT_EQ(e["maxauthtries"], "3");
  EXPECT_EQ(e["port"], "2222\n22");  // Port accumulates
  EXPECT_EQ(e["permitrootlogin"], "without-password");
  EXPECT_EQ(e["logingracetime"], "150");
  EXPECT_TRUE(e["ciphers"].ends_with(",aes128-cbc"));
  EXPECT_EQ(e["kbdinteractiveauthentication"], "yes");  // default
}

TEST_F(Sshd, MatchBlocksApplyToTheirConnectionsOnly) {
  write_file(dir_ / "etc/ssh/sshd_config",
             "PasswordAuthentication no\n"
             "Match Address 10.0.0.0/8,!10.9.0.0/16 User alice,bob\n"
             "  PasswordAuthentication yes\n"
             "  Include /etc/ssh/extra.conf\n"
             "Match all\n"
             "  PermitRootLogin no\n");
  write_file(dir_ / "etc/ssh/extra.conf", "X11Forwarding yes\nMatch User carol\n  Banner /etc/x\n");
  auto c = read_sshd_config(Root(dir_));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  SshConnection in;
  in.addr = "10.1.2.3";
  in.user = "alice";
  SshConnection excluded = in;
  excluded.addr = "10.9.1.1";
  SshConnection other = in;
  other.user = "mallory";
  EXPECT_EQ(c->effective()["passwordauthentication"], "no");
  EXPECT_EQ(c->effective(&in)["passwordauthentication"], "yes");
  EXPECT_EQ(c->effective(&in)["x11forwarding"], "yes");  // conditional Include
  EXPECT_EQ(c->effective(&excluded)["passwordauthentication"], "no");
  EXPECT_EQ(c->effective(&other)["passwordauthentication"], "no");
  EXPECT_EQ(c->effective(&other)["permitrootlogin"], "no");
  SshConnection carol;
  carol.user = "carol";
  EXPECT_EQ(c->effective(&carol)["banner"], "/etc/x");
  EXPECT_EQ(c->matches.size(), 3u);
  EXPECT_TRUE(ssh_match_address_list("fd00::1", "fd00::/8"));
  EXPECT_FALSE(ssh_match_address_list("10.0.0.1", "10.0.0.0/8,!10.0.0.0/24"));
}

TEST_F(Sshd, BadInputGivesClearErrors) {
  write_file(dir_ / "etc/ssh/sshd_config", "Include /etc/ssh/loop.conf\n");
  write_file(dir_ / "etc/ssh/loop.conf", "Include /etc/ssh/loop.conf\n");
  auto c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("nested more than 16 deep"), std::string::npos)
      << c.error().message;
  write_file(dir_ / "etc/ssh/sshd_config", "Banner " + std::string(100000, 'x') + "\n");
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("sshd_config:1: line longer"), std::string::npos);
  write_file(dir_ / "etc/ssh/sshd_config", std::string(5 << 20, '#'));
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  write_file(dir_ / "etc/ssh/sshd_config", "Banner \"unterminated\n");
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find(":1: unterminated quote"), std::string::npos);
  write_file(dir_ / "etc/ssh/sshd_config", "PasswordAuthentication\n");
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("no argument"), std::string::npos);
}

// The oracle: Debian 12's own sshd (-T), on randomly generated configurations with drop-ins,
// every syntax form (case, '=', quotes, comments), +/-/^ algorithm lists and Match blocks
// evaluated for a connection (-C).
TEST_F(Sshd, AgreesWithSshdDashT) {
  const fs::path oracle = MAMORI_SOURCE_DIR "/.cache/sshd-oracle";
  ASSERT_TRUE(fs::exists(oracle / "usr/sbin/sshd"))
      << "no sshd oracle: run scripts/install-deps.sh --test";
  std::mt19937 rng(20261126);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::pair<std::string, std::vector<std::string>>> kw = {
      {"PasswordAuthentication", {"yes", "no", "YES", "No"}},
      {"PermitRootLogin",
       {"yes", "no", "prohibit-password", "without-password", "forced-commands-only"}},
      {"MaxAuthTries", {"1", "3", "6", "10"}},
      {"KbdInteractiveAuthentication", {"yes", "no"}},
      {"ChallengeResponseAuthentication", {"yes", "no"}},
      {"PubkeyAuthentication", {"yes", "no"}},
      {"PermitEmptyPasswords", {"yes", "no"}},
      {"UsePAM", {"yes", "no"}},
      {"X11Forwarding", {"yes", "no"}},
      {"LoginGraceTime", {"30", "2m", "1m30s", "0", "1h"}},
      {"ClientAliveInterval", {"0", "5m", "45"}},
      {"Port", {"22", "2222", "8022"}},
      {"Ciphers",
       {"aes256-ctr,aes128-ctr", "+aes128-cbc", "-chacha20*", "^aes256-gcm@openssh.com",
        "+3des-cbc,aes256-cbc"}},
      {"MACs", {"+hmac-md5", "-umac*", "hmac-sha2-512,hmac-sha2-256", "^hmac-sha1"}},
      {"KexAlgorithms", {"-diffie-hellman*", "+diffie-hellman-group14-sha1", "curve25519-sha256"}},
      {"AuthenticationMethods",
       {"publickey,password", "publickey,keyboard-interactive publickey,password", "publickey"}},
      {"AllowTcpForwarding", {"yes", "no", "local", "remote"}},
      {"GatewayPorts", {"yes", "no", "clientspecified"}},
      {"PermitTunnel", {"yes", "no", "point-to-point", "ethernet"}},
      {"MaxSessions", {"2", "10"}},
      {"Banner", {"none", "/etc/issue.net"}},
      {"HostbasedAuthentication", {"yes", "no"}}};
  const std::set<std::string> in_match = {
      "passwordauthentication", "permitrootlogin",       "maxauthtries",
      "x11forwarding",          "authenticationmethods", "banner",
      "permitemptypasswords",   "allowtcpforwarding",    "kbdinteractiveauthentication",
      "pubkeyauthentication"};
  auto line = [&](const std::string& k, const std::string& v) {
    switch (rng() % 5) {
      case 0:
        return k + " " + v + "\n";
      case 1:
        return to_lower(k) + "=" + v + "\n";
      case 2:
        return "  " + k + " = " + v + "   # note\n";
      case 3:
        return k + "\t\"" + v + "\"\n";
      default:
        return "# " + k + " ignored\n" + k + " " + v + "\n";
    }
  };
  const std::vector<std::string> conns = {
      "user=alice,host=a.example,addr=10.1.2.3,laddr=10.0.0.1,lport=22",
      "user=bob,host=b.example,addr=192.168.1.9,laddr=192.168.1.1,lport=2222",
      "user=mallory,host=m.example,addr=203.0.113.7,laddr=198.51.100.1,lport=22"};
  const std::vector<std::string> criteria = {"Address 10.0.0.0/8", "User alice,bob",
                                             "User bob Address 192.168.0.0/16",
                                             "Address !10.0.0.0/8,*", "all"};
  const int kCases = 120;
  const fs::path cases = dir_ / "cases";
  for (int i = 0; i < kCases; ++i) {
    fs::path c = cases / std::to_string(i);
    std::string main_cfg, drop;
    bool include_first = rng() % 2;
    std::string inc = "Include " + (c / "d").string() + "/*.conf\n";
    if (include_first) main_cfg += inc;
    for (int n = 0, lines = 3 + static_cast<int>(rng() % 8); n < lines; ++n) {
      const auto& [k, vals] = kw[rng() % kw.size()];
      main_cfg += line(k, pick(vals));
    }
    if (!include_first) main_cfg += inc;
    for (int n = 0, lines = static_cast<int>(rng() % 4); n < lines; ++n) {
      const auto& [k, vals] = kw[rng() % kw.size()];
      drop += line(k, pick(vals));
    }
    write_file(c / "d" / "10-a.conf", drop);
    write_file(c / "d" / "05-b.conf", line("MaxAuthTries", pick({"2", "4"})));
    for (int m = 0, blocks = static_cast<int>(rng() % 3); m < blocks; ++m) {
      main_cfg += "Match " + pick(criteria) + "\n";
      for (int n = 0; n < 3; ++n) {
        const auto& [k, vals] = kw[rng() % kw.size()];
        if (in_match.count(to_lower(k))) main_cfg += "    " + k + " " + pick(vals) + "\n";
      }
    }
    write_file(c / "sshd_config", main_cfg);
    if (rng() % 2) write_file(c / "conn", pick(conns));
  }
  std::string cmd =
      MAMORI_SOURCE_DIR "/tests/audit/sshd_oracle.sh " + oracle.string() + " " + cases.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::vector<std::string> compared = {"port",
                                             "passwordauthentication",
                                             "permitrootlogin",
                                             "maxauthtries",
                                             "kbdinteractiveauthentication",
                                             "pubkeyauthentication",
                                             "permitemptypasswords",
                                             "usepam",
                                             "x11forwarding",
                                             "logingracetime",
                                             "clientaliveinterval",
                                             "ciphers",
                                             "macs",
                                             "kexalgorithms",
                                             "authenticationmethods",
                                             "allowtcpforwarding",
                                             "gatewayports",
                                             "permittunnel",
                                             "maxsessions",
                                             "banner",
                                             "hostbasedauthentication"};
  int checked = 0, refused = 0;
  for (int i = 0; i < kCases; ++i) {
    fs::path c = cases / std::to_string(i);
    if (!fs::exists(c / "sshd-T")) {
      // sshd refuses a config whose AuthenticationMethods name a disabled method: nothing
      // to compare (the audit treats such a list as unusable). Anything else is a bug here.
      std::ifstream e(c / "sshd-error");
      std::string why((std::istreambuf_iterator<char>(e)), {});
      EXPECT_NE(why.find("AuthenticationMethods"), std::string::npos)
          << "case " << i << ": " << why;
      ++refused;
      continue;
    }
    std::map<std::string, std::string> want;
    std::ifstream o(c / "sshd-T");
    for (std::string l; std::getline(o, l);) {
      auto sp = l.find(' ');
      if (sp == std::string::npos) continue;
      std::string k = l.substr(0, sp), v = l.substr(sp + 1);
      want[k] += (want[k].empty() ? "" : "\n") + v;
    }
    std::string text;
    {
      std::ifstream f(c / "sshd_config");
      text.assign((std::istreambuf_iterator<char>(f)), {});
    }
    auto cfg = parse_sshd_config(Root("/"), text, (c / "sshd_config").string());
    ASSERT_TRUE(cfg.has_value()) << cfg.error().message;
    SshConnection conn;
    bool with_conn = fs::exists(c / "conn");
    if (with_conn) {
      std::ifstream f(c / "conn");
      std::string spec;
      std::getline(f, spec);
      for (auto kv : split(spec, ',')) {
        auto eq = kv.find('=');
        std::string k(kv.substr(0, eq)), v(kv.substr(eq + 1));
        if (k == "user") conn.user = v;
        if (k == "host") conn.host = v;
        if (k == "addr") conn.addr = v;
        if (k == "laddr") conn.laddr = v;
        if (k == "lport") conn.lport = std::stoi(v);
      }
    }
    auto got = cfg->effective(with_conn ? &conn : nullptr);
    for (const auto& k : compared) {
      EXPECT_EQ(got[k], want[k]) << "case " << i << " keyword " << k << "\n" << text;
      ++checked;
    }
  }
  EXPECT_LT(refused, kCases / 4);
  EXPECT_EQ(checked, (kCases - refused) * static_cast<int>(compared.size()));
}

// ---- PAM -------------------------------------------------------------------------------------

class Pam : public TempRoot {
 protected:
  bool mfa_required(const std::string& sshd) {
    write_file(dir_ / "etc/pam.d/sshd", sshd);
    auto s = read_pam_stack(Root(dir_), "sshd", "auth");
    EXPECT_TRUE(s.has_value());
    return !pam_can_succeed(*s, [](const PamRule& r) {
      return is_mfa_module(r.module_name()) ? PamOutcome::kFail : PamOutcome::kAny;
    });
  }
};

TEST_F(Pam, SecondFactorRequiredOnlyWhenItCannotBeSkipped) {
  write_file(dir_ / "etc/pam.d/common-auth",
             "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
             "auth\trequisite\t\t\tpam_deny.so\n"
             "auth\trequired\t\t\tpam_permit.so\n");
  EXPECT_TRUE(mfa_required("@include common-auth\nauth required pam_google_authenticator.so\n"));
  EXPECT_FALSE(mfa_required("@include common-auth\n"));
  EXPECT_FALSE(mfa_required("@include common-auth\nauth optional pam_google_authenticator.so\n"));
  EXPECT_FALSE(mfa_required("@include common-auth\n#auth required pam_google_authenticator.so\n"));
  // password alone is "sufficient": done before the second factor is asked
  EXPECT_FALSE(mfa_required("auth sufficient pam_unix.so\nauth required pam_u2f.so\n"));
  // a jump over the second factor for some users (pam_succeed_if may succeed)
  EXPECT_FALSE(mfa_required(
      "auth required pam_unix.so\nauth [success=1 default=ignore] pam_succeed_if.so user "
      "ingroup vendors\nauth required pam_oath.so\n"));
  // substack: its "done" ends only the substack
  write_file(dir_ / "etc/pam.d/pw", "auth sufficient pam_unix.so\n");
  EXPECT_TRUE(mfa_required("auth substack pw\nauth required pam_duo.so\n"));
  EXPECT_FALSE(mfa_required("auth include pw\nauth required pam_duo.so\n"));
  // continuation lines and bracketed arguments
  EXPECT_TRUE(mfa_required("auth required \\\n  pam_google_authenticator.so [secret=/x y]\n"));
}

TEST_F(Pam, IncludeLoopIsAnError) {
  write_file(dir_ / "etc/pam.d/sshd", "@include sshd\n");
  auto s = read_pam_stack(Root(dir_), "sshd", "auth");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("include loop"), std::string::npos);
}

// ---- shadow -----------------------------------------------------------------------------------

TEST(Shadow, HashSchemes) {
  EXPECT_EQ(classify_hash("aZtABQy8mCnKE").scheme, "des");
  EXPECT_TRUE(classify_hash("$1$Qm9X1zTb$gdPU8C912Vi48Pc4c.G3S/").weak);
  EXPECT_TRUE(classify_hash("$5$rounds=1000$abc$def").weak);
  EXPECT_FALSE(classify_hash("$5$rounds=5000$abc$def").weak);
  EXPECT_FALSE(classify_hash("$6$2kq9QeVh2cEaZ3$NXyj").weak);
  EXPECT_FALSE(classify_hash("$y$j9T$F5Jx5fExrKuJdhlXaQKzq0$91RR").weak);
  EXPECT_TRUE(classify_hash("$2b$05$abcdefghijklmnopqrstuu").weak);
  EXPECT_FALSE(classify_hash("$2b$12$abcdefghijklmnopqrstuu").weak);
  EXPECT_EQ(classify_hash("!$1$Qm9X1zTb$gdPU8C912Vi48Pc4c.G3S/").scheme, "locked");
  EXPECT_EQ(classify_hash("*").scheme, "locked");
  EXPECT_EQ(classify_hash("").scheme, "empty");
}

// ---- firewall ----------------------------------------------------------------------------------

TEST(Firewall, ReachabilityFollowsTheRules) {
  auto rs = parse_nft_ruleset(R"(table inet filter {
	set admins {
		type ipv4_addr
		elements = { 192.0.2.10, 192.0.2.11 }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iif "lo" accept
		ip saddr @admins tcp dport { 22, 10000 } accept
		tcp dport 80-443 accept
		udp dport 51820 accept
		jump extra
	}
	chain extra {
		ip6 saddr 2001:db8::/32 tcp dport 3389 accept # handle 12
		tcp dport 5900 drop
	}
}
table ip nat {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
	}
}
)");
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  EXPECT_EQ(rs->filtering_input_chains().size(), 1u);
  Reach ssh = reachable(*rs, "tcp", 22, false);
  EXPECT_EQ(ssh.kind, Reach::kRestricted);
  EXPECT_EQ(ssh.sources, std::vector<std::string>{"@admins"});
  EXPECT_EQ(reachable(*rs, "tcp", 443, false).kind, Reach::kOpen);
  EXPECT_EQ(reachable(*rs, "tcp", 8080, false).kind, Reach::kClosed);
  EXPECT_EQ(reachable(*rs, "udp", 51820, true).kind, Reach::kOpen);
  EXPECT_EQ(reachable(*rs, "tcp", 51820, false).kind, Reach::kClosed);
  EXPECT_EQ(reachable(*rs, "tcp", 3389, false).kind, Reach::kClosed);  // ip6 rule only
  Reach rdp6 = reachable(*rs, "tcp", 3389, true);
  EXPECT_EQ(rdp6.kind, Reach::kRestricted);
  EXPECT_EQ(rdp6.sources, std::vector<std::string>{"2001:db8::/32"});
  EXPECT_EQ(reachable(*rs, "tcp", 5900, false).kind, Reach::kClosed);

  auto empty = parse_nft_ruleset("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(reachable(*empty, "tcp", 22, false).kind, Reach::kOpen);
  EXPECT_TRUE(empty->filtering_input_chains().empty());
  // policy accept with a final unconditional drop still filters
  auto last = parse_nft_ruleset(
      "table ip filter {\n chain INPUT {\n  type filter hook input priority 0; policy accept;\n"
      "  tcp dport 22 accept\n  counter packets 0 bytes 0 drop\n }\n}\n");
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->filtering_input_chains().size(), 1u);
  EXPECT_EQ(reachable(*last, "tcp", 25, false).kind, Reach::kClosed);
  EXPECT_EQ(reachable(*last, "tcp", 22, false).kind, Reach::kOpen);
}

// Rules written with iptables (the nft backend, Debian 12's default) as `nft list ruleset`
// shows them: counters, "meta l4proto", the trailing warning comment.
void expect_iptables_rules_understood(const std::string& text) {
  auto rs = parse_nft_ruleset(text);
  ASSERT_TRUE(rs.has_value()) << rs.error().message << "\n" << text;
  EXPECT_EQ(rs->filtering_input_chains().size(), 1u) << text;
  Reach ssh = reachable(*rs, "tcp", 22, false);
  EXPECT_EQ(ssh.kind, Reach::kRestricted) << text;
  EXPECT_EQ(ssh.sources, std::vector<std::string>{"203.0.113.0/24"});
  EXPECT_EQ(reachable(*rs, "tcp", 443, false).kind, Reach::kOpen);
  EXPECT_EQ(reachable(*rs, "tcp", 3389, false).kind, Reach::kOpen);
  EXPECT_EQ(reachable(*rs, "tcp", 5900, false).kind, Reach::kOpen);
  EXPECT_EQ(reachable(*rs, "tcp", 3306, false).kind, Reach::kClosed);
  EXPECT_EQ(reachable(*rs, "udp", 443, false).kind, Reach::kClosed);
  EXPECT_EQ(reachable(*rs, "tcp", 3306, true).kind, Reach::kOpen);  // no ip6 rules at all
}

TEST(Firewall, IptablesNftRules) {
  // captured from iptables-nft 1.8.9 (Debian 12) in a network namespace
  expect_iptables_rules_understood(
      "table ip filter {\n\tchain INPUT {\n\t\ttype filter hook input priority filter; policy "
      "drop;\n\t\tiifname \"lo\" counter packets 0 bytes 0 accept\n\t\tct state "
      "related,established counter packets 0 bytes 0 accept\n\t\tip saddr 203.0.113.0/24 tcp "
      "dport 22 counter packets 0 bytes 0 accept\n\t\ttcp dport 443 counter packets 0 bytes 0 "
      "accept\n\t\tmeta l4proto tcp tcp dport { 5900, 3389 } counter packets 0 bytes 0 "
      "accept\n\t}\n}# Warning: table ip filter is managed by iptables-nft, do not touch!\n");
}

// The same rules through the real iptables-nft, in a network namespace of this test's own
// (never the host's ruleset); skipped without root, iproute2 or iptables.
TEST(FirewallRoot, IptablesNftRulesLive) {
  if (::geteuid() != 0 || std::system("command -v iptables-nft >/dev/null 2>&1") != 0 ||
      std::system("command -v ip >/dev/null 2>&1") != 0 ||
      std::system("command -v nft >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs root, ip, nft and iptables-nft (scripts/install-deps.sh --test)";
  const std::string ns = "mamori-ipt-" + std::to_string(::getpid());
  const fs::path out = fs::temp_directory_path() / (ns + ".nft");
  std::string script =
      "set -e; ip netns add " + ns + "; trap 'ip netns del " + ns + "' EXIT; ip netns exec " + ns +
      " sh -ec 'iptables-nft -P INPUT DROP; "
      "iptables-nft -A INPUT -i lo -j ACCEPT; "
      "iptables-nft -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT; "
      "iptables-nft -A INPUT -p tcp --dport 22 -s 203.0.113.0/24 -j ACCEPT; "
      "iptables-nft -A INPUT -p tcp --dport 443 -j ACCEPT; "
      "iptables-nft -A INPUT -p tcp -m multiport --dports 5900,3389 -j ACCEPT; "
      "nft list ruleset' > " +
      out.string();
  ASSERT_EQ(std::system(("bash -c \"" + script + "\"").c_str()), 0) << script;
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(out);
  expect_iptables_rules_understood(text);
}

}  // namespace
// The check table is the one source: every row is evaluated and listed in the table's order,
// and docs/audit.md lists each check once, with the table's severity.
TEST(AuditTable, DocsListEveryCheckWithItsSeverity) {
  std::ifstream in(MAMORI_SOURCE_DIR "/docs/audit.md");
  ASSERT_TRUE(in.good());
  std::map<std::string, std::string> documented;  // id → severity column
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("| `")) continue;
    auto cells = split(line, '|');
    if (cells.size() < 5) continue;
    std::string id(trim(cells[1]));
    if (id.size() < 3 ||
        id.find_first_not_of("`ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != std::string::npos)
      continue;  // another table's row
    id = id.substr(1, id.size() - 2);
    EXPECT_TRUE(documented.emplace(id, std::string(trim(cells[3]))).second) << id << " twice";
  }
  std::set<std::string> ids;
  for (const auto& c : check_table()) {
    ids.insert(c.id);
    auto it = documented.find(c.id);
    if (it == documented.end()) {
      ADD_FAILURE() << c.id << " is not in docs/audit.md";
      continue;
    }
    EXPECT_NE(it->second.find(severity_name(c.severity)), std::string::npos)
        << c.id << ": the table says " << severity_name(c.severity) << ", the docs " << it->second;
  }
  for (const auto& [id, sev] : documented) EXPECT_TRUE(ids.count(id)) << id << " is not a check";
  EXPECT_EQ(ids.size(), 23u);
}

TEST_F(Fixture, EveryRowOfTheTableIsEvaluatedInItsOrder) {
  std::string cmd = "python3 " MAMORI_SHARED "/bench/audit/make_fixture.py " + dir_.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto rep = run_audit(Root(dir_ / "weak"), {});
  ASSERT_TRUE(rep.has_value()) << rep.error().message;
  ASSERT_EQ(rep->checks.size(), check_table().size());
  for (size_t i = 0; i < rep->checks.size(); ++i) {
    EXPECT_EQ(rep->checks[i].id, check_table()[i].id);
    EXPECT_EQ(rep->checks[i].title, check_table()[i].title);
  }
}

}  // namespace mamori::audit
