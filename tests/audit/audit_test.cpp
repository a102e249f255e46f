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
#include <set>

#include "audit/firewall.h"
#include "audit/pam.h"
#include "audit/sshd.h"
#include "core/text.h"

namespace mamori::audit {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::trunc | std::ios::binary) << s;
}

class TempRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mamori-audit-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

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
  }
}

TEST_F(Fixture, ExposureNamesSourcesAndNeverBlamesLoopback) {
  std::string cmd = "python3 " MAMORI_SHARED "/bench/audit/make_fixture.py " + dir_.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto rep = run_audit(Root(dir_ / "hardened"), {});
  ASSERT_TRUE(rep.has_value());
  for (const auto& f : rep->findings()) {
    EXPECT_EQ(f.check, "EXPOSE-SSH");  // the only failure of the hardened tree
    EXPECT_EQ(f.severity, Severity::kLow);
    EXPECT_NE(f.evidence.find("lets in only"), std::string::npos) << f.evidence;
  }
  auto weak = run_audit(Root(dir_ / "weak"), {});
  ASSERT_TRUE(weak.has_value());
  for (const auto& f : weak->findings()) {
    EXPECT_EQ(f.asset.find("5432"), std::string::npos) << "loopback PostgreSQL blamed";
    EXPECT_EQ(f.evidence.find("Winter"), std::string::npos);
    EXPECT_EQ(f.evidence.find("$1$"), std::string::npos) << "a hash leaked into a finding";
  }
}

// ---- sshd_config ----------------------------------------------------------------------------

class Sshd : public TempRoot {};

TEST_F(Sshd, FirstValueWinsAndIncludeComesFirst) {
  write(dir_ / "etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n"
        "PasswordAuthentication no\n"
        "passwordauthentication yes\n"
        "PORT 2222\nPort=22\n"
        "PermitRootLogin \"prohibit-password\"  # comment\n"
        "LoginGraceTime 2m30s\n"
        "Ciphers +aes128-cbc\n");
  write(dir_ / "etc/ssh/sshd_config.d/20-b.conf", "PasswordAuthentication no\n");
  write(dir_ / "etc/ssh/sshd_config.d/10-a.conf", "PasswordAuthentication YES\nMaxAuthTries 3\n");
  write(dir_ / "etc/ssh/sshd_config.d/.hidden.conf", "MaxAuthTries 1\n");
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
  write(dir_ / "etc/ssh/sshd_config",
        "PasswordAuthentication no\n"
        "Match Address 10.0.0.0/8,!10.9.0.0/16 User alice,bob\n"
        "  PasswordAuthentication yes\n"
        "  Include /etc/ssh/extra.conf\n"
        "Match all\n"
        "  PermitRootLogin no\n");
  write(dir_ / "etc/ssh/extra.conf", "X11Forwarding yes\nMatch User carol\n  Banner /etc/x\n");
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
  write(dir_ / "etc/ssh/sshd_config", "Include /etc/ssh/loop.conf\n");
  write(dir_ / "etc/ssh/loop.conf", "Include /etc/ssh/loop.conf\n");
  auto c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("nested more than 16 deep"), std::string::npos)
      << c.error().message;
  write(dir_ / "etc/ssh/sshd_config", "Banner " + std::string(100000, 'x') + "\n");
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("sshd_config:1: line longer"), std::string::npos);
  write(dir_ / "etc/ssh/sshd_config", std::string(5 << 20, '#'));
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  write(dir_ / "etc/ssh/sshd_config", "Banner \"unterminated\n");
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find(":1: unterminated quote"), std::string::npos);
  write(dir_ / "etc/ssh/sshd_config", "PasswordAuthentication\n");
  c = read_sshd_config(Root(dir_));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("no argument"), std::string::npos);
}

// ---- PAM -------------------------------------------------------------------------------------

class Pam : public TempRoot {
 protected:
  bool mfa_required(const std::string& sshd) {
    write(dir_ / "etc/pam.d/sshd", sshd);
    auto s = read_pam_stack(Root(dir_), "sshd", "auth");
    EXPECT_TRUE(s.has_value());
    return !pam_can_succeed(*s, [](const PamRule& r) {
      return is_mfa_module(r.module_name()) ? PamOutcome::kFail : PamOutcome::kAny;
    });
  }
};

TEST_F(Pam, SecondFactorRequiredOnlyWhenItCannotBeSkipped) {
  write(dir_ / "etc/pam.d/common-auth",
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
  write(dir_ / "etc/pam.d/pw", "auth sufficient pam_unix.so\n");
  EXPECT_TRUE(mfa_required("auth substack pw\nauth required pam_duo.so\n"));
  EXPECT_FALSE(mfa_required("auth include pw\nauth required pam_duo.so\n"));
  // continuation lines and bracketed arguments
  EXPECT_TRUE(mfa_required("auth required \\\n  pam_google_authenticator.so [secret=/x y]\n"));
}

TEST_F(Pam, IncludeLoopIsAnError) {
  write(dir_ / "etc/pam.d/sshd", "@include sshd\n");
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

}  // namespace
}  // namespace mamori::audit
