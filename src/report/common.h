#pragma once
// Helpers shared by the finding renderers.

#include <nlohmann/json.hpp>
#include <string>

#include "core/owners.h"
#include "report/report.h"

namespace mamori::report {

// Active = a problem now (new/open/accepted), as opposed to fixed.
inline bool active(const Finding& f) { return f.state != FindingState::kFixed; }
inline std::string owner_or_unassigned(const Finding& f) {
  return f.owner.empty() ? std::string(kUnassigned) : f.owner;
}

nlohmann::json summary_json(const Report& r);
nlohmann::json finding_json(const Finding& f);

}  // namespace mamori::report
