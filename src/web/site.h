#pragma once
// `mamori web baseline` / `mamori web check`: the site as a visitor's browser gets it. A polite
// crawl (robots.txt, sitemaps, same origin, depth/page/rate limits) records what runs on each
// page — external script origins, same-origin scripts and their content, inline scripts, SRI,
// iframes, form actions, redirects — and its visible text. The baseline crawls twice and learns
// what changes between two fetches (nonces, tokens, dates) so that it is ignored; a check
// crawls again and reports what is new against the baseline.
//
// Example:
//   CrawlOptions o;  o.starts = {"https://shop.example/"};
//   Crawl a = crawl(o), b = refetch(a, o);
//   SiteBaseline base = learn(o, a, b, now);
//   ... later ...
//   auto findings = compare(base, crawl(o));

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"
#include "web/fetch.h"
#include "web/html.h"

namespace mamori::web {

struct CrawlOptions {
  std::vector<std::string> starts;  // absolute http(s) URLs; their origins are the site
  int depth = 3;                    // links followed from a start page
  size_t max_pages = 200;
  bool robots = true;         // obey robots.txt (start pages are always fetched)
  bool sitemap = true;        // pages listed in sitemaps are crawled too
  bool render = false;        // load pages in headless Chromium too (scripts added at run time)
  double max_seconds = 1800;  // the crawl starts nothing new after this long
  // Pages fetched whatever robots.txt says now and however they are linked (a check: the
  // baseline's pages; a site cannot hide one by disallowing or unlinking it).
  std::vector<std::string> seeds;
  std::string chromium = "/usr/bin/chromium";
  FetchLimits fetch;
  HtmlLimits html;
};

struct Page {
  std::string url;
  long status = 0;
  std::string content_type;
  std::string redirect;  // where a 3xx (or a meta refresh) sends the visitor, resolved
  std::string error;
  bool truncated = false;
  bool html = false;
  PageFacts facts;
};

struct ScriptBody {
  long status = 0;
  std::string sha256;                          // hex, of a complete 2xx body
  std::map<std::string, std::string> digests;  // "sha256"/"sha384"/"sha512" → base64 (SRI)
  std::string error;
};

struct Crawl {
  std::vector<Page> pages;
  std::map<std::string, ScriptBody> scripts;  // by full URL
  std::vector<std::string> warnings;
  size_t requests = 0;
  bool render_failed = false;  // --render asked, Chromium could not be started
};

Crawl crawl(const CrawlOptions& o);
// The same pages and scripts fetched again, nothing discovered (the baseline's second look).
Crawl refetch(const Crawl& first, const CrawlOptions& o);

// An inline script whose values change between fetches: its token count, the positions that
// changed, and the hash of its tokens with those positions blanked.
struct InlineTemplate {
  size_t tokens = 0;
  std::vector<uint32_t> mask;
  uint64_t hash = 0;
};

struct PageBaseline {
  long status = 0;
  std::string redirect;
  std::string title;
  bool form = false;                           // a form on the page
  bool sensitive = false;                      // a password or card field
  std::set<std::string> script_origins;        // other origins scripts load from
  std::map<std::string, std::string> scripts;  // key (URL without query) → integrity
  std::set<uint64_t> inline_hashes;            // exact token hashes of both fetches' inline scripts
  std::vector<InlineTemplate> inline_volatile;
  std::set<std::string> iframes;         // origins ("" for srcdoc/about:blank)
  std::set<std::string> hidden_iframes;  // origins of hidden ones
  std::set<std::string> form_origins;    // where forms post
  std::set<std::string> sri_bad;         // script keys whose integrity did not match already
  bool limits = false;         // the page was cut, flattened or capped at the baseline already
  std::vector<uint64_t> text;  // bottom-k sketch of the stable shingles
  std::vector<uint64_t> text_volatile;  // shingles that changed between the two fetches
  size_t text_count = 0;                // stable shingles in all
};

struct ScriptBaseline {
  std::string url;                // as first seen
  std::set<std::string> sha256s;  // contents seen (two fetches, any cache-busting query)
  bool volatile_content = false;  // differs between two fetches: content not compared
};

struct SiteBaseline {
  int64_t created = 0;
  CrawlOptions options;                           // starts, depth, max_pages, robots, sitemap, rate
  std::map<std::string, PageBaseline> pages;      // by URL
  std::map<std::string, ScriptBaseline> scripts;  // same-origin scripts by key
  std::vector<std::string> warnings;
};

SiteBaseline learn(const CrawlOptions& o, const Crawl& first, const Crawl& second, int64_t now);

std::string baseline_json(const SiteBaseline& b);
Result<SiteBaseline> parse_baseline(std::string_view json);

struct CheckResult {
  std::vector<Finding> findings;  // module web, asset = the page URL
  std::vector<std::string> warnings;
  size_t pages = 0, new_pages = 0, missing_pages = 0;
};

CheckResult compare(const SiteBaseline& base, const Crawl& now);

// The site from inside, with a check (`web check --webroot DIR`): files below the web root that
// the FIM baseline does not hold (they appeared since it was made) and that nothing the crawl
// saw reaches — no page, link, script, frame, form or redirect of the site's origin. What no
// crawl can see: a web shell or phishing kit nobody links to. Server-side code (PHP, CGI,
// .htaccess, .user.ini) is high, what a browser runs (JS, HTML, SVG) medium; other new files
// (images, documents) are only counted.
struct InsideOptions {
  std::vector<std::string> webroots;  // in-root, canonical; each served at the site's root
  const std::set<std::string>* known = nullptr;  // every path the FIM baseline holds below them
  size_t max_files = 500000;                     // walked at most, per web root
};
struct InsideResult {
  std::vector<Finding> findings;  // module web, check unlinked-new-file, asset file:PATH
  size_t files = 0, appeared = 0, reached = 0, other = 0;
  bool complete = true;  // every directory was read and no limit was hit
  std::vector<std::string> warnings;
};
InsideResult unreached_new_files(const Root& root, const InsideOptions& o, const Crawl& now,
                                 const std::vector<std::string>& starts);

// Start URLs as compared: normalised (Url::str), sorted, without duplicates.
std::vector<std::string> normalized_starts(const std::vector<std::string>& starts);
// Where a baseline of these start URLs is kept by default: state_dir()/web/NAME.json, NAME =
// SCHEME_HOST[_PORT] (the port when it is not the default), and "-" and 8 hex digits of the
// start URLs' hash unless the only start is the site's root.
std::string default_baseline_path(const std::vector<std::string>& starts);
std::string site_name(const std::vector<std::string>& starts);
// The store scope of a site's checks: "web:" and its NAME (one scope per set of start URLs).
inline std::string site_scope(const std::vector<std::string>& starts) {
  return "web:" + site_name(starts);
}

}  // namespace mamori::web
