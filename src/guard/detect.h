#pragma once
// Who is guessing passwords, from authentication events (authlog.h):
//  - burst: ≥ 5 failures from one address inside 10 minutes (fail2ban's default jail);
//  - spraying: one address trying ≥ 5 existing accounts, ≤ 2 tries each;
//  - guessed: a successful login after ≥ 5 failures from the same address in the hour
//    before — the password was probably guessed (critical);
//  - slow: ≥ 6 failures inside 24 hours from an address that never logged in successfully;
//  - distributed: addresses below those thresholds (no success from them) grouped by IPv4 /24,
//    IPv6 /64 then /56 (≥ 5 addresses, ≥ 10 failures; never a prefix holding an address
//    with a successful login), and what remains grouped into campaigns overlapping in time
//    (≥ 20 addresses) — a botnet walking a user-name list a guess or two per address.
// An allowlisted address (allow.h) is never reported, and no reported prefix holds one: a
// group whose prefix would is reported as its member addresses.
//
// Example:
//   auto found = detect(parser.events(), {}, [&](uint32_t u) { return parser.user(u); });

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/allow.h"
#include "guard/authlog.h"

namespace mamori::guard {

// What an attacker did, most urgent first. A typed value with a name: decisions switch on it,
// text sinks print its name ("guessed", "spraying", "burst", "distributed", "slow").
class AttackKind {
 public:
  enum class Value : uint8_t { kGuessed, kSpraying, kBurst, kDistributed, kSlow };
  static constexpr Value kGuessed = Value::kGuessed, kSpraying = Value::kSpraying,
                         kBurst = Value::kBurst, kDistributed = Value::kDistributed,
                         kSlow = Value::kSlow;
  constexpr AttackKind(Value v = kBurst) : v_(v) {}  // NOLINT: a value of the enum is one
  constexpr operator Value() const { return v_; }    // switch (kind), kind == AttackKind::kBurst
  std::string_view name() const;
  static std::optional<AttackKind> parse(std::string_view name);
  operator std::string() const { return std::string(name()); }
  bool operator==(std::string_view s) const { return name() == s; }

 private:
  Value v_;
};

struct Attacker {
  std::string address;  // an IP or a CIDR prefix (distributed)
  AttackKind kind;
  uint64_t failures = 0;
  int64_t first_seen = 0, last_seen = 0;
  std::vector<std::string> usernames;  // the most tried first (at most 20)
  std::vector<std::string> addresses;  // members of a prefix or campaign
  std::vector<std::string> services;   // where the failures were: ssh, pam, xrdp, vnc, wordpress
  std::string guessed_user;            // guessed: the account logged into
};

struct DetectOptions {
  Allowlist allow;  // never reported
  int burst_count = 5, burst_window = 600;
  int slow_count = 6, slow_window = 86400;
  int guessed_count = 5, guessed_window = 3600;
  int prefix_min_addresses = 5, prefix_min_failures = 10;
  int campaign_min_addresses = 20, campaign_gap = 3600;
};

std::vector<Attacker> detect(const std::vector<AuthEvent>& events, const DetectOptions& opts,
                             const std::function<std::string(uint32_t)>& user_name);

// What to ban for an attacker: its address or prefix; each member of a campaign without one.
std::vector<std::string> ban_targets(const Attacker& a);
// The same, made safe: a prefix that is too wide or holds an allowlisted address becomes its
// member addresses, and allowlisted addresses are left out (check_ban in allow.h holds for
// every target returned).
std::vector<std::string> ban_targets(const Attacker& a, const Allowlist& allow);

using mamori::ip_in;  // core/ip.h

}  // namespace mamori::guard
