// mamori findings, owners, version.
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/text.h"

namespace mamori::cli {
namespace {

std::string user_name() {
  if (const char* s = std::getenv("SUDO_USER"); s && *s) return s;
  if (struct passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return std::to_string(::getuid());
}

int cmd_findings_list(const Options& o, bool all, const std::string& min_severity,
                      const std::string& module, const std::string& state) {
  ReportArgs ra;
  if (auto rc = report_args(o, ra)) return *rc;
  std::optional<Severity> min;
  if (!min_severity.empty()) {
    auto s = parse_severity(min_severity);
    if (!s) return usage(s.error().message);
    min = *s;
  }
  if (!state.empty() && !parse_state(state)) return usage(parse_state(state).error().message);
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  auto findings = (*st)->current_findings(host, all || state == "fixed");
  if (!findings) return fail(findings.error());
  report::Report r;
  r.host = host;
  auto last = (*st)->last_scan(host, "scan");
  if (last && *last) {
    r.scan = scan_info(**last);
    auto pkgs = (*st)->scan_packages((*last)->id);
    if (pkgs)
      r.packages = count_packages(*pkgs);
    else
      r.warnings.push_back("the inventory of the last scan cannot be read: " +
                           pkgs.error().message);
  }
  for (auto& f : *findings) {
    if (min && f.severity < *min) continue;
    if (!module.empty() && f.module != module) continue;
    if (!state.empty() && state_name(f.state) != state) continue;
    r.findings.push_back(std::move(f));
  }
  return render_report(o, r, ra);
}

int cmd_findings_show(const Options& o, const std::string& fp) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto f = (*st)->find(host_name(o), fp);
  if (!f) return fail(f.error());
  if (o.format == "json") {
    report::Report r;
    r.host = host_name(o);
    r.findings = {*f};
    auto j = nlohmann::json::parse(report::render_json(r));
    return emit(o, j["findings"][0].dump(2) + "\n");
  }
  if (o.format != "text") return usage("findings show: --format must be text or json");
  std::string out;
  out += fmt::format("fingerprint  {}\n", sanitize(f->fingerprint));
  out += fmt::format("title        {}\n", sanitize(f->title));
  out += fmt::format("severity     {}\n", severity_name(f->severity));
  out += fmt::format("state        {}\n", state_name(f->state));
  out += fmt::format("check        {}/{}\n", sanitize(f->module), sanitize(f->check));
  out += fmt::format("asset        {}\n", sanitize(f->asset));
  out += fmt::format("owner        {}\n", f->owner.empty() ? kUnassigned : sanitize(f->owner));
  out += fmt::format("first seen   {}\n", iso8601(f->first_seen));
  out += fmt::format("last seen    {}\n", iso8601(f->last_seen));
  if (f->fixed_at) out += fmt::format("fixed at     {}\n", iso8601(*f->fixed_at));
  if (!f->accepted_reason.empty())
    out += fmt::format("accepted     {}\n", sanitize(f->accepted_reason));
  out += fmt::format("evidence     {}\n", sanitize(f->evidence));
  out += fmt::format("remediation  {}\n", sanitize(f->remediation));
  if (!f->references.empty()) {
    out += "references  ";
    for (const auto& r : f->references) out += " " + sanitize(r);
    out += "\n";
  }
  return emit(o, out);
}

int cmd_findings_accept(const Options& o, const std::string& fp, const std::string& reason,
                        const std::string& by) {
  if (trim(reason).empty())
    return usage("findings accept: --reason must say why the risk is accepted");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  auto f = (*st)->find(host, fp);
  if (!f) return fail(f.error());
  auto a = (*st)->accept(host, f->fingerprint, reason, by.empty() ? user_name() : by, now_s());
  if (!a) return fail(a.error());
  info(o, fmt::format("accepted {} ({}) on {}: it stays in reports but no longer fails --fail-on",
                      f->fingerprint, sanitize(f->title), sanitize(host)));
  return kExitOk;
}

int cmd_findings_unaccept(const Options& o, const std::string& fp) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  auto f = (*st)->find(host, fp);
  if (!f) return fail(f.error());
  auto a = (*st)->unaccept(host, f->fingerprint);
  if (!a) return fail(a.error());
  info(o, fmt::format("{} is no longer accepted", f->fingerprint));
  return kExitOk;
}

int cmd_owners_set(const Options& o, const std::string& pattern, const std::string& owner) {
  if (trim(pattern).empty() || trim(owner).empty())
    return usage("owners set: PATTERN and OWNER must not be empty");
  if (owner == kUnassigned) return usage("owners set: 'unassigned' is reserved; use owners remove");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto r = (*st)->set_owner(pattern, owner, now_s());
  if (!r) return fail(r.error());
  info(o,
       fmt::format("{} → {} (takes effect at the next scan)", sanitize(pattern), sanitize(owner)));
  return kExitOk;
}

int cmd_owners_list(const Options& o) {
  if (auto rc = text_or_json(o, "owners list")) return *rc;
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto rules = (*st)->owners();
  if (!rules) return fail(rules.error());
  if (o.format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : *rules) arr.push_back({{"pattern", r.pattern}, {"owner", r.owner}});
    return emit(o, nlohmann::json{{"owners", arr}}.dump(2) + "\n");
  }
  std::string out;
  if (rules->empty()) out = "no owners assigned yet: mamori owners set PATTERN OWNER\n";
  for (const auto& r : *rules)
    out += fmt::format("{:<40} {}\n", sanitize(r.pattern), sanitize(r.owner));
  return emit(o, out);
}

int cmd_owners_remove(const Options& o, const std::string& pattern) {
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto r = (*st)->remove_owner(pattern);
  if (!r) return fail(r.error());
  if (!*r) return fail(Error::not_found("no owner pattern '" + sanitize(pattern) + "'"));
  info(o, "removed " + sanitize(pattern));
  return kExitOk;
}

int cmd_version(const Options& o) {
  if (auto rc = text_or_json(o, "version")) return *rc;
  if (o.format == "json")
    return emit(o, nlohmann::json{{"version", MAMORI_VERSION},
                                  {"store_schema", store::Store::latest_schema_version()}}
                           .dump() +
                       "\n");
  return emit(o, fmt::format("mamori {} (store schema {})\n", MAMORI_VERSION,
                             store::Store::latest_schema_version()));
}

}  // namespace

void add_findings_commands(CLI::App& app, Options& o, int& rc) {
  auto* findings = app.add_subcommand("findings", "List, show and accept findings of this host");
  findings->footer(R"(Examples:
  mamori findings list --severity medium
  mamori findings show 7568040e
  mamori findings accept 7568040e --reason "isolated lab VM" --by alice
  mamori findings unaccept 7568040e
See docs/findings.md.)");
  findings->require_subcommand(1);
  struct Args {
    bool all = false;
    std::string min_sev, module, state, fp, reason, by, pattern, owner;
  };
  auto a = std::make_shared<Args>();
  auto* flist = findings->add_subcommand("list", "Current findings (new, open, accepted)");
  flist->add_flag("--all", a->all, "Include fixed findings");
  flist->add_option("--severity", a->min_sev, "Only this severity or higher")
      ->type_name("SEVERITY");
  flist->add_option("--module", a->module, "Only this module (inventory, ...)")
      ->type_name("MODULE");
  flist->add_option("--state", a->state, "Only this state (new, open, fixed, accepted)")
      ->type_name("STATE");
  flist->callback(
      [&o, &rc, a] { rc = cmd_findings_list(o, a->all, a->min_sev, a->module, a->state); });
  auto* fshow = findings->add_subcommand("show", "Everything about one finding");
  fshow->add_option("FINGERPRINT", a->fp, "Fingerprint or a unique prefix (>= 4 hex digits)")
      ->required();
  fshow->callback([&o, &rc, a] { rc = cmd_findings_show(o, a->fp); });
  auto* faccept = findings->add_subcommand(
      "accept", "Accept a risk: the finding stays in reports but no longer fails --fail-on");
  faccept->add_option("FINGERPRINT", a->fp, "Fingerprint or a unique prefix")->required();
  faccept->add_option("--reason", a->reason, "Why the risk is accepted (kept in the store)")
      ->required();
  faccept->add_option("--by", a->by, "Who accepts it (default: the calling user)");
  faccept->callback([&o, &rc, a] { rc = cmd_findings_accept(o, a->fp, a->reason, a->by); });
  auto* funaccept = findings->add_subcommand("unaccept", "Withdraw an acceptance");
  funaccept->add_option("FINGERPRINT", a->fp, "Fingerprint or a unique prefix")->required();
  funaccept->callback([&o, &rc, a] { rc = cmd_findings_unaccept(o, a->fp); });

  auto* owners = app.add_subcommand("owners", "Who is responsible for which assets");
  owners->footer(R"(Examples:
  mamori owners set 'pkg:deb/*openssh*' vendor-x
  mamori owners set 'os:*' platform-team
  mamori owners list
  mamori owners remove 'os:*'
Owners take effect at the next scan. See docs/owners.md.)");
  owners->require_subcommand(1);
  auto* oset = owners->add_subcommand(
      "set", "Assign OWNER to assets matching PATTERN (glob; the longest matching pattern wins)");
  oset->add_option("PATTERN", a->pattern, "Glob over asset names, e.g. 'pkg:deb/*openssh*'")
      ->required();
  oset->add_option("OWNER", a->owner, "Team or person, e.g. vendor-x")->required();
  oset->callback([&o, &rc, a] { rc = cmd_owners_set(o, a->pattern, a->owner); });
  owners->add_subcommand("list", "Owner patterns")->callback([&o, &rc] {
    rc = cmd_owners_list(o);
  });
  auto* orm = owners->add_subcommand("remove", "Remove an owner pattern");
  orm->add_option("PATTERN", a->pattern, "The pattern as it was set")->required();
  orm->callback([&o, &rc, a] { rc = cmd_owners_remove(o, a->pattern); });

  auto* ver = app.add_subcommand("version", "Print the version and the store schema version");
  ver->footer("See docs/version.md.");
  ver->callback([&o, &rc] { rc = cmd_version(o); });
}

}  // namespace mamori::cli
