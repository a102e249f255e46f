// The proxy's client side (see proxy_impl.h): reading a request head and body, evaluating
// them, answering what Mamori answers itself (403, 4xx, 5xx) and the decision log.
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
  c->client_unknown = false;
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
  bool client_unknown = false;
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
      while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
      while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
      // "203.0.113.7:5555" (Azure's gateways add the port), "[2001:db8::7]:443", "[::1]"
      if (part.starts_with('[')) {
        size_t end = part.find(']');
        part = end == std::string_view::npos ? std::string_view() : part.substr(1, end - 1);
      } else if (part.find(':') == part.rfind(':') && part.find('.') != std::string_view::npos) {
        part = part.substr(0, part.find(':'));
      }
      Ip ip;
      if (!parse_ip(part, ip)) break;
      client = ip;
      if (!g.is_trusted(ip)) break;
    }
    // Every hop a trusted proxy (or the first untrusted one unreadable, "unknown"): the client
    // is not known, and a trusted proxy is never logged as one (guard would ban it).
    client_unknown = g.is_trusted(client);
  }
  c->client_unknown = client_unknown;
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
  // A virtual patch: the request reaches a component the last scan found vulnerable.
  bool vp_detect_only = false;
  if (!v.blocked && g.vpatches && g.config.virtual_patches != VirtualPatchMode::kOff)
    if (auto hit = g.vpatches->check(*c->req)) {
      v.blocked = true;
      v.status = 403;
      v.rule_id = hit->rule_id;
      Match m;
      m.rule_id = hit->rule_id;
      m.phase = 2;
      m.variable = std::move(hit->variable);
      m.value = sanitize(std::string_view(hit->value).substr(0, 200));
      m.msg = std::move(hit->msg);
      m.severity = "CRITICAL";
      v.matches.push_back(std::move(m));
      vp_detect_only = g.config.virtual_patches == VirtualPatchMode::kDetect;
    }
  if (v.blocked) {
    if (g.config.mode == ProxyMode::kBlock && !vp_detect_only) {
      block(c, v);
      return;
    }
    ++sh.detected;
    sh.count_rule(true, v.rule_id);
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
    sh.count_rule(false, v.rule_id);
    // A virtual patch stops visitors of a vulnerable plugin, attackers or not: "shielded",
    // which guard does not count towards a ban.
    log_decision(c, v.rule_id == kVirtualPatchRule ? "shielded" : "blocked", &v, v.parse_error);
  }
  if (status >= 500 || status == 413 || status == 400) c->close_after = true;
  local_response(c, status, "", c->close_after || !c->keep_alive);
}

void Proxy::Worker::log_decision(Conn* c, const char* action, const Verdict* v,
                                 const std::string& reason) {
  const ProxyGeneration* g = c->gen ? c->gen.get() : gen.get();
  if (!g || !g->log) return;
  // Keys in the documented order: time, id, action, status and client first, all Mamori's own,
  // so that a reader (guard) can take them by position before any text the request chose.
  using json = nlohmann::ordered_json;
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
  j["client"] = c->client_unknown ? std::string("unknown")
                : c->req          ? c->req->conn.remote_addr
                                  : c->peer_str;
  if (c->client_unknown || (c->req && c->req->conn.remote_addr != c->peer_str))
    j["peer"] = c->peer_str;
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

}  // namespace mamori::waf
