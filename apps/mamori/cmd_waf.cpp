// mamori waf rules | test | run (docs/waf.md).
#include <fmt/format.h>
#include <poll.h>
#include <sys/signalfd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <tuple>

#include "cli.h"
#include "core/fs.h"
#include "guard/service.h"
#include "waf/engine.h"
#include "waf/metrics.h"
#include "waf/native.h"
#include "waf/proxy.h"
#include "waf/proxy_config.h"
#include "waf/rules.h"
#include "waf/score.h"
#include "waf/setup.h"
#include "waf/summary.h"

namespace mamori::cli {
namespace {

int cmd_waf_rules(const Options& o, const std::vector<std::string>& paths, bool strict) {
  if (o.format != "text" && o.format != "json") return usage("waf rules: --format is text or json");
  auto rs = waf::load_rules(paths, {});
  if (!rs) return fail(rs.error().with_context("waf rules"));
  int rc = emit(o, o.format == "json" ? waf::render_rules_json(*rs) : waf::render_rules_text(*rs));
  if (rc != kExitOk) return rc;
  return strict && waf::unsupported_count(*rs) ? kExitFindings : kExitOk;
}

struct TestArgs {
  std::string corpus;
  std::vector<std::string> rules;
  int paranoia = 1;
  int max_pl = -1;
  std::string records;
  std::string native = "all";
};

int cmd_waf_test(const Options& o, const TestArgs& a) {
  if (auto bad = text_or_json(o, "waf test")) return *bad;
  if (a.paranoia < 1 || a.paranoia > 4) return usage("waf test: --paranoia is 1 to 4");
  // The corpus first: a mistake in it should not wait for the engine to be built.
  auto recs = waf::read_corpus(a.corpus, 1ull << 30);
  if (!recs) return fail(recs.error().with_context("waf test"));
  auto native = waf::parse_native_list(a.native);
  if (!native) return usage("waf test: --native: " + native.error().message);
  auto rs = waf::load_engine_rules(a.rules, a.paranoia);
  if (!rs) return fail(rs.error().with_context("waf test"));
  info(o, "waf test: building the engine (" + std::to_string(rs->rules.size()) + " rules)");
  waf::EngineOptions eo;
  eo.native = *native;
  auto eng = waf::Engine::build(std::move(*rs), eo);
  if (!eng) return fail(eng.error().with_context("waf test"));
  info(o, "waf test: " + std::to_string(recs->size()) + " requests");
  waf::ScoreOptions so;
  so.max_pl = a.max_pl >= 0 ? a.max_pl : a.paranoia;
  so.paranoia = a.paranoia;
  so.rules = a.rules.empty() ? waf::default_crs_paths() : a.rules;
  auto score = waf::score_corpus(**eng, *recs, so);
  if (!a.records.empty()) {
    if (auto st = write_file_atomic(a.records, waf::render_records_jsonl(score), 0600); !st)
      return fail(st.error().with_context("waf test --records"));
  }
  return emit(o,
              o.format == "json" ? waf::render_score_json(score) : waf::render_score_text(score));
}

// What the command line sets: it wins over the configuration file, at start and on reload.
struct RunArgs {
  std::string config;
  std::optional<std::string> listen, upstream, mode, tls_cert, tls_key, log, native, metrics;
  std::optional<int> paranoia;
  std::optional<unsigned> workers;
  std::vector<std::string> rules, trusted;
  bool check = false;
};

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
  auto rs = waf::load_engine_rules(cfg->rules, cfg->paranoia);
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
  return fmt::format("upstream {}, {} mode, paranoia level {}, {} rules{}{}{}", c.upstream,
                     c.mode == waf::ProxyMode::kBlock ? "block" : "detect", c.paranoia,
                     g.engine->rules().rules.size(), g.tls ? ", TLS" : "",
                     c.log.empty() ? "" : ", decision log " + c.log,
                     c.source.empty() ? "" : ", config " + c.source);
}

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
  for (;;) {
    pollfd p{sfd.get(), POLLIN, 0};
    int timeout = wd ? static_cast<int>(std::min<uint64_t>(wd / 2000, 5000)) : 5000;
    int n = ::poll(&p, 1, timeout);
    if (wd) notifier.notify("WATCHDOG=1");
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
        if ((*next)->config.listen != was.listen)
          info(o, "waf run: listen changed in the configuration; it takes a restart");
        if ((*next)->config.workers != was.workers)
          info(o, "waf run: workers changed in the configuration; it takes a restart");
        if ((*next)->config.metrics != was.metrics)
          info(o, "waf run: metrics changed in the configuration; it takes a restart");
        (*proxy)->publish(*next);
        info(o, fmt::format("waf run: reload {}: {}", ++reloads, describe(**next)));
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

}  // namespace

void add_waf_commands(CLI::App& app, Options& o, int& rc) {
  auto* waf =
      app.add_subcommand("waf", "Web application firewall: OWASP CRS rules in front of a site");
  waf->footer(R"(Examples:
  mamori waf rules /etc/modsecurity/crs/crs-setup.conf /usr/share/modsecurity-crs/rules
  mamori --format json waf rules my-rules.conf
  mamori waf test --paranoia 2 requests.jsonl
  mamori waf test --rules my-crs-setup.conf,/usr/share/modsecurity-crs/rules requests.jsonl
  mamori waf run --listen 0.0.0.0:80 --upstream http://127.0.0.1:8080
See docs/waf.md.)");
  waf->require_subcommand(1);
  struct Args {
    std::vector<std::string> paths;
    bool strict = false;
  };
  auto a = std::make_shared<Args>();
  auto* rules = waf->add_subcommand(
      "rules",
      "Load a SecLang rule set (ModSecurity / OWASP CRS) and say what in it Mamori does not "
      "support, by file and line");
  rules
      ->add_option("PATH", a->paths,
                   "Rule files, in order; a directory stands for its *.conf files in name "
                   "order; Include is followed")
      ->required();
  rules->add_flag("--strict", a->strict,
                  "Exit 1 when anything that changes detection is not supported");
  rules->callback([&o, &rc, a] { rc = cmd_waf_rules(o, a->paths, a->strict); });

  auto t = std::make_shared<TestArgs>();
  auto* test = waf->add_subcommand(
      "test",
      "Evaluate a request corpus (JSON lines) offline with the engine and print how many "
      "attacks it blocks and how many legitimate requests, per category");
  test->add_option("CORPUS", t->corpus,
                   "JSON lines, one request each (../shared/corpus/waf/README.md)")
      ->required();
  test->add_option("--rules", t->rules,
                   "Rule files or directories, in order; repeat the option or separate with "
                   "commas; give your crs-setup.conf first (default: /etc/modsecurity/crs/"
                   "crs-setup.conf and exclusion files, and Debian's OWASP CRS in " +
                       std::string(waf::kCrsRulesDir) + ")")
      ->delimiter(',');
  test->add_option("--paranoia", t->paranoia, "CRS paranoia level, 1 to 4")->capture_default_str();
  test->add_option(
      "--max-pl", t->max_pl,
      "Leave out CRS regression tests (records with crs_pl) of rules above this level; 0 "
      "leaves out every CRS test (default: --paranoia)");
  test->add_option(
      "--records", t->records,
      "Also write one JSON line per request (id, status, blocked, rules, score: the "
      "anomaly score, reason: why the request was refused before the rules) to this file, "
      "mode 0600");
  test->add_option("--native", t->native,
                   "Mamori's own detectors after CRS: all, none, or names separated by commas "
                   "(xxe, ssrf, ssti, nosql, proto, jndi, sqli-headers, sqli-path)")
      ->capture_default_str();
  test->callback([&o, &rc, t] { rc = cmd_waf_test(o, *t); });

  auto r = std::make_shared<RunArgs>();
  auto* run = waf->add_subcommand(
      "run",
      "Run the firewall: a reverse proxy in front of the web server that blocks what the rules "
      "find (OWASP CRS) before the server sees it");
  run->footer(R"(Options given here win over the configuration file, at start and on reload.
Signals: SIGHUP reloads the configuration file and the rules without dropping a connection
(a configuration that does not load is reported and the running one kept); SIGTERM stops
after the requests in flight. Under systemd: packaging/systemd/mamori-waf.service.

Examples:
  mamori waf run --listen 0.0.0.0:80 --upstream http://127.0.0.1:8080
  mamori waf run --mode detect --log /var/log/mamori/waf.jsonl --upstream http://127.0.0.1:8080
  mamori waf run --config /etc/mamori/waf.toml --check
See docs/waf.md for the configuration keys and for putting it in front of WordPress.)");
  run->add_option(
      "--config", r->config,
      std::string("TOML configuration file (default: ") + waf::kWafConfigPath + " when it exists)");
  run->add_option("--listen", r->listen, "ADDR:PORT to accept clients on (default 127.0.0.1:8080)");
  run->add_option("--upstream", r->upstream,
                  "The web server behind the firewall: http://HOST:PORT");
  run->add_option("--rules", r->rules,
                  "Rule files or directories, in order (default: /etc/modsecurity/crs files and "
                  "Debian's OWASP CRS)")
      ->delimiter(',');
  run->add_option("--paranoia", r->paranoia, "CRS paranoia level, 1 to 4 (default 1)");
  run->add_option("--mode", r->mode,
                  "block: answer 403 (default); detect: log what would be blocked, pass it on");
  run->add_option("--native", r->native,
                  "Mamori's own detectors after CRS: all (default), none, or names separated "
                  "by commas (xxe, ssrf, ssti, nosql, proto, jndi, sqli-headers, sqli-path)");
  run->add_option("--tls-cert", r->tls_cert, "Terminate TLS: the certificate chain (PEM)");
  run->add_option("--tls-key", r->tls_key, "The certificate's private key (PEM)");
  run->add_option("--trusted-proxy", r->trusted,
                  "A proxy in front of this one (address or prefix) whose X-Forwarded-For is "
                  "believed; repeat or separate with commas")
      ->delimiter(',');
  run->add_option("--log", r->log,
                  "Decision log: one JSON line per blocked, detected or refused request (0600)");
  run->add_option("--metrics", r->metrics,
                  "ADDR:PORT to serve Prometheus metrics on (GET /metrics); keep it on "
                  "loopback or a management network");
  run->add_option("--workers", r->workers, "Worker threads (default: one per core)");
  run->add_flag("--check", r->check,
                "Load the configuration and the rules, build the engine, report and exit");
  run->callback([&o, &rc, r] { rc = cmd_waf_run(o, *r); });
}

}  // namespace mamori::cli
