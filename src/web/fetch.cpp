#include "web/fetch.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "core/ip.h"

namespace mamori::web {
namespace {

struct Transfer {
  Response* r = nullptr;
  size_t max_bytes = 0;
  CURL* easy = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  size_t room = t->max_bytes - std::min(t->max_bytes, t->r->body.size());
  if (len > room) {
    t->r->body.append(p, room);
    t->r->truncated = true;
    return 0;  // aborts the transfer: the rest is never read
  }
  t->r->body.append(p, len);
  return len;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view h(p, size * n);
  auto value = [&](std::string_view name) -> std::optional<std::string> {
    if (h.size() <= name.size()) return std::nullopt;
    for (size_t i = 0; i < name.size(); ++i) {
      char c = h[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != name[i]) return std::nullopt;
    }
    std::string v(h.substr(name.size()));
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    size_t b = v.find_first_not_of(' ');
    return b == std::string::npos ? std::string() : v.substr(b, 4096);
  };
  if (h.starts_with("HTTP/")) {  // a new response (after a 100 Continue): forget the last
    t->r->location.clear();
    t->r->content_type.clear();
  } else if (auto v = value("location:")) {
    t->r->location = *v;
  } else if (auto ct = value("content-type:")) {
    std::string c = ct->substr(0, ct->find(';'));
    for (auto& ch : c)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    while (!c.empty() && c.back() == ' ') c.pop_back();
    t->r->content_type = c;
  }
  return size * n;
}

int only_public(void*, char* ip, char*, int, int) {
  return ip && !is_private_address(ip) ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

CURL* make_easy(Transfer& t, const FetchLimits& lim) {
  CURL* c = curl_easy_init();
  if (!c) return nullptr;
  curl_easy_setopt(c, CURLOPT_URL, t.r->url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, lim.timeout_s);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, lim.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_USERAGENT, lim.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // decoded bytes count against max_bytes
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(lim.max_bytes) * 64);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t.errbuf);
  curl_easy_setopt(c, CURLOPT_PRIVATE, &t);
  if (lim.public_only) curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, only_public);
  return c;
}

}  // namespace

bool is_private_address(const std::string& ip) {
  for (const char* p :
       {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
        "100.64.0.0/10", "0.0.0.0/8", "::1/128", "::/128", "fc00::/7", "fe80::/10"})
    if (in_prefix(ip, p)) return true;
  return false;
}

std::vector<Response> fetch_all(const std::vector<std::string>& urls, const FetchLimits& lim) {
  static const bool ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  std::vector<Response> out(urls.size());
  std::vector<Transfer> transfers(urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    out[i].url = urls[i];
    transfers[i].r = &out[i];
    transfers[i].max_bytes = lim.max_bytes;
  }
  if (!ready) {
    for (auto& r : out) r.error = "libcurl could not be initialised";
    return out;
  }
  CURLM* m = curl_multi_init();
  if (!m) {
    for (auto& r : out) r.error = "libcurl could not be initialised";
    return out;
  }
  using Clock = std::chrono::steady_clock;
  auto gap = lim.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(1.0 / lim.rate))
                          : Clock::duration::zero();
  auto next_start = Clock::now();
  size_t next = 0;
  int running = 0;
  int active = 0;
  int conc = std::max(1, lim.concurrency);
  while (next < urls.size() || active > 0) {
    while (next < urls.size() && active < conc && Clock::now() >= next_start) {
      Transfer& t = transfers[next++];
      t.easy = make_easy(t, lim);
      if (!t.easy || curl_multi_add_handle(m, t.easy) != CURLM_OK) {
        t.r->error = "could not start the transfer";
        if (t.easy) curl_easy_cleanup(t.easy);
        t.easy = nullptr;
        continue;
      }
      ++active;
      next_start = Clock::now() + gap;
    }
    curl_multi_perform(m, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      CURLcode rc = msg->data.result;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &t->r->status);
      char* ip = nullptr;
      if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
        t->r->ip = ip;
      if (rc == CURLE_ABORTED_BY_CALLBACK && lim.public_only)
        t->r->error = "refused: another origin at a private or loopback address";
      if (rc != CURLE_OK && t->r->error.empty() && !(rc == CURLE_WRITE_ERROR && t->r->truncated)) {
        t->r->error = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
        if (rc == CURLE_FILESIZE_EXCEEDED) t->r->truncated = true;
      }
      curl_multi_remove_handle(m, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
      t->easy = nullptr;
      --active;
    }
    if (active > 0 || next < urls.size()) {
      int wait_ms = 100;
      if (next < urls.size() && active < conc) {
        auto d = std::chrono::duration_cast<std::chrono::milliseconds>(next_start - Clock::now());
        wait_ms = static_cast<int>(std::clamp<int64_t>(d.count(), 0, 100));
      }
      if (active > 0) {
        curl_multi_poll(m, nullptr, 0, wait_ms, nullptr);
      } else if (wait_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      }
    }
  }
  curl_multi_cleanup(m);
  return out;
}

}  // namespace mamori::web
