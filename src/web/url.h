#pragma once
// URLs as the crawler needs them, parsed and resolved by libcurl's own URL parser (CURLU), so
// that what is compared is what curl fetches. Only http and https are accepted.
//
// Example:
//   auto u = Url::parse("https://Shop.example/a/b.html#top");   // fragment dropped
//   auto s = u->resolve("../js/app.js?v=3");  // https://shop.example/js/app.js?v=3
//   s->origin();  // "https://shop.example"   s->key();  // "https://shop.example/js/app.js"

#include <optional>
#include <string>
#include <string_view>

namespace mamori::web {

class Url {
 public:
  // An absolute http(s) URL, or none.
  static std::optional<Url> parse(std::string_view text);
  // A reference (absolute or relative) resolved against this URL; none if it is not http(s).
  std::optional<Url> resolve(std::string_view ref) const;

  const std::string& str() const { return full_; }      // normalised, without fragment
  std::string origin() const;                           // scheme://host[:port]
  std::string key() const { return origin() + path_; }  // without the query: one script
  const std::string& host() const { return host_; }
  const std::string& path() const { return path_; }
  const std::string& scheme() const { return scheme_; }
  bool same_origin(const Url& o) const { return origin() == o.origin(); }
  // A reference as a browser reads it before resolving (WHATWG): ends trimmed of controls and
  // spaces, tabs and newlines removed, '\\' as '/' in http(s), "http:host" given its slashes.
  static std::string browser_ref(std::string_view ref, std::string_view base_scheme);

 private:
  std::string full_, scheme_, host_, port_, path_;
};

}  // namespace mamori::web
