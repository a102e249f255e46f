// mamori web scan, baseline, check (incident: cmd_web_incident.cpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/fs.h"
#include "core/text.h"
#include "fim/trusted.h"
#include "report/report.h"
#include "web/site.h"
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
  if (!a.wp_checksums.empty()) {
    auto m = web::read_wp_checksums(a.wp_checksums);
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
        pre_warnings.push_back("the FIM baseline is not used as known good: " + k.error().message);
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
  if (r->files == 0 && !r->warnings.empty()) return kExitError;  // nothing could be read
  return exit_for(rep.findings, ra.threshold);
}

struct SiteArgs {
  std::vector<std::string> urls;
  std::string baseline;
  int depth = 3;
  size_t max_pages = 200;
  double rate = 10;
  int concurrency = 4;
  long timeout = 20;
  size_t max_mib = 4;
  bool no_robots = false;
  bool no_sitemap = false;
  bool render = false;
  double max_time = 1800;
  std::string chromium = "/usr/bin/chromium";
};

std::string crawl_summary(const web::Crawl& c, double seconds) {
  size_t html = 0;
  for (const auto& p : c.pages) html += p.html;
  return fmt::format("{} pages ({} HTML), {} scripts, {} requests in {:.1f} s", c.pages.size(),
                     html, c.scripts.size(), c.requests, seconds);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int cmd_web_baseline(const Options& o, const SiteArgs& a) {
  if (auto bad = text_or_json(o, "web baseline")) return *bad;
  web::CrawlOptions co;
  for (const auto& u : a.urls) {
    if (!web::Url::parse(u)) return usage("web baseline: " + sanitize(u) + ": give an http(s) URL");
    co.starts.push_back(u);
  }
  if (a.depth < 0 || a.max_pages == 0 || a.rate < 0 || a.concurrency < 1 || a.timeout < 1 ||
      a.max_mib == 0 || a.max_mib > 1024 || a.max_time <= 0)
    return usage(
        "web baseline: --depth >= 0, --max-pages >= 1, --rate >= 0, --concurrency >= 1, "
        "--timeout >= 1, --max-size 1..1024 MiB");
  co.depth = a.depth;
  co.max_pages = a.max_pages;
  co.robots = !a.no_robots;
  co.sitemap = !a.no_sitemap;
  co.render = a.render;
  co.max_seconds = a.max_time;
  co.chromium = a.chromium;
  co.fetch.rate = a.rate;
  co.fetch.concurrency = a.concurrency;
  co.fetch.timeout_s = a.timeout;
  co.fetch.max_bytes = a.max_mib << 20;
  co.html.max_bytes = co.fetch.max_bytes;
  std::string path = a.baseline.empty() ? web::default_baseline_path(co.starts) : a.baseline;
  auto t0 = std::chrono::steady_clock::now();
  info(o, "web baseline: crawling " + sanitize(fmt::format("{}", fmt::join(co.starts, " "))));
  web::Crawl first = web::crawl(co);
  info(o, "web baseline: first look: " + crawl_summary(first, since(t0)));
  if (first.render_failed) {
    for (const auto& w : first.warnings) info(o, "web baseline: warning: " + w);
    return fail(Error::unavailable(
        "web baseline --render: Chromium could not be started; nothing recorded"));
  }
  auto t1 = std::chrono::steady_clock::now();
  web::Crawl second = web::refetch(first, co);
  info(o,
       "web baseline: second look (what changes by itself): " + crawl_summary(second, since(t1)));
  size_t html = 0;
  for (const auto& p : first.pages) html += p.html;
  if (html == 0) {
    for (const auto& w : first.warnings) info(o, "web baseline: warning: " + w);
    return fail(Error::unavailable("web baseline: no page could be read; nothing recorded"));
  }
  web::SiteBaseline b = web::learn(co, first, second, now_s());
  for (const auto& w : b.warnings) info(o, "web baseline: warning: " + sanitize(w));
  if (auto st = ensure_parent_dir(path); !st) return fail(st.error());
  // The baseline replaced is kept beside it (.prev): a re-baseline after a deploy can be
  // compared with it, or undone.
  std::string kept;
  if (auto old = read_file(path, 256ull << 20)) {
    if (auto st = write_file_atomic(path + ".prev", *old, true); !st) return fail(st.error());
    kept = path + ".prev";
  }
  if (auto st = write_file_atomic(path, web::baseline_json(b), true); !st) return fail(st.error());
  size_t vol = 0, tmpl = 0;
  for (const auto& [u, p] : b.pages) {
    vol += !p.text_volatile.empty();
    tmpl += p.inline_volatile.size();
  }
  if (o.format == "json") {
    nlohmann::json j = {{"baseline", path},
                        {"pages", b.pages.size()},
                        {"html_pages", html},
                        {"scripts", b.scripts.size()},
                        {"pages_with_volatile_text", vol},
                        {"volatile_inline_scripts", tmpl},
                        {"warnings", b.warnings}};
    return emit(o, j.dump(2) + "\n");
  }
  auto n = [](size_t k, const char* one, const char* many) {
    return fmt::format("{} {}", k, k == 1 ? one : many);
  };
  return emit(
      o, fmt::format("Baseline of {} ({} HTML, {}) written to {}{}\n"
                     "Learned as changing by itself: text on {}, {}.\n"
                     "Run `mamori web check --baseline {}` to compare.\n",
                     n(b.pages.size(), "page", "pages"), html,
                     n(b.scripts.size(), "same-origin script", "same-origin scripts"), path,
                     kept.empty() ? "" : " (the previous one kept as " + kept + ")",
                     n(vol, "page", "pages"), n(tmpl, "inline script", "inline scripts"), path));
}

int cmd_web_check(const Options& o, const SiteArgs& a) {
  ReportArgs ra;
  if (auto bad = report_args(o, ra)) return *bad;
  std::string path = a.baseline;
  if (path.empty()) {
    if (a.urls.empty()) return usage("web check: give the site's URL or --baseline FILE");
    path = web::default_baseline_path(a.urls);
  }
  auto text = read_file(path, 256ull << 20);
  if (!text)
    return fail(
        text.error().with_context("web check: no baseline to compare with (make one with `mamori "
                                  "web baseline URL…`, or give --baseline FILE)"));
  auto b = web::parse_baseline(*text);
  if (!b) return fail(b.error().with_context("web check: " + path));
  if (!a.urls.empty() &&
      web::normalized_starts(a.urls) != web::normalized_starts(b->options.starts))
    return usage(
        fmt::format("web check: {} is the baseline of {}, not of {}: give those URLs, "
                    "or the baseline of these with --baseline FILE",
                    path, fmt::join(b->options.starts, " "), fmt::join(a.urls, " ")));
  b->options.chromium = a.chromium;
  // The baseline's pages are fetched whatever robots.txt says now and however they are linked.
  for (const auto& [url, pb] : b->pages)
    if (pb.status >= 200 && pb.status < 300) b->options.seeds.push_back(url);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  auto t0 = std::chrono::steady_clock::now();
  info(o, "web check: crawling " + sanitize(fmt::format("{}", fmt::join(b->options.starts, " "))));
  web::Crawl now = web::crawl(b->options);
  info(o, "web check: " + crawl_summary(now, since(t0)));
  auto r = web::compare(*b, now);
  info(o, fmt::format("web check: {} pages compared ({} the baseline did not have), {} of the "
                      "baseline not reached",
                      r.pages, r.new_pages, r.missing_pages));
  size_t html = 0;
  for (const auto& p : now.pages) html += p.html;
  if (html == 0) {
    for (const auto& w : r.warnings) info(o, "web check: warning: " + w);
    return fail(Error::unavailable("web check: no page could be read; nothing recorded"));
  }
  auto in =
      scan_input(host_name(o), web::site_scope(b->options.starts), started, std::move(r.findings));
  // What was not seen (a page not reached, scripts only Chromium sees) keeps its state.
  in.partial = r.missing_pages > 0 || now.render_failed;
  return record_and_report(o, **st, in, std::move(r.warnings), ra);
}

}  // namespace

void add_web_commands(CLI::App& app, Options& o, int& rc) {
  auto* web = app.add_subcommand(
      "web",
      "Web sites: what visitors get (scripts, forms, content), web shells in web roots, and "
      "why a file changed");
  web->require_subcommand(1);
  web->footer(R"(Examples:
  mamori web baseline https://shop.example/            # record what the site runs, once
  mamori web check https://shop.example/               # later, from a timer: what changed
  mamori web scan /var/www                             # web shells in the web root
  mamori web incident /var/www/wp-content/uploads/x.php  # why did this file appear?
See docs/web.md.)");
  auto a = std::make_shared<WebScanArgs>();
  auto* scan = web->add_subcommand(
      "scan",
      "Find PHP web shells and backdoors below web roots: code that runs what a request says "
      "(a command, PHP code, a function it names, a file it uploads or includes) and code that "
      "hides doing so; files dpkg or WordPress ship unchanged are known good");
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
  scan->footer(R"(Every PHP file is judged, and every other file up to 2 MiB that holds PHP code
(an image with <?php inside). Symbolic links are never followed. Each suspect names the lines
and what they do; a score of 10 makes a suspect, 20 a critical one. --format json|sarif|html
for machines; --fail-on high exits 1 when a suspect is found.

Examples:
  mamori web scan /var/www
  mamori --format json web scan /srv/www/shop --wp-checksums wp-6.1.json
  mamori --root /mnt/image web scan /var/www        # a copy of a server's disk)");
  scan->callback([&o, &rc, a] { rc = cmd_web_scan(o, *a); });

  auto sa = std::make_shared<SiteArgs>();
  auto* base = web->add_subcommand(
      "baseline",
      "Crawl a site as a visitor does and record what runs on each page (scripts and their "
      "content, inline scripts, SRI, iframes, where forms post, redirects, the visible text); "
      "each page is fetched twice so that what changes by itself is learned and ignored");
  base->add_option("URL", sa->urls, "Start pages (http or https); their origins are the site")
      ->required();
  auto crawl_options = [sa](CLI::App* c) {
    c->add_option("--baseline", sa->baseline,
                  "The baseline file (default: STATE_DIR/web/SCHEME_HOST_PORT.json, 0600)");
  };
  crawl_options(base);
  base->add_option("--depth", sa->depth, "Links followed from a start page (default 3)");
  base->add_option("--max-pages", sa->max_pages, "Pages crawled at most (default 200)");
  base->add_option("--rate", sa->rate,
                   "Requests per second at most (default 10; 0: no limit; robots.txt's "
                   "Crawl-delay lowers it)");
  base->add_option("--concurrency", sa->concurrency, "Requests at once (default 4)");
  base->add_option("--timeout", sa->timeout, "Seconds a request may take (default 20)");
  base->add_option("--max-size", sa->max_mib, "MiB read of one response (default 4)");
  base->add_option("--max-time", sa->max_time,
                   "Seconds the crawl may take; nothing new is fetched after (default 1800)");
  base->add_flag("--no-robots", sa->no_robots,
                 "Crawl what robots.txt disallows too (your own site)");
  base->add_flag("--no-sitemap", sa->no_sitemap, "Do not crawl the pages sitemaps list");
  base->add_flag("--render", sa->render,
                 "Also load every page in headless Chromium and record the scripts it requests: "
                 "scripts other scripts add at run time (a tag manager loading a skimmer)");
  base->add_option("--chromium", sa->chromium,
                   "Chromium's path for --render (default /usr/bin/chromium)");
  base->footer(R"(Only the start URLs' origins are crawled (same scheme, host and port); scripts of
other origins are recorded by origin, and fetched only to verify their integrity attribute. The
crawl settings are kept in the baseline: `web check` crawls the same way.

Examples:
  mamori web baseline https://shop.example/ https://shop.example/checkout
  mamori web baseline --max-pages 50 --rate 2 https://www.example.org/
  mamori web baseline --render https://shop.example/checkout    # scripts added at run time)");
  base->callback([&o, &rc, sa] { rc = cmd_web_baseline(o, *sa); });

  auto* check = web->add_subcommand(
      "check",
      "Crawl the site again and report what changed against its baseline: a new script origin, "
      "a changed or new script file, new inline script, SRI removed or not matching, a form "
      "posting elsewhere, a new hidden iframe, a redirect to another site, a defaced page");
  check->add_option("URL", sa->urls, "The start URLs the baseline was made with (or --baseline)");
  crawl_options(check);
  check->add_option(
      "--chromium", sa->chromium,
      "Chromium's path, for a baseline made with --render (default /usr/bin/chromium)");
  check->footer(R"(The crawl settings (depth, pages, rate, timeout, size, --render) are the
baseline's. Findings are recorded in the store (scope web:NAME of the start URLs) and move new ->
open -> fixed like every other finding; when a page of the baseline is not reached (or
Chromium cannot start for --render) the record is partial and nothing is marked fixed.
--format json|sarif|html for machines, -o FILE to write it, --fail-on high to exit 1.
Severity: high for a new or changed script, new inline script, SRI removed or a hidden iframe
on a page with a form (else medium; PCI DSS v4.0 6.4.3 and 11.6.1: payment-page scripts
authorised, changes detected), for a form posting elsewhere, a redirect to another site and a
defaced page; medium for SRI not matching. After a deploy of your own, run `web baseline`
again (the previous baseline is kept as FILE.prev).

Examples:
  mamori web check https://shop.example/ https://shop.example/checkout
  mamori --format json --fail-on high web check --baseline /var/lib/mamori/web/https_shop.example.json)");
  check->callback([&o, &rc, sa] { rc = cmd_web_check(o, *sa); });

  add_web_incident_command(web, o, rc);
}

}  // namespace mamori::cli
