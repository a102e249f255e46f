// Vulnerabilities as a module of `mamori scan`: the inventory's packages matched against the
// local database, or a finding that says why they could not be.
#include "core/module.h"

#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "core/text.h"
#include "inventory/listeners.h"
#include "vuln/vuln.h"

namespace mamori::vuln {

namespace {

constexpr int64_t kStaleDays = 7;

Finding health_finding(const std::string& host, const char* check, Severity sev, std::string title,
                       std::string evidence, std::string fix) {
  Finding f;
  f.module = "vuln";
  f.check = check;
  f.asset = "host:" + host;
  f.severity = sev;
  f.title = std::move(title);
  f.evidence = std::move(evidence);
  f.remediation = std::move(fix);
  assign_fingerprint(f);
  return f;
}

class VulnModule final : public Module {
 public:
  std::string_view name() const override { return "vuln"; }
  std::string_view title() const override { return "vulnerabilities"; }
  std::string_view summary() const override {
    return "known vulnerabilities of the installed software (OSV, distribution trackers, KEV, "
           "EPSS), ranked by urgency; a missing or stale database is a finding";
  }
  std::string_view scope() const override { return "scan"; }
  std::vector<std::string_view> needs() const override { return {"inventory"}; }
  bool required() const override { return true; }

  Result<ModuleResult> run(const ScanContext& ctx) override {
    ModuleResult r;
    const std::string& path = ctx.options.db_path;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      if (ctx.options.db_explicit)
        return Error::not_found("--db " + path +
                                ": no such file (build it with 'mamori db import')");
      r.warnings.push_back("no vulnerability database at " + path +
                           ": installed software was not checked for vulnerabilities; run "
                           "'mamori db update' (or 'mamori db import FILES')");
      r.findings.push_back(missing_database_finding(ctx.host, path));
      r.checks_undecided = {"*"};  // nothing was checked: nothing earlier is fixed
      return r;
    }
    auto db = VulnDb::open(path);
    if (!db) {
      r.warnings.push_back(db.error().message);
      r.findings.push_back(health_finding(
          ctx.host, "database-unusable", Severity::kHigh,
          "The vulnerability database cannot be trusted", db.error().message,
          "Rebuild it with 'mamori db update' or 'mamori db import'; if nobody rebuilt it, find "
          "out who changed it."));
      r.checks_undecided = {"*"};
      return r;
    }
    if (auto stale = stale_database_finding(ctx.host, path, (*db)->created_at(), ctx.now))
      r.findings.push_back(std::move(*stale));
    if (!ctx.inventory) return Error::internal("vuln: the inventory did not run before it");
    const auto& inv = *ctx.inventory;
    MatchStats stats;
    auto matches = match_inventory(**db, inv.os, inv.packages, &stats);
    if (stats.packages_unsupported > 0)
      r.warnings.push_back(fmt::format(
          "{} packages of an ecosystem without vulnerability data model were not checked ({})",
          stats.packages_unsupported, fmt::join(stats.unsupported_examples, ", ")));
    if (stats.version_errors > 0)
      r.warnings.push_back(
          fmt::format("{} version comparisons failed (unparsable versions)", stats.version_errors));
    FindingContext fc;
    fc.now = ctx.now;
    fc.exposure = package_exposure(inv.packages, inventory::listening_sockets(ctx.root));
    for (auto& f : vulnerability_findings(**db, inv.os, inv.packages, matches, fc))
      r.findings.push_back(std::move(f));
    r.vuln_db = std::shared_ptr<const VulnDb>(std::move(*db));  // the audit reads it too
    return r;
  }
};

}  // namespace

Finding missing_database_finding(const std::string& host, const std::string& path) {
  return health_finding(host, "database-missing", Severity::kMedium,
                        "Installed software was not checked for known vulnerabilities",
                        "no vulnerability database at " + path,
                        "Download the data with 'mamori db update', or build it from files with "
                        "'mamori db import', then scan again.");
}

std::optional<Finding> stale_database_finding(const std::string& host, const std::string& path,
                                              int64_t created_at, int64_t now) {
  int64_t age_days = (now - created_at) / 86400;
  if (age_days <= kStaleDays) return std::nullopt;
  return health_finding(host, "database-stale", Severity::kMedium,
                        fmt::format("Vulnerability data is {} days old", age_days),
                        fmt::format("{} was built {}", path, iso8601(created_at)),
                        "Update it daily (mamori db update from cron): new vulnerabilities are "
                        "published every day.");
}

std::vector<std::vector<Exposure>> package_exposure(
    const std::vector<Package>& packages, const std::vector<inventory::Listener>& listeners) {
  std::vector<std::vector<Exposure>> out(packages.size());
  for (const auto& l : listeners) {
    if (l.loopback || l.package.empty()) continue;
    // dpkg names the binary package that owns the executable; its siblings from the same
    // source package are exposed with it (openssh-server → openssh's advisories).
    std::string src;
    for (const auto& p : packages)
      if (p.ecosystem == kDeb && p.name == l.package) src = p.source_name.value_or(p.name);
    for (size_t i = 0; i < packages.size(); ++i) {
      const auto& p = packages[i];
      if (p.ecosystem == kDeb && (p.name == l.package || (!src.empty() && p.source_name == src)))
        out[i].push_back({l.address, l.exe});
    }
  }
  return out;
}

std::vector<report::VexEntry> vex_entries(const VulnDb& db, const inventory::Inventory& inv) {
  std::vector<report::VexEntry> out;
  auto matches = match_inventory(db, inv.os, inv.packages, nullptr);
  for (const auto& f : vulnerability_findings(db, inv.os, inv.packages, matches, {})) {
    report::VexEntry e;
    e.id = f.check;
    e.references = f.references;
    e.description = f.title;
    e.recommendation = f.remediation;
    e.severity = std::string(severity_name(f.severity));
    e.tier = f.tier;
    e.tier_reason = f.tier_reason;
    e.known_exploited = f.known_exploited;
    e.cvss = f.cvss;
    for (size_t i = 0; i < inv.packages.size(); ++i)
      if (ecosystem_key(inv.packages[i], inv.os) &&
          finding_asset(inv.packages[i], inv.os) == f.asset)
        e.affects.push_back(i);
    out.push_back(std::move(e));
  }
  return out;
}

std::unique_ptr<Module> make_module() { return std::make_unique<VulnModule>(); }

}  // namespace mamori::vuln
