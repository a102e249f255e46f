#pragma once
// CVSS v3.0/v3.1 base score from a vector string (FIRST CVSS v3.1 specification §7).
//
// Example:
//   cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");  // 9.8

#include <optional>
#include <string_view>

namespace mamori::vuln {

std::optional<double> cvss3_base_score(std::string_view vector);

}  // namespace mamori::vuln
