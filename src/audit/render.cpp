// `mamori audit --checks`: every check with its result, as text and as JSON.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "core/text.h"

namespace mamori::audit {

std::string render_checks_json(const AuditReport& rep, const std::string& host) {
  nlohmann::json j = {
      {"host", host}, {"checks", nlohmann::json::array()}, {"warnings", rep.warnings}};
  for (const auto& c : rep.checks)
    j["checks"].push_back({{"id", c.id},
                           {"result", result_name(c.result)},
                           {"severity", severity_name(c.severity)},
                           {"title", c.title},
                           {"rationale", c.rationale},
                           {"evidence", c.evidence},
                           {"remediation", c.remediation}});
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_checks_text(const AuditReport& rep) {
  std::string out;
  for (const auto& c : rep.checks) {
    out += fmt::format("{:<7} {:<22} {}\n", result_name(c.result), c.id, sanitize(c.title));
    for (const auto& e : c.evidence) out += "          " + sanitize(e) + "\n";
    if (c.result == CheckResult::kFail) out += "          fix: " + sanitize(c.remediation) + "\n";
  }
  for (const auto& w : rep.warnings) out += "warning: " + sanitize(w) + "\n";
  return out;
}

}  // namespace mamori::audit
