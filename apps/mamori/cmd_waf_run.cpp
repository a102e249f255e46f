// mamori waf run: the proxy's configuration, generations, virtual patches and the service
// loop (signals, systemd, metrics). The command's options are in cmd_waf.cpp.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <sys/signalfd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <tuple>

#include "cli.h"
#include "cmd_waf.h"
#include "core/fs.h"
#include "guard/service.h"
#include "store/store.h"
#include "waf/engine.h"
#include "waf/metrics.h"
#include "waf/native.h"
#include "waf/policy.h"
#include "waf/proxy.h"
#include "waf/proxy_config.h"
#include "waf/rules.h"
#include "waf/setup.h"
#include "waf/vpatch.h"

namespace mamori::cli {
namespace {

Result<waf::ProxyConfig> run_config(const RunArgs& a) {
  waf::ProxyConfig c;
  std::error_code ec;
  if (!a.config.empty()) {
    auto r = waf::read_proxy_config(a.config);
    if (!r) return r.error();
    c = std::move(*r);
  } else if (std::filesystem::exists(waf::kWafConfigPath, ec)) {
    auto r = waf::read_proxy_config(waf::kWafConfigPath);
    if (!r) return r.error();
    c = std::move(*r);
  }
  if (a.listen) c.listen = *a.listen;
  if (a.upstream) c.upstream = *a.upstream;
  if (a.mode) c.mode = *a.mode == "detect" ? waf::ProxyMode::kDetect : waf::ProxyMode::kBlock;
  if (a.tls_cert) c.tls_cert = *a.tls_cert;
  if (a.tls_key) c.tls_key = *a.tls_key;
  if (a.log) c.log = *a.log;
  if (a.metrics) c.metrics = *a.metrics;
  if (a.paranoia) c.paranoia = *a.paranoia;
  if (a.native) {
    auto bits = waf::parse_native_list(*a.native);
    if (!bits) return bits.error().with_context("--native");
    c.native = *bits;
  }
  if (a.workers) c.workers = *a.workers;
  if (!a.rules.empty()) c.rules = a.rules;
  if (!a.trusted.empty()) c.trusted_proxies = a.trusted;
  if (auto st = waf::check_proxy_config(c); !st) return st.error();
  return c;
}

// The configuration and the engine it names, ready to be published. `checked` runs on the
// configuration before the (slow) engine build.
Result<std::shared_ptr<const waf::ProxyGeneration>> build_generation(
    const Options& o, const RunArgs& a,
    const std::function<Status(const waf::ProxyConfig&)>& checked = {}, bool open_log = true) {
  auto cfg = run_config(a);
  if (!cfg) return cfg.error();
  if (checked)
    if (auto st = checked(*cfg); !st) return st.error();
  auto rs = waf::load_engine_rules(
      cfg->rules, cfg->paranoia,
      waf::policy_seclang(cfg->routes, cfg->applications, cfg->json_media_types));
  if (!rs) return rs.error();
  if (cfg->limits.max_body) rs->request_body_limit = cfg->limits.max_body;
  if (cfg->limits.max_body_no_files)
    rs->request_body_no_files_limit = cfg->limits.max_body_no_files;
  info(o, fmt::format("waf run: building the engine ({} rules, paranoia level {})",
                      rs->rules.size(), cfg->paranoia));
  waf::EngineOptions eo;
  eo.native = cfg->native;
  auto eng = waf::Engine::build(std::move(*rs), eo);
  if (!eng) return eng.error();
  return waf::make_generation(std::move(*cfg), std::shared_ptr<const waf::Engine>(std::move(*eng)),
                              open_log);
}

std::string describe(const waf::ProxyGeneration& g) {
  const auto& c = g.config;
  size_t vp = g.vpatches ? g.vpatches->describe().size() : 0;
  return fmt::format(
      "upstream {}, {} mode, paranoia level {}, {} rules, {} virtual patches, "
      "CRS exclusions for {}{}{}{}",
      c.upstream, c.mode == waf::ProxyMode::kBlock ? "block" : "detect", c.paranoia,
      g.engine->rules().rules.size(), vp,
      c.applications.empty() ? "no application"
                             : fmt::format("{}", fmt::join(c.applications, ", ")),
      g.tls ? ", TLS" : "", c.log.empty() ? "" : ", decision log " + c.log,
      c.source.empty() ? "" : ", config " + c.source);
}

// Keeps the running generation's virtual patches (waf/vpatch.h) in step with the store: read at
// start, on SIGHUP and every virtual_patch_refresh seconds; what changes is said.
constexpr int64_t kStoreLockWaitMs = 250;

class PatchKeeper {
 public:
  explicit PatchKeeper(const Options& o) : o_(o) {}
  // g with the store's current patches attached (g itself when nothing changed).
  std::shared_ptr<const waf::ProxyGeneration> apply(std::shared_ptr<const waf::ProxyGeneration> g) {
    std::shared_ptr<const waf::VirtualPatches> vp;
    if (g->config.virtual_patches != waf::VirtualPatchMode::kOff) {
      auto read = read_patches();
      if (!read) {
        if (read.error().message != last_error_)
          info(o_, "waf run: virtual patches: the store cannot be read (" + read.error().message +
                       "); keeping the ones in force (" + std::to_string(desc_.size()) + ")");
        last_error_ = read.error().message;
        vp = cur_;
      } else {
        last_error_.clear();
        vp = std::move(*read);
      }
    }
    std::vector<std::string> desc = vp ? vp->describe() : std::vector<std::string>{};
    for (const auto& d : desc)
      if (!std::binary_search(desc_.begin(), desc_.end(), d))
        info(o_, "waf run: virtual patch on: " + d);
    for (const auto& d : desc_)
      if (!std::binary_search(desc.begin(), desc.end(), d))
        info(o_,
             "waf run: virtual patch lifted (the last scan no longer finds it vulnerable, or "
             "virtual_patches is off): " +
                 d);
    if (desc != desc_ || !cur_) cur_ = vp;
    desc_ = std::move(desc);
    if (g->vpatches == cur_) return g;
    auto next = std::make_shared<waf::ProxyGeneration>(*g);
    next->vpatches = cur_;
    return next;
  }
  size_t count() const { return desc_.size(); }

 private:
  Result<std::shared_ptr<const waf::VirtualPatches>> read_patches() {
    // Read, never create: a store that went missing lifts nothing.
    const char* env = std::getenv("MAMORI_STORE");
    std::string url = !o_.store.empty() ? o_.store
                      : env && *env     ? std::string(env)
                                        : store::Store::default_url();
    std::error_code ec;
    if (!store::Store::is_postgres(url) && !std::filesystem::exists(url, ec))
      return Error::not_found("the store " + url + " does not exist (run 'mamori scan' first)");
    // A scan writing to the store must not stall the signal loop (reloads, SIGTERM): a
    // short wait, and the shields in force stay until the next read.
    auto st = open_store(o_, kStoreLockWaitMs);
    if (!st) return st.error();
    auto comps = waf::vulnerable_wordpress(**st, host_name(o_));
    if (!comps) return comps.error();
    return waf::VirtualPatches::build(*comps, Root(o_.root));
  }
  const Options& o_;
  std::shared_ptr<const waf::VirtualPatches> cur_;
  std::vector<std::string> desc_;
  std::string last_error_;
};

}  // namespace

int cmd_waf_run(const Options& o, const RunArgs& a) {
  if (a.mode && *a.mode != "block" && *a.mode != "detect")
    return usage("waf run: --mode is block or detect");
  if (a.paranoia && (*a.paranoia < 1 || *a.paranoia > 4))
    return usage("waf run: --paranoia is 1 to 4");
  // The listening address is tried first: a port in use shows before the engine is built.
  auto early = [&](const waf::ProxyConfig& c) -> Status {
    auto l = waf::parse_listen(c.listen);
    if (!l) return l.error();
    return waf::check_listen(*l);
  };
  auto gen = build_generation(o, a, early, !a.check);
  if (!gen) return fail(gen.error().with_context("waf run"));
  PatchKeeper patches(o);
  *gen = patches.apply(*gen);
  if (a.check) {
    // The server behind may start later: a warning, not an error.
    if (auto st = waf::check_upstream((*gen)->upstream); !st)
      info(o, "waf run --check: warning: " + st.error().message);
    info(o, "waf run --check: configuration and rules are good: " + describe(**gen));
    return kExitOk;
  }
  auto listen = waf::parse_listen((*gen)->config.listen);
  if (!listen) return fail(listen.error().with_context("waf run"));
  // Signals arrive through a signalfd in this thread; workers never see them. A peer that
  // closes while TLS writes to it must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  UniqueFd sfd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return fail(errno_error("signalfd", errno));
  auto proxy = waf::Proxy::create(*listen, (*gen)->config.workers, *gen);
  if (!proxy) return fail(proxy.error().with_context("waf run"));
  (*proxy)->start();
  std::atomic<uint64_t> reloads{0}, reload_failures{0};
  const int64_t started = static_cast<int64_t>(::time(nullptr));
  std::unique_ptr<waf::MetricsServer> metrics;
  if (!(*gen)->config.metrics.empty()) {
    auto maddr = waf::parse_listen((*gen)->config.metrics);
    if (!maddr) return fail(maddr.error().with_context("waf run: metrics"));
    auto m = waf::MetricsServer::start(*maddr, [&, p = proxy->get()] {
      waf::MetricsSnapshot s;
      s.counters = p->counters();
      std::tie(s.rule_blocks, s.rule_detects) = p->rule_counts();
      s.reloads = reloads;
      s.reload_failures = reload_failures;
      s.started = started;
      auto cur = p->current();
      s.rules = static_cast<int64_t>(cur->engine->rules().rules.size());
      s.paranoia = cur->config.paranoia;
      s.detect_mode = cur->config.mode == waf::ProxyMode::kDetect;
      return waf::render_metrics(s);
    });
    if (!m) return fail(m.error().with_context("waf run"));
    metrics = std::move(*m);
    info(o, fmt::format("waf run: metrics at http://{}/metrics (port {})", maddr->text,
                        metrics->port()));
  }
  guard::SystemdNotifier notifier;
  info(o, fmt::format("waf run: listening on {} (port {}): {}", listen->text, (*proxy)->port(),
                      describe(**gen)));
  notifier.notify("READY=1");
  auto status = [&] {
    auto c = (*proxy)->counters();
    notifier.notify(
        fmt::format("STATUS={} requests: {} passed (of which {} detected), {} blocked, {} "
                    "refused, {} upstream errors; {} connections open",
                    c.requests, c.passed, c.detected, c.blocked, c.refused, c.upstream_errors,
                    c.active_connections));
  };
  uint64_t wd = notifier.watchdog_usec();
  auto next_patch_read = std::chrono::steady_clock::now();
  auto schedule_patches = [&] {
    next_patch_read = std::chrono::steady_clock::now() +
                      std::chrono::seconds((*proxy)->current()->config.virtual_patch_refresh_s);
  };
  schedule_patches();
  for (;;) {
    pollfd p{sfd.get(), POLLIN, 0};
    int timeout = wd ? static_cast<int>(std::min<uint64_t>(wd / 2000, 5000)) : 5000;
    int n = ::poll(&p, 1, timeout);
    if (wd) notifier.notify("WATCHDOG=1");
    if (std::chrono::steady_clock::now() >= next_patch_read) {
      auto cur = (*proxy)->current();
      if (auto next = patches.apply(cur); next != cur) (*proxy)->publish(next);
      schedule_patches();
    }
    if (n <= 0) {
      status();
      continue;
    }
    signalfd_siginfo si{};
    if (::read(sfd.get(), &si, sizeof si) != static_cast<ssize_t>(sizeof si)) continue;
    if (si.ssi_signo == SIGHUP) {
      notifier.notify("RELOADING=1");
      auto next = build_generation(o, a);
      if (!next) {
        ++reload_failures;
        // The running configuration stays: a typo in the file must not take the site down.
        fail(
            next.error().with_context("waf run: reload refused, still running the previous "
                                      "configuration"));
      } else {
        const auto& was = (*proxy)->current()->config;
        // Said even with -q: the operator believes the change is live.
        auto warn = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
        if ((*next)->config.listen != was.listen)
          warn("waf run: listen changed in the configuration; it takes a restart");
        if ((*next)->config.workers != was.workers)
          warn("waf run: workers changed in the configuration; it takes a restart");
        if ((*next)->config.metrics != was.metrics)
          warn("waf run: metrics changed in the configuration; it takes a restart");
        auto shielded = patches.apply(*next);
        (*proxy)->publish(shielded);
        schedule_patches();
        info(o, fmt::format("waf run: reload {}: {}", ++reloads, describe(*shielded)));
      }
      notifier.notify("READY=1");
      status();
      continue;
    }
    break;  // SIGTERM, SIGINT
  }
  notifier.notify("STOPPING=1");
  info(o, "waf run: stopping; requests in flight are finished");
  metrics.reset();
  (*proxy)->stop();
  (*proxy)->join();
  auto c = (*proxy)->counters();
  info(o, fmt::format("waf run: stopped; {} requests: {} passed (of which {} detected), {} "
                      "blocked, {} refused, {} upstream errors",
                      c.requests, c.passed, c.detected, c.blocked, c.refused, c.upstream_errors));
  return kExitOk;
}

}  // namespace mamori::cli
