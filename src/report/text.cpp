// Terminal sink: grouped by severity, colour on a TTY, one summary line.
#include "core/text.h"

#include <fmt/format.h>

#include "core/enum_names.h"
#include "report/common.h"

namespace mamori::report {

namespace {

constexpr Named<Severity> kSeverityColors[] = {{Severity::kInfo, "\033[2m"},
                                               {Severity::kLow, "\033[36m"},
                                               {Severity::kMedium, "\033[33m"},
                                               {Severity::kHigh, "\033[1;31m"},
                                               {Severity::kCritical, "\033[1;97;41m"}};
static_assert(names_cover(kSeverityColors, Severity::kCritical));

std::string_view sev_color(Severity s) { return name_in(kSeverityColors, s, ""); }

std::string upper(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

}  // namespace

std::string render_text(const Report& r, bool color) {
  auto c = [color](std::string_view code) { return color ? code : std::string_view(); };
  const char* reset = color ? "\033[0m" : "";
  std::string out;
  out += fmt::format("{}mamori{} — host {}", c("\033[1m"), reset, sanitize(r.host));
  if (r.scan) {
    if (!r.scan->os.empty()) out += " — " + sanitize(r.scan->os);
    out +=
        fmt::format(" — {} #{} at {}", r.scan->scope == "scan" ? "scan" : r.scan->scope + " check",
                    r.scan->id, iso8601(r.scan->finished_at));
  }
  out += "\n";
  if (!r.packages.empty()) {
    int64_t total = 0;
    std::string parts;
    for (const auto& [eco, n] : r.packages) {
      total += n;
      parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, eco);
    }
    out += fmt::format("inventory: {} packages ({})\n", total, parts);
  }
  for (const auto& w : r.warnings) out += fmt::format("warning: {}\n", sanitize(w));
  out += "\n";
  auto first = fix_first(r, 5);
  if (!first.empty()) {
    out += fmt::format("{}FIX FIRST{}\n", c("\033[1m"), reset);
    int n = 0;
    for (const Finding* f : first) {
      out +=
          fmt::format("  {}. [{}] {}{}{} — {}\n", ++n, sanitize(f->tier), c(sev_color(f->severity)),
                      sanitize(f->title.substr(0, 100)), reset, sanitize(f->tier_reason));
      std::string fix = f->remediation;
      out += fmt::format("     {}\n", sanitize(fix));
    }
    out += "\n";
  }

  for (auto sev :
       {Severity::kCritical, Severity::kHigh, Severity::kMedium, Severity::kLow, Severity::kInfo}) {
    bool header = false;
    for (const auto& f : r.findings) {
      if (!active(f) || f.severity != sev) continue;
      if (!header) {
        out += fmt::format("{}{}{}\n", c(sev_color(sev)), upper(severity_name(sev)), reset);
        header = true;
      }
      std::string tag = f.state == FindingState::kNew        ? "NEW"
                        : f.state == FindingState::kAccepted ? "accepted"
                                                             : "open";
      out += fmt::format("  [{}] {} {}{}{}\n", sanitize(f.fingerprint.substr(0, 8)), tag,
                         c("\033[1m"), sanitize(f.title), reset);
      out += fmt::format("      asset: {}   owner: {}   check: {}/{}\n", sanitize(f.asset),
                         sanitize(owner_or_unassigned(f)), sanitize(f.module), sanitize(f.check));
      if (!f.evidence.empty()) out += fmt::format("      evidence: {}\n", sanitize(f.evidence));
      if (!f.tier.empty())
        out += fmt::format("      priority: {} — {}\n", sanitize(f.tier), sanitize(f.tier_reason));
      if (!f.remediation.empty()) out += fmt::format("      fix: {}\n", sanitize(f.remediation));
      if (f.state == FindingState::kAccepted)
        out += fmt::format("      accepted: {}\n", sanitize(f.accepted_reason));
    }
    if (header) out += "\n";
  }
  bool fixed_header = false;
  for (const auto& f : r.findings) {
    if (active(f)) continue;
    if (!fixed_header) {
      out += fmt::format("{}FIXED since the previous scan{}\n", c("\033[32m"), reset);
      fixed_header = true;
    }
    out +=
        fmt::format("  [{}] {} ({}){}\n", sanitize(f.fingerprint.substr(0, 8)), sanitize(f.title),
                    sanitize(f.asset), f.fixed_at ? " at " + iso8601(*f.fixed_at) : std::string());
  }
  if (fixed_header) out += "\n";
  auto unassigned = unassigned_assets(r);
  if (!unassigned.empty()) {
    out += fmt::format(
        "{}Unassigned assets{} (nobody is responsible; mamori owners set PATTERN OWNER)\n",
        c("\033[1m"), reset);
    for (const auto& a : unassigned) out += "  " + sanitize(a) + "\n";
    out += "\n";
  }
  // One-line summary.
  int counts[5] = {0, 0, 0, 0, 0};
  int n_new = 0, n_fixed = 0, n_accepted = 0, n_active = 0;
  for (const auto& f : r.findings) {
    if (f.state == FindingState::kFixed) {
      ++n_fixed;
      continue;
    }
    ++n_active;
    ++counts[static_cast<int>(f.severity)];
    if (f.state == FindingState::kNew) ++n_new;
    if (f.state == FindingState::kAccepted) ++n_accepted;
  }
  out += fmt::format(
      "{} finding{}: {} critical, {} high, {} medium, {} low, {} info — {} new, {} fixed, {} "
      "accepted\n",
      n_active, n_active == 1 ? "" : "s", counts[4], counts[3], counts[2], counts[1], counts[0],
      n_new, n_fixed, n_accepted);
  return out;
}

}  // namespace mamori::report
