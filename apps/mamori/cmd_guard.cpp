// mamori guard scan-log, status, unban, restore, run.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/text.h"
#include "guard/allow.h"
#include "guard/journal.h"
#include "guard/nft.h"
#include "guard/offline.h"
#include "guard/service.h"
#include "inventory/listeners.h"

namespace mamori::cli {
namespace {

constexpr const char* kWafDecisionLog = "/var/log/mamori/waf.jsonl";

struct GuardArgs {
  std::vector<std::string> files;
  std::vector<std::string> allow;          // addresses / prefixes never reported
  std::string config;                      // guard.toml (default /etc/mamori/guard.toml)
  int year = 0;                            // for syslog lines (no year); 0 = this year
  bool ban = false;                        // scan-log: also ban what was found
  std::vector<std::string> journal_files;  // scan-log: systemd journal files
  bool journal = false;                    // scan-log: this machine's journal
  std::string since;  // only events at or after (duration back from now, or a date); run: also
                      // reads the rotated logs and the journal from then
  std::string ban_time = "1h";  // first offence; repeat offenders get twice as long each time
  std::string nft = "nft";      // the nft program
  // run:
  std::vector<std::string> logs;  // files to follow
  bool from_start = false;        // read them whole first (default: only what is appended)
  int poll_ms = 500;
};

// A typo in --allow would let an allowlisted admin be banned: a usage error, before anything.
std::optional<int> bad_allow(const std::string& cmd, const GuardArgs& a) {
  for (const auto& al : a.allow) {
    guard::Ip ip;
    int bits = 0;
    if (!guard::parse_prefix(al, ip, bits))
      return usage("guard " + cmd + ": --allow " + sanitize(al) + " is not an address or prefix");
  }
  return std::nullopt;
}

int cmd_guard_scan_log(const Options& o, const GuardArgs& a) {
  auto format = report::parse_format(o.format);
  if (!format) return usage("guard scan-log: " + format.error().message);
  if (a.files.empty() && a.journal_files.empty() && !a.journal)
    return usage("guard scan-log: name a log file, --journal-file FILE or --journal");
  if (auto rc = bad_allow("scan-log", a)) return *rc;
  int64_t now = now_s();
  auto since = guard::parse_since(a.since, now);
  if (!since)
    return usage("guard scan-log: --since " + sanitize(a.since) + ": " + since.error().message);
  std::optional<int64_t> base;
  if (a.ban) {
    auto b = guard::parse_duration(a.ban_time);
    if (!b) return usage("guard: --ban-time " + sanitize(a.ban_time) + ": " + b.error().message);
    base = *b;
  }
  auto allow = guard::standard_allowlist(a.config, a.allow);
  if (!allow) return fail(allow.error());
  guard::DetectOptions dopts;
  dopts.allow = *allow;
  guard::LogSources src;
  src.files = a.files;
  src.journal_files = a.journal_files;
  src.journal_local = a.journal;
  auto scan = guard::scan_logs(src, {a.year, now, *since}, dopts);
  if (!scan) return fail(scan.error());
  if (scan->untrusted > 0)
    info(o, fmt::format("warning: {} journal records claimed to be sshd, PAM, xrdp or VNC without "
                        "journald's fields backing it (written by another program): ignored",
                        scan->untrusted));
  if (scan->left_out > 0)
    info(o, fmt::format("{} authentication events before --since {} left out", scan->left_out,
                        iso8601(*since)));
  std::map<std::string, int64_t> banned;  // what this run banned: target → until
  if (base) {
    auto st = open_store(o);
    if (!st) return fail(st.error());
    auto made =
        guard::ban_attackers(scan->attackers, *allow, **st, host_name(o), now, *base, a.nft);
    if (!made) return fail(made.error());
    for (const auto& n : made->notes) info(o, sanitize(n));
    for (const auto& w : made->warnings) info(o, "warning: " + sanitize(w));
    info(o, fmt::format("{} addresses or prefixes banned in nftables table inet mamori_guard",
                        made->applied));
    banned = std::move(made->banned);
  }
  // The attackers as findings: in the JSON beside them, and what SARIF and HTML show.
  report::Report r;
  r.host = host_name(o);
  r.tool_version = MAMORI_VERSION;
  r.findings = guard::attacker_findings(scan->attackers, banned);
  switch (*format) {
    case report::Format::kText:
      return emit(o, guard::render_scan_text(*scan));
    case report::Format::kJson: {
      auto j = nlohmann::json::parse(guard::render_scan_json(*scan, banned));
      j["findings"] = nlohmann::json::parse(report::render_json(r))["findings"];
      return emit(o, j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
    default:
      return emit(o, report::render(r, *format, use_color(o)));
  }
}

int cmd_guard_status(const Options& o, const GuardArgs& a) {
  if (o.format != "text" && o.format != "json")
    return usage("guard status: --format must be text or json");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t now = now_s();
  std::string host = host_name(o);
  auto bans = (*st)->active_bans(host, now);
  if (!bans) return fail(bans.error());
  guard::NftBans fw(a.nft);
  auto elements = fw.list();
  guard::BanStatus status{host, *bans, {}, elements ? "" : elements.error().message, now};
  if (elements)
    status.in_firewall = std::map<std::string, int64_t>(elements->begin(), elements->end());
  return emit(o, o.format == "json" ? guard::render_status_json(status)
                                    : guard::render_status_text(status));
}

int cmd_guard_unban(const Options& o, const GuardArgs& a, const std::string& addr) {
  bool v6 = false;
  auto el = guard::canonical_element(addr, v6);
  if (!el) return usage("guard unban: " + sanitize(el.error().message));
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto lifted = (*st)->lift_ban(host_name(o), *el, now_s());
  if (!lifted) return fail(lifted.error());
  guard::NftBans fw(a.nft);
  if (auto s = fw.unban(*el); !s) return fail(s.error().with_context("guard unban: firewall"));
  info(o, *lifted ? "unbanned " + *el : *el + " was not banned (removed from the firewall anyway)");
  return kExitOk;
}

int cmd_guard_restore(const Options& o, const GuardArgs& a) {
  if (auto rc = bad_allow("restore", a)) return *rc;
  auto allow = guard::standard_allowlist(a.config, a.allow);
  if (!allow) return fail(allow.error());
  auto st = open_store(o);
  if (!st) return fail(st.error());
  guard::NftFirewall fw(a.nft, &*allow);  // refuses what the checks refuse, as a last line
  if (auto s = fw.ensure(); !s) return fail(s.error().with_context("guard restore: firewall"));
  std::vector<std::string> notes;
  auto r = guard::restore_bans(fw, **st, host_name(o), *allow, now_s(), notes);
  for (const auto& n : notes) info(o, sanitize(n));
  if (!r) return fail(r.error().with_context("guard restore"));
  info(o, fmt::format("{} bans restored from the store", r->in_firewall));
  return kExitOk;
}

volatile std::sig_atomic_t g_stop_guard = 0;
void on_guard_signal(int) { g_stop_guard = 1; }

// The journal is there to be followed when sd-journal opens it and it has entries.
bool local_journal_available() {
  auto j = guard::Journal::open_local();
  if (!j) return false;
  return std::filesystem::exists("/run/systemd/journal/socket") ||
         std::filesystem::exists("/var/log/journal");
}

int cmd_guard_run(const Options& o, const GuardArgs& a) {
  if (auto rc = text_or_json(o, "guard run")) return *rc;
  auto base = guard::parse_duration(a.ban_time);
  if (!base)
    return usage("guard run: --ban-time " + sanitize(a.ban_time) + ": " + base.error().message);
  if (auto rc = bad_allow("run", a)) return *rc;
  guard::ServiceOptions so;
  so.logs = a.logs;
  so.journal_files = a.journal_files;
  so.journal_local = a.journal;
  // The default source is the journal where there is one: its records say which program wrote
  // them (a text log only says what the writer claimed). Else the classic auth logs.
  if (so.logs.empty() && !a.journal && a.journal_files.empty()) {
    if (local_journal_available()) {
      so.journal_local = true;
    } else {
      for (const char* d : {"/var/log/auth.log", "/var/log/secure"})
        if (std::filesystem::exists(d)) so.logs.push_back(d);
    }
    // The WAF's decision log, where `mamori waf run` writes it: addresses it keeps blocking
    // are banned like password guessers (a burst: 5 blocked requests in 10 minutes).
    if (std::filesystem::exists(kWafDecisionLog)) so.logs.push_back(kWafDecisionLog);
  }
  if (so.logs.empty() && !so.journal_local && so.journal_files.empty())
    return usage(
        "guard run: no --log or --journal given, no journal and no /var/log/auth.log here");
  if (a.poll_ms < 10 || a.poll_ms > 60000) return usage("guard run: --poll-ms 10..60000");
  auto since = guard::parse_since(a.since, now_s());
  if (!since)
    return usage("guard run: --since " + sanitize(a.since) + ": " + since.error().message);
  so.since = *since;
  so.from_start = a.from_start;
  so.ban_seconds = *base;
  auto allow = guard::standard_allowlist(a.config, a.allow);
  if (!allow) return fail(allow.error());
  auto st = open_store(o);
  if (!st) return fail(st.error());
  so.host = host_name(o);
  so.tool_version = MAMORI_VERSION;
  SystemClock clock;
  guard::NftFirewall fw(a.nft, nullptr);
  guard::GuardService svc(
      so, **st, fw, clock, *allow,
      [] {
        return inventory::session_peers(Root("/"), {"sshd", "sshd-session"});
      },
      guard::host_addresses);
  fw.set_allowlist(&svc.allowlist());  // the service's own: it grows as sessions open
  guard::SystemdNotifier notifier;
  guard::RunLoop loop;
  loop.poll_ms = a.poll_ms;
  loop.sources = fmt::format(
      "{}{}{}", fmt::join(so.logs, ", "),
      !so.logs.empty() && (so.journal_local || !so.journal_files.empty()) ? " and " : "",
      so.journal_local            ? "the journal"
      : !so.journal_files.empty() ? "the journal files"
                                  : "");
  loop.stop = [] { return g_stop_guard != 0; };
  loop.on_note = [&o](const std::string& n) { info(o, "guard: " + sanitize(n)); };
  loop.on_ban = [&o](const guard::BanNotice& b) {
    if (o.format == "json" || !o.quiet)
      std::cout << guard::render_ban(b, o.format == "json") << std::endl;
  };
  loop.on_ready = [&] {
    info(o, fmt::format("guard: watching {}; {} bans restored; never banned: {}", loop.sources,
                        svc.stats().restored, fmt::join(svc.allowlist().describe(), ", ")));
  };
  std::signal(SIGTERM, on_guard_signal);
  std::signal(SIGINT, on_guard_signal);
  Status r = guard::run_service(svc, notifier, loop);
  if (!r) return fail(r.error().with_context("guard run"));
  info(o, fmt::format("guard: stopped; {} bans this run", svc.stats().bans_total));
  return kExitOk;
}

}  // namespace

void add_guard_commands(CLI::App& app, Options& o, int& rc) {
  auto ga_ = std::make_shared<GuardArgs>();
  GuardArgs& ga = *ga_;
  auto* guardc = app.add_subcommand("guard", "Find password guessing in auth logs (and stop it)");
  guardc->require_subcommand(1);
  guardc->footer("See docs/guard.md.");
  auto* gscan = guardc->add_subcommand(
      "scan-log", "Analyse auth logs offline and list the attackers (--ban also bans them)");
  gscan->add_option("FILE", ga.files,
                    "Log files: syslog (/var/log/auth.log), RFC 3339, journalctl -o short-iso or "
                    "-o export; xrdp-sesman.log, x11vnc and TigerVNC logs; web access logs "
                    "(WordPress logins); .gz rotations read as they are");
  gscan
      ->add_option("--since", ga.since,
                   "Only attempts at or after WHEN: 2h, 3d (back from now) or a UTC date "
                   "2024-05-06[T12:00:00[Z]]")
      ->type_name("WHEN");
  gscan
      ->add_option("--journal-file", ga.journal_files,
                   "systemd journal file to read (repeatable; sd-journal)")
      ->type_name("FILE");
  gscan->add_flag("--journal", ga.journal, "Read this machine's systemd journal (sd-journal)");
  gscan->add_option("--allow", ga.allow, "Address or prefix never reported (repeatable)")
      ->type_name("ADDR[/LEN]");
  gscan
      ->add_option("--year", ga.year, "Year of syslog lines, which carry none (default: this year)")
      ->type_name("YYYY");
  gscan->footer(R"(Examples:
  mamori guard scan-log /var/log/auth.log /var/log/auth.log.*.gz
  mamori guard scan-log --journal --format json          this machine's journal (sd-journal)
  journalctl -u ssh -o export > ssh.export && mamori guard scan-log ssh.export
  mamori guard scan-log --allow 10.0.0.0/8 --format json -o attackers.json auth.log
  mamori guard scan-log --since 2d /var/log/auth.log* /var/log/nginx/access.log*
  mamori guard scan-log --format html -o attackers.html /var/log/auth.log
  mamori guard scan-log --since 1d /var/log/mamori/waf.jsonl     addresses the WAF kept blocking
Formats: text, json (the attackers, and the same as findings), sarif and html (the findings;
nothing is recorded: 'mamori scan' records the last day's attackers of this host).
Services: ssh (sshd, sshd-session), pam (any other service's PAM failure with a remote host),
xrdp, vnc (x11vnc, TigerVNC), wordpress (POST wp-login.php answered 200 = failure; a 302 is a
login only when the dashboard follows; every POST xmlrpc.php = an attempt), waf (a request
'mamori waf run' blocked, from its decision log; counted only towards a burst: 5 in 10 min).
Never blamed: loopback, this host's addresses, the peers of SSH sessions open now, `allow` in
/etc/mamori/guard.toml (--config) and --allow. Journal records count only when journald's own
fields (_UID, _COMM, _EXE, _SYSTEMD_UNIT) back the program they claim to be; syslog times are
this host's local time (TZ).
Kinds: burst (>= 5 failures in 10 min), spraying (many accounts, 1-2 tries each), guessed (a
login after >= 5 failures: change that password), slow (>= 6 in 24 h, never logged in),
distributed (a /24, /64 or /56, or a campaign of addresses a guess or two each).
See docs/guard.md.)");
  gscan->add_flag("--ban", ga.ban,
                  "Also ban what was found: nftables table inet mamori_guard, recorded in the "
                  "store (escalating for repeat offenders)");
  gscan
      ->add_option("--ban-time", ga.ban_time,
                   "First ban's length (3600, 10m, 1h, 2d); each repeat offence doubles it, up "
                   "to 30 days")
      ->type_name("DURATION");
  gscan->callback([&o, &rc, ga_] { rc = cmd_guard_scan_log(o, *ga_); });
  auto* gstatus = guardc->add_subcommand("status", "Active bans of this host (store and firewall)");
  gstatus->callback([&o, &rc, ga_] { rc = cmd_guard_status(o, *ga_); });
  auto unban_addr = std::make_shared<std::string>();
  auto* gunban = guardc->add_subcommand("unban", "Lift a ban now (store and firewall)");
  gunban->add_option("ADDR", *unban_addr, "Address or prefix")->required();
  gunban->callback([&o, &rc, ga_, unban_addr] { rc = cmd_guard_unban(o, *ga_, *unban_addr); });
  auto* grestore = guardc->add_subcommand(
      "restore", "Put the store's active bans back into nftables (after a reboot or flush)");
  grestore->callback([&o, &rc, ga_] { rc = cmd_guard_restore(o, *ga_); });
  auto* grun = guardc->add_subcommand(
      "run", "The service: follow auth logs, ban password guessing as it happens (nftables)");
  grun->add_option("--log", ga.logs,
                   "Log file to follow through rotation (repeatable; default: the journal, else "
                   "/var/log/auth.log or /var/log/secure; and /var/log/mamori/waf.jsonl, the "
                   "WAF's decision log, when it exists)")
      ->type_name("FILE");
  grun->add_flag("--journal", ga.journal, "Follow this machine's systemd journal (sd-journal)");
  grun->add_option("--journal-file", ga.journal_files, "Follow systemd journal files (repeatable)")
      ->type_name("FILE");
  grun->add_flag("--from-start", ga.from_start,
                 "Read the logs whole first (default: only new lines)");
  grun->add_option("--since", ga.since,
                   "Catch up first: the rotated logs (.1, .N.gz, -YYYYMMDD) and the journal from "
                   "WHEN (2h, 3d or a UTC date), then follow")
      ->type_name("WHEN");
  grun->add_option("--allow", ga.allow, "Address or prefix never banned (repeatable)")
      ->type_name("ADDR[/LEN]");
  grun->add_option("--ban-time", ga.ban_time, "First ban's length; doubles per repeat offence")
      ->type_name("DURATION");
  grun->add_option("--poll-ms", ga.poll_ms, "How often the logs are read (default 500)")
      ->type_name("MS");
  grun->footer(R"(Runs until SIGTERM/SIGINT; tells systemd when ready (Type=notify, WATCHDOG=1 when
WatchdogSec is set): packaging/systemd/mamori-guard.service. Bans of earlier runs are restored at
start, each checked as if new (never wider than /16 or /32, never an allowlisted address). Each
ban is printed (a JSON line with --format json).
Default source: this machine's journal where there is one (its records prove which program
wrote them), else /var/log/auth.log or /var/log/secure (whose lines anyone can forge with
logger(1): see docs/guard.md).
Never banned: loopback, this host's addresses, the peers of SSH sessions open at start and of
those that log in later, `allow` in /etc/mamori/guard.toml (--config) and --allow.
See docs/guard.md.)");
  grun->callback([&o, &rc, ga_] { rc = cmd_guard_run(o, *ga_); });
  for (auto* c : {gscan, gstatus, gunban, grestore, grun})
    c->add_option("--nft", ga.nft, "The nft program (default: nft in PATH)")->type_name("PATH");
  grestore->add_option("--allow", ga.allow, "Address or prefix never banned (repeatable)")
      ->type_name("ADDR[/LEN]");
  for (auto* c : {gscan, grestore, grun})
    c->add_option("--config", ga.config,
                  "Guard configuration: allow = [\"ADDR[/LEN]\", ...] (default "
                  "/etc/mamori/guard.toml, when present)")
        ->type_name("FILE");
}

}  // namespace mamori::cli
