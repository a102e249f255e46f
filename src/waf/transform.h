#pragma once
// The transformations of SecLang (t:…), with ModSecurity's semantics: what each decodes, what
// it leaves alone when the input is not valid (a lone '%' stays, "%u" without four hex digits
// stays), and how the full-width ASCII range U+FF01…U+FF5E folds to ASCII in %u and \u escapes.
// Every function is total: any bytes in, bounded bytes out, at most 3 times the input's length
// (utf8toUnicode turns 2 bytes into 6 characters "%uXXXX", hexEncode doubles, urlEncode
// triples).
//
// Example:
//   std::string v = apply(Transform::kUrlDecodeUni, "%u0027%20OR");  // "' OR"

#include <string>
#include <string_view>

#include "waf/rules.h"

namespace mamori::waf {

std::string apply(Transform t, std::string_view in);
// true when apply(t, in) == in for certain (a cheap scan for what the transformation acts on:
// no '%' or '+' for urlDecode, no upper case for lowercase …); false when it may change or
// is not known. The engine then keeps a view instead of a copy.
bool unchanged(Transform t, std::string_view in);

// The individual decoders (fuzzed and tested one by one).
std::string url_decode(std::string_view in, bool unicode);
std::string html_entity_decode(std::string_view in);
std::string js_decode(std::string_view in);
std::string css_decode(std::string_view in);
std::string utf8_to_unicode(std::string_view in);
std::string normalise_path(std::string_view in, bool windows);
std::string base64_decode(std::string_view in, bool ext);
std::string cmd_line(std::string_view in);

}  // namespace mamori::waf
