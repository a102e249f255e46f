#pragma once
// Who mamori guard must never blame or ban. A security tool that a log line can point at the
// administrator's own address is worse than none, so every guard command starts from:
//  - loopback (127.0.0.0/8, ::1): a reverse proxy on the host logs every client as 127.0.0.1;
//  - this host's own addresses (getifaddrs);
//  - the peers of the SSH sessions open now, as the kernel's socket table shows them (and, in
//    `guard run`, of sessions that log in later);
//  - `allow` in the configuration file (/etc/mamori/guard.toml) and --allow.
// No ban — a new one, one read back from the store, one about to become an nftables element —
// may hold an allowlisted address: a prefix that does is split into its member addresses.
//
// Example:
//   Allowlist allow = Allowlist::loopback();
//   add_host_addresses(allow);
//   MAMORI_TRY(allow.add("203.0.113.0/24", "--allow"), "guard");
//   if (!check_ban("198.51.100.0/24", allow)) …  // refused: too wide or holds an allowed address

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"
#include "core/result.h"
#include "guard/authlog.h"

namespace mamori::guard {

class Allowlist {
 public:
  Allowlist() = default;
  // For tests and literals: every spec must parse (a bad one is an invalid entry, never added).
  Allowlist(std::initializer_list<std::string_view> specs);  // NOLINT(implicit)
  static Allowlist loopback();

  // "203.0.113.7", "203.0.113.0/24", "2001:db8::/48" ("::ffff:a.b.c.d" is IPv4); `why` says
  // where the entry came from (shown by `guard status`).
  Status add(std::string_view spec, std::string_view why);
  // Adds an address unless it is already covered; false when it was.
  bool add_address(const Ip& ip, std::string_view why);

  bool contains(const Ip& ip) const;
  // Whether a prefix (its address, and its length in its family) holds an allowlisted address.
  bool overlaps(const Ip& net, int bits) const;
  // "127.0.0.0/8 (loopback)", … for messages.
  std::vector<std::string> describe() const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Ip net;
    int bits128;  // over the mapped 128-bit form (an IPv4 /24 is 120)
    std::string spec, why;
  };
  std::vector<Entry> entries_;
};

// The widest a ban may be: an IPv4 /16, an IPv6 /32 (a stored "0.0.0.0/0" bans the world).
inline constexpr int kWidestBan4 = 16, kWidestBan6 = 32;

// A ban as if it were new input: a canonical address or prefix (nft.h's canonical_element),
// no wider than the limits above, holding no allowlisted address. The error says which.
Result<std::string> check_ban(const std::string& addr_or_prefix, const Allowlist& allow);

// This host's addresses (every interface, IPv4 and IPv6), as getifaddrs(3) reports them.
std::vector<std::string> host_addresses();
void add_host_addresses(Allowlist& allow);
// The peers of the SSH sessions open now (established TCP connections of sshd/sshd-session
// processes, from the kernel's tables under `proc_root`); returns how many were new.
size_t add_ssh_sessions(Allowlist& allow, const Root& proc_root);
// `allow = ["203.0.113.0/24", …]` of a guard configuration file (TOML). A missing file is not
// an error unless `required`; a bad entry is, naming the file.
Status add_config_file(Allowlist& allow, const std::string& path, bool required);
// The same for the text of such a file; `origin` names it in errors.
Status add_config_text(Allowlist& allow, const std::string& text, const std::string& origin);

}  // namespace mamori::guard
