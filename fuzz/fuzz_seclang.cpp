// SecLang rule text (an operator's rule files, a rule set downloaded from elsewhere): parse it
// as `mamori waf rules` does, then render the summary. Property: a rule set that loads has
// every chained rule without an id and a phase from 1 to 5, and its markers point into it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "waf/rules.h"
#include "waf/summary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rs = mamori::waf::parse_rules(text, "fuzz.conf", {});
  if (!rs) return 0;
  for (const auto& r : rs->rules) {
    if (r.id <= 0 || r.phase < 1 || r.phase > 5) std::abort();
    for (const auto& l : r.chain)
      if (l.id != 0 || l.phase != r.phase) std::abort();
  }
  for (const auto& m : rs->markers)
    if (m.before_rule > rs->rules.size()) std::abort();
  (void)mamori::waf::render_rules_text(*rs);
  (void)mamori::waf::render_rules_json(*rs);
  return 0;
}
