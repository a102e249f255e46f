#pragma once
// The store keeps scans, findings with their lifecycle, package inventories,
// owners and acceptances. SQLite (one file, WAL) is the default; the same schema
// runs on PostgreSQL for a fleet. A scan is recorded in one transaction: a
// killed mamori leaves either the whole scan or nothing.
//
// Example:
//   auto store = Store::open("/var/lib/mamori/mamori.db");   // or "postgresql://..."
//   ScanInput in{.host = "web01", .scope = "scan", ...};
//   auto out = (*store)->record_scan(in);   // findings now carry new/open/fixed/accepted
//   for (const Finding& f : out->findings) ...

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/owners.h"
#include "core/package.h"
#include "core/result.h"

namespace mamori::store {

class Db;

struct ScanRecord {
  int64_t id = 0;
  std::string host;
  std::string scope;  // which modules the scan covered ("scan", "fim", ...)
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string tool_version;
  std::string os;  // PRETTY_NAME of the scanned system
  int64_t package_count = 0;
  int64_t finding_count = 0;
};

struct ScanInput {
  std::string host;
  std::string scope = "scan";
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string tool_version;
  std::string os;
  std::vector<Finding> findings;  // as produced by analyzers (fingerprints set)
  std::vector<Package> packages;
  // A partial record (what `fim watch` saw happen): findings are added or refreshed, but
  // findings it does not mention are left as they are instead of being marked fixed.
  bool partial = false;
  // Modules that share the scope but did not run this time (`scan --skip vuln`): their findings
  // keep their states, as in a partial record.
  std::vector<std::string> modules_not_run;
  // The same for single checks (module, check) that could not be decided this time (the
  // audit's CRED-NOT-ROTATED without a vulnerability database); check "*": all of the module's
  // (vuln without a database), leaving the other modules of a shared scope their lifecycle.
  std::vector<std::pair<std::string, std::string>> checks_not_run;
};

struct ScanOutcome {
  ScanRecord scan;
  // Current findings (new / open / accepted) followed by findings this scan found fixed.
  std::vector<Finding> findings;
};

// Test hook: when set, record_scan calls it after writing packages and before commit
// (the tests use it to kill the process in the middle of a write).
using FaultHook = void (*)(const char* point);
void set_fault_hook(FaultHook hook);

struct Ban {
  std::string host, address, kind, reason;
  int offences = 1;
  int64_t banned_at = 0, expires_at = 0;
};

class Store {
 public:
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // url: a file path or sqlite:PATH, or postgresql://… / postgres://… (libpq URI).
  // Creates the schema (versioned migrations) when needed.
  // lock_wait_ms >= 0: set_lock_wait_ms() before anything else (opening checks the schema under
  // the write lock).
  static Result<std::unique_ptr<Store>> open(const std::string& url, int64_t lock_wait_ms = -1);
  // The default SQLite location: mamori.db in state_dir() (core/fs.h).
  static std::string default_url();
  // Whether a PostgreSQL URL or connection string carries a password (visible to every user
  // in /proc/PID/cmdline when given with --store): libpq reads it from PGPASSFILE (~/.pgpass),
  // PGPASSWORD or a service file (PGSERVICEFILE, ?service=NAME) instead.
  static bool url_has_password(const std::string& url);
  // A PostgreSQL URI or libpq keyword/value connection string (else a SQLite file path).
  static bool is_postgres(const std::string& url);

  std::string describe() const;
  // How long a statement waits for another writer's lock before failing with "unavailable"
  // (SQLite: busy_timeout, 10 s when opened; PostgreSQL: lock_timeout, none when opened). A
  // caller that must not stall — the WAF's signal loop reading virtual patches — sets it low
  // and tries again later.
  Status set_lock_wait_ms(int64_t ms);
  Result<int64_t> lock_wait_ms();
  int schema_version() const { return schema_version_; }
  static int latest_schema_version();

  Result<ScanOutcome> record_scan(const ScanInput& in);

  Result<std::optional<ScanRecord>> last_scan(const std::string& host, const std::string& scope);
  Result<std::optional<ScanRecord>> scan_by_id(int64_t id);
  Result<std::vector<ScanRecord>> scans(const std::string& host, int limit);
  // Findings as recorded by one scan (with the state they had in it).
  Result<std::vector<Finding>> scan_findings(int64_t scan_id);
  Result<std::vector<Package>> scan_packages(int64_t scan_id);

  // Current findings of a host (all scopes); fixed ones only when include_fixed.
  // Owners are resolved with the current owner rules; accepted ones have state accepted.
  Result<std::vector<Finding>> current_findings(const std::string& host, bool include_fixed);
  // One finding by fingerprint or unique prefix (>= 4 characters).
  Result<Finding> find(const std::string& host, const std::string& fingerprint_prefix);

  Status accept(const std::string& host, const std::string& fingerprint, const std::string& reason,
                const std::string& by, int64_t now);
  Status unaccept(const std::string& host, const std::string& fingerprint);

  Status set_owner(const std::string& pattern, const std::string& owner, int64_t now);
  Result<bool> remove_owner(const std::string& pattern);
  Result<std::vector<OwnerRule>> owners();

  Result<std::vector<std::string>> hosts();

  // mamori guard's bans. A new ban of an address whose last ban has expired is a repeat
  // offence: base × 2^(offences−1), at most 30 days; a ban still running is extended, not
  // escalated.
  Result<Ban> record_ban(const std::string& host, const std::string& address,
                         const std::string& kind, const std::string& reason, int64_t now,
                         int64_t base_seconds);
  Result<std::vector<Ban>> active_bans(const std::string& host, int64_t now);
  // Every ban of a host, running or ended (the last one per address).
  Result<std::vector<Ban>> all_bans(const std::string& host);
  // Ends a running ban now (the offence count stays); false when none was running.
  Result<bool> lift_ban(const std::string& host, const std::string& address, int64_t now);

  // The fingerprint of the key a host's file-integrity baseline is signed with, as pinned by
  // `fim init` (or the first check): a baseline that verifies with another key is suspect.
  Result<std::optional<std::string>> pinned_fim_key(const std::string& host);
  Status pin_fim_key(const std::string& host, const std::string& fingerprint, int64_t now);

 private:
  explicit Store(std::unique_ptr<Db> db);
  Status migrate();

  std::unique_ptr<Db> db_;
  int schema_version_ = 0;
};

}  // namespace mamori::store
