#pragma once
// What `mamori waf run` is told: /etc/mamori/waf.toml (or --config FILE), then the command
// line's options on top. Everything except `listen` and `workers` can be changed by editing
// the file and sending SIGHUP (docs/waf.md lists the keys).
//
// Example (waf.toml):
//   listen = "0.0.0.0:80"
//   upstream = "http://127.0.0.1:8080"
//   paranoia = 1
//   mode = "block"                      # or "detect": log, never block
//   native = "all"                      # Mamori's own detectors: "all", "none", "xxe,ssrf" …
//   virtual_patches = "block"           # shield what the last scan found vulnerable; "detect",
//   "off" trusted_proxies = ["10.0.0.0/8"]    # their X-Forwarded-For is believed log =
//   "/var/log/mamori/waf.jsonl"   # one JSON line per blocked or detected request metrics =
//   "127.0.0.1:9145"          # Prometheus: GET /metrics [tls] cert = "/etc/ssl/certs/site.pem" key
//   = "/etc/ssl/private/site.key" [limits] max_connections = 4096

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "waf/policy.h"

namespace mamori::waf {

inline constexpr const char* kWafConfigPath = "/etc/mamori/waf.toml";

enum class ProxyMode : uint8_t { kBlock, kDetect };

// A socket address from "ADDR:PORT" or "[IPv6]:PORT" (listen) or an http:// URL (upstream).
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string text;  // as the operator wrote it
  std::string host;  // the upstream's authority (Host header when the client sent none)
};
Result<SockAddr> parse_listen(const std::string& spec);
// http://HOST[:PORT][/] — HOST an address or a name resolved now (getaddrinfo: /etc/hosts,
// DNS); https:// upstreams and paths are refused with a message saying so.
Result<SockAddr> parse_upstream(const std::string& url);

struct ProxyLimits {
  size_t max_connections = 4096;         // client connections in all
  size_t max_connections_per_ip = 256;   // a slowloris from one address fills only its share
  uint64_t max_body_memory = 256 << 20;  // request bodies buffered at once, all connections
  uint64_t max_body = 0;                 // 0: the rules' SecRequestBodyLimit
  uint64_t max_body_no_files = 0;        // 0: the rules' SecRequestBodyNoFilesLimit
  int header_timeout_ms = 10'000;        // the whole head, from its first byte
  int body_timeout_ms = 30'000;          // between two reads of a body
  int idle_timeout_ms = 60'000;          // a kept-alive connection waiting for a request
  int upstream_connect_timeout_ms = 5'000;
  int upstream_timeout_ms = 60'000;  // waiting for the server's response, between reads
  int send_timeout_ms = 60'000;      // a client not taking the response, between writes
  int drain_timeout_ms = 10'000;     // on stop: requests in flight get this long
};

// What a virtual patch (vpatch.h) does with a request to a vulnerable component.
enum class VirtualPatchMode : uint8_t { kBlock, kDetect, kOff };

struct ProxyConfig {
  std::string listen = "127.0.0.1:8080";
  std::string upstream;
  std::vector<std::string> rules;  // empty: the operator's /etc CRS files and Debian's CRS
  int paranoia = 1;
  ProxyMode mode = ProxyMode::kBlock;
  uint32_t native = 0x1ff;  // native detectors (native.h): "all", "none" or a list of names
  VirtualPatchMode virtual_patches = VirtualPatchMode::kBlock;
  std::vector<Route> routes = default_routes();  // [[route]] (policy.h)
  // CRS's exclusion rules turned on (policy.h), none by default: CRS's own rules match paths
  // any site may have (…/index.php?rest_route=…, …/wp-login.php) and switch CRS off there.
  std::vector<std::string> applications;
  bool json_media_types = true;      // with the default routes: application/…+json (policy.h)
  int virtual_patch_refresh_s = 60;  // how often the store is read for them
  std::string tls_cert, tls_key;     // both or neither
  std::vector<std::string> trusted_proxies;  // addresses or prefixes
  std::string log;                           // decision log (JSON lines); "" none
  std::string metrics;   // ADDR:PORT for Prometheus (GET /metrics); "" none; restart to change
  unsigned workers = 0;  // 0: one per core
  ProxyLimits limits;
  std::string source;  // the file it came from, "" for defaults only
};

// Reads a TOML file over `base` (keys absent from the file keep base's values). An unknown
// key, a wrong type or a bad value is an error naming the file and line.
Result<ProxyConfig> read_proxy_config(const std::string& path, ProxyConfig base = {});
// The checks that need the whole configuration (an upstream is set, TLS has both files …).
Status check_proxy_config(const ProxyConfig& c);

}  // namespace mamori::waf
