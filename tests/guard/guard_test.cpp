// mamori guard: auth-log parsing (every format, one failure per attempt, the address sshd
// logged rather than one a user name carries) and the attacker classes.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "core/module.h"
#include "core/text.h"
#include "guard/allow.h"
#include "guard/authlog.h"
#include "guard/detect.h"
#include "guard/follow.h"
#include "guard/nft.h"
#include "guard/offline.h"
#include "guard/service.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace mamori::guard {
namespace {

// The address s; a test that writes one that does not parse fails.
Ip ip(const std::string& s) {
  Ip x;
  EXPECT_TRUE(parse_ip(s, x)) << s;
  return x;
}

// Syslog stamps are read in the local zone: these tests say which (UTC, unless a test sets one).
const bool kUtc = [] {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  return true;
}();

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
      "_UID=0\n_COMM=sshd-session\n"
      "_PID=9\nMESSAGE=Invalid user oracle from 2001:db8:a000::1 port 5555\n";
  ex += "BLOB\n";
  std::string blob = "a\nb\n\nc";
  uint64_t n = blob.size();
  ex.append(reinterpret_cast<const char*>(&n), 8);
  ex += blob + "\n";
  ex +=
      "_HOSTNAME=srv1\n\n__CURSOR=s=2\n__REALTIME_TIMESTAMP=1714953604000000\n"
      "SYSLOG_IDENTIFIER=CRON\nMESSAGE=Failed password for root from 198.18.0.9 port 1 ssh2\n\n"
      // `logger -t sshd` by nobody: journald records who really wrote it
      "__CURSOR=s=3\n__REALTIME_TIMESTAMP=1714953605000000\nSYSLOG_IDENTIFIER=sshd\n"
      "_UID=65534\n_COMM=logger\n_SYSTEMD_UNIT=session-4.scope\n"
      "MESSAGE=Failed password for root from 198.51.100.77 port 1 ssh2\n\n";
  AuthLogParser b(2024);
  auto ev2 = parse(ex, b, 5);
  EXPECT_EQ(b.untrusted(), 1u);
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
      "198.51.100.9 - - [06/May/2024:12:53:22 +0000] \"GET /blog/wp-admin/ HTTP/1.1\" 200 9000 "
      "\"-\" \"Mozilla/5.0\"\n"
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
      "\"-\"\n"
      "203.0.113.5 - - [06/May/2024:12:30:01 +0000] \"GET /wp-admin/ HTTP/1.1\" 200 9000 \"-\" "
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

// A 302 answering a wp-login POST is a login only when the dashboard follows: an http→https
// redirect (or any 302 without it) must not exempt an attacker as "logged in".
TEST(AuthLog, WordPressRedirectIsNotALoginWithoutTheDashboard) {
  std::string log;
  auto line = [&](const std::string& ip, int sec, const std::string& req, int status) {
    log +=
        fmt::format("{} - - [06/May/2024:12:{:02}:{:02} +0000] \"{} HTTP/1.1\" {} 0 \"-\" \"-\"\n",
                    ip, sec / 60, sec % 60, req, status);
  };
  for (int i = 0; i < 8; ++i) {
    line("203.0.113.20", i * 30, "POST /wp-login.php", 302);  // redirected to https: no login
    line("203.0.113.20", i * 30 + 1, "GET /wp-admin/admin-ajax.php", 200);  // answers anyone
    line("203.0.113.21", i * 30, "POST /wp-login.php", 200);  // the form again: a failure
  }
  line("203.0.113.21", 300, "POST /wp-login.php", 302);
  line("203.0.113.21", 301 + 600, "GET /wp-admin/", 200);  // ten minutes later: not that login
  AuthLogParser p(2024);
  parse(log, p);
  for (const auto& e : p.events()) EXPECT_EQ(e.kind, AuthKind::kFailure) << e.ip.str();
  auto found = detect(p.events(), {}, [&](uint32_t u) { return p.user(u); });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].address, "203.0.113.21");
  EXPECT_EQ(found[0].kind, "burst");  // never "exempted" by a success that was not one
}

// nginx logs the Basic-auth user name as sent: " [" and "] " in it must not hide the line.
TEST(AuthLog, AccessLogUserNamesCannotHideOrFakeRequests) {
  std::string log;
  for (int i = 0; i < 21; ++i)
    log += fmt::format(
        "198.51.100.60 - a [b] c [06/May/2024:12:00:{:02} +0000] [06/May/2024:12:00:{:02} "
        "+0000] \"POST /wp-login.php HTTP/1.1\" 200 4211 \"-\" \"-\"\n",
        i, i);
  // Apache escapes a quote in the user name: it cannot open a fake request with a fake status
  log +=
      "198.51.100.61 - u\\\" 302 [06/May/2024:12:00:00 +0000] \\\"POST /wp-login.php "
      "[06/May/2024:12:00:00 +0000] \"POST /wp-login.php HTTP/1.1\" 200 4211 \"-\" \"-\"\n";
  AuthLogParser p(2024);
  parse(log, p);
  size_t a = 0, b = 0;
  for (const auto& e : p.events()) {
    EXPECT_EQ(e.kind, AuthKind::kFailure);
    a += e.ip.str() == "198.51.100.60";
    b += e.ip.str() == "198.51.100.61";
  }
  EXPECT_EQ(a, 21u);
  EXPECT_EQ(b, 1u);
}

// With UseDNS sshd logs a host name where the address was: the " port N" inside the user name
// must not be taken instead.
TEST(AuthLog, AHostNameIsNeverReplacedByAnAddressFromTheUserName) {
  AuthLogParser p(2024);
  std::string log;
  for (int i = 0; i < 6; ++i)
    log += fmt::format(
        "May  6 00:00:0{} h sshd[{}]: Failed password for invalid user x from 198.51.100.9 port 22 "
        "from attacker.example port {} ssh2\n",
        i, 10 + i, 4000 + i);
  auto ev = parse(log, p);
  EXPECT_TRUE(ev.empty()) << ev[0].ip.str();
}

// A field longer than the 1 MiB line limit is dropped to its end: its tail is never read as a
// field of its own (cut where a read boundary falls, it could forge _UID=0 and _COMM=sshd).
TEST(AuthLog, TheTailOfAnOverlongLineIsNotALine) {
  AuthLogParser p(2024);
  size_t records = 0;
  for (int i = 0; i < 6; ++i) {
    p.feed("__CURSOR=s=" + std::to_string(i) + "\n__REALTIME_TIMESTAMP=171495360" +
           std::to_string(i) + "000000\nSYSLOG_IDENTIFIER=sshd\n_UID=1000\n_COMM=python3\n");
    p.feed("PAD=" + std::string((1 << 20) + 10, 'x'));  // a read ends inside the long field…
    p.feed("_UID=0\nPAD2=" + std::string((1 << 20) + 10, 'y'));  // …the next starts with its tail
    p.feed("_COMM=sshd\nMESSAGE=Failed password for root from 198.51.100.99 port 1 ssh2\n\n");
    ++records;
  }
  p.finish();
  EXPECT_EQ(records, 6u);
  EXPECT_TRUE(p.events().empty());
  EXPECT_EQ(p.untrusted(), 6u);
}

TEST(AuthLog, MappedIpv4IsTheIpv4AddressEverywhere) {
  AuthLogParser p(2024);
  auto ev = parse(
      "May  6 00:00:01 h sshd[1]: Failed password for root from ::ffff:198.51.100.23 port 1 ssh2\n"
      "May  6 00:00:02 h sshd[2]: Failed password for root from 198.51.100.23 port 2 ssh2\n",
      p);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].ip.v4);
  EXPECT_EQ(ev[0].ip, ev[1].ip);
  EXPECT_EQ(ev[0].ip.str(), "198.51.100.23");
  Allowlist allow{"::ffff:198.51.100.0/120"};
  EXPECT_TRUE(allow.contains(ev[0].ip));
  bool v6 = true;
  EXPECT_EQ(canonical_element("::ffff:198.51.100.23", v6).value_or("?"), "198.51.100.23");
  EXPECT_FALSE(v6);
  Ip ip;
  int bits = 0;
  ASSERT_TRUE(parse_prefix("::ffff:198.51.100.0/120", ip, bits));
  EXPECT_TRUE(ip.v4);
  EXPECT_EQ(bits, 24);
  EXPECT_FALSE(parse_prefix("::ffff:0:0/80", ip, bits));
}

TEST(AuthLog, JournaldFieldsDecideWhoMaySpeakForAService) {
  auto judge = [](std::string_view ident, std::string_view msg, JournalOrigin o) {
    return judge_origin(ident, msg, o);
  };
  const std::string_view fail = "Failed password for root from 198.51.100.77 port 1 ssh2";
  EXPECT_EQ(judge("sshd", fail, {"0", "sshd", "/usr/sbin/sshd", "ssh.service"}), Origin::kTrusted);
  EXPECT_EQ(judge("sshd-session", fail, {"0", "sshd-session", "", ""}), Origin::kTrusted);
  EXPECT_EQ(judge("sshd", fail, {"", "sshd", "", "ssh.service"}), Origin::kTrusted);  // export
  // logger -t sshd by a user, by root from a script, a renamed binary run by a user
  EXPECT_EQ(judge("sshd", fail, {"65534", "logger", "/usr/bin/logger", "session-4.scope"}),
            Origin::kUntrusted);
  EXPECT_EQ(judge("sshd", fail, {"0", "logger", "/usr/bin/logger", "cron.service"}),
            Origin::kUntrusted);
  EXPECT_EQ(judge("sshd", fail, {"1000", "sshd", "/home/u/sshd", "user@1000.service"}),
            Origin::kUntrusted);
  EXPECT_EQ(judge("sshd", fail, {}), Origin::kUntrusted);
  const std::string_view pam =
      "pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser= "
      "rhost=198.51.100.1  user=bob";
  EXPECT_EQ(judge("vsftpd", pam, {"0", "vsftpd", "", "vsftpd.service"}), Origin::kTrusted);
  EXPECT_EQ(judge("vsftpd", pam, {"1000", "python3", "", "session-2.scope"}), Origin::kUntrusted);
  EXPECT_EQ(judge("xrdp-sesman", "AUTHFAIL: user=a ip=1.2.3.4", {"0", "xrdp-sesman", "", ""}),
            Origin::kTrusted);
  EXPECT_EQ(judge("xrdp", "AUTHFAIL: user=a ip=1.2.3.4", {"116", "xrdp", "", "xrdp.service"}),
            Origin::kTrusted);
  EXPECT_EQ(judge("xrdp", "AUTHFAIL: user=a ip=1.2.3.4", {"1000", "xrdp", "", "user@1000.service"}),
            Origin::kUntrusted);
  EXPECT_EQ(judge("x11vnc", "authentication failed from 1.2.3.4",
                  {"1000", "x11vnc", "", "x11vnc.service"}),
            Origin::kTrusted);
  EXPECT_EQ(judge("x11vnc", "authentication failed from 1.2.3.4",
                  {"1000", "x11vnc", "", "user@1000.service"}),
            Origin::kUntrusted);
  EXPECT_EQ(judge("CRON", "pam_unix(cron:session): session opened", {"0", "cron", "", ""}),
            Origin::kTrusted);
  EXPECT_EQ(judge("sudo", "something", {"1000", "sudo", "", ""}), Origin::kIrrelevant);
}

// Syslog stamps are the host's local time: on a host in Tokyo, "May  6 09:00:00" is 00:00 UTC.
TEST(AuthLog, SyslogTimesAreLocalTime) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "Asia/Tokyo", 1);
  ::tzset();
  AuthLogParser p(2024);
  auto ev = parse(
      "May  6 09:00:00 h sshd[1]: Failed password for root from 198.51.100.1 port 1 ssh2\n"
      "06/05/2024 09:00:01 rfbVncAuthProcessResponse: authentication failed from 198.51.100.2\n"
      "2024-05-06T09:00:02+09:00 h sshd[2]: Failed password for root from 198.51.100.3 port 1 "
      "ssh2\n",
      p);
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].ts, 1714953600);  // 2024-05-06T00:00:00Z
  EXPECT_EQ(ev[1].ts, 1714953601);
  EXPECT_EQ(ev[2].ts, 1714953602);  // an explicit offset is used as written
  // across a DST change (Europe/Berlin, 2024-03-31 02:00 CET → 03:00 CEST)
  ::setenv("TZ", "Europe/Berlin", 1);
  ::tzset();
  EXPECT_EQ(AuthLogParser::local_to_utc(1711846800 /* 2024-03-31 01:00 civil */), 1711843200);
  EXPECT_EQ(AuthLogParser::local_to_utc(1711854000 /* 2024-03-31 03:00 civil */), 1711846800);
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

// Read in January without --year, December's syslog lines are last December's, not the coming one.
TEST(AuthLog, SyslogLinesAreNeverDatedInTheFuture) {
  AuthLogParser p(2027);
  p.set_clock(1798761600 + 3 * 86400);  // 2027-01-04
  auto ev = parse(
      "Dec 31 23:59:59 h sshd[1]: Failed password for root from 198.18.0.1 port 1 ssh2\n"
      "Jan  2 00:00:01 h sshd[2]: Failed password for root from 198.18.0.1 port 2 ssh2\n",
      p);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(iso8601(ev[0].ts), "2026-12-31T23:59:59Z");
  EXPECT_EQ(iso8601(ev[1].ts), "2027-01-02T00:00:01Z");
}

TEST(AuthLog, UserNamesFollowTheWindow) {
  AuthLogParser p(2024);
  const int64_t t0 = 1714953600;
  size_t checked = 0;
  for (int round = 0; round < 30; ++round) {
    std::string chunk;
    for (int i = 0; i < 10000; ++i)
      chunk += fmt::format("{} h sshd[{}]: Invalid user u{}x{} from 198.18.{}.{} port 1\n",
                           iso8601(t0 + round * 86400 + i), i, round, i, i / 250, i % 250);
    p.feed(chunk);
    p.drop_before(t0 + round * 86400);  // a window of a day: the older names must go
    EXPECT_LE(p.users(), 2 * p.events().size() + 4096);
    ++checked;
  }
  EXPECT_EQ(checked, 30u);
  EXPECT_EQ(p.events().size(), 10000u);
  EXPECT_LE(p.users(), 24096u);
  for (const auto& e : p.events()) EXPECT_TRUE(p.user(e.user).starts_with("u29x"));
}

TEST(Allowlist, NoBanOrReportedPrefixHoldsAnAllowlistedAddress) {
  Allowlist allow{"198.19.7.4", "2001:db8:1:2::/112"};
  EXPECT_TRUE(check_ban("198.19.8.0/24", allow).has_value());
  EXPECT_FALSE(check_ban("198.19.7.0/24", allow).has_value());  // holds 198.19.7.4
  EXPECT_FALSE(check_ban("198.19.7.4", allow).has_value());
  EXPECT_FALSE(check_ban("2001:db8:1:2::/64", allow).has_value());
  EXPECT_FALSE(check_ban("0.0.0.0/0", {}).has_value());  // bans the world
  EXPECT_FALSE(check_ban("10.0.0.0/8", {}).has_value());
  EXPECT_TRUE(check_ban("10.1.0.0/16", {}).has_value());
  EXPECT_FALSE(check_ban("2001:db8::/16", {}).has_value());
  EXPECT_FALSE(check_ban("1.2.3.4; flush ruleset", {}).has_value());
  for (const char* special :
       {"0.0.0.0", "255.255.255.255", "239.1.2.3", "169.254.1.1", "::", "ff02::1", "fe80::1"})
    EXPECT_FALSE(check_ban(special, {}).has_value()) << special;
  EXPECT_TRUE(Allowlist::loopback().contains([] {
    Ip ip;
    parse_ip("127.9.9.9", ip);
    return ip;
  }()));
  // detection: the /24 and the /64 are reported as their addresses, never as prefixes
  std::vector<AuthEvent> ev;
  const int64_t t0 = 1714953600;
  for (int h = 1; h <= 6; ++h)
    for (int k = 0; k < 2; ++k)
      ev.push_back({t0 + h * 900 + k * 700, AuthKind::kFailure, ip("198.19.7." + std::to_string(h)),
                    0, false, Service::kSsh});
  for (int h = 1; h <= 5; ++h)
    for (int k = 0; k < 2; ++k)
      ev.push_back({t0 + h * 700 + k * 900, AuthKind::kFailure,
                    ip(fmt::format("2001:db8:1:2::1:{:x}", h)), 0, false, Service::kSsh});
  DetectOptions o;
  o.allow = allow;
  auto found = detect(ev, o, [](uint32_t) { return std::string("admin"); });
  ASSERT_EQ(found.size(), 2u);
  std::vector<std::string> targets;
  for (const auto& a : found) {
    EXPECT_EQ(a.address.find('/'), std::string::npos) << a.address;
    for (auto& t : ban_targets(a, allow)) targets.push_back(std::move(t));
  }
  EXPECT_EQ(targets.size(), 10u);  // 5 + 5: 198.19.7.4 never
  for (const auto& t : targets) {
    EXPECT_NE(t, "198.19.7.4");
    EXPECT_TRUE(check_ban(t, allow).has_value()) << t;
  }
  // and a prefix found without an allowlist is split when one is given at ban time
  auto wide = detect(ev, {}, [](uint32_t) { return std::string("admin"); });
  size_t split = 0;
  for (const auto& a : wide)
    if (a.address == "198.19.7.0/24") {
      auto t = ban_targets(a, allow);
      EXPECT_EQ(t.size(), 5u);
      ++split;
    }
  EXPECT_EQ(split, 1u);
}

// Behind one address (an office NAT) people mistype and then log in: a failure corrected by a
// login of the same account soon after is no attack — however many colleagues do it. A password
// guessed for one account, or a sprayed one that worked, is.
TEST(Detect, MistypesCorrectedByALoginAreNotAttacks) {
  std::vector<AuthEvent> ev;
  const int64_t t0 = 1714953600;
  for (uint32_t u = 1; u <= 8; ++u) {  // eight colleagues within ten minutes
    ev.push_back({t0 + u * 30, AuthKind::kFailure, ip("192.0.2.10"), u, true, Service::kSsh});
    ev.push_back({t0 + u * 30 + 9, AuthKind::kSuccess, ip("192.0.2.10"), u, true, Service::kSsh});
  }
  for (int i = 0; i < 6; ++i)  // root guessed
    ev.push_back({t0 + i * 20, AuthKind::kFailure, ip("198.51.100.5"), 0, true, Service::kSsh});
  ev.push_back({t0 + 200, AuthKind::kSuccess, ip("198.51.100.5"), 0, true, Service::kSsh});
  for (uint32_t u = 1; u <= 7; ++u)  // one password against seven accounts; the fourth opens
    ev.push_back({t0 + u * 60, AuthKind::kFailure, ip("198.51.100.6"), u, true, Service::kSsh});
  ev.push_back({t0 + 500, AuthKind::kSuccess, ip("198.51.100.6"), 4, true, Service::kSsh});
  auto found = detect(ev, {}, [](uint32_t u) { return "u" + std::to_string(u); });
  std::map<std::string, std::pair<std::string, std::string>> got;
  for (const auto& a : found) got[a.address] = {a.kind, a.guessed_user};
  EXPECT_EQ(got, (std::map<std::string, std::pair<std::string, std::string>>{
                     {"198.51.100.5", {"guessed", "u0"}}, {"198.51.100.6", {"guessed", "u4"}}}));
}

TEST(Detect, EveryKindAndNoBenignAddress) {
  std::vector<AuthEvent> ev;
  std::map<uint32_t, std::string> names = {{0, "root"}, {1, "alice"}, {2, "bob"},  {3, "carol"},
                                           {4, "dave"}, {5, "erin"},  {6, "admin"}};
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
  size_t looked = 0;
  for (const auto& a : found) {
    if (a.kind == "guessed") {
      EXPECT_EQ(a.guessed_user, "alice");
      ++looked;
    } else if (a.address == "198.19.7.0/24") {
      EXPECT_EQ(a.addresses.size(), 6u);
      EXPECT_EQ(a.usernames, std::vector<std::string>{"admin"});
      ++looked;
    }
  }
  EXPECT_EQ(looked, 2u);

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

// ---------------- the service (guard run) with a fake clock and firewall ----------------

class FakeClock : public Clock {
 public:
  int64_t t = 1800000000;
  int64_t now() const override { return t; }
};

class FakeFirewall : public Firewall {
 public:
  std::vector<std::pair<std::string, int64_t>> elements;  // every ban, in order
  std::map<std::string, int64_t> live;                    // what the kernel holds now
  Status ensure() override { return {}; }
  Result<std::vector<std::string>> ban(
      const std::vector<std::pair<std::string, int64_t>>& bans) override {
    for (const auto& b : bans) {
      elements.push_back(b);
      live[b.first] = b.second;
    }
    return std::vector<std::string>{};
  }
  Result<std::vector<std::pair<std::string, int64_t>>> list() override {
    return std::vector<std::pair<std::string, int64_t>>(live.begin(), live.end());
  }
  Status unban(const std::string& e) override {
    live.erase(e);
    return {};
  }
  bool has(const std::string& a) const {
    return std::any_of(elements.begin(), elements.end(), [&](auto& e) { return e.first == a; });
  }
};

class ServiceTest : public testing_support::TempStoreTest {
 protected:
  void SetUp() override {
    TempStoreTest::SetUp();
    opts_.host = "srv";
    opts_.ban_seconds = 600;
    opts_.syslog_year = 2027;
  }
  // n failures of `ip` at clock time (RFC 3339, so the zone plays no part here)
  static std::string fails(const std::string& ip, int64_t t, int n,
                           const std::string& user = "root") {
    std::string out;
    for (int i = 0; i < n; ++i)
      out += fmt::format("{} srv sshd[{}]: Failed password for {} from {} port {} ssh2\n",
                         iso8601(t + i), 100 + i, user, ip, 4000 + i);
    return out;
  }
  // The guard module of `mamori scan` on a tree: why it would not run ("" = it would), and
  // what it returns when run.
  // `guard run` sees 198.51.100.41 fail six times in a log of its own and bans it.
  void ban_one_through_the_service(const std::string& log_name) {
    auto log = dir_ / log_name;
    { std::ofstream(log) << ""; }
    opts_.logs = {log.string()};
    GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr);
    ASSERT_TRUE(svc.start(notes_).has_value());
    std::ofstream(log, std::ios::app) << fails("198.51.100.41", clock_.t - 30, 6);
    ASSERT_EQ(svc.poll(notes_).size(), 1u);
  }
  std::pair<std::string, Result<ModuleResult>> scan_module(const std::filesystem::path& root) {
    auto m = make_module();
    Root r(root);
    ScanOptions so;
    std::vector<OwnerRule> owners;
    ScanContext ctx{r, "srv", clock_.t, clock_, so, owners, store_.get()};
    return {m->not_applicable(ctx), m->run(ctx)};
  }
  ServiceOptions opts_;
  FakeClock clock_;
  FakeFirewall fw_;
  std::vector<std::string> notes_;
};

TEST_F(ServiceTest, StoredBansAreCheckedAsIfNew) {
  int64_t now = clock_.t;
  for (const char* a :
       {"198.51.100.7", "0.0.0.0/0", "10.0.0.0/8", "127.0.0.1", "203.0.113.0/24", "\x1b[2J"})
    ASSERT_TRUE(store_->record_ban("srv", a, "burst", "test", now - 10, 3600).has_value());
  Allowlist allow = Allowlist::loopback();
  ASSERT_TRUE(allow.add("203.0.113.9", "--allow").has_value());
  GuardService svc(opts_, *store_, fw_, clock_, allow, nullptr);
  ASSERT_TRUE(svc.start(notes_).has_value());
  ASSERT_EQ(fw_.elements.size(), 1u);
  EXPECT_EQ(fw_.elements[0].first, "198.51.100.7");
  EXPECT_EQ(svc.stats().restored, 1u);
  EXPECT_EQ(notes_.size(), 5u);
  for (const auto& n : notes_) EXPECT_EQ(n.find('\x1b'), std::string::npos) << n;
}

// A prefix banned by an earlier run (or version) holding an address allowlisted now is lifted at
// start, not left in the kernel for a month.
TEST_F(ServiceTest, LiveElementsTheChecksRefuseAreLiftedAtStart) {
  fw_.live = {{"198.51.100.0/24", 3000}, {"203.0.113.7", 3000}};
  Allowlist allow = Allowlist::loopback();
  ASSERT_TRUE(allow.add("198.51.100.7", "--allow").has_value());
  GuardService svc(opts_, *store_, fw_, clock_, allow, nullptr);
  ASSERT_TRUE(svc.start(notes_).has_value());
  EXPECT_EQ(fw_.live.count("198.51.100.0/24"), 0u);
  EXPECT_EQ(fw_.live.count("203.0.113.7"), 1u);
}

// An address the host gets after the start (DHCP, a VPN) is the host's too; one forged line with
// a time far in the future does not blind the service to everything after it.
TEST_F(ServiceTest, LaterHostAddressesAndForgedFutureTimes) {
  std::vector<std::string> local = {"192.0.2.1"};
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr,
                   [&] { return local; });
  ASSERT_TRUE(svc.start(notes_).has_value());
  local.push_back("203.0.113.50");
  const int64_t t = clock_.t - 60;
  svc.feed(fmt::format(
      "{} srv xrdp-sesman[4]: AUTHFAIL: user=x ip=203.0.113.250 time=99999999999\n", iso8601(t)));
  // x11vnc's own log: a time of its own, here decades ahead
  svc.feed(
      "01/01/2099 00:00:00 rfbVncAuthProcessResponse: authentication failed from "
      "203.0.113.251\n");
  svc.feed(fails("203.0.113.50", t, 6));
  svc.feed(fails("198.18.0.9", t, 6));
  auto bans = svc.poll(notes_);
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].target, "198.18.0.9");
  EXPECT_FALSE(fw_.has("203.0.113.50"));
  bool said = false;
  for (const auto& n : notes_) said |= n.find("1 events dated after") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST_F(ServiceTest, SessionsOpenAtStartAndLaterAreNeverBanned) {
  std::vector<std::string> sessions = {"198.51.100.50"};
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), [&] { return sessions; });
  ASSERT_TRUE(svc.start(notes_).has_value());
  const int64_t t = clock_.t - 60;
  svc.feed(fails("198.51.100.50", t, 6));  // open at start: an admin mistyping
  svc.feed(fails("198.51.100.60", t, 6));  // an attacker
  svc.feed(fails("127.0.0.1", t, 6));      // the reverse proxy
  auto bans = svc.poll(notes_);
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].target, "198.51.100.60");
  // an admin logs in later from .70 (the kernel now shows the session), then mistypes
  svc.feed(
      fmt::format("{} srv sshd[9]: Accepted publickey for admin from 198.51.100.70 port 1 "
                  "ssh2\n",
                  iso8601(t + 10)));
  sessions.push_back("198.51.100.70");
  clock_.t += 1;
  svc.feed(fails("198.51.100.70", t + 20, 8, "admin"));
  EXPECT_TRUE(svc.poll(notes_).empty());
  EXPECT_FALSE(fw_.has("198.51.100.70"));
  EXPECT_FALSE(fw_.has("198.51.100.50"));
  EXPECT_FALSE(fw_.has("127.0.0.1"));
  EXPECT_TRUE(fw_.has("198.51.100.60"));
}

TEST_F(ServiceTest, RepeatOffenceNeedsNewFailuresAndDoublesTheBan) {
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr);
  ASSERT_TRUE(svc.start(notes_).has_value());
  svc.feed(fails("198.51.100.80", clock_.t - 30, 6));
  auto b1 = svc.poll(notes_);
  ASSERT_EQ(b1.size(), 1u);
  EXPECT_EQ(b1[0].until - clock_.t, 600);
  clock_.t += 700;  // the ban has ended; the same old lines are no new offence
  svc.feed(fails("198.51.100.99", clock_.t, 1));  // something new to look at
  EXPECT_TRUE(svc.poll(notes_).empty());
  svc.feed(fails("198.51.100.80", clock_.t + 5, 6));
  auto b2 = svc.poll(notes_);
  ASSERT_EQ(b2.size(), 1u);
  EXPECT_EQ(b2[0].offences, 2);
  EXPECT_EQ(b2[0].until - clock_.t, 1200);
}

// 80k lines, every user name new, over 8 simulated days: what the service keeps follows its
// window (a day and an hour), not the input.
TEST_F(ServiceTest, MemoryFollowsTheWindow) {
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr);
  ASSERT_TRUE(svc.start(notes_).has_value());
  const int64_t t0 = clock_.t;
  size_t max_users = 0, max_events = 0, max_bans = 0, rounds = 0;
  for (int round = 0; round < 200; ++round) {
    std::string chunk;
    for (int i = 0; i < 400; ++i) {
      int64_t t = t0 + round * 3600 + i * 8;
      int n = round * 400 + i;
      chunk += fmt::format(
          "{} srv sshd[{}]: Failed password for invalid user n{} from 10.{}.{}.{} "
          "port 1 ssh2\n",
          iso8601(t), n, n, (n >> 16) & 255, (n >> 8) & 255, n & 255);
    }
    clock_.t = t0 + round * 3600 + 3000;
    svc.feed(chunk);
    svc.poll(notes_);
    auto st = svc.stats();
    max_users = std::max(max_users, st.users);
    max_events = std::max(max_events, st.events);
    max_bans = std::max(max_bans, st.bans_tracked);
    ++rounds;
  }
  EXPECT_EQ(rounds, 200u);
  EXPECT_LE(max_events, 26u * 400);  // 25 hours of 400 an hour
  EXPECT_GE(max_events, 24u * 400);  // (and the window did fill)
  EXPECT_LE(max_users, 2 * max_events + 4096);
  EXPECT_LT(svc.stats().users, 80000u / 2);  // the names of the first days are gone
  EXPECT_GT(svc.stats().lines, 79000u);
  EXPECT_GT(svc.stats().bans_total, 0u);  // the /24s of this flood are banned as they fill up
  EXPECT_LE(max_bans, 200u);
}

// On a host in Tokyo, syslog stamps are local time: --since 2h keeps what happened in the last
// two hours, not nine hours off.
TEST_F(ServiceTest, SinceAndWindowsUnderTokyoTime) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "Asia/Tokyo", 1);
  ::tzset();
  auto syslog = [](const std::string& ip, int64_t t) {  // t as Tokyo writes it
    std::string out;
    for (int i = 0; i < 6; ++i) {
      std::time_t tt = static_cast<std::time_t>(t + i);
      std::tm tm{};
      localtime_r(&tt, &tm);
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
      out += fmt::format("{} srv sshd[{}]: Failed password for root from {} port {} ssh2\n", stamp,
                         10 + i, ip, 4000 + i);
    }
    return out;
  };
  std::tm now_tm{};
  std::time_t now_t = static_cast<std::time_t>(clock_.t);
  localtime_r(&now_t, &now_tm);
  opts_.syslog_year = now_tm.tm_year + 1900;
  opts_.since = clock_.t - 7200;
  opts_.logs = {(dir_ / "auth.log").string()};
  std::ofstream(dir_ / "auth.log")
      << syslog("198.51.100.91", clock_.t - 3 * 3600) << syslog("198.51.100.92", clock_.t - 3600);
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr);
  ASSERT_TRUE(svc.start(notes_).has_value());
  auto bans = svc.poll(notes_);
  if (old)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].target, "198.51.100.92");
}

// `guard run`'s loop, without root or systemd: READY only once every input is open, a status
// after each ban, the watchdog fed, STOPPING at the end, and the loop ends when asked to.
class FakeNotifier : public Notifier {
 public:
  std::vector<std::string> said;
  uint64_t wd = 0;
  void notify(const std::string& s) override { said.push_back(s); }
  uint64_t watchdog_usec() const override { return wd; }
};

TEST_F(ServiceTest, RunLoopAnnouncesBansFeedsTheWatchdogAndStops) {
  auto log = dir_ / "auth.log";
  { std::ofstream(log) << ""; }
  opts_.logs = {log.string()};
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr);
  FakeNotifier n;
  n.wd = 1;  // 1 µs: every round is past half of it
  RunLoop loop;
  loop.poll_ms = 10;
  loop.sources = "auth.log";
  int rounds = 0, ready_calls = 0;
  std::vector<BanNotice> bans;
  loop.on_ready = [&] {
    ++ready_calls;
    // appended after READY: a service that opened its inputs late would miss it
    std::ofstream(log, std::ios::app) << fails("198.51.100.40", clock_.t - 30, 6);
  };
  loop.on_ban = [&](const BanNotice& b) { bans.push_back(b); };
  loop.sleep = [&](int ms) {
    EXPECT_EQ(ms, 10);
    ++rounds;
  };
  loop.stop = [&] { return rounds >= 3; };
  ASSERT_TRUE(run_service(svc, n, loop).has_value());
  EXPECT_EQ(ready_calls, 1);
  ASSERT_EQ(bans.size(), 1u);
  EXPECT_EQ(bans[0].target, "198.51.100.40");
  EXPECT_TRUE(fw_.has("198.51.100.40"));
  ASSERT_GE(n.said.size(), 4u);
  EXPECT_TRUE(n.said.front().starts_with("READY=1\nSTATUS=watching auth.log; 0 bans restored"))
      << n.said.front();
  EXPECT_EQ(n.said.back(), "STOPPING=1");
  EXPECT_EQ(std::count(n.said.begin(), n.said.end(), "WATCHDOG=1"), 3);
  EXPECT_TRUE(std::any_of(n.said.begin(), n.said.end(),
                          [](const std::string& s) { return s.starts_with("STATUS=1 bans"); }));
  EXPECT_EQ(rounds, 3);
}

// A service that cannot start never says READY.
TEST_F(ServiceTest, RunLoopThatCannotStartIsNeverReady) {
  opts_.journal_files = {(dir_ / "missing.journal").string()};
  GuardService svc(opts_, *store_, fw_, clock_, Allowlist::loopback(), nullptr);
  FakeNotifier n;
  RunLoop loop;
  loop.stop = [] { return true; };
  auto r = run_service(svc, n, loop);
  if (r) GTEST_FAIL() << "started on a journal file that does not exist";
  EXPECT_TRUE(n.said.empty());
}

// ---------------- attackers as findings; the guard module of `mamori scan` ----------------

// `mamori waf run`'s decision log: what it blocked counts, by the client it wrote; nothing a
// request carries (its URI comes after the client) can add an event or move the address.
TEST(AuthLog, WafDecisionLogBlockedRequestsOnly) {
  AuthLogParser p(2026);
  auto line = [](const std::string& action, const std::string& client, const std::string& uri) {
    return "{\"time\":\"2026-12-02T15:18:09.517Z\",\"id\":\"deb7ae5600000000000002\",\"action\":"
           "\"" +
           action + "\",\"status\":403,\"client\":\"" + client +
           "\",\"method\":\"GET\",\"uri\":\"" + uri + "\",\"score\":8}\n";
  };
  auto ev = parse(line("blocked", "203.0.113.7", "/?q=1") + line("detected", "203.0.113.8", "/") +
                      line("refused", "203.0.113.9", "/") +
                      // a forged head inside the URI is escaped JSON after the client
                      line("blocked", "203.0.113.10",
                           "/x\\\",\\\"action\\\":\\\"blocked\\\",\\\"client\\\":\\\"192.0.2.1") +
                      // not Mamori's: a non-hex id, a missing client, a host name
                      "{\"time\":\"2026-12-02T15:18:09Z\",\"id\":\"zz\",\"action\":\"blocked\","
                      "\"status\":403,\"client\":\"192.0.2.2\"}\n"
                      "{\"time\":\"2026-12-02T15:18:09Z\",\"id\":\"ab\",\"action\":\"blocked\","
                      "\"status\":403}\n" +
                      line("blocked", "evil.example", "/") + line("blocked", "2001:db8::7", "/"),
                  p);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].ip.str(), "203.0.113.7");
  EXPECT_EQ(ev[0].ts, 1796224689);  // 2026-12-02T15:18:09Z
  EXPECT_EQ(ev[0].service, Service::kWaf);
  EXPECT_EQ(ev[0].kind, AuthKind::kFailure);
  EXPECT_EQ(ev[1].ip.str(), "203.0.113.10");
  EXPECT_EQ(ev[2].ip.str(), "2001:db8::7");
}

// Blocked requests are attacks on the site: five in ten minutes are a burst; spread over a day
// or across a prefix they are not (a WAF's false alarms from an office must not add up), and
// they never make a login look guessed.
TEST(Detect, WafBlocksCountOnlyTowardsABurst) {
  std::vector<AuthEvent> ev;
  const int64_t t0 = 1714953600;
  for (int i = 0; i < 5; ++i)
    ev.push_back({t0 + i * 60, AuthKind::kFailure, ip("198.51.100.20"), 0, false, Service::kWaf});
  for (int i = 0; i < 8; ++i)  // eight over a day: not slow guessing
    ev.push_back({t0 + i * 7200, AuthKind::kFailure, ip("198.51.100.21"), 0, false, Service::kWaf});
  for (int a = 0; a < 8; ++a)  // a /24 of addresses with two each: not distributed
    for (int i = 0; i < 2; ++i)
      ev.push_back({t0 + a * 10 + i, AuthKind::kFailure, ip("203.0.113." + std::to_string(a + 1)),
                    0, false, Service::kWaf});
  for (int i = 0; i < 6; ++i)  // blocked, then a login as root: not a guessed password
    ev.push_back({t0 + i * 120, AuthKind::kFailure, ip("198.51.100.22"), 0, false, Service::kWaf});
  ev.push_back({t0 + 900, AuthKind::kSuccess, ip("198.51.100.22"), 1, true, Service::kSsh});
  auto found = detect(ev, {}, [](uint32_t u) { return "u" + std::to_string(u); });
  std::map<std::string, std::string> got;
  for (const auto& a : found) got[a.address] = std::string(a.kind.name());
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"198.51.100.20", "burst"},
                                                     {"198.51.100.22", "burst"}}));
  for (const auto& a : found) {
    EXPECT_EQ(a.services, std::vector<std::string>{"waf"});
    if (a.address == "198.51.100.20") {
      EXPECT_EQ(a.failures, 5u);
      EXPECT_EQ(a.first_seen, t0);
      EXPECT_EQ(a.last_seen, t0 + 240);
    }
  }
  // As findings: module waf, the attack named for what it was.
  auto fs = attacker_findings(found, {});
  ASSERT_EQ(fs.size(), 2u);
  for (const auto& f : fs) {
    EXPECT_EQ(f.module, "waf");
    EXPECT_EQ(f.check, "web-attacks");
    EXPECT_NE(f.title.find("blocked by the web application firewall"), std::string::npos);
    EXPECT_EQ(f.title.find("assword"), std::string::npos) << f.title;
  }
}

TEST(GuardFindings, AttackersBecomeFindingsKeyedOnTheirAddressOrPrefix) {
  Attacker burst;
  burst.address = "198.51.100.7";
  burst.kind = AttackKind::kBurst;
  burst.failures = 40;
  burst.usernames = {"root", "admin"};
  burst.services = {"ssh"};
  Attacker net = burst;
  net.address = "203.0.113.0/24";
  net.kind = AttackKind::kDistributed;
  net.addresses = {"203.0.113.1", "203.0.113.2"};
  Attacker guessed = burst;
  guessed.address = "192.0.2.9";
  guessed.kind = AttackKind::kGuessed;
  guessed.guessed_user = "deploy";
  auto fs = attacker_findings({guessed, burst, net}, {{"198.51.100.7", 1800003600}});
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].check, "password-guessed");
  EXPECT_EQ(fs[0].severity, Severity::kCritical);
  EXPECT_EQ(fs[0].asset, "ip:192.0.2.9");
  EXPECT_NE(fs[0].remediation.find("deploy"), std::string::npos) << fs[0].remediation;
  EXPECT_EQ(fs[1].check, "brute-force");
  EXPECT_EQ(fs[1].severity, Severity::kMedium);
  EXPECT_NE(fs[1].evidence.find("banned until 2027-01-15T09:00:00Z"), std::string::npos)
      << fs[1].evidence;
  EXPECT_EQ(fs[2].asset, "net:203.0.113.0/24");
  EXPECT_NE(fs[2].evidence.find("2 addresses: 203.0.113.1, 203.0.113.2"), std::string::npos);
  for (const auto& f : fs) {
    EXPECT_EQ(f.module, "guard");
    EXPECT_FALSE(f.fingerprint.empty());
    EXPECT_EQ(f.references.back(), "https://attack.mitre.org/techniques/T1110/");
  }
}

TEST_F(ServiceTest, WhatTheServiceBansIsRecordedAsFindings) {
  ban_one_through_the_service("auth.log");
  auto fs = store_->current_findings("srv", false);
  ASSERT_TRUE(fs.has_value());
  ASSERT_EQ(fs->size(), 1u);
  EXPECT_EQ((*fs)[0].asset, "ip:198.51.100.41");
  EXPECT_EQ((*fs)[0].module, "guard");
  EXPECT_NE((*fs)[0].evidence.find("banned until"), std::string::npos);
}

// The module reads the logs under the root (never the host's), the last day only.
TEST_F(ServiceTest, ModuleReadsTheRootsAuthLogOfTheLastDay) {
  auto root = dir_ / "root";
  std::filesystem::create_directories(root / "var/log");
  {
    std::ofstream l(root / "var/log/auth.log");
    l << fails("198.51.100.50", clock_.t - 3 * 86400, 8)  // three days ago: not counted
      << fails("198.51.100.51", clock_.t - 3600, 8);
  }
  // a rotation that is a link out of the root reads the root's own file, not the host's
  std::filesystem::create_symlink("/var/log/auth.log", root / "var/log/auth.log.1");
  auto [why, res] = scan_module(root);
  EXPECT_EQ(why, "");
  ASSERT_TRUE(res.has_value()) << res.error().message;
  ASSERT_EQ(res->findings.size(), 1u);
  EXPECT_EQ(res->findings[0].asset, "ip:198.51.100.51");
  EXPECT_EQ(res->findings[0].check, "brute-force");
  // no log at all: nothing to do here
  std::filesystem::create_directories(dir_ / "empty");
  EXPECT_NE(scan_module(dir_ / "empty").first, "");
}

// A ban guard run holds stays a finding of the scan module, with the same fingerprint, though
// the scan's logs do not show that attacker (guard run read another log): not "fixed" early.
TEST_F(ServiceTest, ModuleKeepsBansInForceAsFindings) {
  ban_one_through_the_service("access.log");
  auto stored = store_->current_findings("srv", false);
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->size(), 1u);
  auto root = dir_ / "root";
  std::filesystem::create_directories(root / "var/log");
  { std::ofstream(root / "var/log/auth.log") << fails("198.51.100.60", clock_.t - 60, 1); }
  auto [why, res] = scan_module(root);
  ASSERT_TRUE(res.has_value()) << res.error().message;
  ASSERT_EQ(res->findings.size(), 1u);
  EXPECT_EQ(res->findings[0].fingerprint, (*stored)[0].fingerprint);
  EXPECT_NE(res->findings[0].title.find("is banned for burst until"), std::string::npos)
      << res->findings[0].title;
}

// A plain log larger than the limit is read from its newest end (the cut line skipped, said as
// partial); stamps more than an hour ahead of the clock are not counted.
TEST(ScanLogs, TolerantScanReadsTheNewestEndAndDropsFutureStamps) {
  auto dir = std::filesystem::temp_directory_path() / ("mamori-tail-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto line = [](const std::string& ip, int64_t t) {
    return fmt::format("{} h sshd[1]: Failed password for root from {} port 1 ssh2\n", iso8601(t),
                       ip);
  };
  const int64_t now = 1800000000;
  std::string text;
  for (int i = 0; i < 8; ++i) text += line("198.51.100.1", now - 600 + i);  // old end: cut off
  text += std::string(8192, '#') + "\n";
  for (int i = 0; i < 8; ++i) text += line("198.51.100.2", now - 300 + i);
  for (int i = 0; i < 8; ++i) text += line("198.51.100.3", now + 86400 + i);  // forged
  { std::ofstream(dir / "auth.log") << text; }
  LogSources src;
  src.files = {(dir / "auth.log").string()};
  ScanLogOptions so;
  so.now = now;
  so.max_bytes = 4096;
  so.tolerant = true;
  DetectOptions d;
  auto scan = scan_logs(src, so, d);
  ASSERT_TRUE(scan.has_value()) << scan.error().message;
  ASSERT_EQ(scan->attackers.size(), 1u);
  EXPECT_EQ(scan->attackers[0].address, "198.51.100.2");
  ASSERT_EQ(scan->skipped.size(), 1u);
  EXPECT_NE(scan->skipped[0].find("only its last"), std::string::npos) << scan->skipped[0];
  // named by the operator (guard scan-log): too large is an error, as before
  so.tolerant = false;
  EXPECT_FALSE(scan_logs(src, so, d).has_value());
  std::filesystem::remove_all(dir);
}

// However many attackers a log holds, the findings are bounded: the most urgent are listed,
// the rest counted in one finding.
TEST(GuardFindings, AtMostTheLimitAndTheRestCounted) {
  std::vector<Attacker> many(kMaxAttackerFindings + 5);
  for (size_t i = 0; i < many.size(); ++i) {
    many[i].address = fmt::format("10.{}.{}.1", i / 256, i % 256);
    many[i].kind = i == 0 ? AttackKind::kGuessed : AttackKind::kBurst;
    many[i].failures = 5;
  }
  auto fs = attacker_findings(many, {});
  ASSERT_EQ(fs.size(), kMaxAttackerFindings + 1);
  EXPECT_EQ(fs[0].severity, Severity::kCritical);
  EXPECT_EQ(fs.back().check, "attackers-not-listed");
  EXPECT_NE(fs.back().evidence.find("5 burst"), std::string::npos) << fs.back().evidence;
}

// A flood of unique user names keeps at most kMaxUserNames of them.
TEST(AuthLog, UserNamesAreBounded) {
  AuthLogParser p(2024);
  std::string text;
  for (size_t i = 0; i < AuthLogParser::kMaxUserNames + 100; ++i)
    text += fmt::format(
        "May  6 00:00:01 h sshd[2]: Failed password for invalid user u{} from "
        "198.51.100.9 port 1 ssh2\n",
        i);
  p.feed(text);
  p.finish();
  EXPECT_EQ(p.events().size(), AuthLogParser::kMaxUserNames + 100);
  EXPECT_LE(p.users(), AuthLogParser::kMaxUserNames + 1);
}

// A FIFO where the log should be is said (and never opened), not taken for "no log"; a log
// larger than the module reads is refused rather than read into memory.
TEST_F(ServiceTest, ModuleSaysWhyALogCannotBeRead) {
  auto root = dir_ / "root";
  std::filesystem::create_directories(root / "var/log");
  ASSERT_EQ(::mkfifo((root / "var/log/auth.log").c_str(), 0600), 0);
  auto [why, res] = scan_module(root);
  EXPECT_EQ(why, "");
  // The rest of the module runs; the FIFO is said, and nothing earlier looks fixed.
  ASSERT_TRUE(res.has_value()) << res.error().message;
  ASSERT_EQ(res->notices.size(), 1u);
  EXPECT_NE(res->notices[0].find("not a regular file"), std::string::npos) << res->notices[0];
  EXPECT_TRUE(res->partial);
}

// Each file starts afresh: an overlong last line of one file does not swallow the next file's
// first line.
TEST(AuthLog, EachFileStartsAfresh) {
  AuthLogParser p(2024);
  p.feed("May  6 00:00:00 h sshd[1]: " + std::string(2 << 20, 'x'));  // no newline: cut off
  p.finish();
  p.feed("May  6 00:00:01 h sshd[2]: Failed password for root from 198.51.100.9 port 1 ssh2\n");
  p.finish();
  ASSERT_EQ(p.events().size(), 1u);
  EXPECT_EQ(p.events()[0].ip.str(), "198.51.100.9");
}

}  // namespace
}  // namespace mamori::guard
