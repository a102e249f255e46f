#pragma once
// Sinks: findings rendered for people (terminal, HTML) and machines (JSON,
// SARIF 2.1.0), and the inventory rendered as text, JSON or CycloneDX 1.5.
// Every renderer is a pure function of a Report; none does I/O.
//
// Example:
//   Report r{.host = "web01", .scan = scan, .findings = findings};
//   std::string sarif = render(r, Format::kSarif, /*color=*/false);

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/package.h"
#include "core/result.h"

namespace mamori::report {

enum class Format { kText, kJson, kSarif, kHtml };
Result<Format> parse_format(std::string_view s);

struct ScanInfo {
  int64_t id = 0;
  std::string scope;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string os;
  int64_t package_count = 0;
};

struct Report {
  std::string host;
  std::string tool_version;
  std::optional<ScanInfo> scan;
  std::vector<Finding> findings;            // all states; fixed ones are reported apart
  std::map<std::string, int64_t> packages;  // ecosystem → count (inventory summary)
  std::vector<std::string> warnings;        // non-fatal problems met while collecting
};

// Active findings with a fix priority, most urgent first (the "fix first" list).
std::vector<const Finding*> fix_first(const Report& r, size_t limit);

// Assets of active findings that have no owner (sorted, unique).
std::vector<std::string> unassigned_assets(const Report& r);

std::string render(const Report& r, Format f, bool color);
std::string render_text(const Report& r, bool color);
std::string render_json(const Report& r);
// One finding as a single JSON line (the objects of render_json's "findings", plus "host"):
// what `fim watch --format json` streams.
std::string render_finding_json_line(const Finding& f, std::string_view host);
std::string render_sarif(const Report& r);
std::string render_html(const Report& r);

// Inventory sinks.
// A vulnerability to embed in a CycloneDX document (VEX): which components it affects.
struct VexEntry {
  std::string id;                       // CVE (or advisory id)
  std::vector<std::string> references;  // other ids (DSA, GHSA, ...)
  std::string description;
  std::string recommendation;
  std::string severity;  // critical/high/medium/low/info
  double cvss = -1;
  std::string tier, tier_reason;
  bool known_exploited = false;
  std::vector<size_t> affects;  // indices into InventoryView::packages
};

struct InventoryView {
  std::string host;
  std::string os;
  std::string tool_version;
  std::vector<Package> packages;
  std::vector<std::string> warnings;
  std::vector<VexEntry> vulnerabilities;  // CycloneDX only
};
std::string render_inventory_text(const InventoryView& v);
std::string render_inventory_json(const InventoryView& v);
// CycloneDX 1.5 JSON; serial_uuid like "urn:uuid:…"; timestamp ISO 8601.
std::string render_cyclonedx(const InventoryView& v, const std::string& serial_uuid,
                             const std::string& timestamp);

}  // namespace mamori::report
