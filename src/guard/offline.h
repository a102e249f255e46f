#pragma once
// `mamori guard scan-log`: auth logs and journals read whole, then detection (detect.h), and its
// output. The command keeps only its options.
//
// Example:
//   LogSources src{.files = {"/var/log/auth.log"}};
//   auto scan = scan_logs(src, {.year = 2024}, detect_options);
//   fmt::print("{}", render_scan_text(*scan));

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"
#include "guard/allow.h"
#include "guard/detect.h"
#include "store/store.h"

namespace mamori {
class Module;
}

namespace mamori::guard {

struct LogSources {
  std::vector<std::string> files;          // text logs, .gz read as they are
  const Root* root = nullptr;              // set: `files` are paths inside it
  std::vector<std::string> journal_files;  // systemd journal files (sd-journal)
  bool journal_local = false;              // this machine's journal
};

struct ScanLogOptions {
  int year = 0;       // of syslog lines (which carry none); 0 = this year, by the clock
  int64_t now = 0;    // the clock, for `year` 0 (a stamp in the future is last year's)
  int64_t since = 0;  // events before it are left out (0 = none); the journal starts there
  uint64_t max_bytes = UINT64_MAX;  // per file, uncompressed: more is an error (a gzip bomb)
  // A scan of what is there (`mamori scan`) rather than of files the operator named: a plain
  // log larger than max_bytes is read from its last max_bytes (the newest lines), and a file
  // that cannot be read is said in LogScan::skipped instead of failing the whole scan.
  bool tolerant = false;
};

struct LogScan {
  uint64_t lines = 0, events = 0;
  uint64_t untrusted = 0;  // journal records claiming a service journald does not back
  uint64_t left_out = 0;   // events before `since`, or more than an hour after `now`
  std::vector<Attacker> attackers;
  std::vector<std::string> skipped;  // tolerant: files not read, or read only in part, and why
};

Result<LogScan> scan_logs(const LogSources& src, const ScanLogOptions& opts,
                          const DetectOptions& detect_opts);

// The allowlist of a guard command: loopback, this host's addresses, the SSH sessions open now,
// the configuration file's `allow` entries (`config`, default /etc/mamori/guard.toml when
// present) and `extra` (--allow).
Result<Allowlist> standard_allowlist(const std::string& config,
                                     const std::vector<std::string>& extra);

// One finding per attacker (module "guard"; asset ip:ADDR, or net:PREFIX for a prefix): what it
// did, from where, against which accounts and services, and what to do. `banned_until` adds
// the ban (target → unix seconds) to the evidence.
// `guard scan-log --ban`: the attackers banned as `guard run` bans them — the firewall made
// ready first (a ban recorded but never applied would come back at the next restore), repeat
// offences counted from the store (scanning the same log again is no new offence), every
// element checked against the allowlist — and recorded.
struct OfflineBans {
  std::map<std::string, int64_t> banned;  // target → until, for what this run banned
  size_t applied = 0;                     // elements nftables took
  std::vector<std::string> notes, warnings;
};
Result<OfflineBans> ban_attackers(const std::vector<Attacker>& found, const Allowlist& allow,
                                  store::Store& store, const std::string& host, int64_t now,
                                  int64_t base_seconds, const std::string& nft);

// At most kMaxAttackerFindings, the most urgent first (detect's order); the others are counted
// in one more finding (asset guard:attackers-not-listed): memory, the store and every report
// stay bounded whatever a log holds.
inline constexpr size_t kMaxAttackerFindings = 1000;
std::vector<Finding> attacker_findings(const std::vector<Attacker>& found,
                                       const std::map<std::string, int64_t>& banned_until);
// A ban still in force whose attacker this scan did not see again (`guard run` banned it from
// a log the scan does not read, or before the scan's window): a finding of its own, with the
// fingerprint the ban's finding had, so that it is not taken for fixed while the ban holds.
Finding active_ban_finding(const std::string& address, AttackKind kind, const std::string& reason,
                           int64_t expires_at);

// The scan as JSON (`banned_until`: target → unix seconds, for what this run banned) and text.
std::string render_scan_json(const LogScan& scan,
                             const std::map<std::string, int64_t>& banned_until);
std::string render_scan_text(const LogScan& scan);
// `guard status`: the store's active bans, and whether the firewall holds each.
struct BanStatus {
  std::string host;
  std::vector<store::Ban> bans;
  std::map<std::string, int64_t> in_firewall;  // element → seconds left
  std::string firewall_error;                  // the firewall could not be listed
  int64_t now = 0;
};
std::string render_status_json(const BanStatus& s);
std::string render_status_text(const BanStatus& s);  // every field sanitised (the store's)

// One ban `guard run` made, as a line (no newline): text, or a JSON object.
struct BanNotice;
std::string render_ban(const BanNotice& b, bool json);

// Password guessing in this host's authentication logs of the last day as a module of
// `mamori scan` (core/module.h): the journal on this host, else ROOT/var/log/auth.log and
// secure (with their .1 rotations).
std::unique_ptr<Module> make_module();

}  // namespace mamori::guard
