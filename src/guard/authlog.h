#pragma once
// Authentication events from logs, for `mamori guard`. Formats are recognised per line:
//  - syslog ("May  6 00:00:01 host ident[1]: …"), RFC 3339 (Debian 12's rsyslog),
//    `journalctl -o short-iso` and `journalctl -o export`, carrying
//    - OpenSSH (sshd and 9.8+'s sshd-session),
//    - PAM "pam_X(SERVICE:auth): authentication failure; … rhost=IP  user=U" of any service
//      but sshd and xrdp (whose own lines count the same tries),
//    - xrdp-sesman "AUTHFAIL: user=U ip=IP time=T",
//    - VNC: libvncserver/x11vnc "… authentication failed from IP" and TigerVNC
//      "Connections: closed: IP::PORT (Authentication failure)";
//  - xrdp's own log ("[20240506-00:00:01] [INFO ] AUTHFAIL: …", 0.10's ISO stamps too);
//  - x11vnc's own log ("06/05/2024 00:00:01 … authentication failed from IP") and TigerVNC's
//    (a "Mon May  6 00:00:01 2024" line, then " Connections: closed: …");
//  - Mamori's WAF decision log (`mamori waf run --log`, JSON lines): each request it blocked,
//    read by position from the head of the line Mamori writes (time, id, action, status,
//    client) — the request's own text comes after the client and cannot move it;
//  - web access logs (nginx/Apache combined, optionally "vhost:port " first): WordPress
//    logins — POST …/wp-login.php answered 200 is a failed login (the form again); a 302 is a
//    login only when the same address then gets the dashboard (GET …/wp-admin/, index.php or
//    profile.php answered 200 within 5 minutes: an http→https redirect of the POST is not a
//    login); every POST …/xmlrpc.php is an attempt (one request can carry many). The line is
//    read from both ends: the request starts at the first quote (a user name cannot hold one:
//    nginx and Apache escape it), the status follows the request's closing quote.
//
// Times: syslog stamps (and VNC servers' own logs) carry no zone: they are the host's local
// time (TZ), converted to UTC here; RFC 3339 stamps and the journal carry their own.
//
// Who may speak for a service: in the journal (and `journalctl -o export` text), only what
// journald itself records about the sender counts, never the SYSLOG_IDENTIFIER the sender
// chose: sshd's records must come from uid 0 and from sshd (_COMM/_EXE) or its unit; PAM's
// from uid 0; xrdp's and VNC servers' from their system units. Any local user can write
// "sshd[1]: Failed password … from ADDR" with logger(1) — such records are counted as
// untrusted() and ignored. Plain text logs carry no such proof (docs/guard.md).
//
// One failure is counted per authentication attempt: "Failed password" lines; an "Invalid
// user" line (with the "Failed password for invalid user" that follows on the same connection
// counted once); a connection of an authenticating user closed without a failed password
// (key/none probing of root). Addresses come from the part of a line the client cannot
// write: before sshd's LAST " port N", xrdp's last " ip=", PAM's rhost (written before the
// user name), the access log's first field. A user name such as "x from 192.0.2.7 port 22"
// cannot make a line blame 192.0.2.7.
//
// Example:
//   AuthLogParser p(2024);
//   p.feed(chunk);  // any split
//   p.finish();
//   for (const AuthEvent& e : p.events()) …

#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ip.h"

namespace mamori::guard {

// Addresses and prefixes: one parser for the whole code base (core/ip.h).
using mamori::Ip;
using mamori::IpHash;
using mamori::masked;
using mamori::parse_ip;
using mamori::parse_prefix;

enum class AuthKind : uint8_t { kFailure, kSuccess };

// Where an attempt was made.
// kWaf: a request `mamori waf run` blocked (its decision log): an attack on the web site, not
// a password, counted only towards a burst (detect.h).
enum class Service : uint8_t { kSsh, kPam, kXrdp, kVnc, kWordPress, kWaf };
constexpr int kServices = 6;
std::string_view service_name(Service s);  // "ssh", "pam", "xrdp", "vnc", "wordpress", "waf"

// What journald recorded about the sender of an entry (its own fields, which the sender
// cannot set): _UID, _COMM, _EXE, _SYSTEMD_UNIT. Empty when the record did not carry it.
struct JournalOrigin {
  std::string_view uid, comm, exe, unit;
};
// What an entry claiming to be `ident`'s (SYSLOG_IDENTIFIER) with message `msg` is worth:
// irrelevant (nothing guard reads), trusted (journald's fields vouch for the claim), or
// untrusted (a claim to be sshd, PAM, xrdp or a VNC server they do not back).
enum class Origin { kIrrelevant, kTrusted, kUntrusted };
Origin judge_origin(std::string_view ident, std::string_view msg, const JournalOrigin& o);

struct AuthEvent {
  int64_t ts = 0;  // unix seconds
  AuthKind kind = AuthKind::kFailure;
  Ip ip;
  uint32_t user = 0;       // index into the parser's user names
  bool valid_user = true;  // false for "invalid user" (no such account) and unknown names
  Service service = Service::kSsh;
};

// One line of a web access log (nginx/Apache combined, optionally after "vhost:port "), read
// from both ends as AuthLogParser reads it. False: not an access log line. A line that is one
// but whose time did not parse has ts < 0; one whose request or status is cut has status 0.
// `request` points into the line: "POST /x?a=1 HTTP/1.1" as the server escaped it.
struct AccessLine {
  Ip ip;
  int64_t ts = -1;
  std::string_view request;
  int status = 0;
};
bool parse_access_line(std::string_view line, AccessLine& out);

class AuthLogParser {
 public:
  // Year for syslog lines, which have none (RFC 3164); a month going back starts the next year.
  explicit AuthLogParser(int year);
  // The clock, when the year was guessed (this year): a syslog time more than a day after it
  // is taken from the year before.
  void set_clock(int64_t now) { now_ = now; }
  // Feeds raw bytes (any split); complete lines are parsed.
  void feed(std::string_view bytes);
  void finish();

  uint64_t lines() const { return lines_; }
  // Journal records (or export text) claiming a service their journald fields do not vouch
  // for: ignored, counted.
  uint64_t untrusted() const { return untrusted_; }
  // Successful logins parsed so far (a service looks at the SSH sessions when it grows).
  uint64_t successes() const { return successes_; }
  // Forgets events older than `ts` (a long-running guard keeps a bounded window); user names
  // no remaining event refers to are forgotten too, so memory follows the window.
  void drop_before(int64_t ts);
  // Forgets events dated after `ts` (a forged or broken time far in the future).
  void drop_after(int64_t ts);
  const std::vector<AuthEvent>& events() const { return events_; }
  const std::string& user(uint32_t i) const { return users_[i]; }
  size_t users() const { return users_.size(); }
  // Distinct user names kept (the window's); past it, new names share one entry.
  static constexpr size_t kMaxUserNames = 1 << 16;

  // Parses one line (exposed for the fuzzer).
  void line(std::string_view l);
  // One message from a structured source (the journal), by its syslog identifier; the caller
  // has checked its origin (trusted_origin).
  void message(int64_t ts, uint32_t pid, std::string_view ident, std::string_view msg);
  // Local civil time (seconds as if it were UTC) → UTC, in the zone of the process (TZ).
  static int64_t local_to_utc(int64_t civil);

 private:
  void sshd(int64_t ts, uint32_t pid, std::string_view msg);
  // Any other identifier: PAM, xrdp and VNC messages.
  void other(int64_t ts, std::string_view ident, std::string_view msg);
  void pam(int64_t ts, std::string_view msg);
  void xrdp(int64_t ts, std::string_view msg);
  void vnc(int64_t ts, std::string_view msg);
  // Lines without a syslog header: access logs, xrdp's and VNC servers' own logs.
  void headerless(std::string_view l);
  bool web(std::string_view l);
  bool waf(std::string_view l);
  void push(int64_t ts, AuthKind k, const Ip& ip, std::string_view user, bool valid, Service s);
  void export_field(std::string_view l);
  uint32_t intern(std::string_view u);
  int64_t syslog_time(std::string_view l, size_t& pos);

  void web_dashboard(int64_t ts, const Ip& ip);
  int64_t local(int64_t civil);  // local_to_utc with a per-hour cache
  void compact_users();

  struct Conn {
    Ip ip;
    bool failed = false;           // a failure was counted on this connection
    bool invalid_pending = false;  // "Invalid user" counted; its first "Failed password" is not new
  };
  int year_;
  int64_t now_ = 0;
  int last_month_ = -1;
  uint64_t lines_ = 0;
  std::string carry_;
  bool skipping_ = false;  // inside a line too long to keep: skip to its newline
  bool export_ = false, decided_ = false;
  // export record being read
  int64_t vnc_clock_ = -1;  // TigerVNC's own log: the last time line
  int64_t ex_ts_ = 0;
  uint32_t ex_pid_ = 0;
  bool ex_pid_trusted_ = false;
  std::string ex_ident_, ex_msg_;
  std::string ex_uid_, ex_comm_, ex_exe_, ex_unit_;
  uint64_t untrusted_ = 0, successes_ = 0;
  int64_t zone_quarter_ = INT64_MIN, zone_offset_ = 0;
  // WordPress: addresses whose wp-login POST was redirected (302), waiting for the dashboard
  std::unordered_map<Ip, int64_t, IpHash> wp_pending_;
  uint64_t ex_binary_left_ = 0;
  std::vector<AuthEvent> events_;
  std::vector<std::string> users_;
  std::unordered_map<std::string, uint32_t> user_ids_;
  std::unordered_map<uint32_t, Conn> conns_;  // sshd pid → connection state
};

}  // namespace mamori::guard
