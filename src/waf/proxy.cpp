// The reverse proxy (see proxy.h, proxy_impl.h): the parts of a generation (TLS context,
// decision log), the checks of `--check`, the Proxy object, the worker loop and accepting.
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
#include "waf/proxy_impl.h"

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

namespace proxy_detail {

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

}  // namespace proxy_detail

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

std::pair<std::vector<std::pair<int64_t, uint64_t>>, std::vector<std::pair<int64_t, uint64_t>>>
Proxy::rule_counts() const {
  std::lock_guard l(shared_->rules_mu);
  return {{shared_->rule_blocks.begin(), shared_->rule_blocks.end()},
          {shared_->rule_detects.begin(), shared_->rule_detects.end()}};
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

}  // namespace mamori::waf
