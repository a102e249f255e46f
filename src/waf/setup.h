#pragma once
// What Mamori puts in front of OWASP CRS when no rule files are given: the engine settings
// (body processors chosen by Content-Type, body limits, unparseable bodies refused), the
// paranoia level, and where Debian's modsecurity-crs package keeps the rules.
//
// Example:
//   LoadOptions o;  o.preamble = default_setup(2);
//   auto rs = load_rules(default_crs_paths(), o);

#include <string>
#include <vector>

namespace mamori::waf {

inline constexpr const char* kCrsRulesDir = "/usr/share/modsecurity-crs/rules";
inline constexpr const char* kCrsLocalDir = "/etc/modsecurity/crs";

// The SecLang text of the engine settings and CRS setup at `paranoia` (1–4).
std::string default_setup(int paranoia);
// The CRS rule files in load order: the local exclusions before, the rules, the exclusions
// after (the local files only where they exist).
std::vector<std::string> default_crs_paths();

}  // namespace mamori::waf
