// mamori: the global options and the command groups (cmd_*.cpp), which call into src/.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>

#include "cli.h"
#include "store/store.h"

namespace {

// Test hook (tests/cli): MAMORI_TEST_KILL_AT=record_scan:before-commit makes mamori kill
// itself with SIGKILL at that point, to prove a killed scan leaves the store intact.
void kill_hook(const char* point) {
  const char* at = std::getenv("MAMORI_TEST_KILL_AT");
  if (at && std::strcmp(at, point) == 0) std::raise(SIGKILL);
}

constexpr const char* kFooter = R"(
Examples:
  mamori scan                              inventory + checks of this machine, recorded in the store
  mamori scan --format html -o report.html one self-contained HTML report
  mamori scan --fail-on high -q            for cron/CI: exit 1 if a new/open high or critical finding
  mamori --root /mnt/image scan            audit a mounted image or container filesystem
  mamori inventory --format cyclonedx      SBOM of what is installed
  mamori findings list --severity medium   what is open right now
  mamori findings accept 3f2a9c1e --reason "vendor box, isolated VLAN"
  mamori owners set 'pkg:deb/*openssh*' vendor-x
  mamori --store postgresql://mamori@db/mamori scan   report into a fleet store
  mamori db update                         download vulnerability data (OSV, CISA KEV, EPSS)
  mamori fim init && mamori fim check      signed file-integrity baseline, then what changed

Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage error, 3 error (bad input, store).
Documentation: docs/ (one page per command).)";

}  // namespace

int main(int argc, char** argv) {
  using namespace mamori::cli;
  // Everything Mamori creates is private unless it says otherwise: findings, bans, baselines,
  // reports and the SQLite -wal/-shm files (created with the umask) hold what an attacker wants.
  ::umask(077);
  if (std::getenv("MAMORI_TEST_KILL_AT")) mamori::store::set_fault_hook(kill_hook);

  Options o;
  CLI::App app{
      "mamori — keeps servers safe in practice: what is installed, what is wrong, who fixes it"};
  app.footer(kFooter);
  app.fallthrough();
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();

  app.add_option("--root", o.root, "Audit the system mounted at DIR instead of this machine")
      ->type_name("DIR");
  app.add_option("--store", o.store,
                 "Store URL: an SQLite file (default /var/lib/mamori/mamori.db as root, else "
                 "$XDG_DATA_HOME/mamori/mamori.db) or postgresql://USER@HOST/DB for a fleet")
      ->type_name("URL");
  app.add_option("--db", o.db, "Vulnerability database (default: vuln.db beside the default store)")
      ->type_name("FILE");
  app.add_option("--format", o.format,
                 "Output format: text, json, sarif, html (inventory: text, json, cyclonedx)")
      ->type_name("FORMAT");
  app.add_option("-o,--output", o.output, "Write the output to FILE (atomically) instead of stdout")
      ->type_name("FILE");
  app.add_option("--fail-on", o.fail_on,
                 "Exit 1 when a new or open, not accepted finding has this severity or higher "
                 "(critical, high, medium, low, info)")
      ->type_name("SEVERITY");
  app.add_option("--host", o.host,
                 "Host name to record (default: this machine's, or ROOT/etc/hostname)")
      ->type_name("NAME");
  app.add_option("--webroot", o.webroots,
                 "Web root to search for CMS installs and lockfiles (repeatable; default: "
                 "discover /var/www, /srv/www, /srv/http, /usr/share/nginx/html, ...)")
      ->type_name("DIR");
  app.add_option("--path", o.paths,
                 "Extra directory to search for lockfiles and site-packages (repeatable)")
      ->type_name("DIR");
  app.add_flag("--no-discover", o.no_discover,
               "Search only the --webroot/--path directories given");
  app.add_flag("-q,--quiet", o.quiet, "No progress or informational messages");
  app.add_flag("-v,--verbose", o.verbose, "More detail (repeat for more)");
  app.add_flag("--no-color", o.no_color, "No colour even on a terminal (also: NO_COLOR=1)");

  int rc = kExitOk;

  add_scan_commands(app, o, rc);
  add_findings_commands(app, o, rc);
  add_db_commands(app, o, rc);
  add_fim_commands(app, o, rc);
  add_audit_commands(app, o, rc);
  add_guard_commands(app, o, rc);
  add_waf_commands(app, o, rc);
  add_web_commands(app, o, rc);
  add_cloud_commands(app, o, rc);

  // A repeatable option takes one value per occurrence: "--exclude GLOB PATH" must leave PATH
  // to the positional arguments (CLI11 would otherwise swallow it as a second GLOB).
  std::function<void(CLI::App*)> one_value_each = [&](CLI::App* a) {
    for (CLI::Option* opt : a->get_options())
      if (!opt->get_positional() && opt->get_items_expected_max() > 1)
        opt->expected(1)->allow_extra_args(false)->multi_option_policy(
            CLI::MultiOptionPolicy::TakeAll);
    for (CLI::App* sub : a->get_subcommands({})) one_value_each(sub);
  };
  one_value_each(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return rc;
}
