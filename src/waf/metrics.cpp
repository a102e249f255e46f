// Prometheus metrics of `mamori waf run` (metrics.h).
#include "waf/metrics.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace mamori::waf {

namespace {

void counter(std::string& o, std::string_view name, std::string_view help, uint64_t v) {
  fmt::format_to(std::back_inserter(o), "# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help,
                 v);
}
void gauge(std::string& o, std::string_view name, std::string_view help, int64_t v) {
  fmt::format_to(std::back_inserter(o), "# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help,
                 v);
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
  const ProxyCounters& c = s.counters;
  std::string o;
  o.reserve(4096 + 48 * (s.rule_blocks.size() + s.rule_detects.size()));
  o += "# HELP mamori_waf_requests_total Requests by what the firewall did with them.\n"
       "# TYPE mamori_waf_requests_total counter\n";
  // passed includes detected (detect mode passes them on): the actions do not overlap here.
  fmt::format_to(std::back_inserter(o),
                 "mamori_waf_requests_total{{action=\"passed\"}} {}\n"
                 "mamori_waf_requests_total{{action=\"detected\"}} {}\n"
                 "mamori_waf_requests_total{{action=\"blocked\"}} {}\n"
                 "mamori_waf_requests_total{{action=\"refused\"}} {}\n",
                 c.passed - std::min(c.passed, c.detected), c.detected, c.blocked, c.refused);
  counter(o, "mamori_waf_upstream_errors_total",
          "Requests answered 502/504 because the server behind failed or timed out.",
          c.upstream_errors);
  counter(o, "mamori_waf_timeouts_total", "Client connections closed by a timeout.", c.timeouts);
  counter(o, "mamori_waf_connections_total", "Client connections accepted.", c.connections);
  counter(o, "mamori_waf_connections_rejected_total",
          "Client connections refused by max_connections or max_connections_per_ip.",
          c.rejected_connections);
  gauge(o, "mamori_waf_connections_open", "Client connections open now.",
        static_cast<int64_t>(c.active_connections));
  gauge(o, "mamori_waf_body_bytes_buffered", "Request body bytes held in memory now.",
        static_cast<int64_t>(c.body_bytes_buffered));
  auto rules = [&](std::string_view name, std::string_view help,
                   std::vector<std::pair<int64_t, uint64_t>> v) {
    std::sort(v.begin(), v.end());
    fmt::format_to(std::back_inserter(o), "# HELP {0} {1}\n# TYPE {0} counter\n", name, help);
    for (const auto& [id, n] : v)
      fmt::format_to(std::back_inserter(o), "{}{{rule=\"{}\"}} {}\n", name, id, n);
  };
  rules("mamori_waf_rule_blocks_total",
        "Requests blocked, by the rule that decided (949110: CRS's anomaly score).", s.rule_blocks);
  rules("mamori_waf_rule_detections_total",
        "Requests detect mode passed on that block mode would have blocked, by rule.",
        s.rule_detects);
  counter(o, "mamori_waf_reloads_total", "Configurations and rules reloaded (SIGHUP).", s.reloads);
  counter(o, "mamori_waf_reload_failures_total",
          "Reloads refused (the previous configuration kept running).", s.reload_failures);
  gauge(o, "mamori_waf_rules", "Rules in the running engine.", s.rules);
  gauge(o, "mamori_waf_paranoia_level", "CRS paranoia level.", s.paranoia);
  gauge(o, "mamori_waf_detect_mode", "1 when the firewall only logs (detect mode).",
        s.detect_mode ? 1 : 0);
  gauge(o, "mamori_waf_start_time_seconds", "When the process started (unix time).", s.started);
  return o;
}

namespace {

constexpr size_t kMaxRequest = 8192;
constexpr size_t kMaxClients = 16;
constexpr int64_t kHeadMs = 2000;    // to send the request head
constexpr int64_t kClientMs = 5000;  // to take the answer

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Client {
  UniqueFd fd;
  std::string in, out;
  size_t sent = 0;
  int64_t deadline = 0;
};

// The answer to a complete request head.
std::string answer(std::string_view head, const std::function<std::string()>& render) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  size_t sp = line.find(' ');
  std::string_view method = line.substr(0, sp);
  std::string_view target = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  target = target.substr(0, target.find(' '));
  target = target.substr(0, target.find('?'));
  int status = 200;
  std::string body, type = "text/plain; version=0.0.4; charset=utf-8";
  if (method != "GET" && method != "HEAD") {
    status = 405;
    body = "GET /metrics\n";
    type = "text/plain; charset=utf-8";
  } else if (target != "/metrics") {
    status = 404;
    body = "Mamori WAF: the metrics are at /metrics\n";
    type = "text/plain; charset=utf-8";
  } else {
    body = render();
  }
  const char* reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Method Not Allowed";
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "{}Connection: close\r\n\r\n",
      status, reason, type, body.size(), status == 405 ? "Allow: GET, HEAD\r\n" : "");
  if (method != "HEAD") out += body;
  return out;
}

}  // namespace

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const SockAddr& addr,
                                                            std::function<std::string()> render) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->render_ = std::move(render);
  m->listener_.reset(::socket(addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!m->listener_) return errno_error("metrics socket", errno);
  int one = 1;
  setsockopt(m->listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(m->listener_.get(), reinterpret_cast<const sockaddr*>(&addr.ss), addr.len) != 0)
    return Error::unavailable(
        fmt::format("metrics address {}: {}", addr.text, std::strerror(errno)));
  if (::listen(m->listener_.get(), 64) != 0) return errno_error("listen " + addr.text, errno);
  sockaddr_storage got{};
  socklen_t len = sizeof got;
  getsockname(m->listener_.get(), reinterpret_cast<sockaddr*>(&got), &len);
  m->port_ = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  m->stop_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!m->stop_) return errno_error("eventfd", errno);
  m->thread_ = std::thread([p = m.get()] { p->loop(); });
  return m;
}

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }
}

void MetricsServer::loop() {
  std::vector<Client> clients;
  int64_t pause_until = 0;
  for (;;) {
    std::vector<pollfd> pf;
    pf.push_back({stop_.get(), POLLIN, 0});
    // A full house stops accepting until one is done (the kernel's backlog holds the rest); so
    // does running out of descriptors, for a moment (else the listener stays readable and
    // poll returns at once, a busy loop).
    int64_t now = now_ms(), wait = kClientMs;
    bool accepting = clients.size() < kMaxClients && now >= pause_until;
    if (now < pause_until) wait = std::min(wait, pause_until - now);
    pf.push_back({listener_.get(), static_cast<short>(accepting ? POLLIN : 0), 0});
    for (const Client& c : clients) {
      pf.push_back({c.fd.get(), static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      wait = std::min(wait, std::max<int64_t>(0, c.deadline - now));
    }
    if (::poll(pf.data(), pf.size(), static_cast<int>(wait)) < 0 && errno != EINTR) return;
    if (pf[0].revents) return;
    now = now_ms();
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      short re = pf[i + 2].revents;
      bool done = now >= c.deadline;
      if (!done && (re & (POLLIN | POLLHUP | POLLERR)) && c.out.empty()) {
        char buf[2048];
        ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
          done = true;
        } else if (n > 0) {
          c.in.append(buf, static_cast<size_t>(n));
          if (c.in.find("\r\n\r\n") != std::string::npos ||
              c.in.find("\n\n") != std::string::npos) {
            c.out = answer(c.in, render_);
            c.deadline = now + kClientMs;
          } else if (c.in.size() > kMaxRequest)
            done = true;  // no head in 8 KiB: not a scraper
        }
      }
      if (!done && !c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) c.sent += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || c.sent == c.out.size()) done = true;
      }
      if (done) c.fd.reset();
    }
    std::erase_if(clients, [](const Client& c) { return !c.fd; });
    if (pf[1].revents & POLLIN) {
      while (clients.size() < kMaxClients) {
        int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            pause_until = now + 100;
          break;
        }
        clients.push_back(Client{UniqueFd(fd), {}, {}, 0, now + kHeadMs});
      }
    }
  }
}

}  // namespace mamori::waf
