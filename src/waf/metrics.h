#pragma once
// `mamori waf run --metrics ADDR:PORT`: the proxy's counters in Prometheus's text format
// (version 0.0.4) at GET /metrics, served by a thread of its own so that a slow scraper never
// holds up a request. Other paths get 404 and methods other than GET and HEAD 405; it reads
// at most 8 KiB of a request, gives each connection 2 seconds to send its head and 5 to take
// the answer, and serves at most 16 at once: a hostile client on the metrics port can delay the
// metrics, never the site.
//
// Example:
//   auto m = MetricsServer::start(*parse_listen("127.0.0.1:9145"),
//                                 [&] { return render_metrics(snapshot()); });
//   // … curl http://127.0.0.1:9145/metrics; the destructor stops it

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "waf/proxy.h"
#include "waf/proxy_config.h"

namespace mamori::waf {

struct MetricsSnapshot {
  ProxyCounters counters;
  // Rules that blocked (block mode) or would have (detect mode), by id: (id, count).
  std::vector<std::pair<int64_t, uint64_t>> rule_blocks, rule_detects;
  uint64_t reloads = 0, reload_failures = 0;
  int64_t started = 0;  // unix seconds
  int64_t rules = 0;    // rules of the running engine
  int paranoia = 1;
  bool detect_mode = false;
};

std::string render_metrics(const MetricsSnapshot& s);

class MetricsServer {
 public:
  static Result<std::unique_ptr<MetricsServer>> start(const SockAddr& addr,
                                                      std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  uint16_t port() const { return port_; }

 private:
  MetricsServer() = default;
  void loop();
  UniqueFd listener_, stop_;
  std::function<std::string()> render_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace mamori::waf
