// mamori waf rules | test | run (docs/waf.md); the service itself is in cmd_waf_run.cpp.
#include "cmd_waf.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "core/fs.h"
#include "waf/engine.h"
#include "waf/learn.h"
#include "waf/native.h"
#include "waf/policy.h"
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
  bool paranoia_given = false;
  int max_pl = -1;
  std::string records;
  std::string native = "all";
  bool native_given = false;
  std::string config;  // waf.toml: its native detectors and routes
  bool no_policy = false;
};

int cmd_waf_test(const Options& o, const TestArgs& a) {
  if (auto bad = text_or_json(o, "waf test")) return *bad;
  if (a.paranoia < 1 || a.paranoia > 4) return usage("waf test: --paranoia is 1 to 4");
  // The corpus first: a mistake in it should not wait for the engine to be built.
  auto recs = waf::read_corpus(a.corpus, 1ull << 30);
  if (!recs) return fail(recs.error().with_context("waf test"));
  auto native = waf::parse_native_list(a.native);
  if (!native) return usage("waf test: --native: " + native.error().message);
  // The site's policy: the configuration file's routes (and native detectors, unless
  // --native says otherwise), else the default routes; none with --no-policy.
  waf::ProxyConfig site;
  if (!a.config.empty()) {
    auto c = waf::read_proxy_config(a.config);
    if (!c) return fail(c.error().with_context("waf test"));
    site = std::move(*c);
    if (!a.native_given) *native = site.native;
  }
  // The file's paranoia level and rules, unless the command line gives them (as 'waf run').
  const int paranoia = a.paranoia_given || a.config.empty() ? a.paranoia : site.paranoia;
  const std::vector<std::string> rules = a.rules.empty() ? site.rules : a.rules;
  if (a.no_policy) {
    site.routes.clear();
    site.applications.clear();
    site.json_media_types = false;
  }
  auto rs = waf::load_engine_rules(
      rules, paranoia, waf::policy_seclang(site.routes, site.applications, site.json_media_types));
  if (!rs) return fail(rs.error().with_context("waf test"));
  info(o, "waf test: building the engine (" + std::to_string(rs->rules.size()) + " rules)");
  waf::EngineOptions eo;
  eo.native = *native;
  auto eng = waf::Engine::build(std::move(*rs), eo);
  if (!eng) return fail(eng.error().with_context("waf test"));
  info(o, "waf test: " + std::to_string(recs->size()) + " requests");
  waf::ScoreOptions so;
  so.max_pl = a.max_pl >= 0 ? a.max_pl : paranoia;
  so.paranoia = paranoia;
  so.rules = rules.empty() ? waf::default_crs_paths() : rules;
  so.policy = fmt::format(
      "{}, native detectors: {}{}",
      a.no_policy ? std::string("no routes or applications (--no-policy)")
                  : fmt::format("{} routes{}, applications: {}", site.routes.size(),
                                site.json_media_types ? " and JSON media types" : "",
                                site.applications.empty()
                                    ? std::string("none")
                                    : fmt::format("{}", fmt::join(site.applications, ", "))),
      *native == 0                 ? "none"
      : *native == waf::kNativeAll ? "all"
                                   : "some",
      a.config.empty() ? "" : " (from " + a.config + ")");
  auto score = waf::score_corpus(**eng, *recs, so);
  if (!a.records.empty()) {
    if (auto st = write_file_atomic(a.records, waf::render_records_jsonl(score), 0600); !st)
      return fail(st.error().with_context("waf test --records"));
  }
  return emit(o,
              o.format == "json" ? waf::render_score_json(score) : waf::render_score_text(score));
}

// What the command line sets: it wins over the configuration file, at start and on reload.
struct LearnArgs {
  std::vector<std::string> logs;
  size_t min_clients = 3, min_hits = 5;
  int64_t first_id = 0;  // 0: each rule's stable id (learn.cpp)
  bool seclang = false;
};

// Feeds every line of a decision log (a regular file, read in pieces: logs grow large).
Status learn_file(const std::string& path, waf::Learner& l) {
  struct stat st {};
  auto fd = open_regular(path, &st);
  if (!fd) return fd.error();
  std::string buf, chunk(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd->get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, errno);
    }
    if (n == 0) break;
    buf.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
      l.feed_line(std::string_view(buf).substr(start, nl - start));
    buf.erase(0, start);
    if (buf.size() > (2u << 20)) {  // a line past 2 MiB is not the decision log's
      l.feed_line(std::string_view(buf).substr(0, (1u << 20) + 1));
      buf.clear();
    }
  }
  if (!buf.empty()) l.feed_line(buf);
  return ok();
}

int cmd_waf_learn(const Options& o, const LearnArgs& a) {
  if (auto bad = text_or_json(o, "waf learn")) return *bad;
  if (a.min_clients < 1 || a.min_hits < 1)
    return usage("waf learn: --min-clients and --min-hits are at least 1");
  if (a.first_id < 0 || a.first_id > 99'999'000)
    return usage("waf learn: --first-id is a rule id from 1 to 99999000");
  waf::LearnOptions lo{a.min_clients, a.min_hits};
  waf::Learner l(lo);
  for (const auto& f : a.logs)
    if (auto st = learn_file(f, l); !st) return fail(st.error().with_context("waf learn"));
  auto r = l.report();
  if (o.format == "json") return emit(o, waf::render_learned_json(r));
  return emit(o, a.seclang ? waf::render_learned_seclang(r, a.first_id)
                           : waf::render_learned_text(r, lo, a.first_id));
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
  mamori waf learn /var/log/mamori/waf.jsonl
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
  auto* par = test->add_option("--paranoia", t->paranoia,
                               "CRS paranoia level, 1 to 4 (default: the --config file's, else 1)")
                  ->default_str("");
  test->add_option(
      "--max-pl", t->max_pl,
      "Leave out CRS regression tests (records with crs_pl) of rules above this level; 0 "
      "leaves out every CRS test (default: --paranoia)");
  test->add_option(
      "--records", t->records,
      "Also write one JSON line per request (id, status, blocked, rules, score: the "
      "anomaly score, reason: why the request was refused before the rules) to this file, "
      "mode 0600");
  auto* nat = test->add_option("--native", t->native,
                               "Mamori's own detectors after CRS: all, none, or names separated "
                               "by commas (xxe, ssrf, ssti, nosql, proto, jndi, sqli-headers, "
                               "sqli-path, graphql; default: the --config file's, else all)")
                  ->default_str("");
  test->add_option("--config", t->config,
                   "A waf.toml whose site policy ([[route]]: methods and field types; "
                   "applications), native detectors, paranoia level and rules apply, as 'waf "
                   "run' would (default: the default routes and WordPress's CRS exclusions)");
  test->add_flag("--no-policy", t->no_policy,
                 "No site policy at all: CRS as configured, as libmodsecurity runs it (wins "
                 "over the --config file's routes and applications)");
  test->callback([&o, &rc, t, nat, par] {
    t->native_given = nat->count() > 0;
    t->paranoia_given = par->count() > 0;
    rc = cmd_waf_test(o, *t);
  });

  auto la = std::make_shared<LearnArgs>();
  auto* learn = waf->add_subcommand(
      "learn",
      "Propose exclusions from the decision log of legitimate traffic (best: a week in detect "
      "mode): rules that fire on the same route and field for many clients");
  learn->add_option("LOG", la->logs, "Decision logs (waf run --log), JSON lines")->required();
  learn
      ->add_option("--min-clients", la->min_clients,
                   "Propose only what at least this many client addresses set off")
      ->capture_default_str();
  learn->add_option("--min-hits", la->min_hits, "… and at least this many requests")
      ->capture_default_str();
  learn->add_option("--first-id", la->first_id,
                    "Number the proposed rules from this id on (default: each rule's own stable "
                    "id in 10000-99999, from a hash of its text, so that two runs do not collide)");
  learn->add_flag("--seclang", la->seclang,
                  "Print only the SecLang rules (for REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf)");
  learn->footer(R"(Nothing is applied: read each proposal and the values that fired before copying
it. An attacker repeating one payload from a few addresses proposes nothing; from many
addresses it could: that is why the values are shown.

Examples:
  mamori waf learn /var/log/mamori/waf.jsonl
  mamori waf learn --seclang --min-clients 5 /var/log/mamori/waf.jsonl > learned.conf
See docs/waf.md "mamori waf learn".)");
  learn->callback([&o, &rc, la] { rc = cmd_waf_learn(o, *la); });

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
  run->add_option(
      "--native", r->native,
      "Mamori's own detectors after CRS: all (default), none, or names separated "
      "by commas (xxe, ssrf, ssti, nosql, proto, jndi, sqli-headers, sqli-path, graphql)");
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
