// The store's schema: its migrations, and the SQL of each dialect (schema.h).
#include "store/schema.h"

namespace mamori::store {

namespace {

// Schema migrations, applied in order inside one transaction each. {ID} and {INT}
// are replaced per dialect. Never edit a released migration: append a new one.
constexpr Migration kMigrations[] = {
    {1, R"SQL(
CREATE TABLE scans (
  id {ID},
  host TEXT NOT NULL,
  scope TEXT NOT NULL,
  started_at {INT} NOT NULL,
  finished_at {INT} NOT NULL,
  tool_version TEXT NOT NULL,
  os TEXT NOT NULL,
  package_count {INT} NOT NULL,
  finding_count {INT} NOT NULL
);
CREATE INDEX scans_host_scope ON scans(host, scope, id);
CREATE TABLE findings (
  host TEXT NOT NULL,
  scope TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  module TEXT NOT NULL,
  check_id TEXT NOT NULL,
  severity {INT} NOT NULL,
  asset TEXT NOT NULL,
  title TEXT NOT NULL,
  evidence TEXT NOT NULL,
  remediation TEXT NOT NULL,
  refs TEXT NOT NULL,
  state TEXT NOT NULL,
  first_seen {INT} NOT NULL,
  last_seen {INT} NOT NULL,
  fixed_at {INT},
  last_scan_id {INT} NOT NULL,
  PRIMARY KEY (host, scope, fingerprint)
);
CREATE INDEX findings_fp ON findings(fingerprint);
CREATE TABLE scan_findings (
  scan_id {INT} NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  host TEXT NOT NULL,
  scope TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  PRIMARY KEY (scan_id, fingerprint)
);
CREATE TABLE packages (
  scan_id {INT} NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  ecosystem TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  arch TEXT,
  source_name TEXT,
  source_version TEXT,
  purl TEXT NOT NULL,
  location TEXT NOT NULL,
  installed_at {INT},
  status TEXT NOT NULL
);
CREATE INDEX packages_scan ON packages(scan_id);
CREATE TABLE owners (
  pattern TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  updated_at {INT} NOT NULL
);
CREATE TABLE acceptances (
  host TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  reason TEXT NOT NULL,
  accepted_by TEXT NOT NULL,
  accepted_at {INT} NOT NULL,
  PRIMARY KEY (host, fingerprint)
);
)SQL"},
    // Fix priority of vulnerability findings (issue 3).
    {2, R"SQL(
ALTER TABLE findings ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN tier_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN priority {REAL} NOT NULL DEFAULT 0;
ALTER TABLE findings ADD COLUMN fixed_version TEXT NOT NULL DEFAULT '';
)SQL"},
    // Bans of mamori guard (issue 5): one row per host and address, its offences escalate.
    {3, R"SQL(
CREATE TABLE guard_bans (
  host TEXT NOT NULL,
  address TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  offences {INT} NOT NULL,
  banned_at {INT} NOT NULL,
  expires_at {INT} NOT NULL,
  PRIMARY KEY (host, address)
);
)SQL"},
    // The key a host's file-integrity baseline is signed with, pinned (issue 11): a baseline
    // re-signed with another key is a finding, not a fresh start.
    {4, R"SQL(
CREATE TABLE fim_keys (
  host TEXT NOT NULL PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  pinned_at {INT} NOT NULL
);
)SQL"},
    // Machine-readable facts of a finding (issue 14): who wrote a file, as fim watch saw it.
    {5, R"SQL(
ALTER TABLE findings ADD COLUMN facts TEXT NOT NULL DEFAULT '{}';
)SQL"},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

std::string dialect_sql(const char* sql, Dialect d) {
  std::string s = sql;
  auto replace_all = [&s](const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
      s.replace(p, from.size(), to);
  };
  replace_all("{ID}", d == Dialect::kSqlite ? "INTEGER PRIMARY KEY AUTOINCREMENT"
                                            : "BIGSERIAL PRIMARY KEY");
  replace_all("{INT}", d == Dialect::kSqlite ? "INTEGER" : "BIGINT");
  replace_all("{REAL}", d == Dialect::kSqlite ? "REAL" : "DOUBLE PRECISION");
  return s;
}

}  // namespace mamori::store
