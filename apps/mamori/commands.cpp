// Wiring: collectors → analyzers → store → sinks. No check logic lives here.
#include "commands.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "audit/audit.h"
#include "core/fs.h"
#include "core/owners.h"
#include "core/progress.h"
#include "core/text.h"
#include "fim/fim.h"
#include "fim/trust.h"
#include "fim/watch.h"
#include "guard/allow.h"
#include "guard/authlog.h"
#include "guard/detect.h"
#include "guard/follow.h"
#include "guard/journal.h"
#include "guard/nft.h"
#include "guard/service.h"
#include "inventory/checks.h"
#include "inventory/inventory.h"
#include "inventory/listeners.h"
#include "report/report.h"
#include "store/store.h"
#include "vuln/vuln.h"

namespace mamori::cli {

namespace {

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

int fail(const Error& e) {
  std::fprintf(stderr, "mamori: error: %s\n", sanitize(e.message).c_str());
  return kExitError;
}

int usage(const std::string& msg) {
  std::fprintf(stderr, "mamori: %s\n", sanitize(msg).c_str());
  return kExitUsage;
}

void info(const Options& o, const std::string& msg) {
  if (!o.quiet) std::fprintf(stderr, "%s\n", msg.c_str());
}

std::string host_name(const Options& o) {
  if (!o.host.empty()) return o.host;
  Root root(o.root);
  if (root.is_host()) {
    char buf[256] = {0};
    if (::gethostname(buf, sizeof buf - 1) == 0 && buf[0]) return buf;
  }
  auto h = root.read("/etc/hostname", 4096);
  if (h) {
    std::string t(trim(*h));
    if (!t.empty() && t.size() < 256) return t;
  }
  return std::filesystem::absolute(o.root).lexically_normal().filename().string();
}

Result<std::unique_ptr<store::Store>> open_store(const Options& o) {
  // --store, else $MAMORI_STORE (a URL kept out of the command line), else the SQLite default
  const char* env = std::getenv("MAMORI_STORE");
  std::string url = !o.store.empty() ? o.store
                    : env && *env    ? std::string(env)
                                     : store::Store::default_url();
  static bool warned = false;
  if (!o.store.empty() && !warned && store::Store::url_has_password(o.store)) {
    warned = true;  // once per run
    std::fprintf(stderr,
                 "mamori: warning: the --store URL carries a password, which every user of this "
                 "host can read in /proc/%d/cmdline: put it in PGPASSFILE (~/.pgpass, mode 0600), "
                 "a service file (PGSERVICEFILE, ?service=NAME) or MAMORI_STORE instead "
                 "(docs/store.md)\n",
                 static_cast<int>(::getpid()));
  }
  auto s = store::Store::open(url);
  if (!s) return s.error().with_context("store");
  return s;
}

bool use_color(const Options& o) {
  if (o.no_color || !o.output.empty() || std::getenv("NO_COLOR")) return false;
  return ::isatty(STDOUT_FILENO);
}

int emit(const Options& o, const std::string& text) {
  if (o.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return kExitOk;
  }
  auto st = write_file_atomic(o.output, text);
  if (!st) return fail(st.error().with_context("--output"));
  info(o, "wrote " + o.output);
  return kExitOk;
}

Result<std::optional<Severity>> fail_threshold(const Options& o) {
  if (o.fail_on.empty() || o.fail_on == "none") return std::optional<Severity>();
  auto s = parse_severity(o.fail_on);
  if (!s) return s.error();
  return std::optional<Severity>(*s);
}

int exit_for(const std::vector<Finding>& findings, std::optional<Severity> threshold) {
  if (!threshold) return kExitOk;
  for (const auto& f : findings)
    if (fails_threshold(f, *threshold)) return kExitFindings;
  return kExitOk;
}

Result<inventory::Inventory> collect(const Options& o, Progress* progress) {
  inventory::InventoryOptions io;
  for (const auto& w : o.webroots) io.webroots.emplace_back(w);
  for (const auto& p : o.paths) io.paths.emplace_back(p);
  io.discover_webroots = !o.no_discover;
  if (progress) io.on_progress = [progress](const std::string& s) { progress->update(s); };
  std::error_code ec;
  if (!std::filesystem::is_directory(o.root, ec))
    return Error::not_found("--root " + o.root + ": not a directory");
  return inventory::collect_inventory(Root(o.root), io);
}

std::map<std::string, int64_t> count_packages(const std::vector<Package>& pkgs) {
  std::map<std::string, int64_t> m;
  for (const auto& p : pkgs) ++m[p.ecosystem];
  return m;
}

report::ScanInfo scan_info(const store::ScanRecord& s) {
  return {s.id, s.scope, s.started_at, s.finished_at, s.os, s.package_count};
}

std::string db_path(const Options& o) { return o.db.empty() ? vuln::VulnDb::default_path() : o.db; }

constexpr int64_t kStaleDays = 7;

// Vulnerability part of a scan: findings, or a finding that says why there are none.
std::vector<Finding> scan_vulnerabilities(const Options& o, const inventory::Inventory& inv,
                                          const std::string& host, int64_t now,
                                          std::vector<std::string>& warnings, bool& fatal,
                                          Error& fatal_error,
                                          std::unique_ptr<vuln::VulnDb>& db_out) {
  std::vector<Finding> out;
  std::string path = db_path(o);
  auto make = [&](const char* check, Severity sev, std::string title, std::string evidence,
                  std::string fix) {
    Finding f;
    f.module = "vuln";
    f.check = check;
    f.asset = "host:" + host;
    f.severity = sev;
    f.title = std::move(title);
    f.evidence = std::move(evidence);
    f.remediation = std::move(fix);
    assign_fingerprint(f);
    out.push_back(std::move(f));
  };
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!o.db.empty()) {
      fatal = true;
      fatal_error =
          Error::not_found("--db " + path + ": no such file (build it with 'mamori db import')");
      return out;
    }
    warnings.push_back("no vulnerability database at " + path +
                       ": installed software was not checked for vulnerabilities; run 'mamori db "
                       "update' (or 'mamori db import FILES')");
    make("database-missing", Severity::kMedium,
         "Installed software was not checked for known vulnerabilities",
         "no vulnerability database at " + path,
         "Download the data with 'mamori db update', or build it from files with 'mamori db "
         "import', then scan again.");
    return out;
  }
  auto db = vuln::VulnDb::open(path);
  if (!db) {
    warnings.push_back(db.error().message);
    make("database-unusable", Severity::kHigh, "The vulnerability database cannot be trusted",
         db.error().message,
         "Rebuild it with 'mamori db update' or 'mamori db import'; if nobody rebuilt it, find out "
         "who changed it.");
    return out;
  }
  int64_t age_days = (now - (*db)->created_at()) / 86400;
  if (age_days > kStaleDays) {
    make("database-stale", Severity::kMedium,
         fmt::format("Vulnerability data is {} days old", age_days),
         fmt::format("{} was built {}", path, iso8601((*db)->created_at())),
         "Update it daily (mamori db update from cron): new vulnerabilities are published every "
         "day.");
  }
  vuln::MatchStats stats;
  auto matches = vuln::match_inventory(**db, inv.os, inv.packages, &stats);
  if (stats.packages_unsupported > 0)
    warnings.push_back(fmt::format(
        "{} packages of an ecosystem without vulnerability data model were not checked ({})",
        stats.packages_unsupported, fmt::join(stats.unsupported_examples, ", ")));
  if (stats.version_errors > 0)
    warnings.push_back(
        fmt::format("{} version comparisons failed (unparsable versions)", stats.version_errors));
  vuln::FindingContext ctx;
  ctx.now = now;
  // Exposure: packages whose processes listen on a non-loopback socket (live procfs).
  ctx.exposure.resize(inv.packages.size());
  for (const auto& l : inventory::listening_sockets(Root(o.root))) {
    if (l.loopback || l.package.empty()) continue;
    std::string src;
    for (const auto& p : inv.packages)
      if (p.ecosystem == kDeb && p.name == l.package) src = p.source_name.value_or(p.name);
    for (size_t i = 0; i < inv.packages.size(); ++i) {
      const auto& p = inv.packages[i];
      if (p.ecosystem == kDeb && (p.name == l.package || (!src.empty() && p.source_name == src)))
        ctx.exposure[i].push_back({l.address, l.exe});
    }
  }
  for (auto& f : vuln::vulnerability_findings(**db, inv.os, inv.packages, matches, ctx))
    out.push_back(std::move(f));
  db_out = std::move(*db);  // the audit reads it too (fixed known-exploited vulnerabilities)
  return out;
}

// The vulnerability database for `mamori audit`, when there is one; absent is not an error
// unless --db named it.
Result<std::unique_ptr<vuln::VulnDb>> optional_db(const Options& o) {
  std::string path = db_path(o);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!o.db.empty()) return Error::not_found("--db " + path + ": no such file");
    return std::unique_ptr<vuln::VulnDb>();
  }
  return vuln::VulnDb::open(path);
}

// Records a scan and prints its report; `also` are findings of another scope recorded just
// before (the file-integrity check inside `mamori scan`), reported with it.
int record_and_report(const Options& o, store::Store& st, store::ScanInput in,
                      std::map<std::string, int64_t> packages, std::vector<std::string> warnings,
                      report::Format format, std::optional<Severity> threshold,
                      std::vector<Finding> also = {}) {
  auto outcome = st.record_scan(in);
  if (!outcome) return fail(outcome.error());
  report::Report r;
  r.host = in.host;
  r.tool_version = MAMORI_VERSION;
  r.scan = scan_info(outcome->scan);
  r.findings = outcome->findings;
  for (auto& f : also) r.findings.push_back(std::move(f));
  r.packages = std::move(packages);
  r.warnings = std::move(warnings);
  int rc = emit(o, report::render(r, format, use_color(o)));
  if (rc != kExitOk) return rc;
  return exit_for(r.findings, threshold);
}

Status fim_check_findings(const Options& o, const FimArgs& a, std::vector<Finding>& findings,
                          std::vector<std::string>& warnings, Progress* progress, store::Store& st,
                          const std::string& host, bool& complete);

// A record of one run: who, which scope, when (finished now), what was found.
store::ScanInput scan_input(std::string host, std::string scope, int64_t started,
                            std::vector<Finding> findings) {
  store::ScanInput in;
  in.host = std::move(host);
  in.scope = std::move(scope);
  in.started_at = started;
  in.finished_at = now_s();
  in.tool_version = MAMORI_VERSION;
  in.findings = std::move(findings);
  return in;
}

std::string user_name() {
  if (const char* s = std::getenv("SUDO_USER"); s && *s) return s;
  if (struct passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return std::to_string(::getuid());
}

}  // namespace

int cmd_scan(const Options& o) {
  auto fmt_r = report::parse_format(o.format);
  if (!fmt_r) return usage(fmt_r.error().message);
  auto threshold = fail_threshold(o);
  if (!threshold) return usage(threshold.error().message);
  int64_t started = now_s();
  // Open the store first: a broken store must fail before minutes of collecting.
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto owner_rules = (*st)->owners();
  if (!owner_rules) return fail(owner_rules.error());

  std::string host = host_name(o);
  Result<inventory::Inventory> inv = Error::internal("not collected");
  {
    Progress progress(!o.quiet, "scanning");
    progress.update("inventory");
    inv = collect(o, &progress);
  }
  if (!inv) return fail(inv.error());
  auto findings = inventory::analyze_inventory(*inv, *owner_rules, started);
  std::unique_ptr<vuln::VulnDb> vdb;
  {
    bool fatal = false;
    Error err;
    for (auto& f : scan_vulnerabilities(o, *inv, host, started, inv->warnings, fatal, err, vdb))
      findings.push_back(std::move(f));
    if (fatal) return fail(err);
  }
  for (const auto& w : inv->warnings)
    if (o.verbose > 0) info(o, "warning: " + sanitize(w));
  // Sources the inventory could not read: findings, and warnings that are always shown.
  for (auto& f : inventory::source_problem_findings(*inv, host)) findings.push_back(std::move(f));
  for (const auto& pr : inv->problems)
    if (o.verbose == 0) info(o, "warning: " + sanitize(pr.message));

  // A quick file-integrity check when this host has a baseline (its own scope, as `fim check`).
  // Findings of the other scopes recorded by this scan (fim, audit), reported with it.
  std::vector<Finding> other_scopes;
  auto skipped = [&o](std::string_view part) {
    return std::find(o.skip.begin(), o.skip.end(), part) != o.skip.end();
  };
  if (!skipped("fim") && std::filesystem::exists(state_dir() + "/fim.baseline") &&
      Root(o.root).is_host()) {
    std::vector<Finding> ff;
    Status s;
    bool complete = false;
    {
      Progress progress(!o.quiet, "file integrity");
      s = fim_check_findings(o, FimArgs{}, ff, inv->warnings, &progress, **st, host, complete);
    }
    if (!s) {
      inv->warnings.push_back("file integrity check skipped: " + s.error().message);
    } else {
      store::ScanInput fin = scan_input(host, "fim", started, std::move(ff));
      fin.partial = !complete;
      auto out = (*st)->record_scan(fin);
      if (!out) return fail(out.error());
      other_scopes = std::move(out->findings);
    }
  }

  // The remote-maintenance audit, in its own scope (as `mamori audit`). A configuration it
  // cannot read is a warning here (mamori audit itself fails on it), not a failed scan.
  if (!skipped("audit")) {
    Result<audit::AuditReport> ar = Error::internal("not run");
    {
      Progress progress(!o.quiet, "remote-maintenance audit");
      audit::AuditOptions ao;
      ao.vuln_db = vdb.get();
      ar = audit::run_audit(Root(o.root), ao);
    }
    if (!ar) {
      inv->warnings.push_back("remote-maintenance audit skipped: " + ar.error().message);
    } else {
      for (auto& w : ar->warnings) inv->warnings.push_back("audit: " + w);
      auto out = (*st)->record_scan(scan_input(host, "audit", started, ar->findings()));
      if (!out) return fail(out.error());
      for (auto& f : out->findings) other_scopes.push_back(std::move(f));
    }
  }

  store::ScanInput in = scan_input(host, "scan", started, {});
  // An inventory with unreadable parts must not mark their findings fixed: record as partial.
  in.partial = !inv->problems.empty();
  in.os = inv->os.pretty_name.empty() ? inv->os.distro() : inv->os.pretty_name;
  in.findings = std::move(findings);
  in.packages = inv->packages;
  return record_and_report(o, **st, std::move(in), count_packages(inv->packages), inv->warnings,
                           *fmt_r, *threshold, std::move(other_scopes));
}

int cmd_inventory(const Options& o) {
  if (o.format != "text" && o.format != "json" && o.format != "cyclonedx")
    return usage("inventory: --format must be text, json or cyclonedx");
  Result<inventory::Inventory> inv = Error::internal("not collected");
  {
    Progress progress(!o.quiet, "inventory");
    inv = collect(o, &progress);
  }
  if (!inv) return fail(inv.error());
  report::InventoryView v;
  v.host = host_name(o);
  v.os = inv->os.pretty_name.empty() ? inv->os.distro() : inv->os.pretty_name;
  v.tool_version = MAMORI_VERSION;
  v.packages = inv->packages;
  v.warnings = inv->warnings;
  if (o.format == "json") return emit(o, report::render_inventory_json(v));
  if (o.format == "cyclonedx") {
    // Embed vulnerabilities (CycloneDX VEX) when a vulnerability database is available.
    std::string path = db_path(o);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
      auto db = vuln::VulnDb::open(path);
      if (!db) return fail(db.error());
      auto matches = vuln::match_inventory(**db, inv->os, inv->packages, nullptr);
      for (const auto& f :
           vuln::vulnerability_findings(**db, inv->os, inv->packages, matches, {})) {
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
        for (size_t i = 0; i < inv->packages.size(); ++i)
          if (vuln::ecosystem_key(inv->packages[i], inv->os) &&
              vuln::finding_asset(inv->packages[i], inv->os) == f.asset)
            e.affects.push_back(i);
        v.vulnerabilities.push_back(std::move(e));
      }
    } else if (!o.db.empty()) {
      return fail(Error::not_found("--db " + path + ": no such file"));
    } else {
      info(o, "no vulnerability database at " + path + ": the SBOM lists components only");
    }
    std::random_device rd;
    std::mt19937_64 g(rd());
    uint64_t a = g(), b = g();
    // RFC 4122 version 4 UUID.
    a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
    b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
    std::string uuid = fmt::format("urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32,
                                   (a >> 16) & 0xFFFF, a & 0xFFFF, b >> 48, b & 0xFFFFFFFFFFFFull);
    return emit(o, report::render_cyclonedx(v, uuid, iso8601(now_s())));
  }
  return emit(o, report::render_inventory_text(v));
}

int cmd_report(const Options& o, std::optional<long long> scan_id) {
  auto fmt_r = report::parse_format(o.format);
  if (!fmt_r) return usage(fmt_r.error().message);
  auto threshold = fail_threshold(o);
  if (!threshold) return usage(threshold.error().message);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  std::optional<store::ScanRecord> scan;
  if (scan_id) {
    auto s = (*st)->scan_by_id(*scan_id);
    if (!s) return fail(s.error());
    if (!*s) return fail(Error::not_found(fmt::format("no scan #{} in the store", *scan_id)));
    scan = **s;
  } else {
    auto s = (*st)->last_scan(host, "scan");
    if (!s) return fail(s.error());
    if (!*s)
      return fail(Error::not_found(
          fmt::format("no scan of host '{}' in {}; run 'mamori scan' first (or pass --host)", host,
                      (*st)->describe())));
    scan = **s;
  }
  auto findings = (*st)->scan_findings(scan->id);
  if (!findings) return fail(findings.error());
  auto pkgs = (*st)->scan_packages(scan->id);
  if (!pkgs) return fail(pkgs.error());
  report::Report r;
  r.host = scan->host;
  r.tool_version = MAMORI_VERSION;
  r.scan = scan_info(*scan);
  r.findings = std::move(*findings);
  r.packages = count_packages(*pkgs);
  int rc = emit(o, report::render(r, *fmt_r, use_color(o)));
  if (rc != kExitOk) return rc;
  return exit_for(r.findings, *threshold);
}

int cmd_findings_list(const Options& o, bool all, const std::string& min_severity,
                      const std::string& module, const std::string& state) {
  auto fmt_r = report::parse_format(o.format);
  if (!fmt_r) return usage(fmt_r.error().message);
  auto threshold = fail_threshold(o);
  if (!threshold) return usage(threshold.error().message);
  std::optional<Severity> min;
  if (!min_severity.empty()) {
    auto s = parse_severity(min_severity);
    if (!s) return usage(s.error().message);
    min = *s;
  }
  if (!state.empty() && !parse_state(state)) return usage(parse_state(state).error().message);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  auto findings = (*st)->current_findings(host, all || state == "fixed");
  if (!findings) return fail(findings.error());
  report::Report r;
  r.host = host;
  r.tool_version = MAMORI_VERSION;
  auto last = (*st)->last_scan(host, "scan");
  if (last && *last) {
    r.scan = scan_info(**last);
    auto pkgs = (*st)->scan_packages((*last)->id);
    if (pkgs) r.packages = count_packages(*pkgs);
  }
  for (auto& f : *findings) {
    if (min && f.severity < *min) continue;
    if (!module.empty() && f.module != module) continue;
    if (!state.empty() && state_name(f.state) != state) continue;
    r.findings.push_back(std::move(f));
  }
  int rc = emit(o, report::render(r, *fmt_r, use_color(o)));
  if (rc != kExitOk) return rc;
  return exit_for(r.findings, *threshold);
}

int cmd_findings_show(const Options& o, const std::string& fp) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto f = (*st)->find(host_name(o), fp);
  if (!f) return fail(f.error());
  if (o.format == "json") {
    report::Report r;
    r.host = host_name(o);
    r.findings = {*f};
    auto j = nlohmann::json::parse(report::render_json(r));
    return emit(o, j["findings"][0].dump(2) + "\n");
  }
  if (o.format != "text") return usage("findings show: --format must be text or json");
  std::string out;
  out += fmt::format("fingerprint  {}\n", f->fingerprint);
  out += fmt::format("title        {}\n", sanitize(f->title));
  out += fmt::format("severity     {}\n", severity_name(f->severity));
  out += fmt::format("state        {}\n", state_name(f->state));
  out += fmt::format("check        {}/{}\n", f->module, f->check);
  out += fmt::format("asset        {}\n", sanitize(f->asset));
  out += fmt::format("owner        {}\n", f->owner.empty() ? kUnassigned : sanitize(f->owner));
  out += fmt::format("first seen   {}\n", iso8601(f->first_seen));
  out += fmt::format("last seen    {}\n", iso8601(f->last_seen));
  if (f->fixed_at) out += fmt::format("fixed at     {}\n", iso8601(*f->fixed_at));
  if (!f->accepted_reason.empty())
    out += fmt::format("accepted     {}\n", sanitize(f->accepted_reason));
  out += fmt::format("evidence     {}\n", sanitize(f->evidence));
  out += fmt::format("remediation  {}\n", sanitize(f->remediation));
  if (!f->references.empty()) {
    out += "references  ";
    for (const auto& r : f->references) out += " " + sanitize(r);
    out += "\n";
  }
  return emit(o, out);
}

int cmd_findings_accept(const Options& o, const std::string& fp, const std::string& reason,
                        const std::string& by) {
  if (trim(reason).empty())
    return usage("findings accept: --reason must say why the risk is accepted");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  auto f = (*st)->find(host, fp);
  if (!f) return fail(f.error());
  auto a = (*st)->accept(host, f->fingerprint, reason, by.empty() ? user_name() : by, now_s());
  if (!a) return fail(a.error());
  info(o, fmt::format("accepted {} ({}) on {}: it stays in reports but no longer fails --fail-on",
                      f->fingerprint, sanitize(f->title), sanitize(host)));
  return kExitOk;
}

int cmd_findings_unaccept(const Options& o, const std::string& fp) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  auto f = (*st)->find(host, fp);
  if (!f) return fail(f.error());
  auto a = (*st)->unaccept(host, f->fingerprint);
  if (!a) return fail(a.error());
  info(o, fmt::format("{} is no longer accepted", f->fingerprint));
  return kExitOk;
}

int cmd_owners_set(const Options& o, const std::string& pattern, const std::string& owner) {
  if (trim(pattern).empty() || trim(owner).empty())
    return usage("owners set: PATTERN and OWNER must not be empty");
  if (owner == kUnassigned) return usage("owners set: 'unassigned' is reserved; use owners remove");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto r = (*st)->set_owner(pattern, owner, now_s());
  if (!r) return fail(r.error());
  info(o,
       fmt::format("{} → {} (takes effect at the next scan)", sanitize(pattern), sanitize(owner)));
  return kExitOk;
}

int cmd_owners_list(const Options& o) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto rules = (*st)->owners();
  if (!rules) return fail(rules.error());
  if (o.format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : *rules) arr.push_back({{"pattern", r.pattern}, {"owner", r.owner}});
    return emit(o, nlohmann::json{{"owners", arr}}.dump(2) + "\n");
  }
  std::string out;
  if (rules->empty()) out = "no owners assigned yet: mamori owners set PATTERN OWNER\n";
  for (const auto& r : *rules)
    out += fmt::format("{:<40} {}\n", sanitize(r.pattern), sanitize(r.owner));
  return emit(o, out);
}

int cmd_owners_remove(const Options& o, const std::string& pattern) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto r = (*st)->remove_owner(pattern);
  if (!r) return fail(r.error());
  if (!*r) return fail(Error::not_found("no owner pattern '" + sanitize(pattern) + "'"));
  info(o, "removed " + sanitize(pattern));
  return kExitOk;
}

int cmd_db_import(const Options& o, const std::vector<std::string>& paths, bool allow_shrink) {
  std::string out = db_path(o);
  vuln::BuildOptions bo;
  bo.now = now_s();
  bo.allow_shrink = allow_shrink;
  Result<vuln::BuildReport> rep = Error::internal("not built");
  {
    Progress progress(!o.quiet, "importing");
    progress.update(fmt::format("{} sources", paths.size()));
    rep = vuln::build_database(paths, out, bo);
  }
  if (!rep) return fail(rep.error());
  for (const auto& w : rep->warnings) std::fprintf(stderr, "warning: %s\n", sanitize(w).c_str());
  if (o.format == "json") {
    nlohmann::json j = {{"database", out},           {"advisories", rep->advisories},
                        {"affected", rep->affected}, {"kev", rep->kev},
                        {"epss", rep->epss},         {"bytes", rep->bytes},
                        {"warnings", rep->warnings}};
    j["sources"] = nlohmann::json::array();
    for (const auto& s : rep->sources)
      j["sources"].push_back(
          {{"path", s.path}, {"kind", s.kind}, {"records", s.records}, {"skipped", s.skipped}});
    return emit(o, j.dump(2) + "\n");
  }
  std::string text = fmt::format(
      "built {} ({:.1f} MB): {} advisories ({} affected packages), {} known "
      "exploited, {} EPSS scores\n",
      out, static_cast<double>(rep->bytes) / 1e6, rep->advisories, rep->affected, rep->kev,
      rep->epss);
  for (const auto& s : rep->sources)
    text += fmt::format("  {:<13} {:>7} records{}  {}\n", s.kind, s.records,
                        s.skipped ? fmt::format(" ({} skipped)", s.skipped) : "", sanitize(s.path));
  if (!rep->warnings.empty())
    text += fmt::format("{} warnings (on stderr)\n", rep->warnings.size());
  return emit(o, text);
}

int cmd_db_update(const Options& o, const std::vector<std::string>& sources, int retries,
                  bool allow_shrink) {
  vuln::UpdateOptions uo;
  uo.allow_shrink = allow_shrink;
  uo.out = db_path(o);
  uo.cache_dir = (std::filesystem::path(uo.out).parent_path() / "cache").string();
  uo.retries = retries;
  uo.now = now_s();
  if (const char* b = std::getenv("MAMORI_TEST_BACKOFF_MS")) uo.backoff_ms = std::atoi(b);
  // Sources: --source, else the state directory's sources.list, else the upstream defaults.
  uo.urls = sources;
  std::string list = state_dir() + "/sources.list";
  if (uo.urls.empty()) {
    if (auto text = read_file(list, 1 << 20)) {
      size_t pos = 0;
      std::string_view line;
      while (next_line(*text, pos, line)) {
        auto t = trim(line);
        if (!t.empty() && t.front() != '#') uo.urls.emplace_back(t);
      }
    }
  }
  if (uo.urls.empty()) uo.urls = vuln::default_sources();
  Result<vuln::BuildReport> rep = Error::internal("not updated");
  {
    Progress progress(!o.quiet, "updating");
    uo.on_progress = [&progress](const std::string& s) { progress.update(s); };
    rep = vuln::update_database(uo);
  }
  if (!rep) return fail(rep.error());
  for (const auto& w : rep->warnings) std::fprintf(stderr, "warning: %s\n", sanitize(w).c_str());
  std::string text = fmt::format(
      "updated {} ({:.1f} MB): {} advisories, {} known exploited, {} EPSS scores\n", uo.out,
      static_cast<double>(rep->bytes) / 1e6, rep->advisories, rep->kev, rep->epss);
  for (const auto& s : rep->sources)
    text += fmt::format("  {:<13} {:>7} records  {}\n", s.kind, s.records, sanitize(s.path));
  return emit(o, text);
}

int cmd_db_status(const Options& o, int max_age_days) {
  std::string path = db_path(o);
  auto db = vuln::VulnDb::open(path);
  if (!db) return fail(db.error().with_context("db status"));
  int64_t age = (now_s() - (*db)->created_at()) / 86400;
  bool stale = age > max_age_days;
  if (o.format == "json") {
    nlohmann::json j = {{"database", path},
                        {"built_at", iso8601((*db)->created_at())},
                        {"age_days", age},
                        {"stale", stale},
                        {"bytes", (*db)->file_size()},
                        {"advisories", (*db)->advisory_count()},
                        {"packages", (*db)->package_count()},
                        {"kev", (*db)->kev_count()},
                        {"epss", (*db)->epss_count()}};
    j["sources"] = nlohmann::json::array();
    for (const auto& s : (*db)->sources())
      j["sources"].push_back(
          {{"path", s.path},
           {"kind", s.kind},
           {"records", s.records},
           {"skipped", s.skipped},
           {"imported_at", iso8601(s.imported_at)},
           {"data_date", s.data_date.empty() ? nlohmann::json() : nlohmann::json(s.data_date)}});
    int rc = emit(o, j.dump(2) + "\n");
    return rc != kExitOk ? rc : (stale ? kExitFindings : kExitOk);
  }
  std::string text = fmt::format(
      "{} — built {} ({} days ago), {:.1f} MB, checksum ok\n  {} advisories over {} packages, {} "
      "known exploited, {} EPSS scores\n",
      path, iso8601((*db)->created_at()), age, static_cast<double>((*db)->file_size()) / 1e6,
      (*db)->advisory_count(), (*db)->package_count(), (*db)->kev_count(), (*db)->epss_count());
  for (const auto& s : (*db)->sources())
    text += fmt::format("  {:<13} {:>7} records  data up to {:<10}  {}\n", s.kind, s.records,
                        s.data_date.empty() ? "?" : s.data_date, sanitize(s.path));
  if (stale)
    text += fmt::format("warning: the data is {} days old (limit {}): run 'mamori db update'\n",
                        age, max_age_days);
  int rc = emit(o, text);
  return rc != kExitOk ? rc : (stale ? kExitFindings : kExitOk);
}

namespace {

std::string fim_baseline_path(const FimArgs& a) {
  return a.baseline.empty() ? state_dir() + "/fim.baseline" : a.baseline;
}
std::string fim_key_path(const FimArgs& a) {
  return a.key.empty() ? state_dir() + "/fim.key" : a.key;
}
std::string fim_pub_path(const FimArgs& a) {
  if (!a.pubkey.empty()) return a.pubkey;
  if (!a.key.empty()) return a.key + ".pub";
  return state_dir() + "/fim.pub";
}

// The public key checks verify with: --pubkey, else the state directory's fim.pub (which init
// and update keep as the public half of the key they signed with), else KEY.pub.
std::string fim_verify_key_path(const FimArgs& a) {
  if (!a.pubkey.empty()) return a.pubkey;
  std::error_code ec;
  std::string host = state_dir() + "/fim.pub";
  if (!a.key.empty() && !std::filesystem::exists(host, ec)) return a.key + ".pub";
  return host;
}

// The baseline's signature checked with the key checks verify with (before it is replaced: a
// baseline that does not verify may be evidence).
Status verify_baseline(const FimArgs& a, const std::string& base, const std::string& content) {
  auto pub = fim::read_key(fim_verify_key_path(a), 32);
  return pub ? fim::verify_file(content, *pub, base + ".sig") : Status(pub.error());
}

// "SHA256:" + 43 base64 characters, as `fim init` prints it.
bool valid_fingerprint(const std::string& fp) {
  if (fp.size() != 50 || !fp.starts_with("SHA256:")) return false;
  return fp.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                              7) == std::string::npos;
}

// Whether the baseline can be trusted: its signature, and the key's fingerprint against
// --fingerprint and the key pinned in the store (pinned now when none was).
fim::TrustVerdict judge_fim_baseline(const FimArgs& a, const std::string& base,
                                     const std::string& content, store::Store& st,
                                     const std::string& host, std::vector<std::string>& warnings) {
  fim::TrustInput in;
  in.baseline = base;
  in.content = content;
  in.pubkey_path = fim_verify_key_path(a);
  in.host_key = a.pubkey.empty();
  in.fingerprint = a.fingerprint;
  auto pinned = st.pinned_fim_key(host);
  if (pinned)
    in.pinned = *pinned;
  else
    warnings.push_back("fim: cannot read the pinned key: " + pinned.error().message);
  auto v = fim::judge_baseline(in);
  for (auto& w : v.warnings) warnings.push_back(std::move(w));
  if (v.trusted && v.pin && pinned) {
    if (auto p = st.pin_fim_key(host, v.fingerprint, now_s()); !p)
      warnings.push_back("fim: cannot pin the baseline key: " + p.error().message);
  }
  return v;
}

// The policy for a new baseline: --config FILE, else ROOT/etc/mamori/fim.toml, else the
// built-in default; PATHs on the command line replace its watch rules (every attribute).
Result<fim::Policy> load_fim_policy(const Options& o, const FimArgs& a, const Root& root,
                                    std::vector<std::string>* dropped) {
  std::string origin = a.config;
  std::string text;
  if (origin.empty() && root.exists("/etc/mamori/fim.toml")) {
    origin = root.path("/etc/mamori/fim.toml").string();
    auto t = root.read("/etc/mamori/fim.toml", 4 << 20);
    if (!t) return t.error().with_context("fim policy");
    text = std::move(*t);
  } else if (origin.empty()) {
    origin = "(built-in default policy)";
    text = std::string(fim::default_policy_text());
  } else {
    auto t = read_file(origin, 4 << 20);
    if (!t) return t.error().with_context("fim policy");
    text = std::move(*t);
  }
  auto pol = fim::parse_policy(text, origin);
  if (!pol) return pol.error();
  if (!a.paths.empty()) {
    pol->rules.clear();
    for (const auto& p : a.paths) {
      if (p.empty() || p[0] != '/') return Error::invalid("fim: PATH must be absolute: " + p);
      if (!root.exists(p))
        return Error::not_found(fmt::format("fim: {}: no such file or directory", p));
      std::string q = p;
      while (q.size() > 1 && q.back() == '/') q.pop_back();
      pol->rules.push_back(fim::Rule{q, fim::kAttrAll, Severity::kMedium, {}, ""});
    }
  }
  if (!a.hash.empty()) {
    auto h = fim::parse_hash(a.hash);
    if (!h) return h.error();
    pol->hash = a.hash;
  }
  for (const auto& x : a.excludes) pol->exclude.push_back(x);
  std::vector<std::string> webroots = o.webroots;
  if (!o.no_discover)
    for (auto& w : inventory::discover_webroots(root)) webroots.push_back(std::move(w));
  std::sort(webroots.begin(), webroots.end());
  webroots.erase(std::unique(webroots.begin(), webroots.end()), webroots.end());
  auto d = pol->resolve(root, webroots);
  if (dropped) *dropped = std::move(d);
  if (pol->rules.empty()) return Error::invalid(origin + ": no watched path exists on this host");
  return pol;
}

}  // namespace

int cmd_fim_keygen(const Options& o, const FimArgs& a) {
  std::string sec = fim_key_path(a), pub = fim_pub_path(a);  // KEY and KEY.pub, or the state dir's
  if (auto s = ensure_parent_dir(sec); !s) return fail(s.error());
  auto k = fim::generate_keypair();
  auto st = fim::write_keypair(k, sec, pub);
  if (!st)
    return fail(st.error().with_context("fim keygen (an existing key is never overwritten)"));
  std::string fp = fim::key_fingerprint(k.public_key);
  return emit(
      o, fmt::format("secret key {} (keep it off this host: copy it away and delete it here)\n"
                     "public key {} (verifies only)\nfingerprint {} (keep it off the host too: "
                     "'mamori fim check --fingerprint {}' proves a baseline was signed with this "
                     "key, whatever public key lies on the host)\n",
                     sec, pub, fp, fp));
}

int cmd_fim_init(const Options& o, const FimArgs& a, bool update) {
  std::string base = fim_baseline_path(a);
  std::error_code ec;
  bool exists = std::filesystem::exists(base, ec);
  if (update && !exists)
    return fail(
        Error::not_found(base + ": no baseline to update; create one with 'mamori fim init'"));
  // What update reads is one sealed copy, the one that verified: a file swapped in between
  // would otherwise be re-signed with the genuine key.
  std::optional<Snapshot> snap;
  if (exists) {
    auto s = snapshot_file(base);
    if (!s) return fail(s.error().with_context("fim"));
    snap = std::move(*s);
  }
  if (exists && !a.force) {
    // Never overwrite a baseline that does not verify: it may be evidence.
    Status v = verify_baseline(a, base, snap->path);
    if (!v)
      return fail(v.error().with_context(
          fmt::format("fim {}: refusing to replace {} (use --force after investigating)",
                      update ? "update" : "init", base)));
    if (!update)
      return fail(Error::invalid(
          base +
          " exists: use 'mamori fim update' to accept the current state, or --force to "
          "start over with a new policy"));
  }
  Root root(o.root);
  fim::FimOptions fo;
  fo.threads = a.threads;
  if (update && a.config.empty()) {
    // The recorded policy: what was signed is what gets re-recorded.
    auto bi = fim::read_baseline_info(snap->path);
    if (!bi) return fail(bi.error());
    fo.policy = bi->policy;
    for (const auto& x : a.excludes) fo.policy.exclude.push_back(x);
  } else {
    std::vector<std::string> dropped;
    FimArgs policy_args = a;
    if (update) policy_args.paths.clear();  // update's PATHs choose what to accept
    auto pol = load_fim_policy(o, policy_args, root, &dropped);
    if (!pol) return fail(pol.error());
    fo.policy = std::move(*pol);
    if (o.verbose > 0 && !dropped.empty())
      info(o, fmt::format("not on this host (skipped): {}", fmt::join(dropped, " ")));
  }
  // Signing key: the given one, else the host key (created on first use).
  std::string keyp = fim_key_path(a);
  if (!std::filesystem::exists(keyp, ec)) {
    if (!a.key.empty()) return fail(Error::not_found(keyp + ": no such key"));
    if (auto s = ensure_parent_dir(keyp); !s) return fail(s.error());
    auto st = fim::write_keypair(fim::generate_keypair(), keyp, fim_pub_path(a));
    if (!st) return fail(st.error());
    info(o,
         "created a host signing key " + keyp + " (an off-host key is stronger: see docs/fim.md)");
  }
  auto key = fim::read_key(keyp, 64);
  if (!key) return fail(key.error());
  // The store pins the key this host's baselines are signed with: another key is a decision
  // (moving to an off-host key), never a side effect.
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string replaced_pin;
  {
    std::string fp = fim::key_fingerprint(std::string_view(*key).substr(32));
    auto pinned = (*st)->pinned_fim_key(host_name(o));
    if (!pinned) return fail(pinned.error());
    if (*pinned && **pinned != fp) {
      if (!a.new_key)
        return fail(Error::invalid(fmt::format(
            "fim {}: {} is signed with key {}, and this host's baselines are pinned to {}: pass "
            "--new-key to sign with another key from now on",
            update ? "update" : "init", keyp, fp, **pinned)));
      replaced_pin = **pinned;
    }
  }
  Result<fim::BaselineInfo> bi = Error::internal("not built");
  {
    Progress progress(!o.quiet, update ? "updating" : "baseline");
    fo.on_progress = [&progress](const std::string& s) { progress.update(s); };
    if (auto s = ensure_parent_dir(base); !s) return fail(s.error());
    if (update && !a.paths.empty())
      bi = fim::update_baseline_paths(root, snap->path, a.paths, fo, now_s(), base);
    else
      bi = fim::write_baseline(root, fo, base, now_s());
  }
  if (!bi) return fail(bi.error());
  // Never silently partial: what could not be read is said, and counted.
  for (const auto& w : bi->warnings)
    std::fprintf(stderr, "mamori: warning: %s\n", sanitize(w).c_str());
  if (bi->mounts_not_crossed)
    info(o, fmt::format("{} mount points not crossed (other filesystems or bind mounts: "
                        "one_filesystem = true)",
                        bi->mounts_not_crossed));
  // signed: the digest the writer computed of what it wrote, never the file read back
  auto sig = fim::sign_digest(base + ".sig", bi->sha512, *key);
  if (!sig) return fail(sig.error());
  for (const auto& f : {base, base + ".sig"})
    if (auto p = ensure_private_file(f); !p) return fail(p.error());
  // An Ed25519 secret key (libsodium) ends with its public key: its fingerprint is the one to
  // keep off the host, and the one pinned in the store for this host.
  std::string pub = std::string(std::string_view(*key).substr(32));
  std::string fp = fim::key_fingerprint(pub);
  // Checks verify with STATE_DIR/fim.pub (unless --pubkey): after signing with another key
  // (an off-host one, --new-key) it must be that key's public half — the pin, not the file's
  // place, is what says it is the right one.
  if (a.pubkey.empty() && a.baseline.empty() && !a.key.empty()) {
    if (auto w = write_file_atomic(state_dir() + "/fim.pub", pub, /*private_file=*/true); !w)
      return fail(w.error().with_context("fim: the public key checks verify with"));
  }
  std::string pin_note;
  if (auto p = (*st)->pin_fim_key(host_name(o), fp, now_s()); !p)
    pin_note = " (not pinned: " + p.error().message + ")";
  else if (!replaced_pin.empty())
    pin_note = fmt::format(" (replacing the pinned key {})", replaced_pin);
  std::string what =
      update && !a.paths.empty() ? fmt::format(" (re-recorded {})", fmt::join(a.paths, " ")) : "";
  return emit(
      o, fmt::format("{} {}: {} entries ({}{}){}, signed ({}.sig)\nsigning key {}{}: keep this "
                     "fingerprint off the host; 'mamori fim check --fingerprint {}' proves the "
                     "baseline is yours\n",
                     update ? "updated" : "wrote", base, bi->entries, fim::hash_name(bi->hash),
                     bi->not_hashed ? fmt::format(", {} files not hashed", bi->not_hashed) : "",
                     what, base, fp, sanitize(pin_note), fp));
}

int cmd_fim_policy(const Options& o, const FimArgs& a, bool builtin) {
  if (builtin) return emit(o, std::string(fim::default_policy_text()));
  Root root(o.root);
  std::vector<std::string> dropped;
  auto pol = load_fim_policy(o, a, root, &dropped);
  if (!pol) return fail(pol.error());
  std::string text = "# effective policy for this host (web roots and absent paths resolved)\n";
  if (!dropped.empty()) text += fmt::format("# not on this host: {}\n", fmt::join(dropped, " "));
  return emit(o, text + pol->to_toml());
}

namespace {

// Verifies the baseline and compares the files with it: the findings of one `fim check`.
Status fim_check_findings(const Options& o, const FimArgs& a, std::vector<Finding>& findings,
                          std::vector<std::string>& warnings, Progress* progress, store::Store& st,
                          const std::string& host, bool& complete) {
  complete = false;
  std::string base = fim_baseline_path(a);
  if (!std::filesystem::exists(base))
    return Error::not_found(base +
                            ": no baseline; create one with 'mamori fim init' (and verify the "
                            "packaged files today, without one: 'mamori fim packages')");
  if (!a.pubkey.empty() && !std::filesystem::exists(a.pubkey))
    return Error::not_found("--pubkey " + a.pubkey + ": no such file");
  // One sealed copy is verified and then compared against: swapping the file between the two
  // (someone who can write the state directory) changes nothing.
  auto snap = snapshot_file(base);
  if (!snap) return snap.error().with_context("fim");
  auto trust = judge_fim_baseline(a, base, snap->path, st, host, warnings);
  for (auto& f : trust.findings) findings.push_back(std::move(f));
  // Not compared against, and recorded as partial: the files' findings of the last trusted
  // check stay as they were, neither fixed by an untrusted baseline nor lost to a typo.
  if (!trust.trusted) return ok();
  complete = true;
  fim::CheckOptions co;
  co.full = a.full;
  co.excludes = a.excludes;
  co.threads = a.threads;
  if (progress) co.on_progress = [progress](const std::string& s) { progress->update(s); };
  auto res = fim::check_baseline(Root(o.root), snap->path, co);
  if (!res) return res.error();
  for (auto& f : fim::fim_findings(*res)) findings.push_back(std::move(f));
  for (auto& w : res->warnings) warnings.push_back(std::move(w));
  if (o.verbose > 0)
    info(o, fmt::format("fim: {} entries checked, {} hashed, {} changes", res->checked, res->hashed,
                        res->changes.size()));
  return ok();
}

}  // namespace

int cmd_fim_check(const Options& o, const FimArgs& a) {
  auto fmt_r = report::parse_format(o.format);
  if (!fmt_r) return usage(fmt_r.error().message);
  auto threshold = fail_threshold(o);
  if (!threshold) return usage(threshold.error().message);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  std::vector<Finding> findings;
  std::vector<std::string> warnings;
  std::string host = host_name(o);
  if (!a.fingerprint.empty() && !valid_fingerprint(a.fingerprint))
    return usage("fim check: --fingerprint " + sanitize(a.fingerprint) +
                 " is not a key fingerprint (SHA256: and 43 characters, as 'fim init' prints it)");
  bool complete = false;
  {
    Progress progress(!o.quiet, "checking");
    auto s = fim_check_findings(o, a, findings, warnings, &progress, **st, host, complete);
    if (!s) return fail(s.error());
  }
  store::ScanInput in = scan_input(host, "fim", started, std::move(findings));
  in.partial = !complete;
  return record_and_report(o, **st, std::move(in), {}, warnings, *fmt_r, *threshold);
}

int cmd_fim_packages(const Options& o, const FimArgs& a) {
  auto fmt_r = report::parse_format(o.format);
  if (!fmt_r) return usage(fmt_r.error().message);
  auto threshold = fail_threshold(o);
  if (!threshold) return usage(threshold.error().message);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  fim::PackageVerifyOptions po;
  po.packages = a.paths;  // PKG arguments
  po.threads = a.threads;
  Result<fim::PackageVerifyResult> res = Error::internal("not run");
  {
    Progress progress(!o.quiet, "verifying packages");
    po.on_progress = [&progress](const std::string& s) { progress.update(s); };
    res = fim::verify_packages(Root(o.root), po);
  }
  if (!res) return fail(res.error());
  std::vector<std::string> warnings;
  if (res->unreadable)
    warnings.push_back(
        fmt::format("{} packaged files could not be read (permissions?)", res->unreadable));
  info(o, fmt::format("{} files of {} packages verified against dpkg's checksums ({} conffiles "
                      "left to fim check, {} excluded by dpkg path-exclude)",
                      res->files, res->packages, res->conffiles_skipped, res->excluded));
  // Its own scope: verifying some packages must not mark the others' findings fixed.
  std::string scope = a.paths.empty()
                          ? "fim-packages"
                          : "fim-packages:" + fmt::format("{}", fmt::join(a.paths, ","));
  store::ScanInput in = scan_input(host_name(o), scope, started, fim::package_findings(*res));
  return record_and_report(o, **st, std::move(in), {}, warnings, *fmt_r, *threshold);
}

namespace {
volatile std::sig_atomic_t g_stop_watch = 0;
std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}
void on_stop_signal(int) { g_stop_watch = 1; }
}  // namespace

int cmd_fim_watch(const Options& o, const FimArgs& a, const std::string& backend) {
  if (o.format != "text" && o.format != "json")
    return usage("fim watch streams text or json (one finding per line), not " + o.format);
  auto be = fim::parse_backend(backend);
  if (!be) return usage(be.error().message);
  std::string base = fim_baseline_path(a);
  if (!std::filesystem::exists(base))
    return fail(Error::not_found(base + ": no baseline; create one with 'mamori fim init'"));
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  bool json = o.format == "json";
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "a");
    if (!out) return fail(errno_error(o.output, errno));
  }
  auto print = [&](const std::vector<Finding>& fs) {
    for (const auto& f : fs) {
      std::string line =
          json ? report::render_finding_json_line(f, host)
               : fmt::format("{} {:<8} {} [{}] {} — {} (owner: {})\n", iso8601(now_s()),
                             upper(severity_name(f.severity)), state_name(f.state), f.fingerprint,
                             sanitize(f.title), sanitize(f.evidence),
                             f.owner.empty() ? "unassigned" : sanitize(f.owner));
      std::fwrite(line.data(), 1, line.size(), out);
    }
    std::fflush(out);
  };
  auto record = [&](std::vector<Finding> fs) -> bool {
    store::ScanInput in = scan_input(host, "fim", now_s(), std::move(fs));
    in.partial = true;
    auto outcome = (*st)->record_scan(in);
    if (!outcome) {
      std::fprintf(stderr, "mamori: error: %s (findings printed, not stored)\n",
                   sanitize(outcome.error().message).c_str());
      print(in.findings);
      return false;
    }
    print(outcome->findings);
    return true;
  };
  if (!a.fingerprint.empty() && !valid_fingerprint(a.fingerprint))
    return usage("fim watch: --fingerprint " + sanitize(a.fingerprint) +
                 " is not a key fingerprint (SHA256: and 43 characters, as 'fim init' prints it)");
  // A baseline that does not verify (or verifies with another key than the pinned one) is
  // never trusted: say so and stop.
  std::vector<std::string> trust_notes;
  auto snap = snapshot_file(base);
  if (!snap) return fail(snap.error().with_context("fim watch"));
  auto trust = judge_fim_baseline(a, base, snap->path, **st, host, trust_notes);
  for (const auto& n : trust_notes) info(o, "mamori: warning: " + sanitize(n));
  if (!trust.trusted) {
    record(trust.findings);
    return fail(Error::data_loss(trust_notes.empty() ? "untrusted baseline" : trust_notes[0])
                    .with_context("fim watch: not watching with an untrusted baseline"));
  }
  fim::WatchOptions w;
  w.backend = *be;
  w.quiet_ms = a.debounce_ms;
  w.max_delay_ms = std::max(a.debounce_ms, 700);
  w.on_notice = [&o](const std::string& s) {
    if (!o.quiet) std::fprintf(stderr, "mamori: %s\n", sanitize(s).c_str());
  };
  w.on_findings = [&](std::vector<Finding> fs) { record(std::move(fs)); };
  w.stop = [] { return g_stop_watch != 0; };
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  Status r = fim::watch(Root(o.root), snap->path, w);  // the very copy that verified
  if (out != stdout) std::fclose(out);
  if (!r) return fail(r.error());
  if (!o.quiet) std::fprintf(stderr, "mamori: watch stopped\n");
  return kExitOk;
}

int cmd_audit(const Options& o, bool checks) {
  auto fmt_r = report::parse_format(o.format);
  if (!fmt_r) return usage(fmt_r.error().message);
  if (checks && *fmt_r != report::Format::kText && *fmt_r != report::Format::kJson)
    return usage("audit --checks: --format text or json");
  auto threshold = fail_threshold(o);
  if (!threshold) return usage(threshold.error().message);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  auto vdb = optional_db(o);
  if (!vdb) return fail(vdb.error());
  audit::AuditOptions ao;
  ao.vuln_db = vdb->get();
  auto rep = audit::run_audit(Root(o.root), ao);
  if (!rep) return fail(rep.error());
  store::ScanInput in = scan_input(host_name(o), "audit", started, rep->findings());
  if (!checks)
    return record_and_report(o, **st, std::move(in), {}, rep->warnings, *fmt_r, *threshold);
  auto outcome = (*st)->record_scan(in);
  if (!outcome) return fail(outcome.error());
  std::string out;
  if (*fmt_r == report::Format::kJson) {
    nlohmann::json j = {
        {"host", in.host}, {"checks", nlohmann::json::array()}, {"warnings", rep->warnings}};
    for (const auto& c : rep->checks)
      j["checks"].push_back({{"id", c.id},
                             {"result", audit::result_name(c.result)},
                             {"severity", severity_name(c.severity)},
                             {"title", c.title},
                             {"rationale", c.rationale},
                             {"evidence", c.evidence},
                             {"remediation", c.remediation}});
    out = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    for (const auto& c : rep->checks) {
      out +=
          fmt::format("{:<7} {:<22} {}\n", audit::result_name(c.result), c.id, sanitize(c.title));
      for (const auto& e : c.evidence) out += "          " + sanitize(e) + "\n";
      if (c.result == audit::CheckResult::kFail)
        out += "          fix: " + sanitize(c.remediation) + "\n";
    }
    for (const auto& w : rep->warnings) out += "warning: " + sanitize(w) + "\n";
  }
  int rc = emit(o, out);
  if (rc != kExitOk) return rc;
  return exit_for(outcome->findings, *threshold);
}

namespace {

// The allowlist of a guard command: loopback, this host's addresses, the SSH sessions open now,
// the configuration file's `allow` entries, and --allow (already validated).
Result<guard::Allowlist> guard_allowlist(const GuardArgs& a) {
  auto allow = guard::Allowlist::loopback();
  guard::add_host_addresses(allow);
  guard::add_ssh_sessions(allow, Root("/"));
  std::string cfg = a.config.empty() ? "/etc/mamori/guard.toml" : a.config;
  MAMORI_TRY(guard::add_config_file(allow, cfg, !a.config.empty()), "guard: --config");
  for (const auto& al : a.allow) MAMORI_TRY(allow.add(al, "--allow"), "guard: --allow");
  return allow;
}

// A typo in --allow would let an allowlisted admin be banned: a usage error, before anything.
std::optional<int> bad_allow(const std::string& cmd, const GuardArgs& a) {
  for (const auto& al : a.allow) {
    guard::Ip ip;
    int bits = 0;
    if (!guard::parse_prefix(al, ip, bits))
      return usage("guard " + cmd + ": --allow " + sanitize(al) + " is not an address or prefix");
  }
  return std::nullopt;
}

}  // namespace

int cmd_guard_scan_log(const Options& o, const GuardArgs& a) {
  if (o.format != "text" && o.format != "json")
    return usage("guard scan-log: --format must be text or json");
  if (a.files.empty() && a.journal_files.empty() && !a.journal)
    return usage("guard scan-log: name a log file, --journal-file FILE or --journal");
  if (auto rc = bad_allow("scan-log", a)) return *rc;
  int64_t now = now_s();
  auto since = guard::parse_since(a.since, now);
  if (!since)
    return usage("guard scan-log: --since " + sanitize(a.since) + ": " + since.error().message);
  std::optional<int64_t> base;
  if (a.ban) {
    auto b = guard::parse_duration(a.ban_time);
    if (!b) return usage("guard: --ban-time " + sanitize(a.ban_time) + ": " + b.error().message);
    base = *b;
  }
  auto allow = guard_allowlist(a);
  if (!allow) return fail(allow.error());
  int year = a.year;
  if (year == 0) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);  // syslog stamps are local time
    year = tm.tm_year + 1900;
  }
  guard::AuthLogParser parser(year);
  if (a.year == 0) parser.set_clock(now);
  for (const auto& f : a.files) {
    if (auto s = guard::read_log_file(f, parser); !s) return fail(s.error());
    parser.finish();
  }
  // The systemd journal (sd-journal): files given, and/or this machine's journal.
  uint64_t untrusted_journal = 0;
  auto feed_journal = [&](Result<std::unique_ptr<guard::Journal>> j) -> Status {
    if (!j) return j.error();
    auto n = (*j)->read([&](int64_t ts, uint32_t pid, std::string_view ident, std::string_view m) {
      parser.message(ts, pid, ident, m);
    });
    if (!n) return n.error();
    untrusted_journal += (*j)->untrusted();
    return {};
  };
  if (!a.journal_files.empty())
    if (auto s = feed_journal(guard::Journal::open_files(a.journal_files)); !s)
      return fail(s.error());
  if (a.journal)
    if (auto s = feed_journal(guard::Journal::open_local()); !s) return fail(s.error());
  uint64_t untrusted = parser.untrusted() + untrusted_journal;
  if (untrusted > 0)
    info(o, fmt::format("warning: {} journal records claimed to be sshd, PAM, xrdp or VNC without "
                        "journald's fields backing it (written by another program): ignored",
                        untrusted));
  guard::DetectOptions dopts;
  dopts.allow = *allow;
  if (*since > 0) {
    size_t before = parser.events().size();
    parser.drop_before(*since);
    if (size_t left_out = before - parser.events().size(); left_out > 0)
      info(o, fmt::format("{} authentication events before --since {} left out", left_out,
                          iso8601(*since)));
  }
  auto found = guard::detect(parser.events(), dopts, [&](uint32_t u) { return parser.user(u); });
  std::map<std::string, store::Ban> banned;  // what this run banned, for the output
  if (base) {
    auto st = open_store(o);
    if (!st) return fail(st.error());
    std::string host = host_name(o);
    // the firewall first: a ban recorded but never applied would come back at the next restore
    guard::NftBans fw(a.nft, &*allow);
    if (auto s = fw.ensure(); !s) return fail(s.error().with_context("guard: firewall"));
    // the same rule as guard run: scanning the same log again is no new offence
    auto earlier = (*st)->all_bans(host);
    if (!earlier) return fail(earlier.error());
    std::map<std::string, store::Ban> known;
    for (auto& b : *earlier) known[b.address] = std::move(b);
    std::vector<std::pair<std::string, int64_t>> elements;
    std::vector<std::string> notes;
    auto made = guard::record_bans(found, *allow, **st, host, now, *base, known, elements, notes);
    for (const auto& n : notes) info(o, sanitize(n));
    for (const auto& b : made) banned[b.target] = known[b.target];
    auto warnings = fw.ban(elements);
    if (!warnings) return fail(warnings.error().with_context("guard: firewall"));
    for (const auto& w : *warnings) info(o, "warning: " + sanitize(w));
    info(o, fmt::format("{} addresses or prefixes banned in nftables table inet mamori_guard",
                        elements.size() - warnings->size()));
  }
  std::string out;
  if (o.format == "json") {
    nlohmann::json j = {{"lines", parser.lines()},
                        {"events", parser.events().size()},
                        {"untrusted", untrusted},
                        {"attackers", nlohmann::json::array()}};
    for (const auto& x : found) {
      nlohmann::json e = {{"address", x.address},
                          {"kind", x.kind},
                          {"failures", x.failures},
                          {"first_seen", iso8601(x.first_seen)},
                          {"last_seen", iso8601(x.last_seen)},
                          {"usernames", x.usernames},
                          {"addresses", x.addresses},
                          {"services", x.services}};
      if (!x.guessed_user.empty()) e["guessed_user"] = x.guessed_user;
      if (auto b = banned.find(x.address); b != banned.end())
        e["banned_until"] = iso8601(b->second.expires_at);
      j["attackers"].push_back(std::move(e));
    }
    out = j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    std::map<std::string, int> kinds;
    for (const auto& x : found) ++kinds[x.kind];
    for (const auto& x : found) {
      std::string users;
      for (size_t i = 0; i < x.usernames.size() && i < 5; ++i)
        users += (i ? "," : "") + sanitize(x.usernames[i]);
      out += fmt::format(
          "{:<11} {:<42} {:>7} failures  {} .. {}  {}{}{}\n", x.kind,
          x.addresses.empty() ? x.address
                              : fmt::format("{} ({} addresses)", x.address, x.addresses.size()),
          x.failures, iso8601(x.first_seen), iso8601(x.last_seen), fmt::join(x.services, ","),
          users.empty() ? "" : "  users " + users,
          x.guessed_user.empty() ? "" : "  logged in as " + sanitize(x.guessed_user));
    }
    out += fmt::format("{} lines, {} authentication events, {} attackers", parser.lines(),
                       parser.events().size(), found.size());
    for (const auto& [k, n] : kinds) out += fmt::format(", {} {}", n, k);
    out += "\n";
  }
  return emit(o, out);
}

namespace {
nlohmann::json ban_json(const store::Ban& b, int64_t now, int64_t in_firewall) {
  return {{"address", b.address},
          {"kind", b.kind},
          {"reason", b.reason},
          {"offences", b.offences},
          {"banned_at", iso8601(b.banned_at)},
          {"expires_at", iso8601(b.expires_at)},
          {"seconds_left", b.expires_at - now},
          {"in_firewall", in_firewall >= 0}};
}
}  // namespace

int cmd_guard_status(const Options& o, const GuardArgs& a) {
  if (o.format != "text" && o.format != "json")
    return usage("guard status: --format must be text or json");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t now = now_s();
  auto bans = (*st)->active_bans(host_name(o), now);
  if (!bans) return fail(bans.error());
  guard::NftBans fw(a.nft);
  auto elements = fw.list();
  std::map<std::string, int64_t> in_fw;
  std::string fw_note;
  if (elements) {
    for (const auto& [el, left] : *elements) in_fw[el] = left;
  } else {
    fw_note = elements.error().message;
  }
  auto fw_left = [&](const std::string& addr) -> int64_t {
    bool v6 = false;
    auto el = guard::canonical_element(addr, v6);
    auto it = el ? in_fw.find(*el) : in_fw.end();
    return it == in_fw.end() ? -1 : it->second;
  };
  std::string out;
  if (o.format == "json") {
    nlohmann::json j = {{"host", host_name(o)}, {"bans", nlohmann::json::array()}};
    for (const auto& b : *bans) j["bans"].push_back(ban_json(b, now, fw_left(b.address)));
    if (!fw_note.empty()) j["firewall_error"] = fw_note;
    out = j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    // every field comes from the store, which anything with write access to it may have set
    for (const auto& b : *bans)
      out += fmt::format(
          "{:<40} {:<11} until {}  offence {}  {}{}\n", sanitize(b.address), sanitize(b.kind),
          iso8601(b.expires_at), b.offences, sanitize(b.reason),
          fw_left(b.address) >= 0 ? "" : "  (NOT in the firewall: mamori guard restore)");
    out += fmt::format("{} active bans{}\n", bans->size(),
                       fw_note.empty() ? "" : " — firewall: " + sanitize(fw_note));
  }
  return emit(o, out);
}

int cmd_guard_unban(const Options& o, const GuardArgs& a, const std::string& addr) {
  bool v6 = false;
  auto el = guard::canonical_element(addr, v6);
  if (!el) return usage("guard unban: " + sanitize(el.error().message));
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto lifted = (*st)->lift_ban(host_name(o), *el, now_s());
  if (!lifted) return fail(lifted.error());
  guard::NftBans fw(a.nft);
  if (auto s = fw.unban(*el); !s) return fail(s.error().with_context("guard unban: firewall"));
  info(o, *lifted ? "unbanned " + *el : *el + " was not banned (removed from the firewall anyway)");
  return kExitOk;
}

int cmd_guard_restore(const Options& o, const GuardArgs& a) {
  if (auto rc = bad_allow("restore", a)) return *rc;
  auto allow = guard_allowlist(a);
  if (!allow) return fail(allow.error());
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t now = now_s();
  auto bans = (*st)->active_bans(host_name(o), now);
  if (!bans) return fail(bans.error());
  // every stored ban is checked as if it were new (NftBans refuses the rest, with a warning)
  guard::NftBans fw(a.nft, &*allow);
  if (auto s = fw.ensure(); !s) return fail(s.error().with_context("guard restore: firewall"));
  // and what the kernel still holds that the checks refuse now (an allowlisted address inside)
  // is lifted, not left to run out
  if (auto live = fw.list()) {
    for (const auto& [el, left] : *live)
      if (auto c = guard::check_ban(el, *allow); !c) {
        if (auto u = fw.unban(el); !u) return fail(u.error().with_context("guard restore"));
        info(o, "lifted " + el + " from the firewall: " + sanitize(c.error().message));
      }
  } else {
    return fail(live.error().with_context("guard restore: firewall"));
  }
  std::vector<std::pair<std::string, int64_t>> elements;
  for (const auto& b : *bans) elements.push_back({b.address, b.expires_at - now});
  auto w = fw.ban(elements);
  if (!w) return fail(w.error().with_context("guard restore: firewall"));
  for (const auto& x : *w) info(o, "warning: " + sanitize(x));
  info(o, fmt::format("{} bans restored from the store", elements.size() - w->size()));
  return kExitOk;
}

namespace {
volatile std::sig_atomic_t g_stop_guard = 0;
void on_guard_signal(int) { g_stop_guard = 1; }

// The journal is there to be followed when sd-journal opens it and it has entries.
bool local_journal_available() {
  auto j = guard::Journal::open_local();
  if (!j) return false;
  return std::filesystem::exists("/run/systemd/journal/socket") ||
         std::filesystem::exists("/var/log/journal");
}
}  // namespace

int cmd_guard_run(const Options& o, const GuardArgs& a) {
  auto base = guard::parse_duration(a.ban_time);
  if (!base)
    return usage("guard run: --ban-time " + sanitize(a.ban_time) + ": " + base.error().message);
  if (auto rc = bad_allow("run", a)) return *rc;
  guard::ServiceOptions so;
  so.logs = a.logs;
  so.journal_files = a.journal_files;
  so.journal_local = a.journal;
  // The default source is the journal where there is one: its records say which program wrote
  // them (a text log only says what the writer claimed). Else the classic auth logs.
  if (so.logs.empty() && !a.journal && a.journal_files.empty()) {
    if (local_journal_available()) {
      so.journal_local = true;
    } else {
      for (const char* d : {"/var/log/auth.log", "/var/log/secure"})
        if (std::filesystem::exists(d)) so.logs.push_back(d);
    }
  }
  if (so.logs.empty() && !so.journal_local && so.journal_files.empty())
    return usage(
        "guard run: no --log or --journal given, no journal and no /var/log/auth.log here");
  if (a.poll_ms < 10 || a.poll_ms > 60000) return usage("guard run: --poll-ms 10..60000");
  auto since = guard::parse_since(a.since, now_s());
  if (!since)
    return usage("guard run: --since " + sanitize(a.since) + ": " + since.error().message);
  so.since = *since;
  so.from_start = a.from_start;
  so.ban_seconds = *base;
  auto allow = guard_allowlist(a);
  if (!allow) return fail(allow.error());
  auto st = open_store(o);
  if (!st) return fail(st.error());
  so.host = host_name(o);
  guard::SystemClock clock;
  guard::NftFirewall fw(a.nft, nullptr);
  guard::GuardService svc(
      so, **st, fw, clock, *allow,
      [] {
        return inventory::session_peers(Root("/"), {"sshd", "sshd-session"});
      },
      guard::host_addresses);
  fw.set_allowlist(&svc.allowlist());  // the service's own: it grows as sessions open
  guard::SystemdNotifier notifier;
  std::vector<std::string> notes;
  auto say = [&] {
    for (const auto& n : notes) info(o, "guard: " + sanitize(n));
    notes.clear();
  };
  Status started = svc.start(notes);
  say();
  if (!started) return fail(started.error().with_context("guard run"));
  std::signal(SIGTERM, on_guard_signal);
  std::signal(SIGINT, on_guard_signal);
  uint64_t watchdog_us = guard::SystemdNotifier::watchdog_usec();
  std::string sources = fmt::format(
      "{}{}{}", fmt::join(so.logs, ", "),
      !so.logs.empty() && (so.journal_local || !so.journal_files.empty()) ? " and " : "",
      so.journal_local            ? "the journal"
      : !so.journal_files.empty() ? "the journal files"
                                  : "");
  auto stats = svc.stats();
  notifier.notify(
      fmt::format("READY=1\nSTATUS=watching {}; {} bans restored", sources, stats.restored));
  info(o, fmt::format("guard: watching {}; {} bans restored; never banned: {}", sources,
                      stats.restored, fmt::join(svc.allowlist().describe(), ", ")));
  auto last_ping = std::chrono::steady_clock::now();
  while (!g_stop_guard) {
    auto bans = svc.poll(notes);
    say();
    for (const auto& b : bans) {
      if (o.format == "json")
        std::cout << nlohmann::json({{"banned", b.target},
                                     {"kind", b.kind},
                                     {"failures", b.failures},
                                     {"offences", b.offences},
                                     {"until", iso8601(b.until)}})
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << std::endl;
      else if (!o.quiet)
        std::cout << fmt::format("banned {} ({}, {} failures) until {} (offence {})", b.target,
                                 b.kind, b.failures, iso8601(b.until), b.offences)
                  << std::endl;
    }
    if (!bans.empty()) {
      auto s = svc.stats();
      notifier.notify(
          fmt::format("STATUS={} bans this run, {} events in the window", s.bans_total, s.events));
    }
    auto steady = std::chrono::steady_clock::now();
    if (watchdog_us &&
        std::chrono::duration_cast<std::chrono::microseconds>(steady - last_ping).count() >
            static_cast<int64_t>(watchdog_us / 2)) {
      notifier.notify("WATCHDOG=1");
      last_ping = steady;
    }
    for (int slept = 0; slept < a.poll_ms && !g_stop_guard; slept += 10) ::usleep(10000);
  }
  notifier.notify("STOPPING=1");
  info(o, fmt::format("guard: stopped; {} bans this run", svc.stats().bans_total));
  return kExitOk;
}

int cmd_version(const Options& o) {
  if (o.format == "json")
    return emit(o, nlohmann::json{{"version", MAMORI_VERSION},
                                  {"store_schema", store::Store::latest_schema_version()}}
                           .dump() +
                       "\n");
  return emit(o, fmt::format("mamori {} (store schema {})\n", MAMORI_VERSION,
                             store::Store::latest_schema_version()));
}

}  // namespace mamori::cli
