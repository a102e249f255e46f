// What `mamori web baseline|check` reads from the sites it crawls (src/web/html.h, robots.h):
// a page's HTML, its inline JavaScript, robots.txt and sitemaps, and the baseline file.
// Properties: everything terminates; every list stays within its cap; every URL recorded is
// an absolute http(s) URL; a baseline that parses renders back to a baseline that parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "web/html.h"
#include "web/robots.h"
#include "web/site.h"
#include "web/url.h"

using namespace mamori::web;

namespace {
void must_be_url(const std::string& u) {
  if (!u.empty() && !Url::parse(u)) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const Url base = *Url::parse("https://shop.example/dir/page.html");
  HtmlLimits lim;
  lim.max_items = 50;
  lim.max_depth = 32;
  PageFacts f = parse_page(in, base, lim);
  if (f.links.size() > 50 || f.scripts.size() > 50 || f.inline_scripts.size() > 50 ||
      f.iframes.size() > 50 || f.forms.size() > 50)
    std::abort();
  for (const auto& l : f.links) must_be_url(l);
  for (const auto& s : f.scripts) must_be_url(s.src);
  for (const auto& fr : f.iframes) must_be_url(fr.src);
  for (const auto& fm : f.forms) must_be_url(fm.action);
  must_be_url(f.refresh);
  if (js_tokens(in, 1000).size() > 1000) std::abort();
  Robots r = parse_robots(in);
  (void)r.allowed("/wp-admin/x.php?y=1");
  if (sitemap_locs(in, 20).size() > 20) std::abort();
  if (auto b = parse_baseline(in)) {
    if (!parse_baseline(baseline_json(*b))) std::abort();
  }
  return 0;
}
