#pragma once
// `mamori audit`: the remote-maintenance path of a host — what is exposed to the network and
// how it authenticates. Every check reads under a root (fixture trees, mounted images,
// containers); with root "/" it also reads live state (/proc, `nft list ruleset`). A root
// directory may carry snapshots of live state: ROOT/proc/net/{tcp,tcp6,udp,udp6} and
// ROOT/run/nft-ruleset.txt (the output of `nft list ruleset`).
//
// Each check has an id, a rationale, the evidence it saw and the exact remediation; failing
// checks become findings with "module": "audit" (docs/audit.md lists them all).
//
// Example:
//   auto r = run_audit(Root("/mnt/image"), {});
//   for (const auto& c : r->checks) fmt::print("{} {}\n", c.id, result_name(c.result));

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"

namespace mamori {
class Module;
namespace vuln {
class VulnDb;
}
}  // namespace mamori

namespace mamori::audit {

enum class CheckResult { kPass, kFail, kInfo, kSkipped };
std::string_view result_name(CheckResult r);

struct Check {
  std::string id;  // "SSH-PASSWORD-AUTH"
  std::string title;
  CheckResult result = CheckResult::kPass;
  Severity severity = Severity::kInfo;  // of a failure
  std::string rationale;
  std::vector<std::string> evidence;  // what was seen ("/etc/ssh/sshd_config.d/50-…:1: …")
  std::string remediation;
  std::vector<Finding> findings;  // one per affected asset when failed
};

// A row of the check table (table.cpp): what a check is, whatever it finds.
struct CheckInfo {
  const char* id;
  const char* title;
  Severity severity;  // of a failure, before evidence raises or lowers it
  const char* rationale;
  const char* remediation;
};
// Every check, in the order they run and are listed (`audit --checks`, docs/audit.md).
const std::vector<CheckInfo>& check_table();
const CheckInfo& check_info(std::string_view id);  // aborts on an id not in the table

struct AuditOptions {
  // Live firewall ruleset text (nft list ruleset); empty = read it (host) or the snapshot.
  std::string nft_ruleset;
  bool nft_ruleset_given = false;
  // The vulnerability database, when there is one: CRED-NOT-ROTATED then considers the fix of
  // every known-exploited (CISA KEV) vulnerability, not only the pinned remote-access table.
  const vuln::VulnDb* vuln_db = nullptr;
};

// The vulnerability database the audit reads for CRED-NOT-ROTATED. Absent is fine unless the
// operator named it (--db: an error); present but unusable (damaged, cut) is a warning and the
// rest of the audit runs: db is null then, and that check decides nothing (kUndecidedWithoutDb).
struct AuditDb {
  std::unique_ptr<vuln::VulnDb> db;
  std::vector<std::string> warnings;
};
Result<AuditDb> open_audit_db(const std::string& path, bool named);
// The checks whose earlier findings stay as they were when the audit ran without a database.
inline constexpr std::string_view kUndecidedWithoutDb = "CRED-NOT-ROTATED";

struct AuditReport {
  std::vector<Check> checks;
  std::vector<std::string> warnings;  // unreadable files, firewall state unknown…
  std::vector<Finding> findings() const;
};

Result<AuditReport> run_audit(const Root& root, const AuditOptions& opts);

// `mamori audit --checks`: every check with its result, evidence and (failed) remediation.
std::string render_checks_text(const AuditReport& rep);
std::string render_checks_json(const AuditReport& rep, const std::string& host);

// Password hash scheme of a shadow field: "locked", "empty", "des", "md5", "sha256", "sha512",
// "bcrypt", "yescrypt", "gost-yescrypt", "scrypt", "nt", "unknown"; `weak` with the reason.
struct HashInfo {
  std::string scheme;
  bool weak = false;
  std::string why;
};
HashInfo classify_hash(std::string_view field);

// The audit as a module of `mamori scan` (core/module.h); reads the vulnerability database
// when vuln ran before it.
std::unique_ptr<Module> make_module();

}  // namespace mamori::audit
