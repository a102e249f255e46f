// mamori waf rules | test (the proxy comes in a later slice: docs/waf.md).
#include <CLI/CLI.hpp>

#include "cli.h"
#include "core/fs.h"
#include "waf/engine.h"
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
};

int cmd_waf_test(const Options& o, const TestArgs& a) {
  if (auto bad = text_or_json(o, "waf test")) return *bad;
  if (a.paranoia < 1 || a.paranoia > 4) return usage("waf test: --paranoia is 1 to 4");
  // The corpus first: a mistake in it should not wait for the engine to be built.
  auto recs = waf::read_corpus(a.corpus, 1ull << 30);
  if (!recs) return fail(recs.error().with_context("waf test"));
  auto rs = waf::load_engine_rules(a.rules, a.paranoia);
  if (!rs) return fail(rs.error().with_context("waf test"));
  info(o, "waf test: building the engine (" + std::to_string(rs->rules.size()) + " rules)");
  auto eng = waf::Engine::build(std::move(*rs));
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

}  // namespace

void add_waf_commands(CLI::App& app, Options& o, int& rc) {
  auto* waf =
      app.add_subcommand("waf", "Web application firewall: OWASP CRS rules in front of a site");
  waf->footer(R"(Examples:
  mamori waf rules /etc/modsecurity/crs/crs-setup.conf /usr/share/modsecurity-crs/rules
  mamori --format json waf rules my-rules.conf
  mamori waf test --paranoia 2 requests.jsonl
  mamori waf test --rules my-crs-setup.conf,/usr/share/modsecurity-crs/rules requests.jsonl
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
  test->callback([&o, &rc, t] { rc = cmd_waf_test(o, *t); });
}

}  // namespace mamori::cli
