// The default engine settings and CRS setup (see setup.h). Rule ids 200000–200003 and 200007
// are the ones ModSecurity's recommended configuration uses for the same checks; 199000 is
// Mamori's (the paranoia level, set before CRS so that a crs-setup.conf rule 900000 wins).
#include "waf/setup.h"

#include <fmt/format.h>

#include <filesystem>

namespace mamori::waf {

std::string default_setup(int paranoia, bool crs_setup_loaded) {
  std::string s = fmt::format(R"(SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
  "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
  "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRule REQBODY_ERROR "!@eq 0" \
  "id:200002,phase:2,t:none,log,deny,status:403,msg:'Failed to parse request body.',logdata:'%{{reqbody_error_msg}}',severity:2"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
  "id:200003,phase:2,t:none,log,deny,status:403,msg:'Multipart request body failed strict validation'"
SecRule &ARGS "@ge 1000" \
  "id:200007,phase:2,t:none,log,deny,status:403,msg:'Too many arguments: the rest would not be inspected'"
SecArgumentSeparator &
SecCookieFormat 0
SecAction "id:199000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={}"
)",
                              paranoia);
  // Without an operator's crs-setup.conf, what it would set (CRS refuses to run without it;
  // ModSecurity refuses a second SecDefaultAction for a phase, so these come only here).
  if (!crs_setup_loaded)
    s += "SecDefaultAction \"phase:1,log,auditlog,pass\"\n"
         "SecDefaultAction \"phase:2,log,auditlog,pass\"\n"
         "SecAction \"id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version=334\"\n";
  return s;
}

Result<RuleSet> load_engine_rules(const std::vector<std::string>& rules, int paranoia,
                                  const std::string& policy) {
  LoadOptions lo;
  lo.preamble = default_setup(paranoia, !rules.empty() || !local_crs_setup().empty()) + policy;
  lo.preamble_name = "<mamori engine settings>";
  auto rs = load_rules(rules.empty() ? default_crs_paths() : rules, lo);
  if (!rs) return rs;
  // CRS answers every request with its rule 901001 (status 500) when no crs-setup.conf ran
  // before it: say so now rather than serve errors.
  bool crs = false, setup = false;
  for (const auto& r : rs->rules) {
    crs |= r.id == 901001;
    setup |= r.id == 900990;
  }
  if (crs && !setup)
    return Error::invalid(fmt::format(
        "the OWASP CRS rules are given without their crs-setup.conf, and CRS would refuse every "
        "request (rule 901001): give {}/crs-setup.conf (or your own) before the rules",
        kCrsLocalDir));
  return rs;
}

std::string local_crs_setup() {
  std::error_code ec;
  std::string p = std::string(kCrsLocalDir) + "/crs-setup.conf";
  return std::filesystem::is_regular_file(p, ec) ? p : std::string();
}

std::vector<std::string> default_crs_paths() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  std::string before = std::string(kCrsLocalDir) + "/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf";
  std::string after = std::string(kCrsLocalDir) + "/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf";
  if (std::string setup = local_crs_setup(); !setup.empty()) out.push_back(setup);
  if (fs::is_regular_file(before, ec)) out.push_back(before);
  out.push_back(kCrsRulesDir);
  if (fs::is_regular_file(after, ec)) out.push_back(after);
  return out;
}

}  // namespace mamori::waf
