#pragma once
// robots.txt (RFC 9309) as the crawler obeys it, and the page addresses of a sitemap.
//
// Example:
//   Robots r = parse_robots(text, "mamori");
//   r.allowed("/wp-admin/x");  // false under "Disallow: /wp-admin/"
//   r.sitemaps;                // Sitemap: lines

#include <string>
#include <string_view>
#include <vector>

namespace mamori::web {

struct Robots {
  struct Rule {
    bool allow = false;
    std::string pattern;  // path pattern: '*' any run, a final '$' the end
  };
  std::vector<Rule> rules;  // of the group for our agent, else of '*'
  double crawl_delay = 0;   // seconds
  std::vector<std::string> sitemaps;
  // The longest matching rule decides; on a tie Allow wins; no rule: allowed.
  bool allowed(std::string_view path_and_query) const;
};

Robots parse_robots(std::string_view text, std::string_view agent = "mamori");

// <loc> values of a sitemap or sitemap index (XML), at most `max`.
std::vector<std::string> sitemap_locs(std::string_view xml, size_t max);

}  // namespace mamori::web
