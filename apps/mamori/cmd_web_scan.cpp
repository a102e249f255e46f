// mamori web scan.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "cli.h"
#include "core/fs.h"
#include "core/text.h"
#include "fim/trusted.h"
#include "report/report.h"
#include "web/webscan.h"

namespace mamori::cli {
namespace {

struct WebScanArgs {
  std::vector<std::string> dirs;
  std::string wp_checksums;
  std::string fim_baseline;
  bool no_dpkg = false;
  bool no_fim = false;
};

int cmd_web_scan(const Options& o, const WebScanArgs& a) {
  ReportArgs ra;
  if (auto bad = report_args(o, ra)) return *bad;
  web::WebScanOptions wo;
  for (const auto& d : a.dirs) {
    if (d.empty() || d[0] != '/')
      return usage("web scan: " + sanitize(d) + ": give an absolute directory (inside --root)");
    wo.dirs.push_back(d);
  }
  wo.use_dpkg = !a.no_dpkg;
  if (!a.fim_baseline.empty() && a.no_fim)
    return usage("web scan: --fim-baseline and --no-fim contradict each other: give one");
  if (!a.wp_checksums.empty()) {
    // (a file of the operator's, named from where they stand: not a path inside --root)
    auto m = web::read_wp_checksums(std::filesystem::absolute(a.wp_checksums).string());
    if (!m) return fail(m.error().with_context("web scan --wp-checksums"));
    wo.wp_md5 = std::move(*m);
  }
  // The host's FIM baseline, when there is one and its signature verifies: what the operator
  // accepted is known good.
  std::vector<std::string> pre_warnings;
  if (!a.no_fim) {
    fim::KeyFiles kf;
    kf.baseline = a.fim_baseline;
    bool asked = !a.fim_baseline.empty();
    // The host's own baseline describes the host: not a tree given with --root.
    if (asked || (o.root == "/" && std::filesystem::exists(kf.baseline_path()))) {
      auto k = fim::trusted_hashes_below(kf, wo.dirs);
      if (k) {
        wo.fim_known = std::move(k->by_path);
        wo.fim_algo = std::string(fim::hash_name(k->algo));
        info(o, fmt::format("web scan: {} files of the FIM baseline {} are known good",
                            wo.fim_known.size(), kf.baseline_path()));
      } else if (asked) {
        return fail(k.error().with_context("web scan --fim-baseline"));
      } else {
        pre_warnings.push_back(
            "the FIM baseline is not used as known good (" + k.error().message +
            "); if this host has no FIM key yet, `mamori fim init` makes one, or pass --no-fim");
      }
    }
  }
  Root root(o.root);
  info(o, "web scan: judging the PHP below " + fmt::format("{}", fmt::join(wo.dirs, ", ")));
  auto r = web::web_scan(root, wo);
  if (!r) return fail(r.error().with_context("web scan"));
  r->warnings.insert(r->warnings.begin(), pre_warnings.begin(), pre_warnings.end());
  for (const auto& w : r->warnings) info(o, "web scan: warning: " + sanitize(w));
  report::Report rep;
  rep.host = host_name(o);
  rep.tool_version = MAMORI_VERSION;
  rep.findings = web::webshell_findings(*r);
  int rc = 0;
  switch (ra.format) {
    case report::Format::kText:
      rc = emit(o, web::render_web_scan_text(*r));
      break;
    case report::Format::kJson:
      rc = emit(o, web::render_web_scan_json(*r, report::render_json(rep)));
      break;
    default:
      rc = emit(o, report::render(rep, ra.format, use_color(o)));
  }
  if (rc != kExitOk) return rc;
  // A DIR that could not be judged (missing, not a directory), or nothing read at all
  if (r->dirs_unread > 0 || (r->files == 0 && !r->warnings.empty())) return kExitError;
  return exit_for(rep.findings, ra.threshold);
}

}  // namespace

void add_web_scan_command(CLI::App* web, Options& o, int& rc) {
  auto a = std::make_shared<WebScanArgs>();
  auto* scan = web->add_subcommand(
      "scan",
      "Find PHP web shells and backdoors below web roots: code that runs what a request says "
      "(a command, PHP code, a function it names, a file it uploads or includes) and code that "
      "hides doing so; files dpkg or WordPress ship unchanged, or the FIM baseline holds, are "
      "known good");
  scan->add_option("DIR", a->dirs,
                   "Directories to judge, absolute, inside --root (a web root: "
                   "/var/www, /srv/www/shop)")
      ->required();
  scan->add_option("--wp-checksums", a->wp_checksums,
                   "WordPress's release checksums (JSON of https://api.wordpress.org/core/"
                   "checksums/1.0/?version=X): files that match are known good");
  scan->add_option("--fim-baseline", a->fim_baseline,
                   "The FIM baseline whose files are known good (default: the host's, "
                   "STATE_DIR/fim.baseline, when it exists; used only if its signature verifies)");
  scan->add_flag("--no-fim", a->no_fim, "Do not take files the FIM baseline holds as known good");
  scan->add_flag("--no-dpkg", a->no_dpkg,
                 "Do not take files dpkg installed unchanged (its md5sums) as known good");
  scan->footer(R"(Every PHP file (.php, .phtml, .phar, .inc, x.php.jpg …, read up to 8 MiB) is
judged, and every other file up to 2 MiB that holds PHP code (<?php or <?= in any case: an
image or a text with PHP inside, which an include runs), except documentation markup (.md,
.rst). A DIR that is a link is resolved once, inside --root; below it links are never
followed. What cannot be judged whole (too large, too costly) is a suspect. Each suspect names
the lines and what they do; a score of 10 makes a suspect, 20 a critical one.
Links are listed when a web server would run them as PHP (x.php -> elsewhere): judge their
targets where they lie. Known good suspects are listed in the JSON (known_good_paths) with
what vouched for them: run web scan before `fim init` on a host you are not sure of, or a
shell already there becomes known good. A score counts evidence, not danger: any suspect
means a file that runs what requests say, or hides what it does.
--format json|sarif|html for machines (web scan records nothing in the store: its findings'
state is always new). Exit: 0; 1 with --fail-on and a suspect at or above it; 2 a usage
mistake; 3 a DIR missing or unreadable, or --wp-checksums / --fim-baseline unreadable.

Examples:
  mamori web scan /var/www
  mamori --format json web scan /srv/www/shop --wp-checksums ./wp-6.1.json
  mamori --fail-on high -q web scan /var/www        # exit 1 when a suspect is found
  mamori --root /mnt/image web scan /var/www        # a copy of a server's disk)");
  scan->callback([&o, &rc, a] { rc = cmd_web_scan(o, *a); });
}

}  // namespace mamori::cli
