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
    // that leaving vuln out never makes those findings look fixed.
    std::unique_ptr<vuln::VulnDb> own;
    AuditOptions ao;
    ao.vuln_db = ctx.vuln_db;
    std::error_code ec;
    if (!ao.vuln_db && !ctx.options.db_path.empty() &&
        std::filesystem::exists(ctx.options.db_path, ec)) {
      auto db = vuln::VulnDb::open(ctx.options.db_path);
      if (!db) return db.error().with_context("audit");
      own = std::move(*db);
      ao.vuln_db = own.get();
    }
    auto rep = run_audit(ctx.root, ao);
    if (!rep) return rep.error();
    ModuleResult r;
    r.findings = rep->findings();
    for (auto& w : rep->warnings) r.warnings.push_back("audit: " + w);
    return r;
  }
};

}  // namespace

std::unique_ptr<Module> make_module() { return std::make_unique<AuditModule>(); }

}  // namespace mamori::audit
