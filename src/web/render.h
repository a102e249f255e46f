#pragma once
// Pages loaded in Debian's headless Chromium, to see the scripts a page's own scripts add at
// run time (a tag manager that starts loading a skimmer), which no HTML parse can. Chromium
// is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
// ending in NUL on fds 3 and 4), one browser for all pages. As root, Chromium runs as
// nobody (65534) with no-new-privs, in a fresh profile directory removed afterwards: a
// hostile page renders without Mamori's privileges.
//
// Example:
//   auto r = render_pages({"http://127.0.0.1:8080/"}, {});
//   for (auto& p : *r) p.scripts ...  // every script URL the page requested

#include <string>
#include <vector>

#include "core/result.h"

namespace mamori::web {

struct RenderOptions {
  std::string chromium = "/usr/bin/chromium";
  long page_timeout_s = 20;  // a page that has not loaded by then is given up (a warning)
  double settle_s = 1.0;     // scripts requested this long after the load event still count
};

struct Rendered {
  std::string url;
  std::vector<std::string> scripts;  // every script URL requested, in order, no duplicates
  std::string final_url;             // where the main frame ended (a script may navigate)
  std::string error;                 // the page could not be loaded (the others still are)
};

// The pages in order. An error only when Chromium cannot be started at all.
Result<std::vector<Rendered>> render_pages(const std::vector<std::string>& urls,
                                           const RenderOptions& o);

}  // namespace mamori::web
