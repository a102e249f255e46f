// The SSRF detector (native.h): hosts of URLs in a value that are cloud metadata addresses,
// in every form an HTTP client accepts.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "waf/native.h"
#include "waf/native_text.h"

namespace mamori::waf {

using namespace native_text;

bool parse_any_ip(std::string_view host, unsigned char out[16], bool& v4) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() > 64) return false;
  std::memset(out, 0, 16);
  if (host.find(':') != npos) {
    std::string h(host.substr(0, host.find('%')));  // without a zone id
    if (inet_pton(AF_INET6, h.c_str(), out) != 1) return false;
    // An IPv4 address inside IPv6 (mapped, compatible, NAT64) reaches the IPv4 host.
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zeros[12] = {};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
    v4 = !std::memcmp(out, mapped, 12) || !std::memcmp(out, nat64, 12) ||
         (!std::memcmp(out, zeros, 12) && (out[12] | out[13]) != 0);
    if (v4) {  // the IPv4 address is in the last four bytes: map it as ::ffff:a.b.c.d
      std::memset(out, 0, 10);
      out[10] = out[11] = 0xff;
    }
    return true;
  }
  // inet_aton: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last fills the
  // bytes left.
  uint64_t parts[4];
  size_t n = 0, i = 0;
  while (true) {
    if (n == 4 || i >= host.size()) return false;
    uint64_t val = 0;
    int base = 10;
    if (host[i] == '0' && i + 1 < host.size() && lc(host[i + 1]) == 'x') {
      base = 16;
      i += 2;
    } else if (host[i] == '0' && i + 1 < host.size() && is_digit(host[i + 1])) {
      base = 8;
      ++i;
    }
    size_t start = i;
    while (i < host.size() && host[i] != '.') {
      char c = lc(host[i]);
      int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 99;
      if (d >= base) return false;
      val = val * base + d;
      if (val > 0xffffffffull) return false;
      ++i;
    }
    if (i == start && base != 16) return false;
    parts[n++] = val;
    if (i >= host.size()) break;
    ++i;  // '.'
  }
  uint32_t addr = 0;
  for (size_t k = 0; k + 1 < n; ++k) {
    if (parts[k] > 255) return false;
    addr |= static_cast<uint32_t>(parts[k]) << (24 - 8 * k);
  }
  const int rest_bits = 32 - 8 * static_cast<int>(n - 1);
  if (rest_bits < 32 && parts[n - 1] >= (1ull << rest_bits)) return false;
  addr |= static_cast<uint32_t>(parts[n - 1]);
  out[10] = out[11] = 0xff;
  out[12] = addr >> 24, out[13] = (addr >> 16) & 0xff, out[14] = (addr >> 8) & 0xff,
  out[15] = addr & 0xff;
  v4 = true;
  return true;
}

namespace {

// Is this address where a cloud's instance metadata answers? Link-local 169.254.0.0/16 (AWS,
// Azure, GCP, DigitalOcean, OpenStack; ECS at 169.254.170.2), Alibaba 100.100.100.200, Oracle
// 192.0.0.192, AWS's IPv6 fd00:ec2::254.
bool metadata_ip(const unsigned char a[16], bool v4) {
  if (v4) {
    const unsigned char* b = a + 12;
    return (b[0] == 169 && b[1] == 254) ||
           (b[0] == 100 && b[1] == 100 && b[2] == 100 && b[3] == 200) ||
           (b[0] == 192 && b[1] == 0 && b[2] == 0 && b[3] == 192);
  }
  static const unsigned char ec2[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                        0,    0, 0,    0,    0, 0, 0x02, 0x54};
  return !std::memcmp(a, ec2, 16);
}

// Unicode digits and dots that URL parsers fold to ASCII (NFKC): fullwidth, circled,
// ideographic full stop. Other bytes stay.
std::string fold_digits(std::string_view v) {
  std::string o;
  o.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    auto u = [&](size_t k) { return static_cast<unsigned char>(v[i + k]); };
    if (i + 2 < v.size() && u(0) == 0xef && u(1) == 0xbc && u(2) >= 0x90 && u(2) <= 0x99) {
      o += static_cast<char>('0' + u(2) - 0x90);  // U+FF10..FF19
      i += 2;
    } else if (i + 2 < v.size() && u(0) == 0xef && u(1) == 0xbc && u(2) == 0x8e) {
      o += '.';  // U+FF0E
      i += 2;
    } else if (i + 2 < v.size() && u(0) == 0xe3 && u(1) == 0x80 && u(2) == 0x82) {
      o += '.';  // U+3002
      i += 2;
    } else if (i + 2 < v.size() && u(0) == 0xe2 && u(1) == 0x91 && u(2) >= 0xa0 && u(2) <= 0xa8) {
      o += static_cast<char>('1' + u(2) - 0xa0);  // U+2460..2468 ①..⑨
      i += 2;
    } else if (i + 2 < v.size() && u(0) == 0xe2 && u(1) == 0x93 && u(2) == 0xaa) {
      o += '0';  // U+24EA ⓪
      i += 2;
    } else {
      o += v[i];
    }
  }
  return o;
}

bool metadata_name(std::string_view h) {
  static constexpr std::array<std::string_view, 5> names = {
      "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
      "metadata.tencentyun.com"};
  for (auto n : names)
    if (h == n) return true;
  return false;
}

bool metadata_host(std::string_view host) {
  std::string h = to_lower(host);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty()) return false;
  if (metadata_name(h)) return true;
  unsigned char a[16];
  bool v4 = false;
  if (parse_any_ip(h, a, v4)) return metadata_ip(a, v4);
  // Wildcard DNS services answer with the address written in the name.
  for (std::string_view sfx : {".nip.io", ".sslip.io", ".xip.io", ".localtest.me"}) {
    if (h.size() <= sfx.size() || h.compare(h.size() - sfx.size(), sfx.size(), sfx) != 0) continue;
    std::string_view name = std::string_view(h).substr(0, h.size() - sfx.size());
    // "app.169.254.169.254": the last four labels.
    size_t dots = 0, at = name.size();
    while (at > 0 && dots < 4) {
      --at;
      if (name[at] == '.' && ++dots == 4) {
        ++at;
        break;
      }
    }
    if (parse_any_ip(name.substr(at), a, v4) && metadata_ip(a, v4)) return true;
    // "169-254-169-254" or "app-a9fea9fe": the last label, dashes as dots, or hex.
    std::string_view last = name.substr(name.rfind('.') == npos ? 0 : name.rfind('.') + 1);
    std::string dotted(last);
    std::replace(dotted.begin(), dotted.end(), '-', '.');
    size_t d4 = dotted.size();
    for (int k = 0; k < 4 && d4 != npos; ++k) d4 = d4 ? dotted.rfind('.', d4 - 1) : npos;
    std::string_view tail = std::string_view(dotted).substr(d4 == npos ? 0 : d4 + 1);
    if (parse_any_ip(tail, a, v4) && metadata_ip(a, v4)) return true;
    std::string hex =
        "0x" + std::string(last.substr(last.rfind('-') == npos ? 0 : last.rfind('-') + 1));
    if (hex.size() == 10 && parse_any_ip(hex, a, v4) && metadata_ip(a, v4)) return true;
  }
  return false;
}

// The host of an authority "user:pw@host:port".
std::string_view authority_host(std::string_view auth) {
  if (size_t at = auth.rfind('@'); at != npos) auth = auth.substr(at + 1);
  if (!auth.empty() && auth.front() == '[') {
    size_t end = auth.find(']');
    return end == npos ? auth : auth.substr(0, end + 1);
  }
  return auth.substr(0, auth.find(':'));
}
size_t authority_end(std::string_view v, size_t i) {
  while (i < v.size()) {
    char c = v[i];
    if (c == '/' || c == '?' || c == '#' || c == '\\' || is_space(c) || c == '"' || c == '\'' ||
        c == '<' || c == '>' || c == ',' || c == ';' || c == ')')
      break;
    ++i;
  }
  return i;
}

std::optional<std::string> metadata_in_plain(std::string_view v) {
  // After every "//" (scheme://host, //host): the authority's host.
  int seen = 0;
  for (size_t p = 0; (p = v.find("//", p)) != npos && seen < 64; p += 2, ++seen) {
    size_t s = p + 2;
    while (s < v.size() && (v[s] == '/' || v[s] == '\\')) ++s;  // "http:////host"
    size_t e = authority_end(v, s);
    if (e > s && metadata_host(authority_host(v.substr(s, e - s))))
      return fragment(v, p > 8 ? p - 8 : 0);
  }
  // A value that starts with a host followed by a path or a port ("169.254.169.254/latest").
  std::string_view t = trim(v);
  size_t e = authority_end(t, 0);
  if (e > 0 && ((e < t.size() && t[e] == '/') || t.substr(0, e).find(':') != npos ||
                metadata_name(to_lower(t.substr(0, e))))) {
    std::string_view host = authority_host(t.substr(0, e));
    // A bare number is an id far more often than an address: only dotted forms here.
    if (host.find('.') != npos || host.find(':') != npos || metadata_name(to_lower(host)))
      if (metadata_host(host)) return fragment(t, 0);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> metadata_host_in(std::string_view v) {
  bool high = std::any_of(v.begin(), v.end(), [](char c) { return (c & 0x80) != 0; });
  if (!high) return with_decoded(v, metadata_in_plain);
  std::string f = fold_digits(v);
  return with_decoded(std::string_view(f), metadata_in_plain);
}

}  // namespace mamori::waf
