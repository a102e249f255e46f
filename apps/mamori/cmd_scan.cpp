// mamori scan, inventory, report.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <random>

#include "cli.h"
#include "core/fs.h"
#include "core/module.h"
#include "core/progress.h"
#include "core/text.h"
#include "inventory/inventory.h"
#include "scan/scan.h"
#include "vuln/vuln.h"

namespace mamori::cli {
namespace {

Status root_is_a_directory(const Options& o) {
  std::error_code ec;
  if (!std::filesystem::is_directory(o.root, ec))
    return Error::not_found("--root " + o.root + ": not a directory");
  return ok();
}

int cmd_scan(const Options& o, const std::vector<std::string>& skip,
             const std::vector<std::string>& only) {
  ReportArgs ra;
  if (auto rc = report_args(o, ra)) return *rc;
  auto modules = scan::builtin_modules();
  auto steps = scan::plan(modules, skip, only);
  if (!steps) return usage("scan: " + steps.error().message);
  SystemClock clock;
  int64_t started = clock.now();
  // Open the store first: a broken store must fail before minutes of collecting.
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto owner_rules = (*st)->owners();
  if (!owner_rules) return fail(owner_rules.error());
  if (auto r = root_is_a_directory(o); !r) return fail(r.error());

  ScanOptions so;
  so.webroots = o.webroots;
  so.paths = o.paths;
  so.discover_webroots = !o.no_discover;
  so.db_path = db_path(o);
  so.db_explicit = !o.db.empty();
  so.verbose = o.verbose;
  Root root(o.root);
  ScanContext ctx{root, host_name(o), started, clock, so, *owner_rules, st->get()};
  auto run = scan::run(*steps, ctx, !o.quiet);
  if (!run) return fail(run.error());
  // Warnings go into the report; with -v they are also said here, once every module has run,
  // and what could not be read is always said.
  for (const auto& w : run->warnings)
    if (o.verbose > 0) info(o, "warning: " + sanitize(w));
  if (o.verbose == 0)
    for (const auto& n : run->notices) info(o, "warning: " + sanitize(n));
  if (o.verbose > 0)
    for (const auto& d : run->details) info(o, sanitize(d));
  if (run->scopes.empty()) {
    // Nothing to record: every module chosen was not applicable here or failed; say which.
    std::vector<std::string> why = run->details;
    for (const auto& w : run->warnings)
      if (w.find(" skipped: ") != std::string::npos) why.push_back(w);
    return fail(
        Error::invalid(fmt::format("scan: no module ran to the end ({})", fmt::join(why, "; "))));
  }
  auto rec = scan::record(**st, *run, MAMORI_VERSION, clock);
  if (!rec) return fail(rec.error());
  report::Report r;
  r.host = ctx.host;
  r.scan = scan_info(rec->scan);
  r.findings = std::move(rec->findings);
  if (run->inventory) r.packages = count_packages(run->inventory->packages);
  r.warnings = std::move(run->warnings);
  return render_report(o, r, ra);
}

std::string random_uuid() {
  std::random_device rd;
  std::mt19937_64 g(rd());
  uint64_t a = g(), b = g();
  // RFC 4122 version 4 UUID.
  a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  return fmt::format("urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xFFFF,
                     a & 0xFFFF, b >> 48, b & 0xFFFFFFFFFFFFull);
}

int cmd_inventory(const Options& o) {
  if (o.format != "text" && o.format != "json" && o.format != "cyclonedx")
    return usage("inventory: --format must be text, json or cyclonedx");
  if (auto r = root_is_a_directory(o); !r) return fail(r.error());
  Result<inventory::Inventory> inv = Error::internal("not collected");
  {
    Progress progress(!o.quiet, "inventory");
    inventory::InventoryOptions io;
    for (const auto& w : o.webroots) io.webroots.emplace_back(w);
    for (const auto& p : o.paths) io.paths.emplace_back(p);
    io.discover_webroots = !o.no_discover;
    io.on_progress = [&progress](const std::string& s) { progress.update(s); };
    inv = inventory::collect_inventory(Root(o.root), io);
  }
  if (!inv) return fail(inv.error());
  report::InventoryView v;
  v.host = host_name(o);
  v.os = inv->os.pretty_name.empty() ? inv->os.distro() : inv->os.pretty_name;
  v.tool_version = MAMORI_VERSION;
  v.packages = inv->packages;
  v.warnings = inv->warnings;
  if (o.format == "json") return emit(o, report::render_inventory_json(v));
  if (o.format == "text") return emit(o, report::render_inventory_text(v));
  // CycloneDX, with its vulnerabilities (VEX) when there is a vulnerability database.
  auto db = open_db_if_any(o);
  if (!db) return fail(db.error());
  if (*db)
    v.vulnerabilities = vuln::vex_entries(**db, *inv);
  else
    info(o, "no vulnerability database at " + db_path(o) + ": the SBOM lists components only");
  return emit(o, report::render_cyclonedx(v, random_uuid(), iso8601(now_s())));
}

int cmd_report(const Options& o, std::optional<long long> scan_id) {
  ReportArgs ra;
  if (auto rc = report_args(o, ra)) return *rc;
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  std::optional<store::ScanRecord> scan;
  if (scan_id) {
    auto s = (*st)->scan_by_id(*scan_id);
    if (!s) return fail(s.error());
    if (!*s) return fail(Error::not_found(fmt::format("no scan #{} in the store", *scan_id)));
    scan = **s;
  } else {
    auto s = (*st)->last_scan(host, "scan");
    if (!s) return fail(s.error());
    if (!*s)
      return fail(Error::not_found(
          fmt::format("no scan of host '{}' in {}; run 'mamori scan' first (or pass --host)", host,
                      (*st)->describe())));
    scan = **s;
  }
  auto findings = (*st)->scan_findings(scan->id);
  if (!findings) return fail(findings.error());
  report::Report r;
  r.host = scan->host;
  r.scan = scan_info(*scan);
  r.findings = std::move(*findings);
  // The findings are the report; a damaged package list costs only the inventory counts.
  auto pkgs = (*st)->scan_packages(scan->id);
  if (pkgs)
    r.packages = count_packages(*pkgs);
  else
    r.warnings.push_back("the inventory of this scan cannot be read: " + pkgs.error().message);
  return render_report(o, r, ra);
}

}  // namespace

void add_scan_commands(CLI::App& app, Options& o, int& rc) {
  auto* scan = app.add_subcommand(
      "scan", "Inventory this machine (or --root), run the checks, record the scan, report");
  std::string modules_help;
  for (const auto& m : scan::builtin_modules())
    modules_help += fmt::format("  {:<10} {}\n", m->name(), m->summary());
  scan->footer(R"(Modules (run in this order; --skip NAME leaves one out, --only NAME runs just it
and what it needs):
)" + modules_help +
               R"(Examples:
  mamori scan                                text report of this machine
  mamori scan --format html -o report.html   one self-contained HTML file
  mamori scan -q --fail-on high              cron/CI: exit 1 on a new/open high or critical finding
  mamori --root /mnt/web01 --host web01 scan a mounted image, recorded as web01
  mamori scan --only audit                   just the remote-maintenance audit
A module left out keeps its findings as they were (neither fixed nor refreshed).
See docs/scan.md.)");
  auto skip = std::make_shared<std::vector<std::string>>();
  auto only = std::make_shared<std::vector<std::string>>();
  scan->add_option("--skip", *skip, "Leave a module out of this scan (repeatable)")
      ->type_name("MODULE");
  scan->add_option("--only", *only, "Run only this module and what it needs (repeatable)")
      ->type_name("MODULE");
  scan->callback([&o, &rc, skip, only] { rc = cmd_scan(o, *skip, *only); });

  auto* inv = app.add_subcommand("inventory",
                                 "List installed software (dpkg, rpm, apk, WordPress, lockfiles)");
  inv->footer(R"(Examples:
  mamori inventory                           table of every package
  mamori inventory --format json             the JSON contract of docs/json.md
  mamori inventory --format cyclonedx -o sbom.json
  mamori --root /mnt/image inventory --webroot /srv/shop
See docs/inventory.md.)");
  inv->callback([&o, &rc] { rc = cmd_inventory(o); });

  auto scan_id = std::make_shared<long long>(0);
  auto* rep =
      app.add_subcommand("report", "Render a recorded scan (the latest of this host by default)");
  auto* scan_opt = rep->add_option("--scan", *scan_id, "Scan number to render")->type_name("ID");
  rep->footer(R"(Examples:
  mamori report --format html -o report.html the latest scan of this host
  mamori --host web02 report --scan 12       another host or an older scan
See docs/report.md.)");
  rep->callback([&o, &rc, scan_id, scan_opt] {
    rc = cmd_report(o, scan_opt->count() ? std::optional<long long>(*scan_id) : std::nullopt);
  });
}

}  // namespace mamori::cli
