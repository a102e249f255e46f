#pragma once
// `mamori waf run`: an HTTP/1.1 reverse proxy that evaluates every request with the engine
// before the server behind it sees a byte of it.
//
// Shape: one thread per worker, each with its own epoll loop and its own listening socket
// (SO_REUSEPORT); a connection lives on one worker from accept to close. A request is read
// head first: phase 1 runs as soon as the head has arrived (a request it blocks need not send
// its body), then the body is read into memory up to the rules' SecRequestBodyLimit (all
// bodies together up to limits.max_body_memory: past it a request gets 503), phase 2 runs,
// and only then is the request sent upstream, re-framed with Content-Length. Responses are
// streamed back (chunked re-encoded, so the client never sees the server's framing), with
// back-pressure. Connections to the server are kept alive and reused per worker.
//
// What a reload swaps (publish()) is a ProxyGeneration: the engine, the configuration, the TLS
// context, the decision log. A request keeps the generation it started with; the next one
// takes the new one; nothing is dropped. The listening address cannot change.
//
// Example:
//   auto gen = make_generation(cfg, engine);        // Result<shared_ptr<const ProxyGeneration>>
//   auto proxy = Proxy::create(listen_addr, 2, *gen);
//   (*proxy)->start();                              // worker threads
//   (*proxy)->publish(new_gen);                     // SIGHUP
//   (*proxy)->stop(); (*proxy)->join();             // SIGTERM: requests in flight finish

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "core/ip.h"
#include "core/result.h"
#include "waf/engine.h"
#include "waf/proxy_config.h"
#include "waf/vpatch.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace mamori::waf {

// One JSON line per blocked, detected or refused request, appended with one write(2) each (a
// line is never interleaved with another worker's).
class DecisionLog {
 public:
  static Result<std::shared_ptr<DecisionLog>> open(const std::string& path);
  void write(const std::string& line) const;  // `line` ends with '\n'
  const std::string& path() const { return path_; }

 private:
  UniqueFd fd_;
  std::string path_;
};

struct ProxyGeneration {
  ProxyConfig config;
  std::shared_ptr<const Engine> engine;
  SockAddr upstream;
  std::vector<std::pair<Ip, int>> trusted;  // trusted_proxies as (address, prefix bits over 128)
  std::shared_ptr<SSL_CTX> tls;             // null: plain HTTP
  std::shared_ptr<DecisionLog> log;         // null: none
  uint64_t body_limit = 0;                  // the largest request body read
  std::shared_ptr<const VirtualPatches> vpatches;  // null or empty: none (vpatch.h)
  bool is_trusted(const Ip& ip) const;
};

// Everything a generation needs besides the engine: the upstream resolved, the TLS files
// loaded (their errors name the file), the log opened (unless !open_log: `waf run --check`
// writes nothing).
Result<std::shared_ptr<const ProxyGeneration>> make_generation(ProxyConfig cfg,
                                                               std::shared_ptr<const Engine> eng,
                                                               bool open_log = true);

// Can this process listen there? (A trial bind: "in use" and "permission" errors say what to
// do.) Run before the engine is built, so a mistake shows at once.
Status check_listen(const SockAddr& listen);
// Does something accept connections at the upstream address (1 s at most)?
Status check_upstream(const SockAddr& upstream);

struct ProxyCounters {
  uint64_t requests = 0, passed = 0, blocked = 0, detected = 0, refused = 0;
  uint64_t upstream_errors = 0, timeouts = 0;
  uint64_t connections = 0, rejected_connections = 0, active_connections = 0;
  uint64_t body_bytes_buffered = 0;
};

class Proxy {
 public:
  // Binds `workers` listening sockets (SO_REUSEPORT) on `listen`; port 0 picks one (port()).
  static Result<std::unique_ptr<Proxy>> create(const SockAddr& listen, unsigned workers,
                                               std::shared_ptr<const ProxyGeneration> gen);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  uint16_t port() const { return port_; }
  void start();
  // New requests use `gen` from now on.
  void publish(std::shared_ptr<const ProxyGeneration> gen);
  std::shared_ptr<const ProxyGeneration> current() const;
  // Stops accepting; requests in flight get limits.drain_timeout_ms; join() waits for them.
  void stop();
  void join();
  ProxyCounters counters() const;
  // (rule id, requests) that each rule blocked, and in detect mode would have blocked.
  std::pair<std::vector<std::pair<int64_t, uint64_t>>, std::vector<std::pair<int64_t, uint64_t>>>
  rule_counts() const;

  struct Worker;
  struct Shared;

 private:
  Proxy() = default;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
};

}  // namespace mamori::waf
