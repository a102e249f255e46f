// Addresses and prefixes (ip.h).
#include "core/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace mamori {

bool Ip::operator==(const Ip& o) const { return std::memcmp(b, o.b, 16) == 0; }

size_t IpHash::operator()(const Ip& ip) const {
  uint64_t a, c;
  std::memcpy(&a, ip.b, 8);
  std::memcpy(&c, ip.b + 8, 8);
  uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (c + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
  return static_cast<size_t>(h ^ (h >> 29));
}

std::string Ip::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (v4) return inet_ntop(AF_INET, b + 12, buf, sizeof buf) ? buf : "?";
  return inet_ntop(AF_INET6, b, buf, sizeof buf) ? buf : "?";
}

bool parse_ip(std::string_view s, Ip& out) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  out = Ip{};
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, out.b + 12) != 1) return false;
    out.b[10] = out.b[11] = 0xff;
    out.v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out.b) != 1) return false;
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d (a dual-stack socket's view of it)
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.b, kMapped, 12) == 0) out.v4 = true;
  return true;
}

bool parse_prefix(std::string_view spec, Ip& ip, int& bits) {
  std::string_view addr = spec;
  bits = -1;
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    addr = spec.substr(0, slash);
    std::string_view b = spec.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    bits = std::stoi(std::string(b));
  }
  if (!parse_ip(addr, ip)) return false;
  bool mapped = ip.v4 && addr.find(':') != std::string_view::npos;  // "::ffff:a.b.c.0/120"
  if (mapped && bits >= 0) {
    if (bits < 96) return false;  // wider than the mapped range: not an IPv4 prefix
    bits -= 96;
  }
  int max = ip.v4 ? 32 : 128;
  if (bits < 0) bits = max;
  return bits <= max;
}

Ip masked(const Ip& ip, int bits128) {
  Ip out = ip;
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits128 - i * 8, 0, 8);
    out.b[i] &= static_cast<unsigned char>(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
  }
  return out;
}

bool ip_in(const Ip& ip, const std::string& spec) {
  Ip net;
  int bits = 0;
  if (!parse_prefix(spec, net, bits) || net.v4 != ip.v4) return false;
  if (net.v4) bits += 96;
  return masked(ip, bits) == masked(net, bits);
}

bool in_prefix(std::string_view addr, std::string_view spec) {
  Ip ip;
  return parse_ip(addr, ip) && ip_in(ip, std::string(spec));
}

}  // namespace mamori
