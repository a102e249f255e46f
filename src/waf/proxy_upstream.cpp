// The proxy's server side (see proxy_impl.h): connections to the upstream and their pool,
// relaying the response, and the end of an exchange (keep-alive, lingering close, timeouts).
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
#include "waf/proxy.h"
#include "waf/proxy_impl.h"

namespace mamori::waf {

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
