#pragma once
// The reverse proxy's insides (see proxy.h), shared by its three files: proxy.cpp (the
// configuration's parts, the worker loop, accepting), proxy_client.cpp (reading a request,
// evaluating it, answering it ourselves, the decision log) and proxy_upstream.cpp (the server
// behind, the end of an exchange, timeouts). Not for use outside src/waf/proxy*.cpp.
//
// Each worker is one thread with one epoll set, edge-triggered: a connection is driven
// (drive()) whenever one of its sockets reports, and each step reads or writes until the
// kernel says EAGAIN (or a short read says the socket is drained), so no readiness is lost.
// Connections and upstream sockets are never freed while an event batch is being handled:
// they are marked dead and reaped after it.

#include <openssl/ssl.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "waf/http.h"
#include "waf/proxy.h"

namespace mamori::waf {
namespace proxy_detail {

using Clock = std::chrono::steady_clock;
inline int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

inline constexpr size_t kReadChunk = 64 * 1024;
inline constexpr size_t kMaxPendingOut = 256 * 1024;  // response bytes waiting for a slow client
inline constexpr size_t kMaxResponseHead = 64 * 1024;
inline constexpr size_t kMaxIdleUpstreams = 64;  // per worker
inline constexpr int kLingerMs = 2000;

enum class Kind : uint8_t { kListener, kWake, kClient, kUpstream };

struct Handle {
  explicit Handle(Kind k) : kind(k) {}
  Kind kind;
  bool dead = false;
};

struct Conn;

struct Upstream : Handle {
  Upstream() : Handle(Kind::kUpstream) {}
  enum class St : uint8_t { kConnecting, kSending, kHead, kBody, kIdle };
  UniqueFd fd;
  St st = St::kConnecting;
  const ProxyGeneration* key = nullptr;  // the generation whose upstream address it reaches
  std::string address;                   // that address, for pooling across generations
  bool reused = false;                   // came from the pool: may have been closed meanwhile
  // Edge-triggered readiness: set by an event, cleared when a read came back short (the
  // socket is drained; the next arrival is a new event), so no read is spent on EAGAIN.
  bool can_read = true;
  bool rdhup = false;  // the server's FIN arrived: reads go on until they return 0
  bool got_bytes = false;
  Conn* owner = nullptr;
  std::string in;  // response bytes not yet handled
  size_t scan = 0;
  http::Framing framing = http::Framing::kNone;
  uint64_t remaining = 0;
  bool keep_alive = false;
  http::ChunkedDecoder dec;
  size_t sent = 0;  // bytes of the request written
  int64_t idle_since = 0;
};

enum class Out : uint8_t { kRaw, kChunk };  // how response body bytes go to the client

struct Conn : Handle {
  Conn() : Handle(Kind::kClient) {}
  enum class St : uint8_t { kHandshake, kHead, kBody, kForward, kLocal, kLinger };
  UniqueFd fd;
  SSL* ssl = nullptr;
  St st = St::kHead;
  Ip peer, ip_key;  // ip_key: what the per-address cap counts
  std::string peer_str;
  bool client_unknown = false;  // behind trusted proxies only: no client address to log
  int peer_port = 0;
  std::string local_str;
  int local_port = 0;
  size_t index = 0;      // in the worker's list
  bool can_read = true;  // as Upstream::can_read (TLS reads are always tried: OpenSSL buffers)
  bool rdhup = false;    // the client's FIN arrived: reads go on until they return 0
  int64_t touch = 0, head_started = 0, body_started = 0;
  size_t blank_lines = 0;  // line ends before this request's line
  // Input not yet handled (the head being read, body bytes, a pipelined request).
  std::string in;
  size_t scan = 0;
  // Output not yet written.
  std::string out;
  size_t out_off = 0;
  bool queued = false;         // in the worker's list to be driven on its next turn
  bool response_done = false;  // every byte of this exchange's response is in `out`
  bool resp_started = false;   // response bytes went to the client: an error now only closes
  bool close_after = false;
  // The request in flight.
  std::shared_ptr<const ProxyGeneration> gen;
  std::unique_ptr<Request> req;
  Evaluation ev;
  std::string id;
  std::string fwd;  // the head sent upstream
  std::string body;
  uint64_t reserved = 0;  // body bytes counted against max_body_memory
  http::Framing framing = http::Framing::kNone;
  uint64_t body_left = 0;
  http::ChunkedDecoder dec;
  bool head_req = false, http10 = false, keep_alive = true, has_body = false;
  Upstream* up = nullptr;
  int retries = 0;
  Out out_mode = Out::kRaw;
  int status = 0;  // of the response, for the log
  std::string logged_host;
  ~Conn() {
    if (ssl) SSL_free(ssl);
  }
};

// 20 hex digits: 8 random per process start, 2 for the worker, 10 counting its requests.
std::string hex_id(uint64_t prefix, unsigned worker, uint64_t seq);
const char* reason_phrase(int status);
bool is_hop_by_hop(std::string_view name);
bool is_forwarding(std::string_view name);  // X-Forwarded-*, Forwarded, X-Real-IP …
std::string forwarded_for(const Ip& ip);    // for= of a Forwarded element
void append_chunk(std::string& out, std::string_view data);

}  // namespace proxy_detail

using namespace proxy_detail;  // NOLINT: the internal header of three files

struct Proxy::Shared {
  mutable std::mutex mu;
  std::shared_ptr<const ProxyGeneration> gen;
  std::atomic<uint64_t> version{1};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> requests{0}, passed{0}, blocked{0}, detected{0}, refused{0},
      upstream_errors{0}, timeouts{0}, connections{0}, rejected{0}, active{0}, body_bytes{0};
  std::mutex ip_mu;
  std::unordered_map<Ip, size_t, IpHash> per_ip;
  // Requests blocked (or, in detect mode, that would have been) per deciding rule, for the
  // metrics. Taken only on a block; at most 4,096 ids (more are counted under -1).
  std::mutex rules_mu;
  std::unordered_map<int64_t, uint64_t> rule_blocks, rule_detects;
  void count_rule(bool would_block, int64_t id) {
    std::lock_guard l(rules_mu);
    auto& m = would_block ? rule_detects : rule_blocks;
    if (m.size() >= 4096 && !m.count(id)) id = -1;
    ++m[id];
  }
  uint64_t id_prefix = 0;

  std::shared_ptr<const ProxyGeneration> load() const {
    std::lock_guard l(mu);
    return gen;
  }
  bool acquire_ip(const Ip& ip, size_t max) {
    std::lock_guard l(ip_mu);
    size_t& n = per_ip[ip];
    if (n >= max) {
      if (n == 0) per_ip.erase(ip);
      return false;
    }
    ++n;
    return true;
  }
  void release_ip(const Ip& ip) {
    std::lock_guard l(ip_mu);
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
  }
  // Reserves body memory; false when every connection together would pass the budget.
  bool reserve(uint64_t n, uint64_t budget) {
    uint64_t cur = body_bytes.load(std::memory_order_relaxed);
    do {
      if (cur + n > budget) return false;
    } while (!body_bytes.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return true;
  }
};

struct Proxy::Worker {
  Proxy::Shared& sh;
  unsigned index;
  UniqueFd ep, listener, wake;
  Handle listener_h{Kind::kListener}, wake_h{Kind::kWake};
  std::shared_ptr<const ProxyGeneration> gen;
  uint64_t gen_version = 0;
  std::vector<Conn*> conns;
  std::vector<Upstream*> idle;
  std::vector<Handle*> graveyard;
  std::vector<Conn*> pending;  // connections to drive again on the next turn
  int64_t accept_paused_until = 0;
  int64_t now = 0;
  uint64_t seq = 0;
  bool draining = false;
  int64_t drain_deadline = 0;
  char buf[kReadChunk];

  Worker(Proxy::Shared& s, unsigned i) : sh(s), index(i) {}
  ~Worker() {
    for (Conn* c : conns) destroy(c);
    for (Upstream* u : idle) delete u;
    reap();
  }

  void loop();
  void refresh_generation();
  void accept_all();
  void on_event(Handle* h, uint32_t ev);
  void drive(Conn* c);
  bool step(Conn* c);
  bool step_handshake(Conn* c);
  bool step_head(Conn* c);
  bool step_body(Conn* c);
  bool step_forward(Conn* c);
  bool step_linger(Conn* c);
  bool flush(Conn* c);
  void on_head(Conn* c);
  void on_body_done(Conn* c);
  void start_upstream(Conn* c);
  bool upstream_data(Conn* c, std::string_view data);
  bool upstream_head(Conn* c);
  // may_retry: a connection error (not a timeout) on a pooled connection before any answer.
  void upstream_failed(Conn* c, int status, const std::string& why, bool may_retry = true);
  void response_complete(Conn* c);
  void finish_exchange(Conn* c);
  void local_response(Conn* c, int status, std::string_view extra_headers, bool close);
  void refuse(Conn* c, int status, const std::string& why);
  void block(Conn* c, const Verdict& v);
  void log_decision(Conn* c, const char* action, const Verdict* v, const std::string& reason);
  void end_request(Conn* c);
  void begin_close(Conn* c);
  void kill(Conn* c);
  void destroy(Conn* c);
  void release_upstream(Upstream* u, bool reusable);
  void close_upstream(Upstream* u);
  void sweep();
  ssize_t rd(Conn* c, char* p, size_t n);        // >0 bytes, 0 EAGAIN, -1 EOF, -2 error
  ssize_t wr(Conn* c, const char* p, size_t n);  // >=0 bytes (0: EAGAIN), -2 error
  void reap() {
    for (Handle* h : graveyard) {
      if (h->kind == Kind::kClient)
        delete static_cast<Conn*>(h);
      else
        delete static_cast<Upstream*>(h);
    }
    graveyard.clear();
  }
  void add(int fd, Handle* h, uint32_t events) {
    epoll_event e{};
    e.events = events;
    e.data.ptr = h;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &e);
  }
};

}  // namespace mamori::waf
