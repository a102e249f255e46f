#pragma once
// Vulnerability matching: a compact local database built from the real
// interchange formats (OSV, CISA KEV, EPSS, FriendsOfPHP, WordPress first/last
// vulnerable versions), matched against the inventory with each ecosystem's own
// version order, and a fix priority an operator can act on.
//
// Example:
//   auto st = build_database({"all.zip", "kev.json", "epss.csv"}, "/var/lib/mamori/vuln.db", {});
//   auto db = VulnDb::open("/var/lib/mamori/vuln.db");       // checksum verified
//   auto matches = match_inventory(**db, inventory.os, inventory.packages);
//   auto findings = vulnerability_findings(**db, inventory.os, inventory.packages, matches, ctx);

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/package.h"
#include "core/result.h"
#include "inventory/inventory.h"
#include "inventory/listeners.h"
#include "report/report.h"
#include "vuln/version.h"

namespace mamori::vuln {

// ---- building ------------------------------------------------------------

struct SourceInfo {
  std::string path;     // file, directory or URL it came from
  std::string kind;     // osv, kev, epss, friendsofphp, wordpress
  int64_t records = 0;  // records imported
  int64_t skipped = 0;  // records skipped with a warning
  int64_t imported_at = 0;
  std::string data_date;  // newest date found in the data (KEV catalog date, OSV modified, ...)
};

struct BuildReport {
  std::vector<SourceInfo> sources;
  std::vector<std::string> warnings;  // each names the file and record
  int64_t advisories = 0;
  int64_t affected = 0;
  int64_t kev = 0;
  int64_t epss = 0;
  uint64_t bytes = 0;
};

struct BuildOptions {
  int64_t now = 0;  // unix seconds, for imported_at
  size_t max_warnings = 200;
  // Optional names to record for the sources instead of the paths (db update: the URLs).
  std::vector<std::string> labels;
  // A source with more than 10 % fewer records than the same source in the database being
  // replaced is refused (a cut or partial download); true accepts it.
  bool allow_shrink = false;
};

// Reads every PATH (files, directories, OSV all.zip archives; the format is detected from the
// content), writes a new database next to `out`, and renames it over `out` only when
// everything worked: the old database survives any failure. Archives are verified whole (zip
// central directory and CRCs, gzip trailers, the KEV catalog's count), and each source's record
// count is compared with the same source in the database being replaced.
Result<BuildReport> build_database(const std::vector<std::string>& paths, const std::string& out,
                                   const BuildOptions& opts);

// The upstream locations `db update` downloads by default (OSV per-ecosystem all.zip, the
// CISA KEV catalog, FIRST's EPSS scores).
const std::vector<std::string>& default_sources();
// What `db update` downloads: `given` (--source) when not empty, else the URLs of `list_path`
// (one per line, # comments; STATE_DIR/sources.list), else default_sources().
std::vector<std::string> update_sources(const std::vector<std::string>& given,
                                        const std::string& list_path);

struct UpdateOptions {
  std::vector<std::string> urls;
  std::string cache_dir;  // downloads (resumable .part files) live here
  std::string out;        // the database to replace
  int retries = 3;
  int backoff_ms = 1000;      // doubled at each retry
  bool allow_shrink = false;  // as BuildOptions
  int64_t now = 0;
  std::function<void(const std::string&)> on_progress;
};

// Downloads every URL (HTTP Range resume of partial files, retries with backoff), then builds
// the database from the downloads; the old database survives any failure.
Result<BuildReport> update_database(const UpdateOptions& o);

// ---- reading -------------------------------------------------------------

struct VulnRef {
  std::string id;                    // advisory id (DEBIAN-CVE-…, ALSA-…, GHSA-…, PYSEC-…)
  std::vector<std::string> aliases;  // CVE-…, GHSA-…
  double cvss = -1;                  // base score when known
  int vendor_severity = -1;          // 0 low, 1 medium, 2 high, 3 critical; -1 unknown
};

struct KevInfo {
  std::string cve;
  std::string date_added;
  std::string due_date;
  bool ransomware = false;
  std::string name;
};

struct EpssInfo {
  double epss = 0;
  double percentile = 0;
  double cvss3 = -1;
};

struct Description {
  std::string summary;
  std::string details;
  std::vector<std::string> references;
};

class VulnDb {
 public:
  ~VulnDb();
  VulnDb(const VulnDb&) = delete;
  VulnDb& operator=(const VulnDb&) = delete;

  // Maps the file and verifies its format version and SHA-256 checksum.
  static Result<std::unique_ptr<VulnDb>> open(const std::string& path);
  static std::string default_path();  // beside the default store

  const std::string& path() const { return path_; }
  int64_t created_at() const;
  std::vector<SourceInfo> sources() const;
  int64_t advisory_count() const;
  int64_t package_count() const;
  int64_t kev_count() const;
  int64_t epss_count() const;
  uint64_t file_size() const { return size_; }

  struct Interval {
    std::string_view lower, upper;  // empty = unbounded
    bool lower_inclusive = true, upper_inclusive = false;
  };
  struct Affected {
    uint32_t vuln;
    std::vector<Interval> intervals;
    std::vector<std::string_view> versions;  // explicitly listed affected versions
  };
  // Affected entries for (ecosystem key, package name).
  std::vector<Affected> lookup(std::string_view ecosystem, std::string_view name) const;
  VulnRef vuln(uint32_t index) const;
  std::optional<KevInfo> kev(std::string_view cve) const;
  std::optional<EpssInfo> epss(std::string_view cve) const;
  Description description(uint32_t index) const;  // reads the description section only

 private:
  VulnDb() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  uint64_t size_ = 0;
};

// ---- matching --------------------------------------------------------------

// The OSV ecosystem key and version scheme for an installed package, or nullopt when
// Mamori has no data model for it (reported, never silently ignored).
struct EcosystemKey {
  std::string key;  // "Debian:12", "AlmaLinux:9", "PyPI", "npm", "Packagist", "WordPress:plugin"
  Scheme scheme;
  std::string name;     // name as keyed in the data (Debian: source package; PyPI: normalised)
  std::string version;  // version compared (Debian: source version)
};
// Whether an Ubuntu VERSION_ID is a long-term support release ("24.04": yes; "24.10": no).
bool ubuntu_lts(std::string_view version_id);
std::optional<EcosystemKey> ecosystem_key(const Package& p, const inventory::OsRelease& os);

// Normalises a package name the way the data is keyed (PyPI: PEP 503, Packagist: lowercase).
std::string normalize_name(std::string_view ecosystem_key, std::string_view name);

// The version scheme of an OSV ecosystem ("Debian:12" → dpkg), or nullopt when unsupported.
std::optional<Scheme> scheme_of_ecosystem(std::string_view ecosystem);

// Affected advisories for one keyed package: (advisory index, first fixed version or "").
// `error` is set when a version did not parse.
std::vector<std::pair<uint32_t, std::string>> match_key(const VulnDb& db, const EcosystemKey& key,
                                                        bool& error);

struct Match {
  size_t package;     // index into the package list
  uint32_t vuln;      // advisory index
  std::string fixed;  // the first fixed version above the installed one; empty = no fix yet
};

struct MatchStats {
  int64_t packages_checked = 0;
  int64_t packages_unsupported = 0;  // ecosystems without data model (e.g. apk for now)
  std::vector<std::string> unsupported_examples;
  int64_t version_errors = 0;  // installed or data versions that did not parse
};

std::vector<Match> match_inventory(const VulnDb& db, const inventory::OsRelease& os,
                                   const std::vector<Package>& packages, MatchStats* stats);

// A known-exploited vulnerability (CISA KEV) that the installed version already fixes: the
// host is patched now, but may have been exploited while it was not (credentials to rotate).
struct FixedExploit {
  size_t package;     // index into the package list
  uint32_t vuln;      // advisory index
  std::string cve;    // the KEV-listed CVE
  std::string fixed;  // the fixing version, in the data's terms (Debian: source version)
  KevInfo kev;
};
std::vector<FixedExploit> fixed_exploited(const VulnDb& db, const inventory::OsRelease& os,
                                          const std::vector<Package>& packages);

// ---- priority and findings --------------------------------------------------

enum class Tier { kPatchNow, kPatchThisWeek, kRoutine };
std::string_view tier_name(Tier t);

struct Exposure {
  std::string address;  // "0.0.0.0:22"
  std::string process;  // "/usr/sbin/sshd"
};

struct FindingContext {
  int64_t now = 0;
  // Package index → the non-loopback sockets its processes listen on (optional).
  std::vector<std::vector<Exposure>> exposure;
};

// The asset a vulnerability finding about package p is keyed on (Debian: the source package).
std::string finding_asset(const Package& p, const inventory::OsRelease& os);

// One finding per (package, vulnerability) with aliases merged (advisories sharing an id
// or alias become one finding); check = the primary id (lowest CVE, else advisory id).
std::vector<Finding> vulnerability_findings(const VulnDb& db, const inventory::OsRelease& os,
                                            const std::vector<Package>& packages,
                                            const std::vector<Match>& matches,
                                            const FindingContext& ctx);

// ---- in a scan (module.cpp) ----------------------------------------------

// database-missing / database-stale (older than 7 days): the database's health as findings on
// the host, so a scan without usable data never looks clean.
Finding missing_database_finding(const std::string& host, const std::string& path);
std::optional<Finding> stale_database_finding(const std::string& host, const std::string& path,
                                              int64_t created_at, int64_t now);
// Package index → the non-loopback sockets its processes listen on (a Debian binary package
// and its siblings of the same source package).
std::vector<std::vector<Exposure>> package_exposure(
    const std::vector<Package>& packages, const std::vector<inventory::Listener>& listeners);

// The vulnerabilities of an inventory as CycloneDX VEX entries (`inventory --format cyclonedx`).
std::vector<report::VexEntry> vex_entries(const VulnDb& db, const inventory::Inventory& inv);

}  // namespace mamori::vuln

namespace mamori {
class Module;
namespace vuln {
// Vulnerabilities as a module of `mamori scan` (core/module.h); needs the inventory.
std::unique_ptr<Module> make_module();
}  // namespace vuln
}  // namespace mamori
