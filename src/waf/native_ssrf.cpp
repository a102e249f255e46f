// The SSRF detector (native.h): hosts of URLs in a value that are cloud metadata addresses,
// in every form an HTTP client accepts.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
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

// Unicode digits and dots that URL parsers fold to ASCII (NFKC, UTS #46): fullwidth, circled,
// "digit full stop", super- and subscript, mathematical digits, ideographic and small full
// stops. Other bytes stay.
std::string fold_digits(std::string_view v) {
  std::string o;
  o.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    auto u = [&](size_t k) { return i + k < v.size() ? static_cast<unsigned char>(v[i + k]) : 0u; };
    uint32_t cp = 0;
    size_t len = 1;
    if (u(0) >= 0xc2 && u(0) < 0xe0 && (u(1) & 0xc0) == 0x80) {
      cp = ((u(0) & 0x1fu) << 6) | (u(1) & 0x3fu), len = 2;
    } else if (u(0) >= 0xe0 && u(0) < 0xf0 && (u(1) & 0xc0) == 0x80 && (u(2) & 0xc0) == 0x80) {
      cp = ((u(0) & 0x0fu) << 12) | ((u(1) & 0x3fu) << 6) | (u(2) & 0x3fu), len = 3;
    } else if (u(0) >= 0xf0 && u(0) < 0xf5 && (u(1) & 0xc0) == 0x80 && (u(2) & 0xc0) == 0x80 &&
               (u(3) & 0xc0) == 0x80) {
      cp = ((u(0) & 0x07u) << 18) | ((u(1) & 0x3fu) << 12) | ((u(2) & 0x3fu) << 6) | (u(3) & 0x3fu),
      len = 4;
    }
    auto digit = [&](uint32_t d) { o += static_cast<char>('0' + d); };
    if (cp >= 0xff10 && cp <= 0xff19)
      digit(cp - 0xff10);
    else if (cp == 0xff0e || cp == 0x3002 || cp == 0xff61 || cp == 0xfe52)
      o += '.';
    else if (cp >= 0x2460 && cp <= 0x2473)
      o += std::to_string(cp - 0x2460 + 1);  // ① … ⑳
    else if (cp == 0x24ea)
      digit(0);
    else if (cp >= 0x2488 && cp <= 0x249b)
      o += std::to_string(cp - 0x2488 + 1) + ".";  // ⒈
    else if (cp >= 0x1d7ce && cp <= 0x1d7ff)
      digit((cp - 0x1d7ce) % 10);  // mathematical
    else if (cp >= 0x2080 && cp <= 0x2089)
      digit(cp - 0x2080);  // subscript
    else if (cp == 0x2070)
      digit(0);
    else if (cp >= 0x2074 && cp <= 0x2079)
      digit(cp - 0x2070);  // superscript 4…9
    else if (cp == 0xb9)
      digit(1);
    else if (cp == 0xb2 || cp == 0xb3)
      digit(cp - 0xb0);
    else
      o.append(v.substr(i, len));
    i += len;
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
  if (host.empty() || host.size() > 255) return false;  // longer than any DNS name
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

bool scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '+' || c == '-' ||
         c == '.';
}

// Schemes whose clients fetch from a host (curl, PHP's wrappers, Java, Node).
bool fetching_scheme(std::string_view s) {
  for (std::string_view k : {"http", "https", "gopher", "ftp", "ftps", "file", "dict", "ldap",
                             "ldaps", "tftp", "ws", "wss", "sftp", "scp", "jar", "netdoc"})
    if (iequals(s, k)) return true;
  return false;
}

// Where an authority ends: the path, query or fragment, or white space. Quotes, commas and
// parentheses are legal in userinfo ("http://a;b@host/"): they do not end it.
bool authority_stop(char c) { return c == '/' || c == '?' || c == '#' || is_space(c); }

std::optional<std::string> metadata_in_plain(std::string_view v0) {
  // URL parsers drop tabs and line breaks anywhere in a URL ("http://1\t69.254.169.254/").
  std::string cleaned;
  std::string_view v = v0;
  if (v0.find_first_of("\t\r\n") != npos) {
    for (char c : v0)
      if (c != '\t' && c != '\r' && c != '\n') cleaned += c;
    v = cleaned;
  }
  // Candidates, left to right: after "//", and after "scheme:" with up to three slashes or
  // backslashes (curl and WHATWG parsers take "http:/h", "http:\\h", "http:h"). Each
  // candidate's authority ends at the next stop (found once: starts only move forward) and
  // its host starts after the authority's last '@' (Python and curl read "a\\@h" so);
  // candidates sharing a host are judged once: linear in the value.
  size_t stop = 0, last_host = npos;
  bool have_stop = false;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    size_t s;
    if (v[i] == '/' && v[i + 1] == '/') {
      s = i + 2;
    } else if (v[i] == ':') {
      size_t b = i;
      while (b > 0 && i - b < 10 && scheme_char(v[b - 1])) --b;
      if (b == i || !fetching_scheme(v.substr(b, i - b))) continue;
      s = i + 1;
      for (int k = 0; k < 3 && s < v.size() && (v[s] == '/' || v[s] == '\\'); ++k) ++s;
    } else {
      continue;
    }
    while (s < v.size() && (v[s] == '/' || v[s] == '\\')) ++s;  // "http:////host"
    if (!have_stop || stop < s) {
      stop = s;
      while (stop < v.size() && !authority_stop(v[stop])) ++stop;
      have_stop = true;
    }
    if (stop <= s) continue;
    std::string_view auth = v.substr(s, stop - s);
    size_t hs = s;
    if (size_t at = auth.rfind('@'); at != npos) hs = s + at + 1;
    if (hs == last_host) continue;
    last_host = hs;
    std::string_view host = v.substr(hs, stop - hs);
    if (host.starts_with('[')) {
      size_t end = host.find(']');
      host = end == npos ? host : host.substr(0, end + 1);
    } else {
      host = host.substr(0, host.find_first_of(":\\"));
      while (!host.empty() && std::strchr(",;'\")<>\"`", host.back())) host.remove_suffix(1);
      while (!host.empty() && std::strchr("'\"(<`", host.front())) host.remove_prefix(1);
    }
    if (metadata_host(host) || iequals(host, "metadata")) return fragment(v, i > 8 ? i - 8 : 0);
  }
  // A value that is a host, or starts with one followed by a path or a port
  // ("169.254.169.254", "169.254.169.254/latest"): dotted forms and names only (a bare
  // number is an id far more often than an address).
  std::string_view t = trim(v);
  size_t e = 0;
  while (e < t.size() && !authority_stop(t[e]) && t[e] != ':' && t[e] != '\\') ++e;
  std::string_view host = t.substr(0, e);
  if (!host.empty() && (host.find('.') != npos || metadata_name(to_lower(host.substr(0, 64)))))
    if (metadata_host(host)) return fragment(t, 0);
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
