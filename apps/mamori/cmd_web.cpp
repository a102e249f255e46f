// mamori web baseline, check (scan: cmd_web_scan.cpp; incident: cmd_web_incident.cpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli.h"
#include "core/fs.h"
#include "core/text.h"
#include "fim/trusted.h"
#include "report/report.h"
#include "web/site.h"
#include "web/webscan.h"

namespace mamori::cli {
namespace {

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
  std::vector<std::string> webroots;  // check: the inside, against the FIM baseline
  std::string fim_baseline;
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
    return fail(text.error().with_context(
        "web check: no baseline to compare with (make one with `mamori web baseline URL…` "
        "with the same start URLs — other start URLs than the site's root name their own "
        "baseline, SCHEME_HOST_PORT-HASH.json — or give --baseline FILE; STATE_DIR is "
        "/var/lib/mamori as root)"));
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
  // The inside (--webroot, here or before `web`): its web roots and the FIM baseline are
  // checked before anything is crawled.
  std::vector<std::string> webroots = a.webroots;
  webroots.insert(webroots.end(), o.webroots.begin(), o.webroots.end());
  Root root(o.root);
  web::InsideOptions io;
  std::optional<fim::KnownHashes> known;
  if (!webroots.empty()) {
    for (const auto& w : webroots) {
      auto c = w.starts_with('/') ? root.canonical(w) : Result<std::string>(Error::invalid(w));
      if (!c || !root.is_dir(*c))
        return usage("web check: --webroot " + sanitize(w) +
                     ": give an existing directory, absolute, inside --root");
      io.webroots.push_back(*c);
    }
    if (o.root != "/" && a.fim_baseline.empty())
      return usage(
          "web check --webroot with --root: give the FIM baseline of that tree with "
          "--fim-baseline FILE (this host's describes this host)");
    fim::KeyFiles kf;
    kf.baseline = a.fim_baseline;
    auto k = fim::trusted_hashes_below(kf, io.webroots);
    if (!k)
      return fail(k.error().with_context(
          "web check --webroot: the FIM baseline (make one of the web root first: mamori fim "
          "init " +
          fmt::format("{}", fmt::join(io.webroots, " ")) + ")"));
    known = std::move(*k);
    io.known = &known->paths;
  }
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
  // Files that appeared in the web root (not in the FIM baseline) that nothing the crawl
  // fetched reaches.
  bool inside_complete = !webroots.empty();
  if (!webroots.empty()) {
    auto inside = web::unreached_new_files(root, io, now, b->options.starts);
    info(o, fmt::format("web check: {} files in the web root, {} not in the FIM baseline ({} "
                        "reached by the crawl, {} neither code nor a link), {} reported",
                        inside.files, inside.appeared, inside.reached, inside.other,
                        inside.findings.size()));
    for (auto& f : inside.findings) r.findings.push_back(std::move(f));
    for (auto& w : inside.warnings) r.warnings.push_back(std::move(w));
    inside_complete = inside.complete;
  }
  auto in =
      scan_input(host_name(o), web::site_scope(b->options.starts), started, std::move(r.findings));
  // What was not seen (a page not reached, scripts only Chromium sees) keeps its state; so do
  // the inside's findings when the inside was not looked at whole.
  in.partial = r.missing_pages > 0 || now.render_failed;
  if (!inside_complete) in.checks_not_run.push_back({"web", "unlinked-new-file"});
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
  add_web_scan_command(web, o, rc);

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
                  "The baseline file (default: STATE_DIR/web/SCHEME_HOST_PORT.json, 0600; with "
                  "other start URLs than the site's root, SCHEME_HOST_PORT-HASH.json, HASH of "
                  "the URLs; STATE_DIR: /var/lib/mamori as root)");
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
  check->add_option("--webroot", sa->webroots,
                    "Also look inside: files below this web root (served at the site's root) "
                    "that appeared since the FIM baseline and that no page reaches (repeat)");
  check->add_option("--fim-baseline", sa->fim_baseline,
                    "The FIM baseline for --webroot (default: STATE_DIR/fim.baseline; used only "
                    "if its signature verifies)");
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
With --webroot DIR, files below DIR that the FIM baseline does not hold and that no page, link,
script, frame, form or redirect of the crawl reaches are reported (unlinked-new-file): high for
code the server runs (PHP, CGI, .htaccess, .user.ini) and symbolic links, medium for what a
browser runs (JS, HTML, SVG); other new files are counted. What no crawl can see: a web shell
nobody links to. Then `mamori web incident FILE` tells how it arrived.

Examples:
  mamori web check https://shop.example/ https://shop.example/checkout
  mamori --format json --fail-on high web check --baseline /var/lib/mamori/web/https_shop.example.json
  mamori web check https://shop.example/ --webroot /var/www/shop    # and the inside, with FIM)");
  check->callback([&o, &rc, sa] { rc = cmd_web_check(o, *sa); });

  add_web_incident_command(web, o, rc);
}

}  // namespace mamori::cli
