// The helpers every command shares (cli.h).
#include "cli.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "core/fs.h"
#include "core/text.h"
#include "vuln/vuln.h"

namespace mamori::cli {

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

std::string db_path(const Options& o) { return o.db.empty() ? vuln::VulnDb::default_path() : o.db; }

Result<std::unique_ptr<vuln::VulnDb>> open_db_if_any(const Options& o) {
  std::string path = db_path(o);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return vuln::VulnDb::open(path);
  if (!o.db.empty()) return Error::not_found("--db " + path + ": no such file");
  return std::unique_ptr<vuln::VulnDb>();
}

Result<std::unique_ptr<store::Store>> open_store(const Options& o, int64_t lock_wait_ms) {
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
  auto s = store::Store::open(url, lock_wait_ms);
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

std::optional<int> report_args(const Options& o, ReportArgs& out) {
  auto f = report::parse_format(o.format);
  if (!f) return usage(f.error().message);
  out.format = *f;
  if (o.fail_on.empty() || o.fail_on == "none") return std::nullopt;
  auto s = parse_severity(o.fail_on);
  if (!s) return usage(s.error().message);
  out.threshold = *s;
  return std::nullopt;
}

std::optional<int> text_or_json(const Options& o, const char* command) {
  if (o.format == "text" || o.format == "json") return std::nullopt;
  return usage(std::string(command) + ": --format is text or json, not '" + o.format + "'");
}

int exit_for(const std::vector<Finding>& findings, std::optional<Severity> threshold) {
  if (!threshold) return kExitOk;
  for (const auto& f : findings)
    if (fails_threshold(f, *threshold)) return kExitFindings;
  return kExitOk;
}

std::map<std::string, int64_t> count_packages(const std::vector<Package>& pkgs) {
  std::map<std::string, int64_t> m;
  for (const auto& p : pkgs) ++m[std::string(ecosystem_name(p.ecosystem))];
  return m;
}

report::ScanInfo scan_info(const store::ScanRecord& s) {
  return {s.id, s.scope, s.started_at, s.finished_at, s.os, s.package_count};
}

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

int render_report(const Options& o, report::Report& r, const ReportArgs& ra) {
  r.tool_version = MAMORI_VERSION;
  int rc = emit(o, report::render(r, ra.format, use_color(o)));
  if (rc != kExitOk) return rc;
  return exit_for(r.findings, ra.threshold);
}

int record_and_report(const Options& o, store::Store& st, const store::ScanInput& in,
                      std::vector<std::string> warnings, const ReportArgs& ra) {
  auto outcome = st.record_scan(in);
  if (!outcome) return fail(outcome.error());
  report::Report r;
  r.host = in.host;
  r.scan = scan_info(outcome->scan);
  r.findings = std::move(outcome->findings);
  r.warnings = std::move(warnings);
  return render_report(o, r, ra);
}

}  // namespace mamori::cli
