#pragma once
// Addresses and prefixes, IPv4 and IPv6 in one 16-byte form: the one parser of addresses and
// CIDR prefixes (the guard's allowlists and bans, sshd's Match Address in the audit).
//
// Example:
//   Ip ip;
//   if (parse_ip("::ffff:198.51.100.23", ip)) assert(ip.v4);   // the IPv4 address
//   in_prefix("198.51.100.23", "198.51.100.0/24");             // true

#include <cstddef>
#include <string>
#include <string_view>

namespace mamori {

// An address in 16 bytes (IPv4 mapped as ::ffff:a.b.c.d). Parsing "::ffff:198.51.100.23"
// gives the IPv4 address (v4 = true): sshd and xrdp log IPv4 clients of a dual-stack socket
// that way, and it must be the same address in detection, allowlists and nftables.
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

// Does `ip` fall in "a.b.c.d", "a.b.c.0/24", "2001:db8::/32"…? false for malformed entries.
bool ip_in(const Ip& ip, const std::string& addr_or_prefix);
// The same for an address written out ("" or malformed: false).
bool in_prefix(std::string_view addr, std::string_view addr_or_prefix);

}  // namespace mamori
