#pragma once
// What `mamori waf rules` says about a rule set: counts, and what Mamori does not do as
// ModSecurity would (by file and line), as text or JSON.

#include <string>

#include "waf/rules.h"

namespace mamori::waf {

std::string render_rules_text(const RuleSet& rs);
std::string render_rules_json(const RuleSet& rs);
size_t unsupported_count(const RuleSet& rs);

}  // namespace mamori::waf
