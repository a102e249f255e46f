// The remote-maintenance audit as a module of `mamori scan`, recorded in its own scope exactly
// as `mamori audit` records it.
#include "core/module.h"

#include <filesystem>
#include <memory>

#include "audit/audit.h"
#include "vuln/vuln.h"

namespace mamori::audit {
namespace {

class AuditModule final : public Module {
 public:
  std::string_view name() const override { return "audit"; }
  std::string_view title() const override { return "remote-maintenance audit"; }
  std::string_view summary() const override {
    return "the remote-maintenance path: exposed RDP/VNC/SSH/admin ports against the firewall, "
           "sshd and PAM (passwords, MFA), password hashes and policy, credentials not rotated";
  }
  Result<ModuleResult> run(const ScanContext& ctx) override {
    // CRED-NOT-ROTATED considers every fixed known-exploited vulnerability when there is a
    // database: vuln's, or when vuln did not run (--only audit) the same file opened here, so
    // that leaving vuln out never makes those findings look fixed. Without a usable database
    // the rest of the audit runs and that check decides nothing (its findings stay as they were).
    ModuleResult r;
    AuditOptions ao;
    ao.vuln_db = ctx.vuln_db;
    AuditDb own;
    if (!ao.vuln_db && !ctx.options.db_path.empty()) {
      auto db = open_audit_db(ctx.options.db_path, ctx.options.db_explicit);
      if (!db) return db.error();
      own = std::move(*db);
      ao.vuln_db = own.db.get();
      for (auto& w : own.warnings) r.warnings.push_back("audit: " + w);
    }
    if (!ao.vuln_db) r.checks_undecided.emplace_back(kUndecidedWithoutDb);
    auto rep = run_audit(ctx.root, ao);
    if (!rep) return rep.error();
    r.findings = rep->findings();
    for (auto& w : rep->warnings) r.warnings.push_back("audit: " + w);
    return r;
  }
};

}  // namespace

Result<AuditDb> open_audit_db(const std::string& path, bool named) {
  AuditDb out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (named)
      return Error::not_found("--db " + path + ": no such file (build it with 'mamori db import')");
    return out;
  }
  auto db = vuln::VulnDb::open(path);
  if (db)
    out.db = std::move(*db);
  else
    out.warnings.push_back("the vulnerability database is unusable (" + db.error().message +
                           "): credentials not rotated after a known-exploited fix were not "
                           "checked; rebuild it with 'mamori db update'");
  return out;
}

std::unique_ptr<Module> make_module() { return std::make_unique<AuditModule>(); }

}  // namespace mamori::audit
