#pragma once
// What runs on a page and where its forms send data, read from its HTML with Debian's gumbo
// (an HTML5 parser: the tree a browser builds). Used by the site crawl (site.h).
//
// Hostile pages are expected: the input is cut at HtmlLimits::max_bytes, markup nested deeper
// than max_depth is flattened before parsing (gumbo's time grows with the square of the
// nesting), and every list is capped.
//
// Example:
//   auto base = Url::parse("https://shop.example/checkout");
//   PageFacts f = parse_page(body, *base);
//   for (auto& s : f.scripts) ...   // resolved src, integrity attribute

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "web/url.h"

namespace mamori::web {

struct HtmlLimits {
  size_t max_bytes = 4u << 20;  // the rest of a larger page is not read
  size_t max_depth = 256;       // deeper tags (other than those recorded) become text
  size_t max_items = 2000;      // per list: links, scripts, inline scripts, iframes, forms
};

struct ScriptTag {
  std::string src;        // resolved absolute URL
  std::string integrity;  // SRI attribute as written, or empty
  bool dynamic = false;   // not in the HTML: requested at run time (seen with --render)
};

// An inline script (or an on* handler, a javascript: URL) as a token stream: the unit its
// volatile parts are learned in.
struct InlineScript {
  std::string where;                // "script", "onload", "href"...
  std::vector<std::string> tokens;  // normalised JavaScript tokens (see js_tokens)
  std::string excerpt;              // its first 200 bytes, spaces squeezed (for evidence)
};

struct IFrameTag {
  std::string src;  // resolved, or empty (srcdoc / about:blank)
  bool hidden = false;
};

struct FormTag {
  std::string action;      // resolved (the page itself when absent)
  std::string method;      // lower case
  bool sensitive = false;  // a password, card or CVC field
};

struct PageFacts {
  std::string title;
  std::vector<std::string> links;  // resolved http(s) hrefs (a, area), fragments dropped
  std::vector<ScriptTag> scripts;
  std::vector<InlineScript> inline_scripts;
  std::vector<IFrameTag> iframes;
  std::vector<FormTag> forms;
  std::string refresh;             // a <meta http-equiv=refresh> target, resolved
  std::vector<uint64_t> shingles;  // sorted, unique hashes of 3-word runs of the visible text
  size_t words = 0;
  bool cut = false;        // input longer than max_bytes
  bool flattened = false;  // nesting deeper than max_depth, or a tag with 512+ attributes
  bool capped = false;     // a list reached max_items: what follows was not recorded
};

PageFacts parse_page(std::string_view html, const Url& base, const HtmlLimits& lim = {});

// JavaScript as tokens: comments and spaces dropped; string and number literals that look
// random (nonces, tokens, timestamps) replaced by a placeholder, so that a script whose only
// change is such a value reads the same.
std::vector<std::string> js_tokens(std::string_view js, size_t max_tokens = 200000);

// FNV-1a 64: stable across builds and runs (hashes are stored in baselines).
uint64_t fnv1a64(std::string_view s, uint64_t h = 0xcbf29ce484222325ull);

}  // namespace mamori::web
