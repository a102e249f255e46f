// mamori waf rules (the engine, proxy and offline test come in later slices: docs/waf.md).
#include <CLI/CLI.hpp>

#include "cli.h"
#include "waf/rules.h"
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

}  // namespace

void add_waf_commands(CLI::App& app, Options& o, int& rc) {
  auto* waf =
      app.add_subcommand("waf", "Web application firewall: OWASP CRS rules in front of a site");
  waf->footer(R"(Examples:
  mamori waf rules /etc/modsecurity/crs/crs-setup.conf /usr/share/modsecurity-crs/rules
  mamori --format json waf rules my-rules.conf
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
}

}  // namespace mamori::cli
