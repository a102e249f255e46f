// The remote-maintenance audit as a module of `mamori scan`, recorded in its own scope exactly
// as `mamori audit` records it.
#include "core/module.h"

#include <memory>

#include "audit/audit.h"

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
    AuditOptions ao;
    ao.vuln_db = ctx.vuln_db;  // when vuln ran: fixed known-exploited vulnerabilities
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
