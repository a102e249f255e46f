// The proxy's configuration file and addresses (see proxy_config.h).
#include "waf/proxy_config.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <toml++/toml.h>

#include <charconv>
#include <cstring>

#include "core/fs.h"
#include "core/ip.h"
#include "core/text.h"
#include "waf/native.h"
#include "waf/policy.h"

namespace mamori::waf {

namespace {

Result<int> parse_port(std::string_view p, const std::string& spec) {
  int port = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535)
    return Error::invalid(
        fmt::format("'{}': the port must be a number from 0 to 65535", sanitize(spec)));
  return port;
}

bool numeric_addr(const std::string& host, int port, SockAddr& out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    out.len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    out.len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// "host:port" or "[v6]:port" → host, port text.
Result<std::pair<std::string, std::string>> split_host_port(const std::string& hp,
                                                            const std::string& spec) {
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    if (close == std::string::npos)
      return Error::invalid(fmt::format("'{}': missing ']' after an IPv6 address", sanitize(spec)));
    std::string host = hp.substr(1, close - 1);
    std::string rest = hp.substr(close + 1);
    if (rest.empty()) return std::pair{host, std::string()};
    if (rest.front() != ':')
      return Error::invalid(fmt::format("'{}': expected ':PORT' after ']'", sanitize(spec)));
    return std::pair{host, rest.substr(1)};
  }
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return std::pair{hp, std::string()};
  if (hp.find(':') != colon)
    return Error::invalid(
        fmt::format("'{}': write an IPv6 address in brackets: [2001:db8::1]:80", sanitize(spec)));
  return std::pair{hp.substr(0, colon), hp.substr(colon + 1)};
}

}  // namespace

Result<SockAddr> parse_listen(const std::string& spec) {
  auto hp = split_host_port(spec, spec);
  if (!hp) return hp.error();
  if (hp->second.empty())
    return Error::invalid(fmt::format(
        "listen '{}': give ADDR:PORT (0.0.0.0:80 for every IPv4 address, [::]:80 for IPv6, "
        "127.0.0.1:8080 for this machine only)",
        sanitize(spec)));
  auto port = parse_port(hp->second, spec);
  if (!port) return port.error();
  SockAddr out;
  out.text = spec;
  if (!numeric_addr(hp->first, *port, out))
    return Error::invalid(
        fmt::format("listen '{}': '{}' is not an IP address", sanitize(spec), sanitize(hp->first)));
  return out;
}

Result<SockAddr> parse_upstream(const std::string& url) {
  std::string_view u = url;
  if (u.starts_with("https://"))
    return Error::unimplemented(fmt::format(
        "upstream '{}': TLS to the server behind the proxy is not supported; give its plain "
        "http:// address (on this machine or a private network)",
        sanitize(url)));
  if (!u.starts_with("http://"))
    return Error::invalid(fmt::format(
        "upstream '{}': give an http:// URL, e.g. http://127.0.0.1:8080", sanitize(url)));
  u.remove_prefix(7);
  if (!u.empty() && u.back() == '/') u.remove_suffix(1);
  if (u.find_first_of("/?#@") != std::string_view::npos)
    return Error::invalid(
        fmt::format("upstream '{}': only scheme, host and port (requests keep their own paths)",
                    sanitize(url)));
  auto hp = split_host_port(std::string(u), url);
  if (!hp) return hp.error();
  int port = 80;
  if (!hp->second.empty()) {
    auto p = parse_port(hp->second, url);
    if (!p) return p.error();
    port = *p;
  }
  if (hp->first.empty() || port == 0)
    return Error::invalid(
        fmt::format("upstream '{}': a host and a port are needed", sanitize(url)));
  SockAddr out;
  out.text = url;
  out.host = std::string(u);
  if (numeric_addr(hp->first, port, out)) return out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hp->first.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0 || !res)
    return Error::unavailable(fmt::format("upstream '{}': cannot resolve '{}': {}", sanitize(url),
                                          sanitize(hp->first), gai_strerror(rc)));
  std::memcpy(&out.ss, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  freeaddrinfo(res);
  return out;
}

Result<ProxyConfig> read_proxy_config(const std::string& path, ProxyConfig c) {
  auto text = read_file(path, 1 << 20);
  if (!text) return text.error().with_context("waf config");
  toml::table doc;
  try {
    doc = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return Error::invalid(fmt::format("{}:{}:{}: {}", path, e.source().begin.line,
                                      e.source().begin.column, e.description()));
  }
  c.source = path;
  auto at = [&](const toml::node& n) { return fmt::format("{}:{}", path, n.source().begin.line); };
  auto str = [&](const toml::node& n, const std::string& key, std::string& out) -> Status {
    auto v = n.value<std::string>();
    if (!v) return Error::invalid(fmt::format("{}: {} is a string", at(n), key));
    out = *v;
    return ok();
  };
  auto num = [&](const toml::node& n, const std::string& key, int64_t lo, int64_t hi,
                 int64_t& out) -> Status {
    auto v = n.value<int64_t>();
    if (!v || *v < lo || *v > hi)
      return Error::invalid(
          fmt::format("{}: {} is a whole number from {} to {}", at(n), key, lo, hi));
    out = *v;
    return ok();
  };
  auto strs = [&](const toml::node& n, const std::string& key,
                  std::vector<std::string>& out) -> Status {
    const toml::array* a = n.as_array();
    if (!a) return Error::invalid(fmt::format("{}: {} is a list of strings", at(n), key));
    out.clear();
    for (const auto& e : *a) {
      auto v = e.value<std::string>();
      if (!v) return Error::invalid(fmt::format("{}: {} is a list of strings", at(e), key));
      out.push_back(*v);
    }
    return ok();
  };
  // [[route]]: the site's policy (policy.h), after the default routes (which a later route of
  // the same path overrides) unless default_routes = false.
  std::vector<Route> file_routes;
  bool defaults = true;
  auto routes = [&](const toml::node& n) -> Status {
    const toml::array* a = n.as_array();
    if (!a || !a->is_array_of_tables())
      return Error::invalid(fmt::format("{}: route is a list of tables ([[route]])", at(n)));
    for (const auto& e : *a) {
      const toml::table& t = *e.as_table();
      Route r;
      for (const auto& [rk, rn] : t) {
        std::string k(rk.str());
        Status st = ok();
        if (k == "path") {
          st = str(rn, "route.path", r.path);
        } else if (k == "content_type") {
          st = str(rn, "route.content_type", r.content_type);
        } else if (k == "accept") {
          st = str(rn, "route.accept", r.accept);
        } else if (k == "methods") {
          st = strs(rn, "route.methods", r.methods);
        } else if (k == "fields") {
          const toml::table* ft = rn.as_table();
          if (!ft) {
            st = Error::invalid(
                fmt::format("{}: route.fields is a table: {{ name = \"type\" }}", at(rn)));
          } else {
            for (const auto& [fk, fv] : *ft) {
              std::string type;
              if (!(st = str(fv, "route.fields." + std::string(fk.str()), type))) break;
              auto ty = parse_field_type(type);
              if (!ty) {
                st = Error::invalid(fmt::format("{}: {}", at(fv), ty.error().message));
                break;
              }
              r.fields.emplace_back(std::string(fk.str()), *ty);
            }
          }
        } else {
          st =
              Error::invalid(fmt::format("{}: unknown key '{}' in [[route]] (known: path, "
                                         "content_type, accept, methods, fields)",
                                         at(rn), sanitize(k)));
        }
        if (!st) return st.error();
      }
      if (auto st = check_route(r); !st)
        return Error::invalid(fmt::format("{}: {}", at(e), st.error().message));
      file_routes.push_back(std::move(r));
    }
    return ok();
  };
  for (const auto& [key, node] : doc) {
    std::string k(key.str());
    Status st = ok();
    int64_t n = 0;
    if (k == "listen") {
      st = str(node, k, c.listen);
    } else if (k == "upstream") {
      st = str(node, k, c.upstream);
    } else if (k == "rules") {
      st = strs(node, k, c.rules);
    } else if (k == "paranoia") {
      if ((st = num(node, k, 1, 4, n))) c.paranoia = static_cast<int>(n);
    } else if (k == "mode") {
      std::string m;
      if ((st = str(node, k, m))) {
        if (m == "block")
          c.mode = ProxyMode::kBlock;
        else if (m == "detect")
          c.mode = ProxyMode::kDetect;
        else
          st = Error::invalid(fmt::format("{}: mode is \"block\" or \"detect\"", at(node)));
      }
    } else if (k == "metrics") {
      if ((st = str(node, k, c.metrics)) && !c.metrics.empty())
        if (auto a = parse_listen(c.metrics); !a)
          st = Error::invalid(fmt::format("{}: metrics: {}", at(node), a.error().message));
    } else if (k == "route") {
      st = routes(node);
    } else if (k == "applications") {
      if ((st = strs(node, k, c.applications)))
        for (const auto& app : c.applications)
          if (auto ok_app = check_application(app); !ok_app) {
            st = Error::invalid(fmt::format("{}: {}", at(node), ok_app.error().message));
            break;
          }
    } else if (k == "default_routes") {
      auto v = node.value<bool>();
      if (!v)
        st = Error::invalid(fmt::format("{}: default_routes is true or false", at(node)));
      else
        defaults = *v;
    } else if (k == "virtual_patches") {
      std::string m;
      if ((st = str(node, k, m))) {
        if (m == "block")
          c.virtual_patches = VirtualPatchMode::kBlock;
        else if (m == "detect")
          c.virtual_patches = VirtualPatchMode::kDetect;
        else if (m == "off")
          c.virtual_patches = VirtualPatchMode::kOff;
        else
          st = Error::invalid(
              fmt::format("{}: virtual_patches is \"block\", \"detect\" or \"off\"", at(node)));
      }
    } else if (k == "virtual_patch_refresh") {
      if ((st = num(node, k, 5, 86400, n))) c.virtual_patch_refresh_s = static_cast<int>(n);
    } else if (k == "native") {
      std::string m;
      if ((st = str(node, k, m))) {
        auto bits = parse_native_list(m);
        if (bits)
          c.native = *bits;
        else
          st = Error::invalid(fmt::format("{}: {}", at(node), bits.error().message));
      }
    } else if (k == "trusted_proxies") {
      if ((st = strs(node, k, c.trusted_proxies))) {
        for (const auto& p : c.trusted_proxies) {
          Ip ip;
          int bits = 0;
          if (!parse_prefix(p, ip, bits))
            st = Error::invalid(fmt::format("{}: trusted_proxies: '{}' is not an address or prefix",
                                            at(node), sanitize(p)));
        }
      }
    } else if (k == "log") {
      st = str(node, k, c.log);
    } else if (k == "workers") {
      if ((st = num(node, k, 0, 256, n))) c.workers = static_cast<unsigned>(n);
    } else if (k == "tls") {
      const toml::table* t = node.as_table();
      if (!t) {
        st = Error::invalid(fmt::format("{}: tls is a table: [tls] cert = …, key = …", at(node)));
      } else {
        for (const auto& [tk, tn] : *t) {
          std::string kk(tk.str());
          if (kk == "cert")
            st = str(tn, "tls.cert", c.tls_cert);
          else if (kk == "key")
            st = str(tn, "tls.key", c.tls_key);
          else
            st = Error::invalid(
                fmt::format("{}: unknown key 'tls.{}' (known: cert, key)", at(tn), sanitize(kk)));
          if (!st) break;
        }
      }
    } else if (k == "limits") {
      const toml::table* t = node.as_table();
      if (!t) {
        st = Error::invalid(fmt::format("{}: limits is a table: [limits] …", at(node)));
      } else {
        ProxyLimits& L = c.limits;
        struct Int {
          const char* name;
          int* ms;  // seconds in the file
        };
        const Int secs[] = {{"header_timeout", &L.header_timeout_ms},
                            {"body_timeout", &L.body_timeout_ms},
                            {"idle_timeout", &L.idle_timeout_ms},
                            {"upstream_connect_timeout", &L.upstream_connect_timeout_ms},
                            {"upstream_timeout", &L.upstream_timeout_ms},
                            {"send_timeout", &L.send_timeout_ms},
                            {"drain_timeout", &L.drain_timeout_ms}};
        for (const auto& [tk, tn] : *t) {
          std::string kk(tk.str());
          bool known = false;
          for (const auto& s : secs) {
            if (kk != s.name) continue;
            known = true;
            if ((st = num(tn, "limits." + kk + " (seconds)", 1, 3600, n)))
              *s.ms = static_cast<int>(n * 1000);
          }
          if (kk == "max_connections") {
            known = true;
            if ((st = num(tn, "limits." + kk, 1, 1'000'000, n))) L.max_connections = n;
          } else if (kk == "max_connections_per_ip") {
            known = true;
            if ((st = num(tn, "limits." + kk, 1, 1'000'000, n))) L.max_connections_per_ip = n;
          } else if (kk == "max_body_memory_mb") {
            known = true;
            if ((st = num(tn, "limits." + kk, 1, 1 << 20, n)))
              L.max_body_memory = uint64_t(n) << 20;
          } else if (kk == "max_body_mb") {
            known = true;
            if ((st = num(tn, "limits." + kk, 1, 4096, n))) L.max_body = uint64_t(n) << 20;
          } else if (kk == "max_body_no_files_kb") {
            known = true;
            if ((st = num(tn, "limits." + kk, 1, 4 << 20, n)))
              L.max_body_no_files = uint64_t(n) << 10;
          }
          if (!known)
            st = Error::invalid(fmt::format(
                "{}: unknown key 'limits.{}' (known: max_connections, max_connections_per_ip, "
                "max_body_mb, max_body_no_files_kb, max_body_memory_mb, header_timeout, "
                "body_timeout, idle_timeout, "
                "upstream_connect_timeout, upstream_timeout, send_timeout, drain_timeout)",
                at(tn), sanitize(kk)));
          if (!st) break;
        }
      }
    } else {
      st = Error::invalid(fmt::format(
          "{}: unknown key '{}' (known: listen, upstream, rules, paranoia, mode, "
          "native, virtual_patches, virtual_patch_refresh, applications, default_routes, "
          "[[route]], "
          "trusted_proxies, log, "
          "metrics, workers, [tls], [limits])",
          at(node), sanitize(k)));
    }
    if (!st) return st.error();
  }
  if (!defaults) {
    c.routes.clear();
    c.json_media_types = false;
  }
  c.routes.insert(c.routes.end(), file_routes.begin(), file_routes.end());
  return c;
}

Status check_proxy_config(const ProxyConfig& c) {
  if (c.upstream.empty())
    return Error::invalid(
        "no upstream: give --upstream http://HOST:PORT (the web server behind the proxy) or "
        "upstream = \"…\" in " +
        std::string(kWafConfigPath));
  auto l = parse_listen(c.listen);
  if (!l) return l.error();
  auto u = parse_upstream(c.upstream);
  if (!u) return u.error();
  // The proxy in front of itself: every request would loop until the connections run out.
  auto port_of = [](const SockAddr& a) {
    return a.ss.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_port
                                     : reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_port;
  };
  auto any = [](const SockAddr& a) {
    if (a.ss.ss_family == AF_INET)
      return reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
    return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr) != 0;
  };
  if (port_of(*l) == port_of(*u) &&
      (any(*l) || (l->len == u->len && std::memcmp(&l->ss, &u->ss, l->len) == 0)))
    return Error::invalid(fmt::format(
        "listen {} and upstream {} are the same address: the proxy would send every request "
        "to itself; give the web server's own address as upstream, or set listen",
        sanitize(c.listen), sanitize(c.upstream)));
  if (c.tls_cert.empty() != c.tls_key.empty())
    return Error::invalid("TLS needs both a certificate and its key (--tls-cert and --tls-key)");
  if (c.paranoia < 1 || c.paranoia > 4) return Error::invalid("paranoia is 1 to 4");
  if (!c.metrics.empty()) {
    auto m = parse_listen(c.metrics);
    if (!m) return m.error().with_context("metrics");
    if (port_of(*m) == port_of(*l) &&
        (any(*m) || any(*l) || (m->len == l->len && std::memcmp(&m->ss, &l->ss, m->len) == 0)))
      return Error::invalid(
          fmt::format("metrics {} and listen {} are the same port: give the "
                      "metrics a port of their own",
                      sanitize(c.metrics), sanitize(c.listen)));
  }
  return ok();
}

}  // namespace mamori::waf
