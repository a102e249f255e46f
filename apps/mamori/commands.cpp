// Wiring: collectors → analyzers → store → sinks. No check logic lives here.
#include "commands.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "core/fs.h"
#include "core/owners.h"
#include "core/progress.h"
#include "core/text.h"
#include "inventory/checks.h"
#include "inventory/inventory.h"
#include "report/report.h"
#include "store/store.h"

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
  auto h = read_file(root.path("/etc/hostname"), 4096);
  if (h) {
    std::string t(trim(*h));
    if (!t.empty() && t.size() < 256) return t;
  }
  return std::filesystem::absolute(o.root).lexically_normal().filename().string();
}

Result<std::unique_ptr<store::Store>> open_store(const Options& o) {
  std::string url = o.store.empty() ? store::Store::default_url() : o.store;
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
  for (const auto& w : inv->warnings)
    if (o.verbose > 0) info(o, "warning: " + sanitize(w));
  // An RPM database we cannot read means packages go unchecked: say so as a finding.
  for (const auto& w : inv->warnings) {
    if (w.find("not supported") == std::string::npos) continue;
    Finding f;
    f.module = "inventory";
    f.check = "inventory-unsupported-database";
    f.asset = "host:" + host;
    f.severity = Severity::kMedium;
    f.title = "Part of the installed software cannot be inventoried";
    f.evidence = w;
    f.remediation =
        "Convert the RPM database to SQLite (rpmdb --rebuilddb on rpm >= 4.16) or audit this "
        "system's packages with its own tools; until then its vulnerabilities are not checked.";
    assign_fingerprint(f);
    findings.push_back(std::move(f));
  }

  store::ScanInput in;
  in.host = host;
  in.scope = "scan";
  in.started_at = started;
  in.finished_at = now_s();
  in.tool_version = MAMORI_VERSION;
  in.os = inv->os.pretty_name.empty() ? inv->os.distro() : inv->os.pretty_name;
  in.findings = std::move(findings);
  in.packages = inv->packages;
  auto outcome = (*st)->record_scan(in);
  if (!outcome) return fail(outcome.error());

  report::Report r;
  r.host = host;
  r.tool_version = MAMORI_VERSION;
  r.scan = scan_info(outcome->scan);
  r.findings = outcome->findings;
  r.packages = count_packages(inv->packages);
  r.warnings = inv->warnings;
  int rc = emit(o, report::render(r, *fmt_r, use_color(o)));
  if (rc != kExitOk) return rc;
  return exit_for(r.findings, *threshold);
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
      return fail(Error::not_found(fmt::format(
          "no scan of host '{}' in {}; run 'mamori scan' first (or pass --host)", host,
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
  if (trim(reason).empty()) return usage("findings accept: --reason must say why the risk is accepted");
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
  info(o, fmt::format("{} → {} (takes effect at the next scan)", sanitize(pattern), sanitize(owner)));
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
  for (const auto& r : *rules) out += fmt::format("{:<40} {}\n", sanitize(r.pattern), sanitize(r.owner));
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
