#include "web/render.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/fd.h"

namespace mamori::web {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
constexpr uid_t kNobody = 65534;
constexpr size_t kMaxMessage = 64u << 20;  // one DevTools message at most
constexpr size_t kMaxScripts = 2000;

class Browser {
 public:
  ~Browser() { stop(); }

  Status start(const RenderOptions& o) {
    if (access(o.chromium.c_str(), X_OK) != 0)
      return Error::not_found(o.chromium +
                              ": Chromium not found (apt-get install chromium), "
                              "needed by --render");
    char tmpl[] = "/tmp/mamori-render-XXXXXX";
    if (!mkdtemp(tmpl)) return Error::internal("mkdtemp: " + std::string(strerror(errno)));
    dir_ = tmpl;
    bool root = geteuid() == 0;
    if (root && chown(dir_.c_str(), kNobody, kNobody) != 0)
      return Error::internal("chown " + dir_ + ": " + strerror(errno));
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
      return Error::internal(std::string("pipe: ") + strerror(errno));
    std::string ud = "--user-data-dir=" + dir_;
    std::string home = "HOME=" + dir_;
    const char* argv[] = {o.chromium.c_str(),
                          "--headless=new",
                          "--remote-debugging-pipe",
                          "--no-sandbox",
                          "--disable-gpu",
                          "--no-first-run",
                          "--no-default-browser-check",
                          "--disable-extensions",
                          "--disable-background-networking",
                          "--disable-sync",
                          "--mute-audio",
                          "--disable-dev-shm-usage",
                          "--disable-features=Translate,MediaRouter",
                          ud.c_str(),
                          "about:blank",
                          nullptr};
    const char* envp[] = {home.c_str(), "PATH=/usr/bin:/bin", "LANG=C.UTF-8", nullptr};
    pid_ = fork();
    if (pid_ < 0) return Error::internal(std::string("fork: ") + strerror(errno));
    if (pid_ == 0) {
      // The child: the pipe ends on fds 3 (commands in) and 4 (answers out), nothing else open.
      int in = fcntl(to[0], F_DUPFD, 10), out = fcntl(from[1], F_DUPFD, 10);
      if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0) _exit(126);
      int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
      closefrom(5);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (root && (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0))
        _exit(126);
      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    out_ = UniqueFd(to[1]);
    in_ = UniqueFd(from[0]);
    fcntl(in_.get(), F_SETFL, O_NONBLOCK);
    return {};
  }

  void stop() {
    if (pid_ > 0) {
      if (out_) send("Browser.close", json::object());
      out_.reset();
      auto end = Clock::now() + std::chrono::seconds(3);
      int st = 0;
      while (waitpid(pid_, &st, WNOHANG) == 0) {
        if (Clock::now() > end) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &st, 0);
          break;
        }
        usleep(20000);
      }
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  int send(const std::string& method, json params, const std::string& session = "") {
    json m = {{"id", ++id_}, {"method", method}, {"params", std::move(params)}};
    if (!session.empty()) m["sessionId"] = session;
    std::string s = m.dump() + '\0';
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(out_.get(), s.data() + off, s.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;
      off += static_cast<size_t>(n);
    }
    return id_;
  }

  // The next message, or none when the deadline passes or the browser is gone.
  std::optional<json> next(Clock::time_point deadline) {
    for (;;) {
      size_t z = buf_.find('\0');
      if (z != std::string::npos) {
        std::string msg = buf_.substr(0, z);
        buf_.erase(0, z + 1);
        try {
          return json::parse(msg);
        } catch (const std::exception&) {
          continue;  // not ours to judge: skip what does not parse
        }
      }
      if (buf_.size() > kMaxMessage) {
        dead_ = true;
        return std::nullopt;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || dead_) return std::nullopt;
      pollfd p{in_.get(), POLLIN, 0};
      int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char chunk[65536];
      ssize_t n = read(in_.get(), chunk, sizeof chunk);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        dead_ = true;
        return std::nullopt;
      }
      if (n > 0) buf_.append(chunk, static_cast<size_t>(n));
    }
  }

  // The answer to command `id` (events meanwhile go to `on_event`).
  template <class F>
  std::optional<json> answer(int id, Clock::time_point deadline, F&& on_event) {
    if (id < 0) return std::nullopt;
    while (auto m = next(deadline)) {
      if (m->contains("id") && (*m)["id"] == id) return m;
      on_event(*m);
    }
    return std::nullopt;
  }

  bool dead() const { return dead_; }

 private:
  pid_t pid_ = -1;
  UniqueFd out_, in_;
  std::string dir_, buf_;
  int id_ = 0;
  bool dead_ = false;
};

std::string str_at(const json& j, const char* a, const char* b = nullptr) {
  const json* p = &j;
  for (const char* k : {a, b}) {
    if (!k) break;
    if (!p->is_object() || !p->contains(k)) return {};
    p = &(*p)[k];
  }
  return p->is_string() ? p->get<std::string>() : std::string();
}

Rendered render_one(Browser& b, const std::string& url, const RenderOptions& o) {
  Rendered r;
  r.url = url;
  auto deadline = Clock::now() + std::chrono::seconds(o.page_timeout_s);
  std::set<std::string> seen;
  std::string session;
  bool loaded = false;
  auto on_event = [&](const json& m) {
    if (!m.contains("method") || str_at(m, "sessionId") != session) return;
    std::string method = str_at(m, "method");
    const json& p = m.contains("params") ? m["params"] : json::object();
    if (method == "Network.requestWillBeSent" && str_at(p, "type") == "Script") {
      std::string u = str_at(p, "request", "url");
      if (!u.empty() && r.scripts.size() < kMaxScripts && seen.insert(u).second)
        r.scripts.push_back(u);
    } else if (method == "Page.frameNavigated" && p.contains("frame") &&
               !p["frame"].contains("parentId")) {
      r.final_url = str_at(p, "frame", "url");
    } else if (method == "Page.loadEventFired") {
      loaded = true;
    }
  };
  auto target =
      b.answer(b.send("Target.createTarget", {{"url", "about:blank"}}), deadline, on_event);
  std::string tid = target ? str_at(*target, "result", "targetId") : "";
  if (tid.empty()) {
    r.error = "Chromium did not open a page";
    return r;
  }
  auto att = b.answer(b.send("Target.attachToTarget", {{"targetId", tid}, {"flatten", true}}),
                      deadline, on_event);
  session = att ? str_at(*att, "result", "sessionId") : "";
  if (!session.empty()) {
    b.answer(b.send("Network.enable", json::object(), session), deadline, on_event);
    b.answer(b.send("Page.enable", json::object(), session), deadline, on_event);
    auto nav = b.answer(b.send("Page.navigate", {{"url", url}}, session), deadline, on_event);
    std::string err = nav ? str_at(*nav, "result", "errorText") : "no answer";
    if (!err.empty()) r.error = "could not load: " + err;
    while (r.error.empty() && !loaded) {
      auto m = b.next(deadline);
      if (!m) break;
      on_event(*m);
    }
    if (r.error.empty() && !loaded) r.error = "not loaded within the timeout";
    auto settle =
        std::min(deadline,
                 Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.settle_s * 1000)));
    while (auto m = b.next(settle)) on_event(*m);
  } else {
    r.error = "Chromium did not attach to the page";
  }
  b.answer(b.send("Target.closeTarget", {{"targetId", tid}}),
           Clock::now() + std::chrono::seconds(5), [](const json&) {});
  return r;
}

}  // namespace

Result<std::vector<Rendered>> render_pages(const std::vector<std::string>& urls,
                                           const RenderOptions& o) {
  std::vector<Rendered> out;
  if (urls.empty()) return out;
  // A browser that dies mid-write must not kill Mamori with SIGPIPE.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, &old);
  struct Restore {
    struct sigaction* old;
    ~Restore() { sigaction(SIGPIPE, old, nullptr); }
  } restore{&old};
  Browser b;
  if (auto st = b.start(o); !st) return st.error();
  for (const auto& u : urls) {
    if (b.dead()) {
      Rendered r;
      r.url = u;
      r.error = "Chromium stopped";
      out.push_back(std::move(r));
      continue;
    }
    out.push_back(render_one(b, u, o));
  }
  return out;
}

}  // namespace mamori::web
