#pragma once
// Authentication events from logs, for `mamori guard`: OpenSSH (sshd and 9.8+'s sshd-session)
// lines in syslog ("May  6 00:00:01 host sshd[1]: …"), RFC 3339 (Debian 12's rsyslog),
// `journalctl -o short-iso` and `journalctl -o export` form.
//
// One failure is counted per authentication attempt: "Failed password" lines; an "Invalid
// user" line (with the "Failed password for invalid user" that follows on the same connection
// counted once); a connection of an authenticating user closed without a failed password
// (key/none probing of root). The address is the one before the LAST " port N" of the line,
// so a user name such as "x from 192.0.2.7 port 22" cannot make sshd's line blame 192.0.2.7.
//
// Example:
//   AuthLogParser p(2024);
//   p.feed(chunk);  // any split
//   p.finish();
//   for (const AuthEvent& e : p.events()) …

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mamori::guard {

// An address in 16 bytes (IPv4 mapped as ::ffff:a.b.c.d).
struct Ip {
  unsigned char b[16] = {};
  bool v4 = false;
  bool operator==(const Ip& o) const;
  std::string str() const;
};
struct IpHash {
  size_t operator()(const Ip& ip) const;
};
bool parse_ip(std::string_view s, Ip& out);
// "a.b.c.d", "a.b.c.0/24", "2001:db8::/64": the address and the prefix length in its family
// (the full length when none is written); false when malformed or too long.
bool parse_prefix(std::string_view spec, Ip& ip, int& bits);
// The address with only its first `bits128` bits kept (over the 128-bit form: IPv4 is mapped,
// so an IPv4 /24 is 96 + 24 bits).
Ip masked(const Ip& ip, int bits128);

enum class AuthKind : uint8_t { kFailure, kSuccess };

struct AuthEvent {
  int64_t ts = 0;  // unix seconds
  AuthKind kind = AuthKind::kFailure;
  Ip ip;
  uint32_t user = 0;       // index into the parser's user names
  bool valid_user = true;  // false for "invalid user" (no such account)
  uint8_t service = 0;     // 0 = ssh
};

class AuthLogParser {
 public:
  // Year for syslog lines, which have none (RFC 3164); a month going back starts the next year.
  explicit AuthLogParser(int year);
  // Feeds raw bytes (any split); complete lines are parsed.
  void feed(std::string_view bytes);
  void finish();

  uint64_t lines() const { return lines_; }
  // Forgets events older than `ts` (a long-running guard keeps a bounded window).
  void drop_before(int64_t ts);
  const std::vector<AuthEvent>& events() const { return events_; }
  const std::string& user(uint32_t i) const { return users_[i]; }
  size_t users() const { return users_.size(); }

  // Parses one line (exposed for the fuzzer).
  void line(std::string_view l);
  // One message from a structured source (the journal): ident "sshd"/"sshd-session" or ignored.
  void message(int64_t ts, uint32_t pid, std::string_view ident, std::string_view msg);

 private:
  void sshd(int64_t ts, uint32_t pid, std::string_view msg);
  void export_field(std::string_view l);
  uint32_t intern(std::string_view u);
  int64_t syslog_time(std::string_view l, size_t& pos);

  struct Conn {
    Ip ip;
    bool failed = false;           // a failure was counted on this connection
    bool invalid_pending = false;  // "Invalid user" counted; its first "Failed password" is not new
  };
  int year_;
  int last_month_ = -1;
  uint64_t lines_ = 0;
  std::string carry_;
  bool export_ = false, decided_ = false;
  // export record being read
  int64_t ex_ts_ = 0;
  uint32_t ex_pid_ = 0;
  std::string ex_ident_, ex_msg_;
  uint64_t ex_binary_left_ = 0;
  std::vector<AuthEvent> events_;
  std::vector<std::string> users_;
  std::unordered_map<std::string, uint32_t> user_ids_;
  std::unordered_map<uint32_t, Conn> conns_;  // sshd pid → connection state
};

}  // namespace mamori::guard
