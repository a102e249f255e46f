#pragma once
// What Mamori puts in front of the rule files it evaluates (`waf test`, `waf run`): the engine
// settings (body processors chosen by Content-Type, body limits, unparseable bodies and too
// many arguments refused) and the paranoia level; and where Debian's modsecurity-crs package
// keeps CRS (the operator's crs-setup.conf and exclusion files in /etc, the rules in /usr).
//
// Example:
//   auto rs = load_engine_rules({}, 2);   // settings + the operator's /etc files + Debian's CRS

#include <string>
#include <vector>

#include "core/result.h"
#include "waf/rules.h"

namespace mamori::waf {

inline constexpr const char* kCrsRulesDir = "/usr/share/modsecurity-crs/rules";
inline constexpr const char* kCrsLocalDir = "/etc/modsecurity/crs";

// The SecLang text of the engine settings at `paranoia` (1–4; a crs-setup.conf that sets
// tx.paranoia_level in its rule 900000 wins). Without `crs_setup_loaded`, also what a
// crs-setup.conf sets: the default actions of phases 1 and 2 and rule 900990 (CRS refuses to
// run without it).
std::string default_setup(int paranoia, bool crs_setup_loaded);
// The rule set `waf test` and `waf run` evaluate: the engine settings at `paranoia`, then
// the site policy (policy.h: SecLang text, may be empty), then `rules` (which include their
// crs-setup.conf) or, when empty, default_crs_paths().
Result<RuleSet> load_engine_rules(const std::vector<std::string>& rules, int paranoia,
                                  const std::string& policy = {});
// /etc/modsecurity/crs/crs-setup.conf when it exists, else "".
std::string local_crs_setup();
// The CRS files in load order: crs-setup.conf, the local exclusions before, the rules, the
// exclusions after (the /etc files only where they exist).
std::vector<std::string> default_crs_paths();

}  // namespace mamori::waf
