#pragma once
// The commands behind the CLI. main.cpp parses arguments into Options and calls
// one of these; each returns the process exit code.

#include <optional>
#include <string>
#include <vector>

namespace mamori::cli {

// Exit codes (docs/exit-codes.md).
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
  std::vector<std::string> skip;  // scan: parts left out ("audit", "fim")
  bool quiet = false;
  int verbose = 0;
  bool no_color = false;
};

int cmd_scan(const Options& o);
int cmd_inventory(const Options& o);
int cmd_report(const Options& o, std::optional<long long> scan_id);
int cmd_findings_list(const Options& o, bool all, const std::string& min_severity,
                      const std::string& module, const std::string& state);
int cmd_findings_show(const Options& o, const std::string& fp);
int cmd_findings_accept(const Options& o, const std::string& fp, const std::string& reason,
                        const std::string& by);
int cmd_findings_unaccept(const Options& o, const std::string& fp);
int cmd_owners_set(const Options& o, const std::string& pattern, const std::string& owner);
int cmd_owners_list(const Options& o);
int cmd_owners_remove(const Options& o, const std::string& pattern);
int cmd_version(const Options& o);
// checks: print every check with pass/fail/… instead of the findings report.
int cmd_audit(const Options& o, bool checks);

struct GuardArgs {
  std::vector<std::string> files;
  std::vector<std::string> allow;          // addresses / prefixes never reported
  std::string config;                      // guard.toml (default /etc/mamori/guard.toml)
  int year = 0;                            // for syslog lines (no year); 0 = this year
  bool ban = false;                        // scan-log: also ban what was found
  std::vector<std::string> journal_files;  // scan-log: systemd journal files
  bool journal = false;                    // scan-log: this machine's journal
  std::string since;  // only events at or after (duration back from now, or a date); run: also
                      // reads the rotated logs and the journal from then
  std::string ban_time = "1h";  // first offence; repeat offenders get twice as long each time
  std::string nft = "nft";      // the nft program
  // run:
  std::vector<std::string> logs;  // files to follow
  bool from_start = false;        // read them whole first (default: only what is appended)
  int poll_ms = 500;
};
int cmd_guard_scan_log(const Options& o, const GuardArgs& a);
int cmd_guard_status(const Options& o, const GuardArgs& a);
int cmd_guard_unban(const Options& o, const GuardArgs& a, const std::string& addr);
int cmd_guard_restore(const Options& o, const GuardArgs& a);
int cmd_guard_run(const Options& o, const GuardArgs& a);

struct FimArgs {
  std::vector<std::string> paths;
  std::string baseline;     // default: STATE_DIR/fim.baseline
  std::string hash;         // empty: the policy's
  std::string config;       // policy file; default ROOT/etc/mamori/fim.toml, else built in
  std::string key;          // secret key (init/update); default STATE_DIR/fim.key
  std::string pubkey;       // public key (check); default STATE_DIR/fim.pub
  std::string fingerprint;  // check/watch: the signing key's fingerprint, kept off the host
  std::vector<std::string> excludes;
  bool full = false;
  bool force = false;
  bool new_key = false;  // init/update: sign with another key than the pinned one
  unsigned threads = 0;
  int debounce_ms = 200;  // watch
};
int cmd_fim_keygen(const Options& o, const FimArgs& a);
int cmd_fim_init(const Options& o, const FimArgs& a, bool update);
int cmd_fim_check(const Options& o, const FimArgs& a);
int cmd_fim_policy(const Options& o, const FimArgs& a, bool builtin);
int cmd_fim_packages(const Options& o, const FimArgs& a);
int cmd_fim_watch(const Options& o, const FimArgs& a, const std::string& backend);
int cmd_db_import(const Options& o, const std::vector<std::string>& paths, bool allow_shrink);
int cmd_db_status(const Options& o, int max_age_days);
int cmd_db_update(const Options& o, const std::vector<std::string>& sources, int retries,
                  bool allow_shrink);

}  // namespace mamori::cli
