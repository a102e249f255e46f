// Guard's attackers as Findings, and the guard module of `mamori scan`.
#include "core/module.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "core/enum_names.h"
#include "core/text.h"
#include "guard/journal.h"
#include "guard/offline.h"
#include "inventory/listeners.h"
#include "store/store.h"

namespace mamori::guard {

namespace {

std::string listing(const std::vector<std::string>& v, size_t most) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < most; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > most) out += fmt::format(" and {} more", v.size() - most);
  return out;
}

constexpr Named<AttackKind::Value> kAttackChecks[] = {
    {AttackKind::Value::kGuessed, "password-guessed"},
    {AttackKind::Value::kSpraying, "password-spraying"},
    {AttackKind::Value::kBurst, "brute-force"},
    {AttackKind::Value::kDistributed, "distributed-brute-force"},
    {AttackKind::Value::kSlow, "slow-brute-force"}};
static_assert(names_cover(kAttackChecks, AttackKind::Value::kSlow));

std::string_view check_of(AttackKind k) {
  return name_in(kAttackChecks, AttackKind::Value(k), "brute-force");
}

Severity severity_of(AttackKind k) {
  switch (k) {
    case AttackKind::kGuessed:
      return Severity::kCritical;
    case AttackKind::kSpraying:
      return Severity::kHigh;
    case AttackKind::kSlow:
      return Severity::kLow;
    default:
      return Severity::kMedium;
  }
}

std::string asset_of(const std::string& address) {
  return (address.find('/') != std::string::npos ? "net:" : "ip:") + address;
}

// An address whose requests the WAF kept blocking: module waf (the attack was on the site; the
// ban is guard's). Only bursts come from WAF blocks (detect.h).
Finding web_attacker_finding(const Attacker& a, const std::map<std::string, int64_t>& banned) {
  Finding f;
  f.module = "waf";
  f.check = "web-attacks";
  f.asset = asset_of(a.address);
  f.severity = Severity::kMedium;
  f.title = fmt::format("Web attacks from {}: {} requests blocked by the web application firewall",
                        a.address, a.failures);
  f.evidence = fmt::format(
      "{} requests from {} blocked by 'mamori waf run' between {} and {} (its decision log "
      "names the rules and the requests: grep '\"client\":\"{}\"')",
      a.failures, a.address, iso8601(a.first_seen), iso8601(a.last_seen), a.address);
  if (auto b = banned.find(a.address); b != banned.end())
    f.evidence += "; banned until " + iso8601(b->second);
  f.remediation =
      "Let 'mamori guard run --log /var/log/mamori/waf.jsonl' ban such addresses as they come, "
      "and look at what it tried in the decision log: a request aimed at a plugin or theme is a "
      "reason to update that component now, before the next address tries a way the rules do "
      "not know.";
  f.references = {"https://attack.mitre.org/techniques/T1190/", "docs/waf.md"};
  assign_fingerprint(f);
  return f;
}

}  // namespace

std::vector<Finding> attacker_findings(const std::vector<Attacker>& found,
                                       const std::map<std::string, int64_t>& banned_until) {
  std::vector<Finding> out;
  size_t listed = std::min(found.size(), kMaxAttackerFindings);
  for (size_t i = 0; i < listed; ++i) {
    const Attacker& a = found[i];
    if (a.services == std::vector<std::string>{"waf"}) {
      out.push_back(web_attacker_finding(a, banned_until));
      continue;
    }
    Finding f;
    f.module = "guard";
    f.check = check_of(a.kind);
    f.asset = asset_of(a.address);
    f.severity = severity_of(a.kind);
    std::string services = fmt::format("{}", fmt::join(a.services, ", "));
    switch (a.kind) {
      case AttackKind::kGuessed:
        f.title = fmt::format("A password was guessed: {} logged in from {} after {} failures",
                              a.guessed_user, a.address, a.failures);
        break;
      case AttackKind::kSpraying:
        f.title = fmt::format("Password spraying from {} across {} accounts", a.address,
                              a.usernames.size());
        break;
      case AttackKind::kBurst:
        f.title = fmt::format("Password guessing from {} ({} failures)", a.address, a.failures);
        break;
      case AttackKind::kDistributed:
        f.title = fmt::format("Distributed password guessing from {} ({} addresses, {} failures)",
                              a.address, a.addresses.size(), a.failures);
        break;
      case AttackKind::kSlow:
        f.title =
            fmt::format("Slow password guessing from {} ({} failures)", a.address, a.failures);
        break;
    }
    f.evidence = fmt::format("{}: {} failed logins on {} from {} to {}; accounts tried: {}",
                             a.kind.name(), a.failures, services, iso8601(a.first_seen),
                             iso8601(a.last_seen), listing(a.usernames, 8));
    if (!a.addresses.empty())
      f.evidence += fmt::format("; {} addresses: {}", a.addresses.size(), listing(a.addresses, 8));
    if (auto b = banned_until.find(a.address); b != banned_until.end())
      f.evidence += "; banned until " + iso8601(b->second);
    f.remediation =
        a.kind == AttackKind::kGuessed
            ? fmt::format(
                  "Treat the account {} as compromised: change its password now, end its "
                  "sessions, find out what they did (last, journalctl _UID=…), and turn password "
                  "login off for {} (keys, or a second factor).",
                  a.guessed_user, services)
            : fmt::format(
                  "Ban it at the firewall ('mamori guard run' does it as it happens), and keep "
                  "password login off on what is exposed: SSH with keys only "
                  "(PasswordAuthentication no), RDP and VNC behind a VPN, a second factor on "
                  "{}.",
                  services);
    f.references = {"CWE-307", "https://attack.mitre.org/techniques/T1110/"};
    if (a.kind == AttackKind::kGuessed) f.references.insert(f.references.begin(), "CWE-521");
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  if (found.size() > listed) {
    std::map<std::string, size_t> kinds;
    for (size_t i = listed; i < found.size(); ++i) ++kinds[std::string(found[i].kind.name())];
    std::string counts;
    for (const auto& [k, n] : kinds)
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, k);
    Finding f;
    f.module = "guard";
    f.check = "attackers-not-listed";
    f.asset = "guard:attackers-not-listed";
    f.severity = Severity::kMedium;
    f.title = fmt::format("{} more attacking addresses than are listed", found.size() - listed);
    f.evidence = fmt::format(
        "{} attackers in all; the {} most urgent are listed, the others "
        "are: {}",
        found.size(), listed, counts);
    f.remediation =
        "See them all with 'mamori guard scan-log --format json', and let 'mamori guard run' ban "
        "them as they come; this many addresses is a campaign: keep password login off on "
        "everything exposed.";
    f.references = {"CWE-307"};
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

Finding active_ban_finding(const std::string& address, AttackKind kind, const std::string& reason,
                           int64_t expires_at) {
  Finding f;
  f.module = "guard";
  f.check = check_of(kind);
  f.asset = asset_of(address);
  f.severity = severity_of(kind);
  f.title = fmt::format("{} is banned for {} until {}", address, kind.name(), iso8601(expires_at));
  f.evidence = fmt::format(
      "banned by 'mamori guard run': {}; not seen again in the logs this "
      "scan read",
      reason);
  f.remediation =
      "Nothing to do while the ban holds; keep password login off on what is exposed (SSH keys "
      "only, RDP and VNC behind a VPN, a second factor).";
  f.references = {"CWE-307", "https://attack.mitre.org/techniques/T1110/"};
  assign_fingerprint(f);
  return f;
}

namespace {

constexpr int64_t kLookBack = 86400;             // a scan looks at the last day
constexpr uint64_t kMaxLogBytes = 128ull << 20;  // per log, uncompressed (memory: ~90 MB)

bool journal_here() {
  std::error_code ec;
  return std::filesystem::exists("/run/systemd/journal/socket", ec) ||
         std::filesystem::exists("/var/log/journal", ec);
}

// The files a scan reads under the root: the auth logs when there is no journal to read, and
// the WAF's decision log (`mamori waf run`, packaging/systemd/mamori-waf.service) always.
std::vector<std::string> text_logs(const Root& root, bool auth_logs) {
  std::vector<std::string> out;
  std::vector<const char*> logs = {"/var/log/mamori/waf.jsonl.1", "/var/log/mamori/waf.jsonl"};
  if (auth_logs)
    logs.insert(logs.begin(), {"/var/log/auth.log.1", "/var/log/auth.log", "/var/log/secure.1",
                               "/var/log/secure"});
  for (const char* l : logs) {
    // anything there is read, or said why not (a FIFO, a device, a link out of the root)
    if (root.stat(l, /*follow_last=*/false)) out.emplace_back(l);
  }
  return out;
}

class GuardModule final : public Module {
 public:
  std::string_view name() const override { return "guard"; }
  std::string_view title() const override { return "password-guessing check"; }
  std::string_view summary() const override {
    return "password guessing in the last day's authentication logs (journal, auth.log): who, "
           "how, against which accounts; a guessed password is critical; and addresses the WAF "
           "kept blocking (its decision log)";
  }
  std::string not_applicable(const ScanContext& ctx) const override {
    if (ctx.root.is_host() && journal_here()) return {};
    if (text_logs(ctx.root, true).empty())
      return "no journal, no /var/log/auth.log or secure, no WAF decision log";
    return {};
  }
  Result<ModuleResult> run(const ScanContext& ctx) override {
    LogSources src;
    src.journal_local = ctx.root.is_host() && journal_here();
    src.files = text_logs(ctx.root, !src.journal_local);
    src.root = &ctx.root;
    // Never blamed: loopback, and on this host its addresses and the SSH sessions open now;
    // the `allow` entries of ROOT/etc/mamori/guard.toml.
    DetectOptions d;
    d.allow = Allowlist::loopback();
    if (ctx.root.is_host()) {
      add_host_addresses(d.allow);
      add_ssh_sessions(d.allow, ctx.root);
    }
    if (ctx.root.exists("/etc/mamori/guard.toml")) {
      auto text = ctx.root.read("/etc/mamori/guard.toml", 1 << 20);
      if (!text) return text.error();
      MAMORI_TRY(add_config_text(d.allow, *text, "/etc/mamori/guard.toml"), "guard");
    }
    ScanLogOptions so;
    so.now = ctx.now;
    so.since = ctx.now - kLookBack;
    so.max_bytes = kMaxLogBytes;
    so.tolerant = true;
    auto scan = scan_logs(src, so, d);
    if (!scan) return scan.error();
    // What is banned now is said with its attacker.
    std::map<std::string, int64_t> banned;
    std::vector<store::Ban> bans;
    if (ctx.store)
      if (auto active = ctx.store->active_bans(ctx.host, ctx.now)) bans = std::move(*active);
    for (const auto& b : bans) banned[b.address] = b.expires_at;
    ModuleResult r;
    r.findings = attacker_findings(scan->attackers, banned);
    std::set<std::string> seen;
    for (const auto& a : scan->attackers) seen.insert(a.address);
    for (const auto& b : bans)
      if (!seen.count(b.address))
        if (auto k = AttackKind::parse(b.kind))
          r.findings.push_back(active_ban_finding(b.address, *k, b.reason, b.expires_at));
    for (const auto& sk : scan->skipped) r.notices.push_back("guard: " + sk);
    if (!scan->skipped.empty()) r.partial = true;
    if (scan->untrusted > 0)
      r.warnings.push_back(fmt::format(
          "guard: {} journal records claimed to be sshd, PAM, xrdp or VNC without journald's "
          "fields backing it (written by another program): ignored",
          scan->untrusted));
    r.details.push_back(fmt::format("guard: {} lines, {} authentication events since {}",
                                    scan->lines, scan->events, iso8601(so.since)));
    return r;
  }
};

}  // namespace

std::unique_ptr<Module> make_module() { return std::make_unique<GuardModule>(); }

}  // namespace mamori::guard
