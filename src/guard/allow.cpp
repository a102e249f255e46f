#include "guard/allow.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstring>

#include "core/text.h"
#include "guard/nft.h"
#include "inventory/listeners.h"

namespace mamori::guard {

namespace {

int bits128_of(const Ip& ip, int bits) { return ip.v4 ? bits + 96 : bits; }

}  // namespace

Allowlist::Allowlist(std::initializer_list<std::string_view> specs) {
  for (auto s : specs) (void)add(s, "given");
}

Allowlist Allowlist::loopback() {
  Allowlist a;
  (void)a.add("127.0.0.0/8", "loopback");
  (void)a.add("::1", "loopback");
  return a;
}

Status Allowlist::add(std::string_view spec, std::string_view why) {
  Ip ip;
  int bits = 0;
  if (!parse_prefix(spec, ip, bits))
    return Error::invalid(fmt::format("{} is not an address or prefix", sanitize(spec)));
  int b128 = bits128_of(ip, bits);
  entries_.push_back({masked(ip, b128), b128, std::string(spec), std::string(why)});
  return ok();
}

bool Allowlist::add_address(const Ip& ip, std::string_view why) {
  if (contains(ip)) return false;
  entries_.push_back({ip, 128, ip.str(), std::string(why)});
  return true;
}

bool Allowlist::contains(const Ip& ip) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.net.v4 == ip.v4 && masked(ip, e.bits128) == e.net;
  });
}

bool Allowlist::overlaps(const Ip& net, int bits) const {
  int b = bits128_of(net, bits);
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    if (e.net.v4 != net.v4) return false;
    int common = std::min(b, e.bits128);  // two prefixes overlap iff one contains the other
    return masked(net, common) == masked(e.net, common);
  });
}

std::vector<std::string> Allowlist::describe() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(fmt::format("{} ({})", e.spec, e.why));
  return out;
}

Result<std::string> check_ban(const std::string& addr, const Allowlist& allow) {
  bool v6 = false;
  auto el = canonical_element(addr, v6);
  if (!el) return el.error();
  Ip ip;
  int bits = 0;
  if (!parse_prefix(*el, ip, bits)) return Error::invalid("not an address or prefix: " + *el);
  if (bits < (ip.v4 ? kWidestBan4 : kWidestBan6))
    return Error::invalid(fmt::format("{}: wider than a {} (refused: it would ban too much)", *el,
                                      ip.v4 ? "/16" : "/32"));
  if (allow.overlaps(ip, bits))
    return Error::invalid(fmt::format("{}: holds an allowlisted address (never banned)", *el));
  // Addresses no client authenticates from, whose ban would only hurt the host: unspecified,
  // broadcast, multicast, link-local (the router's IPv6 neighbour discovery).
  static const Allowlist kSpecial{"0.0.0.0/8", "255.255.255.255", "224.0.0.0/4", "169.254.0.0/16",
                                  "::/128",    "ff00::/8",        "fe80::/10"};
  if (kSpecial.overlaps(ip, bits))
    return Error::invalid(fmt::format(
        "{}: an unspecified, broadcast, multicast or link-local address (never banned)", *el));
  return el;
}

std::vector<std::string> host_addresses() {
  std::vector<std::string> out;
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return out;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN] = {0};
    if (i->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, buf,
                sizeof buf);
    else if (i->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, buf,
                sizeof buf);
    if (buf[0]) out.emplace_back(buf);
  }
  ::freeifaddrs(ifs);
  return out;
}

void add_host_addresses(Allowlist& allow) {
  ifaddrs* ifs = nullptr;
  if (::getifaddrs(&ifs) != 0) return;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    char buf[INET6_ADDRSTRLEN] = {0};
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sa = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sa = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof buf);
    } else {
      continue;
    }
    Ip ip;
    if (parse_ip(buf, ip)) allow.add_address(ip, fmt::format("this host ({})", i->ifa_name));
  }
  ::freeifaddrs(ifs);
}

size_t add_ssh_sessions(Allowlist& allow, const Root& proc_root) {
  size_t added = 0;
  for (const auto& peer : inventory::session_peers(proc_root, {"sshd", "sshd-session"})) {
    Ip ip;
    if (parse_ip(peer, ip) && allow.add_address(ip, "SSH session")) ++added;
  }
  return added;
}

Status add_config_file(Allowlist& allow, const std::string& path, bool required) {
  auto text = read_file(path, 1 << 20);
  if (!text) {
    if (!required && text.error().code == ErrorCode::kNotFound) return ok();
    return text.error();
  }
  return add_config_text(allow, *text, path);
}

Status add_config_text(Allowlist& allow, const std::string& text, const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return Error::invalid(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                      e.source().begin.column, e.description()));
  }
  for (const auto& [k, v] : doc)
    if (k.str() != "allow")
      return Error::invalid(fmt::format("{}:{}: unknown key '{}' (known: allow)", path,
                                        v.source().begin.line, sanitize(k.str())));
  const toml::node* n = doc.get("allow");
  if (!n) return ok();
  const toml::array* arr = n->as_array();
  if (!arr)
    return Error::invalid(fmt::format("{}:{}: allow must be a list of addresses or prefixes", path,
                                      n->source().begin.line));
  for (const auto& e : *arr) {
    auto s = e.value<std::string>();
    int line = static_cast<int>(e.source().begin.line);
    if (!s) return Error::invalid(fmt::format("{}:{}: allow entries are strings", path, line));
    if (auto st = allow.add(*s, path); !st)
      return Error::invalid(fmt::format("{}:{}: {}", path, line, st.error().message));
  }
  return ok();
}

}  // namespace mamori::guard
