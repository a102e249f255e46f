// mamori audit.
#include <CLI/CLI.hpp>
#include <filesystem>

#include "audit/audit.h"
#include "cli.h"
#include "vuln/vuln.h"

namespace mamori::cli {
namespace {

int cmd_audit(const Options& o, bool checks) {
  ReportArgs ra;
  if (auto rc = report_args(o, ra)) return *rc;
  if (checks && ra.format != report::Format::kText && ra.format != report::Format::kJson)
    return usage("audit --checks: --format text or json");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  auto vdb = audit::open_audit_db(db_path(o), !o.db.empty());
  if (!vdb) return fail(vdb.error());
  audit::AuditOptions ao;
  ao.vuln_db = vdb->db.get();
  auto rep = audit::run_audit(Root(o.root), ao);
  if (!rep) return fail(rep.error());
  rep->warnings.insert(rep->warnings.begin(), vdb->warnings.begin(), vdb->warnings.end());
  store::ScanInput in = scan_input(host_name(o), "audit", started, rep->findings());
  if (!ao.vuln_db) in.checks_not_run.emplace_back("audit", audit::kUndecidedWithoutDb);
  if (!checks) return record_and_report(o, **st, in, rep->warnings, ra);
  auto outcome = (*st)->record_scan(in);
  if (!outcome) return fail(outcome.error());
  int rc = emit(o, ra.format == report::Format::kJson ? audit::render_checks_json(*rep, in.host)
                                                      : audit::render_checks_text(*rep));
  if (rc != kExitOk) return rc;
  return exit_for(outcome->findings, ra.threshold);
}

}  // namespace

void add_audit_commands(CLI::App& app, Options& o, int& rc) {
  auto checks = std::make_shared<bool>(false);
  auto* aud = app.add_subcommand(
      "audit",
      "Audit the remote-maintenance path: exposed ports, SSH, PAM/MFA, passwords, firewall");
  aud->add_flag("--checks", *checks,
                "List every check with its result (pass, fail, info, skipped) and evidence");
  aud->footer(R"(Examples:
  mamori audit                               findings of this machine, recorded in the store
  mamori audit --checks                      every check: pass/fail, what was seen, how to fix
  mamori --root /mnt/image audit --format json
  mamori audit --fail-on high -q             exit 1 when a new/open high or critical finding
Under --root, live state is read from snapshots when present: ROOT/proc/net/{tcp,tcp6,udp,udp6}
and ROOT/run/nft-ruleset.txt (output of 'nft list ruleset').
See docs/audit.md (every check, its rationale and remediation).)");
  aud->callback([&o, &rc, checks] { rc = cmd_audit(o, *checks); });
}

}  // namespace mamori::cli
