#pragma once
// What every command of the CLI shares: the global options, exit codes and the few helpers
// that turn results into output and exit codes. Each cmd_*.cpp registers one command group
// (its options) and calls into src/; no check logic lives in apps/.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/result.h"
#include "report/report.h"
#include "store/store.h"

namespace CLI {
class App;
}
namespace mamori::vuln {
class VulnDb;
}

namespace mamori::cli {

// Exit codes (docs/README.md, "Exit codes").
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // active findings at or above --fail-on
inline constexpr int kExitUsage = 2;
inline constexpr int kExitError = 3;  // bad input, unreachable store, I/O error

struct Options {
  std::string root = "/";
  std::string store;  // empty = default
  std::string db;     // vulnerability database; empty = default beside the store
  std::string format = "text";
  std::string output;
  std::string fail_on;  // empty = never fail on findings
  std::string host;     // empty = derived from the root
  std::vector<std::string> webroots;
  std::vector<std::string> paths;
  bool no_discover = false;
  bool quiet = false;
  int verbose = 0;
  bool no_color = false;
};

// The command groups (one file each). A group's callbacks set `rc` to the exit code.
void add_scan_commands(CLI::App& app, Options& o, int& rc);      // scan, inventory, report
void add_findings_commands(CLI::App& app, Options& o, int& rc);  // findings, owners, version
void add_db_commands(CLI::App& app, Options& o, int& rc);
void add_fim_commands(CLI::App& app, Options& o, int& rc);
void add_audit_commands(CLI::App& app, Options& o, int& rc);
void add_guard_commands(CLI::App& app, Options& o, int& rc);
void add_waf_commands(CLI::App& app, Options& o, int& rc);          // waf rules
void add_web_commands(CLI::App& app, Options& o, int& rc);          // web scan, baseline, check
void add_cloud_commands(CLI::App& app, Options& o, int& rc);        // cloud audit
void add_web_scan_command(CLI::App* web, Options& o, int& rc);      // web scan
void add_web_incident_command(CLI::App* web, Options& o, int& rc);  // web incident

// ---- shared helpers (cli.cpp) ----
int64_t now_s();
int fail(const Error& e);                             // "mamori: error: …" on stderr, kExitError
int usage(const std::string& msg);                    // "mamori: …" on stderr, kExitUsage
void info(const Options& o, const std::string& msg);  // stderr unless -q
std::string host_name(const Options& o);
std::string db_path(const Options& o);
// The vulnerability database at db_path(o); null when there is none and --db did not name one
// (--db naming a missing file is an error).
Result<std::unique_ptr<vuln::VulnDb>> open_db_if_any(const Options& o);
// lock_wait_ms >= 0: how long to wait for another writer (store::Store::open); default 10 s.
Result<std::unique_ptr<store::Store>> open_store(const Options& o, int64_t lock_wait_ms = -1);
bool use_color(const Options& o);
// The text to stdout or, with -o, atomically to the file.
int emit(const Options& o, const std::string& text);
// --format and --fail-on of a command that reports findings.
struct ReportArgs {
  report::Format format = report::Format::kText;
  std::optional<Severity> threshold;
};
std::optional<int> report_args(const Options& o, ReportArgs& out);  // a usage error, or none
// For a command that writes text or JSON: any other --format is a usage error naming it.
std::optional<int> text_or_json(const Options& o, const char* command);
int exit_for(const std::vector<Finding>& findings, std::optional<Severity> threshold);
std::map<std::string, int64_t> count_packages(const std::vector<Package>& pkgs);
report::ScanInfo scan_info(const store::ScanRecord& s);
// A record of one run: who, which scope, when (finished now), what was found.
store::ScanInput scan_input(std::string host, std::string scope, int64_t started,
                            std::vector<Finding> findings);
// Records a scan and prints its report.
int record_and_report(const Options& o, store::Store& st, const store::ScanInput& in,
                      std::vector<std::string> warnings, const ReportArgs& ra);
// Renders a report of findings already recorded, and the exit code --fail-on asks for.
int render_report(const Options& o, report::Report& r, const ReportArgs& ra);

}  // namespace mamori::cli
