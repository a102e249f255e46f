// mamori guard: auth-log parsing (every format, one failure per attempt, the address sshd
// logged rather than one a user name carries) and the attacker classes.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "guard/authlog.h"
#include "guard/detect.h"
#include "guard/follow.h"

namespace mamori::guard {
namespace {

std::vector<AuthEvent> parse(const std::string& text, AuthLogParser& p, size_t chunk = 7) {
  for (size_t i = 0; i < text.size(); i += chunk) p.feed(std::string_view(text).substr(i, chunk));
  p.finish();
  return p.events();
}

TEST(AuthLog, OneFailurePerAttemptAndTheRealAddress) {
  const std::string log =
      // invalid user: the "Failed password" of the same connection is the same attempt
      "May  6 00:00:01 srv1 sshd[100]: Invalid user admin from 198.18.0.1 port 4001\n"
      "May  6 00:00:02 srv1 sshd[100]: pam_unix(sshd:auth): check pass; user unknown\n"
      "May  6 00:00:03 srv1 sshd[100]: Failed password for invalid user admin from 198.18.0.1 "
      "port 4001 ssh2\n"
      "May  6 00:00:04 srv1 sshd[100]: Connection closed by invalid user admin 198.18.0.1 port "
      "4001 [preauth]\n"
      // a valid user, three tries on one connection, then the close: three attempts
      "May  6 00:01:00 srv1 sshd[101]: Failed password for root from 198.18.0.2 port 5000 ssh2\n"
      "May  6 00:01:03 srv1 sshd[101]: Failed password for root from 198.18.0.2 port 5000 ssh2\n"
      "May  6 00:01:06 srv1 sshd[101]: Failed password for root from 198.18.0.2 port 5000 ssh2\n"
      "May  6 00:01:07 srv1 sshd[101]: Connection closed by authenticating user root "
      "198.18.0.2 port 5000 [preauth]\n"
      // a key/none probe of root: only the close line
      "May  6 00:02:00 srv1 sshd[102]: Received disconnect from 198.18.0.3 port 6000:11: Bye "
      "Bye [preauth]\n"
      "May  6 00:02:00 srv1 sshd[102]: Disconnected from authenticating user root 198.18.0.3 "
      "port 6000 [preauth]\n"
      // a user name carrying a spoofed address: the real one is the last before " port N"
      "May  6 00:03:00 srv1 sshd[103]: Invalid user x from 192.0.2.7 port 22 from 198.18.0.4 "
      "port 7000\n"
      "May  6 00:03:02 srv1 sshd[103]: Failed password for invalid user x from 192.0.2.7 port "
      "22 from 198.18.0.4 port 7000 ssh2\n"
      // success, MFA failure, OpenSSH 9.8 sshd-session tag, IPv6
      "May  6 00:04:00 srv1 sshd-session[104]: Failed keyboard-interactive/pam for alice from "
      "2001:db8::5 port 7100 ssh2\n"
      "May  6 00:04:09 srv1 sshd-session[104]: Accepted keyboard-interactive/pam for alice from "
      "2001:db8::5 port 7100 ssh2\n"
      // not sshd, or not authentication
      "May  6 00:05:00 srv1 sudo[1]: Failed password for root from 198.18.0.9 port 1 ssh2\n"
      "May  6 00:05:00 srv1 sshd[105]: Connection closed by 198.18.0.10 port 1 [preauth]\n"
      "garbage\n\n";
  AuthLogParser p(2024);
  auto ev = parse(log, p);
  std::map<std::string, int> fails;
  int successes = 0;
  for (const auto& e : ev) {
    if (e.kind == AuthKind::kSuccess) {
      ++successes;
      EXPECT_EQ(p.user(e.user), "alice");
      continue;
    }
    ++fails[e.ip.str()];
  }
  EXPECT_EQ(fails, (std::map<std::string, int>{{"198.18.0.1", 1},
                                               {"198.18.0.2", 3},
                                               {"198.18.0.3", 1},
                                               {"198.18.0.4", 1},
                                               {"2001:db8::5", 1}}));
  EXPECT_EQ(successes, 1);
  EXPECT_EQ(p.lines(), 18u);
  EXPECT_EQ(ev[0].ts, 1714953601);  // 2024-05-06T00:00:01Z
  for (const auto& e : ev) {
    if (e.ip.str() == "198.18.0.4") {
      EXPECT_EQ(p.user(e.user), "x from 192.0.2.7 port 22");
    }
  }
}

TEST(AuthLog, EveryTimestampFormatAndTheJournalExport) {
  const std::string iso =
      "2024-05-06T01:00:01.123456+01:00 srv1 sshd[7]: Failed password for root from 198.18.0.2 "
      "port 5 ssh2\n"
      "2024-05-06T00:00:02+0000 srv1 sshd[8]: Failed password for root from 198.18.0.2 port 5 "
      "ssh2\n";
  AuthLogParser a(2024);
  auto ev = parse(iso, a, 3);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].ts, 1714953601);
  EXPECT_EQ(ev[1].ts, 1714953602);
  // journalctl -o export, with a binary field (size-prefixed, may hold newlines) in between
  std::string ex =
      "__CURSOR=s=1\n__REALTIME_TIMESTAMP=1714953603000000\nSYSLOG_IDENTIFIER=sshd-session\n"
      "_PID=9\nMESSAGE=Invalid user oracle from 2001:db8:a000::1 port 5555\n";
  ex += "BLOB\n";
  std::string blob = "a\nb\n\nc";
  uint64_t n = blob.size();
  ex.append(reinterpret_cast<const char*>(&n), 8);
  ex += blob + "\n";
  ex +=
      "_HOSTNAME=srv1\n\n__CURSOR=s=2\n__REALTIME_TIMESTAMP=1714953604000000\n"
      "SYSLOG_IDENTIFIER=CRON\nMESSAGE=Failed password for root from 198.18.0.9 port 1 ssh2\n\n";
  AuthLogParser b(2024);
  auto ev2 = parse(ex, b, 5);
  ASSERT_EQ(ev2.size(), 1u);
  EXPECT_EQ(ev2[0].ts, 1714953603);
  EXPECT_EQ(ev2[0].ip.str(), "2001:db8:a000::1");
  EXPECT_EQ(b.user(ev2[0].user), "oracle");
  // syslog across New Year
  AuthLogParser c(2024);
  auto ev3 = parse(
      "Dec 31 23:59:59 h sshd[1]: Failed password for root from 198.18.0.1 port 1 ssh2\n"
      "Jan  1 00:00:01 h sshd[2]: Failed password for root from 198.18.0.1 port 2 ssh2\n",
      c);
  ASSERT_EQ(ev3.size(), 2u);
  EXPECT_EQ(ev3[1].ts - ev3[0].ts, 2);
}

// "service address user ok|fail" per event, in order.
std::vector<std::string> summary(const AuthLogParser& p) {
  std::vector<std::string> out;
  for (const auto& e : p.events())
    out.push_back(fmt::format("{} {} {} {}{}", service_name(e.service), e.ip.str(), p.user(e.user),
                              e.kind == AuthKind::kSuccess ? "ok" : "fail",
                              e.ts == 1715000000 ? "" : fmt::format(" @{}", e.ts - 1715000000)));
  return out;
}

TEST(AuthLog, PamXrdpVncAndWordPress) {
  // 1715000000 = 2024-05-06 12:53:20 UTC
  AuthLogParser p(2024);
  parse(
      // PAM of another service counts; sshd's PAM line is the same try as its own line
      "May  6 12:53:20 srv vsftpd[10]: pam_unix(vsftpd:auth): authentication failure; logname= "
      "uid=0 euid=0 tty=ftp ruser= rhost=198.51.100.1  user=bob\n"
      "May  6 12:53:20 srv sshd[11]: pam_unix(sshd:auth): authentication failure; logname= uid=0 "
      "euid=0 tty=ssh ruser= rhost=198.51.100.99  user=root\n"
      // a local login (no address) and a host name are not bannable
      "May  6 12:53:20 srv login[12]: pam_unix(login:auth): authentication failure; "
      "logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=root\n"
      "May  6 12:53:20 srv dovecot[13]: pam_unix(dovecot:auth): authentication failure; logname= "
      "uid=0 euid=0 tty=dovecot ruser=x rhost=mail.example  user=x\n"
      // the user name cannot move the address
      "May  6 12:53:20 srv cockpit-session[14]: pam_unix(cockpit:auth): authentication failure; "
      "logname= uid=0 euid=0 tty= ruser= rhost=198.51.100.2  user=a rhost=203.0.113.66\n"
      // xrdp through syslog, xrdp 0.9's and 0.10's own logs; the last " ip=" is xrdp's
      "May  6 12:53:20 srv xrdp-sesman[20]: pam_unix(xrdp-sesman:auth): authentication failure; "
      "logname= uid=0 euid=0 tty=xrdp-sesman ruser= rhost=198.51.100.3  user=carol\n"
      "May  6 12:53:20 srv xrdp-sesman[20]: [INFO ] AUTHFAIL: user=carol ip=::ffff:198.51.100.3 "
      "time=1715000000\n"
      "[20240506-12:53:21] [INFO ] AUTHFAIL: user=x ip=203.0.113.66 time=1 ip=::ffff:198.51.100.4 "
      "time=1715000001\n"
      "[2024-05-06T12:53:22.065+0000] [INFO ] AUTHFAIL: user=dave ip=198.51.100.5 "
      "time=1715000002\n"
      "[20240506-12:53:23] [INFO ] AUTHFAIL: user=eve ip=unknown time=1715000003\n"
      // VNC: x11vnc's own log, libvncserver through syslog, TigerVNC's own log and journal form
      "06/05/2024 12:53:20 rfbVncAuthProcessResponse: authentication failed from 198.51.100.6\n"
      "May  6 12:53:20 srv x11vnc[30]: 06/05/2024 12:53:20 rfbVncAuthProcessResponse: "
      "authentication failed from 198.51.100.7\n"
      "Mon May  6 12:53:20 2024\n"
      " SConnection: AuthFailureException: Authentication failure\n"
      " Connections: closed: 198.51.100.8::50412 (Authentication failure)\n"
      " Connections: closed: 198.51.100.98::50413 (Clean disconnection)\n"
      "2024-05-06T12:53:20+00:00 srv Xtigervnc[31]:  Connections: closed: 2001:db8::8::50414 "
      "(Authentication failure)\n"
      // WordPress: the form again (200) is a failure, the redirect (302) a login; every xmlrpc
      // POST an attempt; GETs, lost-password forms and other pages are not logins
      "198.51.100.9 - - [06/May/2024:14:53:20 +0200] \"POST /wp-login.php HTTP/1.1\" 200 4211 "
      "\"-\" \"Mozilla/5.0\"\n"
      "198.51.100.9 - - [06/May/2024:12:53:21 +0000] \"POST /blog/wp-login.php?redirect_to=x "
      "HTTP/1.1\" 302 0 \"-\" \"Mozilla/5.0\"\n"
      "shop.example:443 2001:db8::10 - - [06/May/2024:12:53:20 +0000] \"POST /xmlrpc.php "
      "HTTP/1.1\" 200 400 \"-\" \"-\"\n"
      "198.51.100.97 - - [06/May/2024:12:53:20 +0000] \"GET /wp-login.php HTTP/1.1\" 200 4211 "
      "\"-\" \"-\"\n"
      "198.51.100.97 - - [06/May/2024:12:53:20 +0000] \"POST "
      "/wp-login.php?action=lostpassword HTTP/1.1\" 302 0 \"-\" \"-\"\n"
      "198.51.100.97 - - [06/May/2024:12:53:20 +0000] \"POST /contact HTTP/1.1\" 200 1 \"-\" "
      "\"-\"\n"
      // an escaped quote in the request cannot end it early and fake a status
      "198.51.100.11 - - [06/May/2024:12:53:20 +0000] \"POST /wp-login.php?a=\\\" 302 \\\" "
      "HTTP/1.1\" 200 4211 \"-\" \"-\"\n",
      p);
  std::vector<std::string> want = {
      "pam 198.51.100.1 bob fail",      "pam 198.51.100.2 a rhost=203.0.113.66 fail",
      "xrdp 198.51.100.3 carol fail",   "xrdp 198.51.100.4 x ip=203.0.113.66 time=1 fail @1",
      "xrdp 198.51.100.5 dave fail @2", "vnc 198.51.100.6  fail",
      "vnc 198.51.100.7  fail",         "vnc 198.51.100.8  fail",
      "vnc 2001:db8::8  fail",          "wordpress 198.51.100.9  fail",
      "wordpress 198.51.100.9  ok @1",  "wordpress 2001:db8::10  fail",
      "wordpress 198.51.100.11  fail",
  };
  EXPECT_EQ(summary(p), want);

  // A WordPress password guessed: many failed logins, then the redirect
  AuthLogParser w(2024);
  std::string log;
  for (int i = 0; i < 8; ++i)
    log += fmt::format(
        "203.0.113.5 - - [06/May/2024:12:{:02}:00 +0000] \"POST /wp-login.php HTTP/1.1\" 200 1 "
        "\"-\" \"-\"\n",
        10 + i);
  log +=
      "203.0.113.5 - - [06/May/2024:12:30:00 +0000] \"POST /wp-login.php HTTP/1.1\" 302 0 \"-\" "
      "\"-\"\n";
  parse(log, w);
  auto found = detect(w.events(), {}, [&](uint32_t u) { return w.user(u); });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, "guessed");
  EXPECT_EQ(found[0].address, "203.0.113.5");
  EXPECT_EQ(found[0].services, std::vector<std::string>{"wordpress"});
  EXPECT_TRUE(found[0].usernames.empty());
}

TEST(AuthLog, HostileInputNeverBreaksParsing) {
  std::string huge(10000, 'A');
  AuthLogParser p(2024);
  auto ev = parse("May  6 00:00:01 srv1 sshd[1]: Invalid user " + huge +
                      "\x1b[2J\"'\n from 198.18.0.1 port 4001\n"
                      "May  6 00:00:02 srv1 sshd[2]: Invalid user \xff\xfe from 198.18.0.2 port 1\n"
                      "May  6 00:00:03 srv1 sshd[3]: Failed password for  from  port  ssh2\n"
                      "May  6 00:00:04 srv1 sshd[4]: Failed password for x from 999.1.1.1 port 1\n",
                  p);
  // the first line is cut by its newline: its address is on the next (non-sshd) line
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ip.str(), "198.18.0.2");
  EXPECT_EQ(p.user(ev[0].user), "\xff\xfe");
}

TEST(Detect, EveryKindAndNoBenignAddress) {
  std::vector<AuthEvent> ev;
  std::map<uint32_t, std::string> names = {{0, "root"}, {1, "alice"}, {2, "bob"},  {3, "carol"},
                                           {4, "dave"}, {5, "erin"},  {6, "admin"}};
  auto ip = [](const std::string& s) {
    Ip x;
    EXPECT_TRUE(parse_ip(s, x)) << s;
    return x;
  };
  auto fail = [&](const std::string& a, int64_t t, uint32_t u, bool valid = true) {
    ev.push_back({t, AuthKind::kFailure, ip(a), u, valid, Service::kSsh});
  };
  auto ok = [&](const std::string& a, int64_t t, uint32_t u) {
    ev.push_back({t, AuthKind::kSuccess, ip(a), u, true, Service::kSsh});
  };
  const int64_t t0 = 1714953600;
  for (int i = 0; i < 6; ++i) fail("198.18.0.1", t0 + i * 30, 0);         // burst
  for (int i = 0; i < 8; ++i) fail("198.18.0.2", t0 + i * 1800, 0);       // slow
  for (uint32_t u = 1; u <= 5; ++u) fail("198.18.0.3", t0 + u * 700, u);  // spraying
  for (int i = 0; i < 7; ++i) fail("198.18.0.4", t0 + i * 400, 1);        // …
  ok("198.18.0.4", t0 + 2900, 1);                                         // guessed
  // a /24 and a /64 of addresses two guesses each (>= 10 failures, >= 5 addresses)
  for (int h = 1; h <= 6; ++h)
    for (int k = 0; k < 2; ++k)
      fail("198.19.7." + std::to_string(h), t0 + h * 900 + k * 700, 6, false);
  for (int h = 1; h <= 5; ++h)
    for (int k = 0; k < 2; ++k)
      fail(fmt::format("2001:db8:1:2::{:x}", h), t0 + h * 700 + k * 900, 6, false);
  // benign: the office NAT (4 failures then logins), a mistyper, a /24 with a login in it
  for (int i = 0; i < 4; ++i) {
    fail("203.0.113.9", t0 + i * 90, 1 + static_cast<uint32_t>(i));
    ok("203.0.113.9", t0 + i * 90 + 8, 1 + static_cast<uint32_t>(i));
  }
  fail("203.0.113.10", t0, 2);
  ok("203.0.113.10", t0 + 5, 2);
  for (int h = 1; h <= 6; ++h)
    for (int k = 0; k < 2; ++k)
      fail("192.0.2." + std::to_string(h), t0 + h * 900 + k * 700, 6, false);
  ok("192.0.2.200", t0 + 100, 3);  // a login inside that /24: it is never aggregated
  fail("198.51.100.1", t0, 0);     // allowlisted burst
  for (int i = 0; i < 9; ++i) fail("198.51.100.1", t0 + i, 0);
  DetectOptions o;
  o.allow = {"198.51.100.0/24"};
  auto found = detect(ev, o, [&](uint32_t u) { return names[u]; });
  std::map<std::string, std::string> kinds;
  for (const auto& a : found) kinds[a.address] = a.kind;
  EXPECT_EQ(kinds, (std::map<std::string, std::string>{{"198.18.0.1", "burst"},
                                                       {"198.18.0.2", "slow"},
                                                       {"198.18.0.3", "spraying"},
                                                       {"198.18.0.4", "guessed"},
                                                       {"198.19.7.0/24", "distributed"},
                                                       {"2001:db8:1:2::/64", "distributed"}}));
  for (const auto& a : found) {
    if (a.kind == "guessed") {
      EXPECT_EQ(a.guessed_user, "alice");
    } else if (a.address == "198.19.7.0/24") {
      EXPECT_EQ(a.addresses.size(), 6u);
      EXPECT_EQ(a.usernames, std::vector<std::string>{"admin"});
    }
  }
  EXPECT_TRUE(ip_in(ip("10.1.2.3"), "10.0.0.0/8"));
  EXPECT_FALSE(ip_in(ip("10.1.2.3"), "10.0.0.0/99"));
  EXPECT_FALSE(ip_in(ip("2001:db8::1"), "10.0.0.0/8"));
}

TEST(Follow, RotationsOfALogSinceATime) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("mamori-rot-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  const int64_t now = 1800000000;
  auto make = [&](const std::string& name, int64_t age) {
    std::ofstream(d / name) << "x\n";
    struct timespec ts[2] = {{now - age, 0}, {now - age, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (d / name).c_str(), ts, 0), 0);
  };
  make("auth.log", 0);
  make("auth.log.1", 100);
  make("auth.log.2.gz", 300);
  make("auth.log.10.gz", 200);  // numbers do not order them: their times do
  make("secure-20240506.gz", 50);
  make("auth.log.3.gz", 5000);  // before `since`
  for (const char* other : {"auth.log.bak", "auth.logx", "auth.log.1.old", "auth.log-1"})
    make(other, 10);
  std::vector<std::string> got;
  for (const auto& f : rotated_logs((d / "auth.log").string(), now - 1000))
    got.push_back(fs::path(f).filename().string());
  EXPECT_EQ(got, (std::vector<std::string>{"auth.log.2.gz", "auth.log.10.gz", "auth.log.1"}));
  got.clear();
  for (const auto& f : rotated_logs((d / "secure").string(), 0))
    got.push_back(fs::path(f).filename().string());
  EXPECT_EQ(got, std::vector<std::string>{"secure-20240506.gz"});
  fs::remove_all(d);
}

TEST(Follow, AppendsRotationAndTruncation) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("mamori-follow-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path log = dir / "auth.log";
  auto append = [&](const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::app | std::ios::binary) << s;
  };
  append(log, "old\n");
  FileFollower f(log.string(), false);
  std::string got;
  auto sink = [&](std::string_view b) { got.append(b); };
  // The end is where the file was when the follower was made, not where it is at the first
  // poll: `guard run` says READY in between, and lines written then must not be lost.
  append(log, "a\n");
  f.poll(sink);
  EXPECT_EQ(got, "a\n");
  f.poll(sink);
  EXPECT_EQ(got, "a\n");
  fs::rename(log, dir / "auth.log.1");  // rotated: the tail of the old file, then the new one
  append(dir / "auth.log.1", "b\n");
  f.poll(sink);  // not recreated yet
  append(log, "c\n");
  f.poll(sink);
  EXPECT_EQ(got, "a\nb\nc\n");
  EXPECT_EQ(f.rotations(), 1u);
  fs::resize_file(log, 0);  // copytruncate: seen as the file got smaller than what was read
  f.poll(sink);
  append(log, "d\n");
  f.poll(sink);
  EXPECT_EQ(got, "a\nb\nc\nd\n");
  EXPECT_EQ(f.rotations(), 2u);
  FileFollower later((dir / "later.log").string(),
                     false);  // missing now: read whole once it appears
  std::string late;
  later.poll([&](std::string_view b) { late.append(b); });
  append(dir / "later.log", "e\n");
  later.poll([&](std::string_view b) { late.append(b); });
  EXPECT_EQ(late, "e\n");
  FileFollower whole(log.string(), true);
  std::string all;
  whole.poll([&](std::string_view b) { all.append(b); });
  EXPECT_EQ(all, "d\n");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mamori::guard
