#include "vuln/cvss.h"

#include <cmath>
#include <map>
#include <string>

#include "core/text.h"

namespace mamori::vuln {

namespace {
// CVSS v3.1 Roundup: the smallest number with one decimal that is >= the input,
// computed on integers to avoid floating-point surprises (spec appendix A).
double roundup(double x) {
  long long i = std::llround(x * 100000.0);
  if (i % 10000 == 0) return static_cast<double>(i) / 100000.0;
  return (std::floor(static_cast<double>(i) / 10000.0) + 1.0) / 10.0;
}
}  // namespace

std::optional<double> cvss3_base_score(std::string_view vector) {
  if (!vector.starts_with("CVSS:3.0/") && !vector.starts_with("CVSS:3.1/")) return std::nullopt;
  std::map<std::string, std::string, std::less<>> m;
  for (auto part : split(vector.substr(9), '/')) {
    size_t colon = part.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    m[std::string(part.substr(0, colon))] = std::string(part.substr(colon + 1));
  }
  auto get = [&](const char* k) -> std::string {
    auto it = m.find(k);
    return it == m.end() ? "" : it->second;
  };
  std::string av = get("AV"), ac = get("AC"), pr = get("PR"), ui = get("UI"), s = get("S"),
              c = get("C"), in = get("I"), a = get("A");
  auto cia = [](const std::string& v) -> double {
    return v == "H" ? 0.56 : v == "L" ? 0.22 : v == "N" ? 0.0 : -1.0;
  };
  double AV = av == "N" ? 0.85 : av == "A" ? 0.62 : av == "L" ? 0.55 : av == "P" ? 0.2 : -1;
  double AC = ac == "L" ? 0.77 : ac == "H" ? 0.44 : -1;
  bool changed = s == "C";
  if (s != "C" && s != "U") return std::nullopt;
  double PR = pr == "N"   ? 0.85
              : pr == "L" ? (changed ? 0.68 : 0.62)
              : pr == "H" ? (changed ? 0.5 : 0.27)
                          : -1;
  double UI = ui == "N" ? 0.85 : ui == "R" ? 0.62 : -1;
  double C = cia(c), I = cia(in), A = cia(a);
  if (AV < 0 || AC < 0 || PR < 0 || UI < 0 || C < 0 || I < 0 || A < 0) return std::nullopt;
  double iss = 1 - (1 - C) * (1 - I) * (1 - A);
  double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  double expl = 8.22 * AV * AC * PR * UI;
  if (impact <= 0) return 0.0;
  return changed ? roundup(std::min(1.08 * (impact + expl), 10.0))
                 : roundup(std::min(impact + expl, 10.0));
}

}  // namespace mamori::vuln
