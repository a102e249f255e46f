// The reverse proxy (see proxy.h). Each worker is one thread with one epoll set, edge-triggered:
// a connection is driven (drive()) whenever one of its sockets reports, and each step reads or
// writes until the kernel says EAGAIN, so no readiness is lost. Connections and upstream
// sockets are never freed while an event batch is being handled: they are marked dead and
// reaped after it.
#include "waf/proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "core/text.h"
#include "waf/http.h"

namespace mamori::waf {

// ---------------------------------------------------------------------------------------------
// Decision log, generation

Result<std::shared_ptr<DecisionLog>> DecisionLog::open(const std::string& path) {
  auto fd = open_private_append(path);
  if (!fd) return fd.error().with_context("decision log");
  auto log = std::make_shared<DecisionLog>();
  log->fd_ = std::move(*fd);
  log->path_ = path;
  return log;
}

void DecisionLog::write(const std::string& line) const {
  // One write: O_APPEND makes it land whole after any other worker's line.
  ssize_t n = ::write(fd_.get(), line.data(), line.size());
  (void)n;  // a full disk must not stop the proxy; the line is lost
}

bool ProxyGeneration::is_trusted(const Ip& ip) const {
  for (const auto& [net, bits] : trusted)
    if (masked(ip, bits) == net) return true;
  return false;
}

namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  if (SSL_select_next_proto(const_cast<unsigned char**>(out), outlen, kHttp11, sizeof kHttp11, in,
                            inlen) == OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_NOACK;  // a client without http/1.1 in its list still gets HTTP/1.1
}

Result<std::shared_ptr<SSL_CTX>> make_tls(const std::string& cert, const std::string& key) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Error::internal("TLS: " + openssl_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
    return Error::invalid(fmt::format("TLS certificate {}: {}", sanitize(cert), openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    return Error::invalid(fmt::format("TLS key {}: {}", sanitize(key), openssl_error()));
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return Error::invalid(fmt::format("TLS key {} does not belong to the certificate {}",
                                      sanitize(key), sanitize(cert)));
  SSL_CTX_set_alpn_select_cb(ctx.get(), alpn_select, nullptr);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const ProxyGeneration>> make_generation(ProxyConfig cfg,
                                                               std::shared_ptr<const Engine> eng,
                                                               bool open_log) {
  if (auto st = check_proxy_config(cfg); !st) return st.error();
  auto g = std::make_shared<ProxyGeneration>();
  auto up = parse_upstream(cfg.upstream);
  if (!up) return up.error();
  g->upstream = std::move(*up);
  for (const auto& p : cfg.trusted_proxies) {
    Ip ip;
    int bits = 0;
    if (!parse_prefix(p, ip, bits))
      return Error::invalid(
          fmt::format("trusted proxy '{}' is not an address or prefix", sanitize(p)));
    int bits128 = ip.v4 ? bits + 96 : bits;
    g->trusted.emplace_back(masked(ip, bits128), bits128);
  }
  if (!cfg.tls_cert.empty()) {
    auto t = make_tls(cfg.tls_cert, cfg.tls_key);
    if (!t) return t.error();
    g->tls = std::move(*t);
  }
  if (!cfg.log.empty() && open_log) {
    auto l = DecisionLog::open(cfg.log);
    if (!l) return l.error();
    g->log = std::move(*l);
  }
  const RuleSet& rs = eng->rules();
  g->body_limit = cfg.limits.max_body ? cfg.limits.max_body : rs.request_body_limit;
  g->engine = std::move(eng);
  g->config = std::move(cfg);
  return std::shared_ptr<const ProxyGeneration>(std::move(g));
}

namespace {
std::string listen_error(const SockAddr& a, int err) {
  if (err == EADDRINUSE)
    return fmt::format(
        "listen {}: another server listens there (nginx? apache?): move it to another port "
        "first (docs/waf.md, \"In front of WordPress\")",
        a.text);
  if (err == EACCES)
    return fmt::format(
        "listen {}: permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE (the "
        "systemd unit grants it)",
        a.text);
  if (err == EADDRNOTAVAIL)
    return fmt::format("listen {}: no interface of this machine has that address", a.text);
  return fmt::format("listen {}: {}", a.text, std::strerror(err));
}
}  // namespace

Status check_listen(const SockAddr& listen) {
  UniqueFd fd(::socket(listen.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket", errno);
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&listen.ss), listen.len) != 0)
    return Error::unavailable(listen_error(listen, errno));
  return ok();
}

Status check_upstream(const SockAddr& up) {
  UniqueFd fd(::socket(up.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket", errno);
  timeval tv{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&up.ss), up.len) != 0)
    return Error::unavailable(fmt::format("upstream {}: {}: is the web server running there?",
                                          up.text, std::strerror(errno)));
  return ok();
}

// ---------------------------------------------------------------------------------------------
// The proxy

namespace {

using Clock = std::chrono::steady_clock;
int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxPendingOut = 256 * 1024;  // response bytes waiting for a slow client
constexpr size_t kMaxResponseHead = 64 * 1024;
constexpr size_t kMaxIdleUpstreams = 64;  // per worker
constexpr int kLingerMs = 2000;

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
  int peer_port = 0;
  std::string local_str;
  int local_port = 0;
  size_t index = 0;  // in the worker's list
  bool eof = false;
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
std::string hex_id(uint64_t prefix, unsigned worker, uint64_t seq) {
  return fmt::format("{:08x}{:02x}{:010x}", prefix & 0xffffffffu, worker & 0xffu,
                     seq & 0xffffffffffULL);
}

const char* reason_phrase(int st) {
  switch (st) {
    case 100:
      return "Continue";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return st < 400 ? "OK" : st < 500 ? "Client Error" : "Server Error";
  }
}

bool is_hop_by_hop(std::string_view n) {
  static constexpr std::string_view kNames[] = {"connection", "keep-alive", "proxy-connection",
                                                "te",         "trailer",    "transfer-encoding",
                                                "upgrade"};
  for (auto k : kNames)
    if (iequals(n, k)) return true;
  return false;
}

bool is_forwarding(std::string_view n) {
  static constexpr std::string_view kNames[] = {
      "x-forwarded-for",  "forwarded", "x-forwarded-proto", "x-forwarded-host",
      "x-forwarded-port", "x-real-ip", "x-client-ip"};
  for (auto k : kNames)
    if (iequals(n, k)) return true;
  return false;
}

std::string forwarded_for(const Ip& ip) { return ip.v4 ? ip.str() : "\"[" + ip.str() + "]\""; }

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
  out.append(data);
  out.append("\r\n");
}

}  // namespace

struct Proxy::Shared {
  mutable std::mutex mu;
  std::shared_ptr<const ProxyGeneration> gen;
  std::atomic<uint64_t> version{1};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> requests{0}, passed{0}, blocked{0}, detected{0}, refused{0},
      upstream_errors{0}, timeouts{0}, connections{0}, rejected{0}, active{0}, body_bytes{0};
  std::mutex ip_mu;
  std::unordered_map<Ip, size_t, IpHash> per_ip;
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

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Proxy>> Proxy::create(const SockAddr& listen, unsigned workers,
                                             std::shared_ptr<const ProxyGeneration> gen) {
  std::unique_ptr<Proxy> p(new Proxy());
  p->shared_ = std::make_unique<Shared>();
  p->shared_->gen = std::move(gen);
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint64_t>(mono_ms());
  p->shared_->id_prefix = r & 0xffffffffu;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  sockaddr_storage addr = listen.ss;
  socklen_t len = listen.len;
  for (unsigned i = 0; i < workers; ++i) {
    auto w = std::make_unique<Worker>(*p->shared_, i);
    w->listener.reset(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!w->listener) return errno_error("listen socket", errno);
    int one = 1;
    setsockopt(w->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(w->listener.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (::bind(w->listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
      return Error::unavailable(listen_error(listen, errno));
    if (::listen(w->listener.get(), 1024) != 0) return errno_error("listen " + listen.text, errno);
    if (i == 0) {  // port 0: every worker binds the port the first one got
      len = sizeof addr;
      getsockname(w->listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
      p->port_ =
          ntohs(addr.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    }
    w->ep.reset(epoll_create1(EPOLL_CLOEXEC));
    w->wake.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!w->ep || !w->wake) return errno_error("epoll", errno);
    w->add(w->listener.get(), &w->listener_h, EPOLLIN);
    w->add(w->wake.get(), &w->wake_h, EPOLLIN);
    p->workers_.push_back(std::move(w));
  }
  return p;
}

Proxy::~Proxy() {
  stop();
  join();
}

void Proxy::start() {
  for (auto& w : workers_) threads_.emplace_back([wp = w.get()] { wp->loop(); });
}

void Proxy::publish(std::shared_ptr<const ProxyGeneration> gen) {
  {
    std::lock_guard l(shared_->mu);
    shared_->gen = std::move(gen);
  }
  shared_->version.fetch_add(1);
  uint64_t one = 1;
  for (auto& w : workers_) (void)!::write(w->wake.get(), &one, sizeof one);
}

std::shared_ptr<const ProxyGeneration> Proxy::current() const { return shared_->load(); }

void Proxy::stop() {
  if (!shared_ || shared_->stopping.exchange(true)) return;
  uint64_t one = 1;
  for (auto& w : workers_) (void)!::write(w->wake.get(), &one, sizeof one);
}

void Proxy::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

ProxyCounters Proxy::counters() const {
  const Shared& s = *shared_;
  ProxyCounters c;
  c.requests = s.requests;
  c.passed = s.passed;
  c.blocked = s.blocked;
  c.detected = s.detected;
  c.refused = s.refused;
  c.upstream_errors = s.upstream_errors;
  c.timeouts = s.timeouts;
  c.connections = s.connections;
  c.rejected_connections = s.rejected;
  c.active_connections = s.active;
  c.body_bytes_buffered = s.body_bytes;
  return c;
}

// ---------------------------------------------------------------------------------------------
// The loop

void Proxy::Worker::refresh_generation() {
  uint64_t v = sh.version.load(std::memory_order_acquire);
  if (v == gen_version) return;
  gen = sh.load();
  gen_version = v;
  // Pooled connections to an address the new configuration no longer names are closed.
  std::erase_if(idle, [&](Upstream* u) {
    if (u->address == gen->upstream.text) return false;
    close_upstream(u);
    return true;
  });
}

void Proxy::Worker::loop() {
  epoll_event evs[256];
  int64_t last_sweep = 0;
  refresh_generation();
  for (;;) {
    int n = epoll_wait(ep.get(), evs, 256, pending.empty() ? 250 : 0);
    now = mono_ms();
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<Handle*>(evs[i].data.ptr);
      if (h->dead) continue;
      on_event(h, evs[i].events);
    }
    if (!pending.empty()) {
      std::vector<Conn*> turn;
      turn.swap(pending);
      for (Conn* c : turn) {
        c->queued = false;
        if (!c->dead) drive(c);
      }
    }
    if (accept_paused_until && now >= accept_paused_until && listener) {
      accept_paused_until = 0;
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.ptr = &listener_h;
      epoll_ctl(ep.get(), EPOLL_CTL_MOD, listener.get(), &e);
    }
    if (sh.stopping.load(std::memory_order_relaxed) && !draining) {
      draining = true;
      drain_deadline = now + (gen ? gen->config.limits.drain_timeout_ms : 10'000);
      epoll_ctl(ep.get(), EPOLL_CTL_DEL, listener.get(), nullptr);
      listener.reset();
      for (Conn* c : std::vector<Conn*>(conns))
        if (!c->dead && c->st == Conn::St::kHead && c->in.empty() && !c->req) kill(c);
    }
    if (now - last_sweep >= 250 || draining) {
      last_sweep = now;
      sweep();
    }
    reap();
    if (draining && (conns.empty() || now >= drain_deadline)) break;
  }
  for (Conn* c : std::vector<Conn*>(conns)) kill(c);
  for (Upstream* u : idle) close_upstream(u);
  idle.clear();
  reap();
}

void Proxy::Worker::on_event(Handle* h, uint32_t ev) {
  switch (h->kind) {
    case Kind::kListener:
      accept_all();
      return;
    case Kind::kWake: {
      uint64_t v;
      (void)!::read(wake.get(), &v, sizeof v);
      refresh_generation();
      return;
    }
    case Kind::kClient: {
      auto* c = static_cast<Conn*>(h);
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->can_read = true;
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->rdhup = true;
      drive(c);
      return;
    }
    case Kind::kUpstream: {
      auto* u = static_cast<Upstream*>(h);
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) u->can_read = true;
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) u->rdhup = true;
      if (u->owner) {
        drive(u->owner);
      } else if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        // An idle connection that speaks or closes is of no more use.
        std::erase(idle, u);
        close_upstream(u);
      }
      return;
    }
  }
}

void Proxy::Worker::accept_all() {
  for (int k = 0; k < 64 && listener; ++k) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = accept4(listener.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: the listener would report at once again (a busy loop); it is
        // left alone for 100 ms while connections end.
        accept_paused_until = now + 100;
        epoll_event e{};
        e.data.ptr = &listener_h;
        epoll_ctl(ep.get(), EPOLL_CTL_MOD, listener.get(), &e);
      }
      return;  // EAGAIN, or a connection that went away (ECONNABORTED)
    }
    UniqueFd cfd(fd);
    refresh_generation();
    const ProxyLimits& L = gen->config.limits;
    Ip peer;
    int port = 0;
    char txt[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &a->sin_addr, txt, sizeof txt);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &a->sin6_addr, txt, sizeof txt);
      port = ntohs(a->sin6_port);
    }
    parse_ip(txt, peer);
    // IPv6 clients are counted per /64 (one customer's network), IPv4 per address.
    Ip key = peer.v4 ? peer : masked(peer, 64);
    if (sh.active.load() >= L.max_connections || !sh.acquire_ip(key, L.max_connections_per_ip)) {
      ++sh.rejected;
      continue;  // closed: a full house or one address holding its whole share
    }
    ++sh.connections;
    ++sh.active;
    auto* c = new Conn();
    c->fd = std::move(cfd);
    c->peer = peer;
    c->ip_key = key;
    c->peer_str = peer.str();
    c->peer_port = port;
    sockaddr_storage ls{};
    socklen_t llen = sizeof ls;
    if (getsockname(c->fd.get(), reinterpret_cast<sockaddr*>(&ls), &llen) == 0) {
      char lt[INET6_ADDRSTRLEN] = {};
      if (ls.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ls);
        inet_ntop(AF_INET, &a->sin_addr, lt, sizeof lt);
        c->local_port = ntohs(a->sin_port);
      } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ls);
        inet_ntop(AF_INET6, &a->sin6_addr, lt, sizeof lt);
        c->local_port = ntohs(a->sin6_port);
      }
      Ip lip;
      c->local_str = parse_ip(lt, lip) ? lip.str() : lt;
    }
    int one = 1;
    setsockopt(c->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->touch = now;
    c->index = conns.size();
    conns.push_back(c);
    if (gen->tls) {
      c->ssl = SSL_new(gen->tls.get());
      if (!c->ssl) {
        kill(c);
        continue;
      }
      SSL_set_fd(c->ssl, c->fd.get());
      SSL_set_accept_state(c->ssl);
      c->st = Conn::St::kHandshake;
      c->head_started = now;
    }
    add(c->fd.get(), c, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
    drive(c);
  }
}

// ---------------------------------------------------------------------------------------------
// Client I/O

ssize_t Proxy::Worker::rd(Conn* c, char* p, size_t n) {
  if (c->ssl) {
    ERR_clear_error();
    size_t got = 0;
    if (SSL_read_ex(c->ssl, p, n, &got) == 1) return static_cast<ssize_t>(got);
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_ZERO_RETURN) return -1;
    return -2;
  }
  if (!c->can_read) return 0;
  for (;;) {
    ssize_t r = ::recv(c->fd.get(), p, n, 0);
    if (r > 0) {
      if (static_cast<size_t>(r) < n && !c->rdhup) c->can_read = false;
      return r;
    }
    if (r == 0) return -1;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->can_read = false;
      return 0;
    }
    return -2;
  }
}

ssize_t Proxy::Worker::wr(Conn* c, const char* p, size_t n) {
  if (c->ssl) {
    ERR_clear_error();
    size_t done = 0;
    if (SSL_write_ex(c->ssl, p, n, &done) == 1) return static_cast<ssize_t>(done);
    int e = SSL_get_error(c->ssl, 0);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -2;
  }
  for (;;) {
    ssize_t r = ::send(c->fd.get(), p, n, MSG_NOSIGNAL);
    if (r >= 0) return r;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -2;
  }
}

bool Proxy::Worker::flush(Conn* c) {
  bool moved = false;
  while (c->out_off < c->out.size()) {
    ssize_t w = wr(c, c->out.data() + c->out_off, c->out.size() - c->out_off);
    if (w < 0) {
      kill(c);
      return false;
    }
    if (w == 0) break;
    c->out_off += static_cast<size_t>(w);
    c->touch = now;
    moved = true;
  }
  if (c->out_off == c->out.size()) {
    c->out.clear();
    c->out_off = 0;
    if (c->out.capacity() > 4 * kReadChunk) c->out.shrink_to_fit();
  }
  return moved;
}

void Proxy::Worker::drive(Conn* c) {
  // A few exchanges per turn: a client that pipelines thousands of requests waits its turn
  // behind the other connections of the worker (it is driven again on the next loop).
  int exchanges = 0;
  for (int guard = 0; guard < 10'000 && !c->dead; ++guard) {
    bool progress = flush(c);
    if (c->dead) return;
    if (c->response_done && c->out.empty()) {
      finish_exchange(c);
      progress = true;
      if (c->dead) return;
      if (++exchanges >= 4) {
        if (!c->queued) {
          c->queued = true;
          pending.push_back(c);
        }
        return;
      }
    }
    progress |= step(c);
    if (!progress) break;
  }
}

bool Proxy::Worker::step(Conn* c) {
  switch (c->st) {
    case Conn::St::kHandshake:
      return step_handshake(c);
    case Conn::St::kHead:
      return step_head(c);
    case Conn::St::kBody:
      return step_body(c);
    case Conn::St::kForward:
      return step_forward(c);
    case Conn::St::kLocal:
      return false;  // our own response: flush() sends it
    case Conn::St::kLinger:
      return step_linger(c);
  }
  return false;
}

bool Proxy::Worker::step_handshake(Conn* c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    c->st = Conn::St::kHead;
    c->head_started = 0;
    c->touch = now;
    return true;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
  kill(c);  // not TLS, or a handshake that failed: nothing to answer
  return false;
}

bool Proxy::Worker::step_head(Conn* c) {
  if (c->response_done || !c->out.empty()) return false;  // the last response goes out first
  const http::Limits L;
  for (;;) {
    // Empty lines before a request line are tolerated (RFC 9112 2.2), a few of them.
    size_t lead = 0;
    while (lead < c->in.size() && (c->in[lead] == '\r' || c->in[lead] == '\n')) ++lead;
    if (lead) {
      if (!c->head_started) c->head_started = now;  // the head timeout runs from here
      c->blank_lines += lead;
      if (c->blank_lines > 8) {
        refuse(c, 400, "empty lines instead of a request");
        return true;
      }
      c->in.erase(0, lead);
      c->scan = 0;
    }
    if (!c->in.empty()) {
      if (!c->head_started) c->head_started = now;
      size_t end = http::find_head_end(c->in, c->scan);
      if (end != std::string::npos) {
        on_head(c);
        return true;
      }
      // Bytes before the first line that are only line ends are tolerated (8 at most).
      c->scan = c->in.size() >= 3 ? c->in.size() - 3 : 0;
      if (c->in.size() > L.max_head_bytes + 8) {
        refuse(c, 431, "request head too large");
        return true;
      }
    }
    if (draining && c->in.empty()) {
      kill(c);
      return false;
    }
    size_t room = L.max_head_bytes + 9 - c->in.size();
    ssize_t r = rd(c, buf, std::min(room, sizeof buf));
    if (r == 0) return false;
    if (r < 0) {
      if (r == -1 && !c->in.empty() && c->in.find_first_not_of("\r\n") != std::string::npos)
        refuse(c, 400, "the connection ended inside the request head");
      else
        kill(c);
      return false;
    }
    c->in.append(buf, static_cast<size_t>(r));
    c->touch = now;
  }
}

void Proxy::Worker::on_head(Conn* c) {
  refresh_generation();
  c->gen = gen;
  const ProxyGeneration& g = *c->gen;
  ++sh.requests;
  c->id = hex_id(sh.id_prefix, index, ++seq);
  c->retries = 0;
  c->status = 0;
  c->resp_started = false;
  http::HeadParser hp;
  if (hp.parse(c->in) != http::Progress::kDone) {
    refuse(c, hp.error().status,
           hp.error().reason.empty() ? "malformed request head" : hp.error().reason);
    return;
  }
  http::RequestHead h = hp.head();  // views into c->in; the target may be rewritten below
  // Absolute-form ("GET http://host/path"): the server behind would take the authority as
  // the host and the path as the path (RFC 9112 3.2.2); the rules must see the same, so the
  // request becomes origin-form with that authority as its only Host.
  std::string origin;
  bool absolute = false;
  int hosts = 0;
  for (const auto& hd : h.headers) hosts += iequals(hd.name, "host");
  if (h.target.size() > 7 &&
      (iequals(h.target.substr(0, 7), "http://") ||
       (h.target.size() > 8 && iequals(h.target.substr(0, 8), "https://")))) {
    size_t s = h.target.find("//") + 2;
    size_t e = h.target.find_first_of("/?#", s);
    std::string_view auth = h.target.substr(s, e == std::string_view::npos ? e : e - s);
    if (auth.empty() || auth.find('@') != std::string_view::npos) {
      refuse(c, 400, "malformed absolute-form request target");
      return;
    }
    std::string_view rest = e == std::string_view::npos ? std::string_view() : h.target.substr(e);
    origin = rest.empty() || rest.front() != '/' ? "/" + std::string(rest) : std::string(rest);
    h.target = origin;
    std::erase_if(h.headers, [](const http::Header& hd) { return iequals(hd.name, "host"); });
    h.headers.push_back({"Host", auth});
    absolute = true;
  }
  if (hosts > 1 && !absolute) {
    refuse(c, 400, "more than one Host header");
    return;
  }
  c->head_req = h.method == "HEAD";
  c->http10 = h.version == "HTTP/1.0";
  c->keep_alive = h.keep_alive;
  c->framing = h.framing;
  c->has_body = h.framing != http::Framing::kNone;
  c->body_left = h.content_length;
  c->dec = http::ChunkedDecoder();
  c->body.clear();
  bool expect_continue = false;
  if (const http::Header* e = h.find("expect")) {
    if (!iequals(e->value, "100-continue")) {
      refuse(c, 417, "unsupported Expect");
      return;
    }
    expect_continue = !c->http10;
  }

  // Who the client is: the peer, or — when the peer is a trusted proxy — the last address in
  // X-Forwarded-For that is not one (walking from the right, as each proxy appends).
  Ip client = c->peer;
  bool trusted = g.is_trusted(c->peer);
  std::string xff_in;
  if (trusted) {
    for (const auto& hd : h.headers)
      if (iequals(hd.name, "x-forwarded-for"))
        xff_in += (xff_in.empty() ? "" : ", ") + std::string(hd.value);
    std::string_view rest = xff_in;
    while (!rest.empty()) {
      size_t comma = rest.rfind(',');
      std::string_view part = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      Ip ip;
      if (!parse_ip(part, ip)) break;
      client = ip;
      if (!g.is_trusted(ip)) break;
    }
  }
  Connection conn;
  conn.remote_addr = client.str();
  conn.remote_port = c->peer_port;
  conn.server_addr = c->local_str;
  conn.server_port = c->local_port;

  // The head as the server behind gets it: HTTP/1.1, keep-alive, hop-by-hop fields dropped,
  // forwarding fields set by Mamori (kept and appended to only from a trusted proxy).
  std::string& f = c->fwd;
  f.clear();
  f.reserve(h.head_bytes + 256);
  f.append(h.method).append(" ").append(h.target).append(" HTTP/1.1\r\n");
  const http::Header* host = h.find("host");
  std::string fwd_in;
  for (const auto& hd : h.headers) {
    if (is_hop_by_hop(hd.name) || iequals(hd.name, "content-length") ||
        iequals(hd.name, "expect") || iequals(hd.name, "x-request-id"))
      continue;
    // Names with '_' are not passed on (as nginx and Apache drop them): CGI-style servers
    // read X_Forwarded_For as X-Forwarded-For, around the rewriting below and the rules.
    if (hd.name.find('_') != std::string_view::npos) continue;
    if (is_forwarding(hd.name)) {
      if (!trusted) continue;
      if (iequals(hd.name, "x-forwarded-for")) continue;  // rewritten below
      if (iequals(hd.name, "forwarded")) {
        fwd_in += (fwd_in.empty() ? "" : ", ") + std::string(hd.value);
        continue;
      }
      if (iequals(hd.name, "x-real-ip")) continue;
    }
    f.append(hd.name).append(": ").append(hd.value).append("\r\n");
  }
  if (!host) f.append("Host: ").append(g.upstream.host).append("\r\n");
  const char* proto = c->ssl ? "https" : "http";
  f.append("X-Forwarded-For: ")
      .append(xff_in.empty() ? c->peer_str : xff_in + ", " + c->peer_str)
      .append("\r\n");
  f.append("X-Real-IP: ").append(client.str()).append("\r\n");
  if (!trusted || !h.find("x-forwarded-proto"))
    f.append("X-Forwarded-Proto: ").append(proto).append("\r\n");
  std::string fwd_elem = "for=" + forwarded_for(c->peer) + ";proto=" + proto;
  if (host && !host->value.empty() &&
      std::all_of(host->value.begin(), host->value.end(), [](unsigned char ch) {
        return std::isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '[' || ch == ']';
      })) {
    fwd_elem += ";host=\"" + std::string(host->value) + "\"";
    if (!trusted || !h.find("x-forwarded-host"))
      f.append("X-Forwarded-Host: ").append(host->value).append("\r\n");
  }
  f.append("Forwarded: ")
      .append(fwd_in.empty() ? fwd_elem : fwd_in + ", " + fwd_elem)
      .append("\r\n");
  f.append("X-Request-Id: ").append(c->id).append("\r\n");
  c->logged_host = host ? std::string(host->value) : std::string();

  c->req = std::make_unique<Request>(Request::from_http(h, std::string(), std::move(conn)));
  size_t head_bytes = h.head_bytes;
  c->ev = g.engine->begin(*c->req);
  c->in.erase(0, head_bytes);
  c->scan = 0;
  c->head_started = 0;
  c->touch = now;

  if (c->ev.blocked()) {
    if (g.config.mode == ProxyMode::kBlock) {
      Verdict v = c->ev.finish();
      if (c->has_body) c->close_after = true;  // its body is not read
      block(c, v);
      return;
    }
  }
  if (c->req->method == "CONNECT") {  // after the rules, so that they judge it first
    c->ev.finish();
    refuse(c, 405, "CONNECT is not proxied");
    return;
  }
  if (!c->http10 && !c->req->header("host")) {  // RFC 9112 3.2: a 400, after the rules
    c->ev.finish();
    refuse(c, 400, "an HTTP/1.1 request without Host");
    return;
  }
  uint64_t limit = std::min<uint64_t>(g.body_limit, c->ev.body_limit());
  if (c->framing == http::Framing::kLength && c->body_left > limit) {
    c->ev.finish();
    refuse(c, 413,
           fmt::format("the body ({} bytes) is larger than the limit ({} bytes)", c->body_left,
                       limit));
    return;
  }
  if (!c->has_body) {
    on_body_done(c);
    return;
  }
  if (expect_continue) c->out.append("HTTP/1.1 100 Continue\r\n\r\n");
  c->st = Conn::St::kBody;
  c->body_started = now;
}

bool Proxy::Worker::step_body(Conn* c) {
  const ProxyGeneration& g = *c->gen;
  uint64_t limit = std::min<uint64_t>(g.body_limit, c->ev.body_limit());
  for (;;) {
    if (!c->in.empty()) {
      size_t used = 0;
      size_t before = c->body.size();
      if (c->framing == http::Framing::kLength) {
        used = static_cast<size_t>(std::min<uint64_t>(c->body_left, c->in.size()));
        c->body.append(c->in, 0, used);
        c->body_left -= used;
      } else {
        used = c->dec.feed(c->in, c->body);
        if (c->dec.failed()) {
          c->ev.finish();
          refuse(c, 400, "malformed chunked body: " + c->dec.error());
          return true;
        }
        if (c->body.size() > limit) {
          c->ev.finish();
          refuse(c, 413,
                 fmt::format("the chunked body is larger than the limit ({} bytes)", limit));
          return true;
        }
      }
      // Memory is counted as it is used (an announced length reserves nothing): all bodies
      // being read share max_body_memory.
      uint64_t grown = c->body.size() - before;
      if (grown && !sh.reserve(grown, g.config.limits.max_body_memory)) {
        c->ev.finish();
        refuse(c, 503, "too many request bodies in memory at once");
        return true;
      }
      c->reserved += grown;
      c->in.erase(0, used);
      bool done = c->framing == http::Framing::kLength ? c->body_left == 0 : c->dec.done();
      if (done) {
        on_body_done(c);
        return true;
      }
    }
    ssize_t r = rd(c, buf, sizeof buf);
    if (r == 0) return false;
    if (r < 0) {
      kill(c);  // the client went away in the middle of its body: nothing to answer
      return false;
    }
    c->in.append(buf, static_cast<size_t>(r));
    c->touch = now;
  }
}

void Proxy::Worker::on_body_done(Conn* c) {
  const ProxyGeneration& g = *c->gen;
  c->req->body = std::move(c->body);
  c->body.clear();
  Verdict v = c->ev.finish();
  if (v.blocked) {
    if (g.config.mode == ProxyMode::kBlock) {
      block(c, v);
      return;
    }
    ++sh.detected;
    c->status = v.status >= 400 ? v.status : 403;  // what block mode would have answered
    log_decision(c, "detected", &v, v.parse_error);
    c->status = 0;
  }
  if (c->has_body || !c->req->body.empty())
    c->fwd.append("Content-Length: ").append(std::to_string(c->req->body.size())).append("\r\n");
  c->fwd.append("\r\n");
  c->st = Conn::St::kForward;
  start_upstream(c);
}

// ---------------------------------------------------------------------------------------------
// Upstream

void Proxy::Worker::start_upstream(Conn* c) {
  const ProxyGeneration& g = *c->gen;
  Upstream* u = nullptr;
  while (!idle.empty()) {
    Upstream* cand = idle.back();
    idle.pop_back();
    // Anything readable on an idle connection (the server closed it, or sent bytes after its
    // last response) means it is not to be used: those bytes would be the next client's.
    char probe;
    ssize_t pr = ::recv(cand->fd.get(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    bool clean = pr < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (clean && cand->address == g.upstream.text) {
      u = cand;
      break;
    }
    close_upstream(cand);
  }
  if (u) {
    u->reused = true;
    u->st = Upstream::St::kSending;
  } else {
    u = new Upstream();
    u->address = g.upstream.text;
    u->fd.reset(::socket(g.upstream.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!u->fd) {
      delete u;
      upstream_failed(c, 502, fmt::format("socket: {}", std::strerror(errno)));
      return;
    }
    int one = 1;
    setsockopt(u->fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r =
        ::connect(u->fd.get(), reinterpret_cast<const sockaddr*>(&g.upstream.ss), g.upstream.len);
    if (r != 0 && errno != EINPROGRESS) {
      int e = errno;
      close_upstream(u);
      c->up = nullptr;
      c->retries = 1;  // a fresh connection that fails is not retried
      upstream_failed(c, 502, fmt::format("connect {}: {}", g.upstream.text, std::strerror(e)));
      return;
    }
    u->st = r == 0 ? Upstream::St::kSending : Upstream::St::kConnecting;
    add(u->fd.get(), u, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
  }
  u->owner = c;
  u->in.clear();
  u->scan = 0;
  u->sent = 0;
  u->got_bytes = false;
  u->dec = http::ChunkedDecoder();
  c->up = u;
  c->touch = now;
}

void Proxy::Worker::upstream_failed(Conn* c, int status, const std::string& why, bool may_retry) {
  if (Upstream* u = c->up) {
    u->owner = nullptr;
    c->up = nullptr;
    // Sent again only when the server cannot have acted on it: the request did not all go
    // out, or its method is safe (a POST the server read and then dropped is not repeated).
    const std::string_view m = c->req ? std::string_view(c->req->method) : std::string_view();
    const bool safe = m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE";
    const size_t total = c->fwd.size() + (c->req ? c->req->body.size() : 0);
    bool retry =
        may_retry && u->reused && !u->got_bytes && c->retries == 0 && (safe || u->sent < total);
    close_upstream(u);
    if (retry && !c->resp_started) {
      // A kept-alive connection the server closed while it sat in the pool: try a new one.
      ++c->retries;
      start_upstream(c);
      return;
    }
  }
  ++sh.upstream_errors;
  if (c->resp_started) {
    kill(c);  // the response is cut: closing is the only way to say so
    return;
  }
  c->status = status;
  log_decision(c, "upstream-error", nullptr, why);
  c->close_after = true;
  local_response(c, status, "", true);
}

bool Proxy::Worker::step_forward(Conn* c) {
  Upstream* u = c->up;
  if (!u) return false;
  const ProxyGeneration& g = *c->gen;
  if (u->st == Upstream::St::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(u->fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0) {
      // Connected only when writable; an EINPROGRESS socket reports no error yet either.
      sockaddr_storage peer{};
      socklen_t pl = sizeof peer;
      if (getpeername(u->fd.get(), reinterpret_cast<sockaddr*>(&peer), &pl) != 0) return false;
      u->st = Upstream::St::kSending;
    } else {
      upstream_failed(c, 502, fmt::format("connect {}: {}", g.upstream.text, std::strerror(err)));
      return true;
    }
  }
  if (u->st == Upstream::St::kSending) {
    const std::string& body = c->req->body;
    size_t total = c->fwd.size() + body.size();
    while (u->sent < total) {
      iovec iov[2];
      int n = 0;
      if (u->sent < c->fwd.size()) {
        iov[n++] = {const_cast<char*>(c->fwd.data()) + u->sent, c->fwd.size() - u->sent};
        if (!body.empty()) iov[n++] = {const_cast<char*>(body.data()), body.size()};
      } else {
        size_t off = u->sent - c->fwd.size();
        iov[n++] = {const_cast<char*>(body.data()) + off, body.size() - off};
      }
      msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = static_cast<size_t>(n);
      ssize_t w = ::sendmsg(u->fd.get(), &mh, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        upstream_failed(c, 502,
                        fmt::format("sending to {}: {}", g.upstream.text, std::strerror(errno)));
        return true;
      }
      u->sent += static_cast<size_t>(w);
      c->touch = now;
    }
    u->st = Upstream::St::kHead;
    return true;
  }
  // Reading the response: only while the client takes what it was given.
  if (c->out.size() - c->out_off > kMaxPendingOut) return false;
  if (!u->in.empty() && u->st == Upstream::St::kBody) {
    std::string held;
    held.swap(u->in);
    return upstream_data(c, held);
  }
  if (!u->can_read) return false;
  ssize_t r;
  for (;;) {
    r = ::recv(u->fd.get(), buf, sizeof buf, 0);
    if (r >= 0 || errno != EINTR) break;
  }
  if (r > 0 && static_cast<size_t>(r) < sizeof buf && !u->rdhup) u->can_read = false;
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      u->can_read = false;
      return false;
    }
    upstream_failed(c, 502,
                    fmt::format("reading from {}: {}", g.upstream.text, std::strerror(errno)));
    return true;
  }
  if (r == 0) {
    if (u->st == Upstream::St::kBody && u->framing == http::Framing::kUntilClose) {
      response_complete(c);
      return true;
    }
    upstream_failed(
        c, 502,
        u->st == Upstream::St::kHead
            ? fmt::format("{} closed the connection before answering", g.upstream.text)
            : fmt::format("{} closed the connection inside its response", g.upstream.text));
    return true;
  }
  u->got_bytes = true;
  c->touch = now;
  return upstream_data(c, std::string_view(buf, static_cast<size_t>(r)));
}

// Response bytes: the head while it is incomplete, then the body by its framing.
bool Proxy::Worker::upstream_data(Conn* c, std::string_view data) {
  Upstream* u = c->up;
  if (u->st == Upstream::St::kHead) {
    u->in.append(data);
    return upstream_head(c);
  }
  switch (u->framing) {
    case http::Framing::kLength: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(u->remaining, data.size()));
      if (c->out_mode == Out::kChunk)
        append_chunk(c->out, data.substr(0, n));
      else
        c->out.append(data.substr(0, n));
      u->remaining -= n;
      if (n < data.size()) u->keep_alive = false;  // more than it announced: not reused
      if (u->remaining == 0) response_complete(c);
      return true;
    }
    case http::Framing::kChunked: {
      std::string plain;
      size_t used = u->dec.feed(data, plain);
      if (u->dec.failed()) {
        upstream_failed(c, 502, "malformed chunked response: " + u->dec.error());
        return true;
      }
      if (c->out_mode == Out::kChunk)
        append_chunk(c->out, plain);
      else
        c->out.append(plain);
      if (u->dec.done()) {
        if (used < data.size()) u->keep_alive = false;
        response_complete(c);
      }
      return true;
    }
    case http::Framing::kUntilClose:
      if (c->out_mode == Out::kChunk)
        append_chunk(c->out, data);
      else
        c->out.append(data);
      return true;
    case http::Framing::kNone:
      u->keep_alive = false;  // bytes after a response without a body
      response_complete(c);
      return true;
  }
  return true;
}

bool Proxy::Worker::upstream_head(Conn* c) {
  Upstream* u = c->up;
  for (;;) {
    size_t end = http::find_head_end(u->in, u->scan);
    if (end == std::string::npos) {
      u->scan = u->in.size() >= 3 ? u->in.size() - 3 : 0;
      if (u->in.size() > kMaxResponseHead) upstream_failed(c, 502, "response head too large");
      return true;
    }
    http::ResponseHead rh;
    http::ParseError err;
    if (http::parse_response_head(u->in, c->head_req, rh, err, kMaxResponseHead) !=
        http::Progress::kDone) {
      upstream_failed(c, 502, err.reason);
      return true;
    }
    if (rh.status == 101) {
      upstream_failed(c, 502, "the server switched protocols, which Mamori did not ask for");
      return true;
    }
    if (rh.status < 200) {  // 1xx: passed on to HTTP/1.1 clients, then the real response
      if (!c->http10 && rh.status != 100) {  // rebuilt, as the final head is
        c->out.append("HTTP/1.1 ").append(std::to_string(rh.status)).append(" ");
        c->out.append(rh.reason.empty() ? std::string_view(reason_phrase(rh.status)) : rh.reason);
        c->out.append("\r\n");
        for (const auto& hd : rh.headers)
          if (!is_hop_by_hop(hd.name) && !iequals(hd.name, "content-length"))
            c->out.append(hd.name).append(": ").append(hd.value).append("\r\n");
        c->out.append("\r\n");
        c->resp_started = true;
      }
      u->in.erase(0, rh.head_bytes);
      u->scan = 0;
      if (u->in.empty()) return true;
      continue;
    }
    // The client's framing: chunked re-encoded for HTTP/1.1 (also for a response that ends
    // at close, so the client's connection survives it); plain bytes and close for HTTP/1.0.
    const bool chunk_to_client = !c->http10 && (rh.framing == http::Framing::kChunked ||
                                                rh.framing == http::Framing::kUntilClose);
    if ((rh.framing == http::Framing::kChunked || rh.framing == http::Framing::kUntilClose) &&
        c->http10)
      c->close_after = true;
    if (!c->keep_alive) c->close_after = true;
    if (c->gen && sh.stopping.load(std::memory_order_relaxed)) c->close_after = true;
    std::string& o = c->out;
    o.append("HTTP/1.1 ").append(std::to_string(rh.status)).append(" ");
    o.append(rh.reason.empty() ? std::string_view(reason_phrase(rh.status)) : rh.reason);
    o.append("\r\n");
    // Fields the server lists in its Connection header are for this hop only.
    std::vector<std::string_view> hop;
    for (const auto& hd : rh.headers)
      if (iequals(hd.name, "connection"))
        for (auto tok : split(hd.value, ',')) hop.push_back(trim(tok));
    for (const auto& hd : rh.headers) {
      if (is_hop_by_hop(hd.name)) continue;
      if (iequals(hd.name, "content-length") &&
          (rh.framing == http::Framing::kChunked || rh.status == 204 || rh.status < 200))
        continue;
      if (std::any_of(hop.begin(), hop.end(), [&](std::string_view t) {
            return iequals(t, hd.name) && !iequals(t, "content-length");
          }))
        continue;
      o.append(hd.name).append(": ").append(hd.value).append("\r\n");
    }
    if (chunk_to_client) o.append("Transfer-Encoding: chunked\r\n");
    if (c->close_after)
      o.append("Connection: close\r\n");
    else if (c->http10)
      o.append("Connection: keep-alive\r\n");
    o.append("\r\n");
    c->resp_started = true;
    c->status = rh.status;
    c->out_mode = chunk_to_client ? Out::kChunk : Out::kRaw;
    u->framing = rh.framing;
    u->remaining = rh.content_length;
    u->keep_alive = rh.keep_alive;
    u->st = Upstream::St::kBody;
    std::string rest = u->in.substr(rh.head_bytes);
    u->in.clear();
    u->scan = 0;
    if (rh.framing == http::Framing::kNone) {
      if (!rest.empty()) u->keep_alive = false;
      response_complete(c);
      return true;
    }
    if (!rest.empty()) return upstream_data(c, rest);
    return true;
  }
}

void Proxy::Worker::response_complete(Conn* c) {
  Upstream* u = c->up;
  if (u) {
    if (u->framing == http::Framing::kChunked || u->framing == http::Framing::kUntilClose) {
      if (c->out_mode == Out::kChunk) c->out.append("0\r\n\r\n");
    }
    bool reusable = u->keep_alive && u->framing != http::Framing::kUntilClose;
    c->up = nullptr;
    u->owner = nullptr;
    release_upstream(u, reusable);
  }
  ++sh.passed;
  c->response_done = true;
}

void Proxy::Worker::release_upstream(Upstream* u, bool reusable) {
  if (!reusable || draining || idle.size() >= kMaxIdleUpstreams || !gen ||
      u->address != gen->upstream.text) {
    close_upstream(u);
    return;
  }
  u->st = Upstream::St::kIdle;
  u->reused = true;
  u->in.clear();
  u->in.shrink_to_fit();
  u->idle_since = now;
  idle.push_back(u);
  // Anything that arrived while it was busy and was not read (a close) shows on the next
  // event; an edge that already passed is caught by the retry on first use.
}

void Proxy::Worker::close_upstream(Upstream* u) {
  if (u->dead) return;
  u->dead = true;
  if (u->fd) epoll_ctl(ep.get(), EPOLL_CTL_DEL, u->fd.get(), nullptr);
  u->fd.reset();
  graveyard.push_back(u);
}

// ---------------------------------------------------------------------------------------------
// Answers of our own, the log, the end of an exchange

void Proxy::Worker::local_response(Conn* c, int status, std::string_view extra, bool close) {
  std::string body;
  if (status == 403)
    body = fmt::format(
        "This request was blocked by the site's web application firewall (Mamori).\n"
        "If you think this is a mistake, tell the site's operator this reference: {}\n",
        c->id);
  else
    body = fmt::format("{} {}\nReference: {}\n", status, reason_phrase(status), c->id);
  if (close) c->close_after = true;
  c->out.append(fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
      "Cache-Control: no-store\r\nX-Request-Id: {}\r\n{}{}\r\n",
      status, reason_phrase(status), body.size(), c->id, extra,
      c->close_after ? "Connection: close\r\n" : (c->http10 ? "Connection: keep-alive\r\n" : "")));
  if (!c->head_req) c->out.append(body);
  c->status = status;
  c->resp_started = true;
  c->st = Conn::St::kLocal;
  c->response_done = true;
}

void Proxy::Worker::refuse(Conn* c, int status, const std::string& why) {
  ++sh.refused;
  if (c->id.empty()) c->id = hex_id(sh.id_prefix, index, ++seq);
  c->status = status;
  log_decision(c, "refused", nullptr, why);
  c->in.clear();  // what follows a refused request cannot be framed
  local_response(c, status, "", true);
}

void Proxy::Worker::block(Conn* c, const Verdict& v) {
  int status = v.status >= 400 ? v.status : 403;
  c->status = status;
  if (v.rule_id == 0 && !v.parse_error.empty()) {
    ++sh.refused;  // an engine limit, not a rule (SecRequestBodyNoFilesLimit …)
    log_decision(c, "refused", &v, v.parse_error);
  } else {
    ++sh.blocked;
    log_decision(c, "blocked", &v, v.parse_error);
  }
  if (status >= 500 || status == 413 || status == 400) c->close_after = true;
  local_response(c, status, "", c->close_after || !c->keep_alive);
}

void Proxy::Worker::log_decision(Conn* c, const char* action, const Verdict* v,
                                 const std::string& reason) {
  const ProxyGeneration* g = c->gen ? c->gen.get() : gen.get();
  if (!g || !g->log) return;
  using nlohmann::json;
  auto t = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string ts =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
  json j;
  j["time"] = ts;
  j["id"] = c->id;
  j["action"] = action;
  j[std::string_view(action) == "detected" ? "would_status" : "status"] = c->status;
  j["client"] = c->req ? c->req->conn.remote_addr : c->peer_str;
  if (c->req && c->req->conn.remote_addr != c->peer_str) j["peer"] = c->peer_str;
  if (c->req) {
    j["method"] = c->req->method;
    j["host"] = c->logged_host.substr(0, 256);
    j["uri"] = c->req->uri_raw.substr(0, 1024);
  }
  if (v) {
    j["score"] = v->anomaly_score;
    json rules = json::array();
    for (const auto& m : v->matches) {
      if (rules.size() >= 32) break;  // a line stays bounded whatever the request
      json r;
      r["id"] = m.rule_id;
      r["phase"] = m.phase;
      r["variable"] = m.variable.substr(0, 256);
      r["value"] = m.value;
      r["msg"] = m.msg;
      if (!m.severity.empty()) r["severity"] = m.severity;
      rules.push_back(std::move(r));
    }
    j["rules"] = std::move(rules);
    if (v->limits_hit) j["regex_limits_hit"] = v->limits_hit;
  }
  if (!reason.empty()) j["reason"] = reason;
  // ASCII only (\u escapes): no U+2028 or NEL that a line-splitting reader would break on.
  g->log->write(j.dump(-1, ' ', true, json::error_handler_t::replace) + "\n");
}

void Proxy::Worker::end_request(Conn* c) {
  if (c->reserved) {
    sh.body_bytes.fetch_sub(c->reserved);
    c->reserved = 0;
  }
  if (c->up) {
    Upstream* u = c->up;
    c->up = nullptr;
    u->owner = nullptr;
    close_upstream(u);
  }
  c->ev = Evaluation();  // before the request it refers to
  c->req.reset();
  c->body.clear();
  if (c->body.capacity() > 4 * kReadChunk) c->body.shrink_to_fit();
  c->fwd.clear();
  if (c->fwd.capacity() > 4 * kReadChunk) c->fwd.shrink_to_fit();
  c->gen.reset();
  c->response_done = false;
  c->resp_started = false;
}

void Proxy::Worker::finish_exchange(Conn* c) {
  bool close = c->close_after || draining;
  end_request(c);
  if (close) {
    begin_close(c);
    return;
  }
  c->st = Conn::St::kHead;
  c->id.clear();
  c->touch = now;
  c->head_started = 0;
  c->blank_lines = 0;
  c->scan = 0;
  if (c->in.capacity() > 4 * kReadChunk && c->in.size() < kReadChunk) c->in.shrink_to_fit();
}

void Proxy::Worker::begin_close(Conn* c) {
  // Lingering close: stop sending, then read and drop what the client still sends for a
  // moment, so that the response already written is not destroyed by a reset.
  if (c->ssl) {
    ERR_clear_error();
    SSL_shutdown(c->ssl);
  }
  ::shutdown(c->fd.get(), SHUT_WR);
  c->st = Conn::St::kLinger;
  c->touch = now;
  c->in.clear();
}

bool Proxy::Worker::step_linger(Conn* c) {
  for (int k = 0; k < 16; ++k) {
    ssize_t r = ::recv(c->fd.get(), buf, sizeof buf, 0);
    if (r > 0) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    kill(c);
    return false;
  }
  return false;
}

void Proxy::Worker::kill(Conn* c) {
  if (c->dead) return;
  c->dead = true;
  if (c->queued) std::erase(pending, c);
  end_request(c);
  if (c->fd) epoll_ctl(ep.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
  // Out of the worker's list (swap with the last).
  Conn* last = conns.back();
  conns[c->index] = last;
  last->index = c->index;
  conns.pop_back();
  sh.release_ip(c->ip_key);
  --sh.active;
  c->fd.reset();
  graveyard.push_back(c);
}

void Proxy::Worker::destroy(Conn* c) {
  if (!c->dead) {
    c->dead = true;
    end_request(c);
    sh.release_ip(c->ip_key);
    --sh.active;
  }
  delete c;
}

void Proxy::Worker::sweep() {
  for (Conn* c : std::vector<Conn*>(conns)) {
    if (c->dead) continue;
    const ProxyLimits& L = c->gen ? c->gen->config.limits : gen->config.limits;
    int64_t deadline = 0;
    switch (c->st) {
      case Conn::St::kHandshake:
        deadline = c->head_started + L.header_timeout_ms;
        break;
      case Conn::St::kHead:
        deadline = c->head_started ? c->head_started + L.header_timeout_ms
                                   : c->touch + (draining ? 0 : L.idle_timeout_ms);
        if (!c->out.empty()) deadline = c->touch + L.send_timeout_ms;
        break;
      case Conn::St::kBody:
        // Idle at most body_timeout, and on average at least 1 KiB/s after the first
        // body_timeout (a body dripped a byte at a time cannot hold its connection).
        deadline = std::min<int64_t>(
            c->touch + L.body_timeout_ms,
            c->body_started + L.body_timeout_ms +
                static_cast<int64_t>(std::min<uint64_t>(c->body.size(), uint64_t{1} << 40)));
        break;
      case Conn::St::kForward:
        deadline = c->touch + (c->up && c->up->st == Upstream::St::kConnecting
                                   ? L.upstream_connect_timeout_ms
                                   : std::max(L.upstream_timeout_ms, L.send_timeout_ms));
        break;
      case Conn::St::kLocal:
        deadline = c->touch + L.send_timeout_ms;
        break;
      case Conn::St::kLinger:
        deadline = c->touch + kLingerMs;
        break;
    }
    if (draining && now >= drain_deadline) deadline = now;
    if (now < deadline) continue;
    if (c->st == Conn::St::kLinger) {
      kill(c);
      continue;
    }
    ++sh.timeouts;
    if (c->st == Conn::St::kHead && c->head_started && !c->resp_started && c->out.empty()) {
      refuse(c, 408, "the request head did not arrive in time");
      drive(c);
    } else if (c->st == Conn::St::kBody && !c->resp_started) {
      c->ev.finish();
      refuse(c, 408, "the request body did not arrive in time");
      drive(c);
    } else if (c->st == Conn::St::kForward && !c->resp_started) {
      upstream_failed(c, 504, fmt::format("no answer from {} in time", c->gen->upstream.text),
                      false);
      drive(c);
      if (!c->dead && c->out.size() > c->out_off) continue;
    } else {
      kill(c);
    }
  }
  // Idle pooled connections are closed after the idle timeout.
  if (gen) {
    std::erase_if(idle, [&](Upstream* u) {
      if (now - u->idle_since < gen->config.limits.idle_timeout_ms) return false;
      close_upstream(u);
      return true;
    });
  }
}

}  // namespace mamori::waf
