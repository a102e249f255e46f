// mamori: argument parsing and wiring only (commands.cpp does the work).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>

#include "commands.h"
#include "store/store.h"

namespace {

// Test hook (tests/cli): MAMORI_TEST_KILL_AT=record_scan:before-commit makes mamori kill
// itself with SIGKILL at that point, to prove a killed scan leaves the store intact.
void kill_hook(const char* point) {
  const char* at = std::getenv("MAMORI_TEST_KILL_AT");
  if (at && std::strcmp(at, point) == 0) std::raise(SIGKILL);
}

constexpr const char* kFooter = R"(
Examples:
  mamori scan                              inventory + checks of this machine, recorded in the store
  mamori scan --format html -o report.html one self-contained HTML report
  mamori scan --fail-on high -q            for cron/CI: exit 1 if a new/open high or critical finding
  mamori --root /mnt/image scan            audit a mounted image or container filesystem
  mamori inventory --format cyclonedx      SBOM of what is installed
  mamori findings list --severity medium   what is open right now
  mamori findings accept 3f2a9c1e --reason "vendor box, isolated VLAN"
  mamori owners set 'pkg:deb/*openssh*' vendor-x
  mamori --store postgresql://mamori@db/mamori scan   report into a fleet store
  mamori db update                         download vulnerability data (OSV, CISA KEV, EPSS)
  mamori fim init && mamori fim check      signed file-integrity baseline, then what changed

Exit codes: 0 ok, 1 findings at or above --fail-on, 2 usage error, 3 error (bad input, store).
Documentation: docs/ (one page per command).)";

}  // namespace

int main(int argc, char** argv) {
  using namespace mamori::cli;
  // Everything Mamori creates is private unless it says otherwise: findings, bans, baselines,
  // reports and the SQLite -wal/-shm files (created with the umask) hold what an attacker wants.
  ::umask(077);
  if (std::getenv("MAMORI_TEST_KILL_AT")) mamori::store::set_fault_hook(kill_hook);

  Options o;
  CLI::App app{
      "mamori — keeps servers safe in practice: what is installed, what is wrong, who fixes it"};
  app.footer(kFooter);
  app.fallthrough();
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();

  app.add_option("--root", o.root, "Audit the system mounted at DIR instead of this machine")
      ->type_name("DIR");
  app.add_option("--store", o.store,
                 "Store URL: an SQLite file (default /var/lib/mamori/mamori.db as root, else "
                 "$XDG_DATA_HOME/mamori/mamori.db) or postgresql://USER@HOST/DB for a fleet")
      ->type_name("URL");
  app.add_option("--db", o.db, "Vulnerability database (default: vuln.db beside the default store)")
      ->type_name("FILE");
  app.add_option("--format", o.format,
                 "Output format: text, json, sarif, html (inventory: text, json, cyclonedx)")
      ->type_name("FORMAT");
  app.add_option("-o,--output", o.output, "Write the output to FILE (atomically) instead of stdout")
      ->type_name("FILE");
  app.add_option("--fail-on", o.fail_on,
                 "Exit 1 when a new or open, not accepted finding has this severity or higher "
                 "(critical, high, medium, low, info)")
      ->type_name("SEVERITY");
  app.add_option("--host", o.host,
                 "Host name to record (default: this machine's, or ROOT/etc/hostname)")
      ->type_name("NAME");
  app.add_option("--webroot", o.webroots,
                 "Web root to search for CMS installs and lockfiles (repeatable; default: "
                 "discover /var/www, /srv/www, /srv/http, /usr/share/nginx/html, ...)")
      ->type_name("DIR");
  app.add_option("--path", o.paths,
                 "Extra directory to search for lockfiles and site-packages (repeatable)")
      ->type_name("DIR");
  app.add_flag("--no-discover", o.no_discover,
               "Search only the --webroot/--path directories given");
  app.add_flag("-q,--quiet", o.quiet, "No progress or informational messages");
  app.add_flag("-v,--verbose", o.verbose, "More detail (repeat for more)");
  app.add_flag("--no-color", o.no_color, "No colour even on a terminal (also: NO_COLOR=1)");

  int rc = kExitOk;

  auto* scan = app.add_subcommand(
      "scan", "Inventory this machine (or --root), run the checks, record the scan, report");
  scan->footer(R"(Examples:
  mamori scan                                text report of this machine
  mamori scan --format html -o report.html   one self-contained HTML file
  mamori scan -q --fail-on high              cron/CI: exit 1 on a new/open high or critical finding
  mamori --root /mnt/web01 --host web01 scan a mounted image, recorded as web01
The scan also runs the remote-maintenance audit (mamori audit) and, with a file-integrity
baseline (mamori fim init), a quick 'fim check'; their findings are in the same report.
See docs/scan.md.)");
  scan->add_option("--skip", o.skip,
                   "Leave a part out of this scan (repeatable): audit (the remote-maintenance "
                   "audit), fim (the quick file-integrity check)")
      ->type_name("PART")
      ->check(CLI::IsMember({"audit", "fim"}));
  scan->callback([&] { rc = cmd_scan(o); });

  auto* inv = app.add_subcommand("inventory",
                                 "List installed software (dpkg, rpm, apk, WordPress, lockfiles)");
  inv->footer(R"(Examples:
  mamori inventory                           table of every package
  mamori inventory --format json             the JSON contract of docs/json.md
  mamori inventory --format cyclonedx -o sbom.json
  mamori --root /mnt/image inventory --webroot /srv/shop
See docs/inventory.md.)");
  inv->callback([&] { rc = cmd_inventory(o); });

  long long scan_id = 0;
  auto* rep =
      app.add_subcommand("report", "Render a recorded scan (the latest of this host by default)");
  auto* scan_opt = rep->add_option("--scan", scan_id, "Scan number to render")->type_name("ID");
  rep->footer(R"(Examples:
  mamori report --format html -o report.html the latest scan of this host
  mamori --host web02 report --scan 12       another host or an older scan
See docs/report.md.)");
  rep->callback([&] {
    rc = cmd_report(o, scan_opt->count() ? std::optional<long long>(scan_id) : std::nullopt);
  });

  auto* findings = app.add_subcommand("findings", "List, show and accept findings of this host");
  findings->footer(R"(Examples:
  mamori findings list --severity medium
  mamori findings show 7568040e
  mamori findings accept 7568040e --reason "isolated lab VM" --by alice
  mamori findings unaccept 7568040e
See docs/findings.md.)");
  findings->require_subcommand(1);
  bool all = false;
  std::string min_sev, module, state;
  auto* flist = findings->add_subcommand("list", "Current findings (new, open, accepted)");
  flist->add_flag("--all", all, "Include fixed findings");
  flist->add_option("--severity", min_sev, "Only this severity or higher")->type_name("SEVERITY");
  flist->add_option("--module", module, "Only this module (inventory, ...)")->type_name("MODULE");
  flist->add_option("--state", state, "Only this state (new, open, fixed, accepted)")
      ->type_name("STATE");
  flist->callback([&] { rc = cmd_findings_list(o, all, min_sev, module, state); });
  std::string fp, reason, by;
  auto* fshow = findings->add_subcommand("show", "Everything about one finding");
  fshow->add_option("FINGERPRINT", fp, "Fingerprint or a unique prefix (>= 4 hex digits)")
      ->required();
  fshow->callback([&] { rc = cmd_findings_show(o, fp); });
  auto* faccept = findings->add_subcommand(
      "accept", "Accept a risk: the finding stays in reports but no longer fails --fail-on");
  faccept->add_option("FINGERPRINT", fp, "Fingerprint or a unique prefix")->required();
  faccept->add_option("--reason", reason, "Why the risk is accepted (kept in the store)")
      ->required();
  faccept->add_option("--by", by, "Who accepts it (default: the calling user)");
  faccept->callback([&] { rc = cmd_findings_accept(o, fp, reason, by); });
  auto* funaccept = findings->add_subcommand("unaccept", "Withdraw an acceptance");
  funaccept->add_option("FINGERPRINT", fp, "Fingerprint or a unique prefix")->required();
  funaccept->callback([&] { rc = cmd_findings_unaccept(o, fp); });

  auto* owners = app.add_subcommand("owners", "Who is responsible for which assets");
  owners->footer(R"(Examples:
  mamori owners set 'pkg:deb/*openssh*' vendor-x
  mamori owners set 'os:*' platform-team
  mamori owners list
  mamori owners remove 'os:*'
Owners take effect at the next scan. See docs/owners.md.)");
  owners->require_subcommand(1);
  std::string pattern, owner;
  auto* oset = owners->add_subcommand(
      "set", "Assign OWNER to assets matching PATTERN (glob; the longest matching pattern wins)");
  oset->add_option("PATTERN", pattern, "Glob over asset names, e.g. 'pkg:deb/*openssh*'")
      ->required();
  oset->add_option("OWNER", owner, "Team or person, e.g. vendor-x")->required();
  oset->callback([&] { rc = cmd_owners_set(o, pattern, owner); });
  owners->add_subcommand("list", "Owner patterns")->callback([&] { rc = cmd_owners_list(o); });
  auto* orm = owners->add_subcommand("remove", "Remove an owner pattern");
  orm->add_option("PATTERN", pattern, "The pattern as it was set")->required();
  orm->callback([&] { rc = cmd_owners_remove(o, pattern); });

  auto* dbc = app.add_subcommand("db", "Build and inspect the vulnerability database");
  dbc->footer(R"(Examples:
  mamori db update                          download the upstream data and rebuild (daily, from cron)
  mamori db import osv/Debian12.jsonl osv/all.zip kev.json epss.csv   build from files
  mamori db status                          sources, record counts, age (exit 1 when stale)
  mamori --db /srv/mamori/vuln.db db status
See docs/db.md.)");
  dbc->require_subcommand(1);
  std::vector<std::string> db_paths;
  auto* dbi = dbc->add_subcommand(
      "import",
      "Build the database from OSV (JSON, JSON lines, directories, all.zip), CISA KEV, "
      "EPSS CSV, FriendsOfPHP and WordPress files");
  dbi->add_option("PATH", db_paths,
                  "Files or directories; the format is recognised from the content")
      ->required();
  bool allow_shrink = false;
  dbi->add_flag("--allow-shrink", allow_shrink,
                "Accept a source with more than 10% fewer records than the database being "
                "replaced has for it (refused by default: a cut download)");
  dbi->callback([&] { rc = cmd_db_import(o, db_paths, allow_shrink); });
  std::vector<std::string> update_sources;
  int retries = 3;
  auto* dbu = dbc->add_subcommand(
      "update",
      "Download the configured sources (resume, retry) and rebuild the database; the "
      "old database is kept if anything fails");
  dbu->add_option("--source", update_sources,
                  "Download this URL instead of the configured sources (repeatable; default: "
                  "STATE_DIR/sources.list, else the upstream OSV, CISA KEV and EPSS locations)")
      ->type_name("URL");
  dbu->add_option("--retries", retries, "Retries per download (with exponential backoff)");
  dbu->add_flag("--allow-shrink", allow_shrink,
                "Accept a source with more than 10% fewer records than the database being "
                "replaced has for it (refused by default: a cut download)");
  dbu->callback([&] { rc = cmd_db_update(o, update_sources, retries, allow_shrink); });
  int max_age = 7;
  auto* dbs = dbc->add_subcommand("status", "Show the database's sources, counts and age");
  dbs->add_option("--max-age", max_age, "Days after which the data counts as stale (exit code 1)");
  dbs->callback([&] { rc = cmd_db_status(o, max_age); });

  FimArgs fa;
  auto* fimc = app.add_subcommand("fim", "File integrity: signed baseline, check what changed");
  fimc->footer(R"(Examples:
  mamori fim keygen --key /root/offhost/fim.key   a signing key to keep off the host
  mamori fim init                                  baseline of system files, /etc and web roots
  mamori fim init /var/www/shop --hash sha512      just one web root
  mamori fim policy --default > /etc/mamori/fim.toml   start your own policy from the default
  mamori fim check                                 what changed (re-hashes only files whose metadata changed)
  mamori fim check --full --fail-on high           re-hash everything (as AIDE does)
  mamori fim update                                accept the current state after review
  mamori fim update /etc/nginx                     accept changes under one path only
See docs/fim.md.)");
  fimc->require_subcommand(1);
  auto add_common = [&](CLI::App* c) {
    c->add_option("--baseline", fa.baseline, "Baseline file (default STATE_DIR/fim.baseline)")
        ->type_name("FILE");
    c->add_option("--exclude", fa.excludes, "Glob of absolute paths to leave out (repeatable)")
        ->type_name("GLOB");
    c->add_option("--threads", fa.threads, "Hashing threads (default: all cores)");
  };
  auto* fk =
      fimc->add_subcommand("keygen", "Create an Ed25519 signing key pair (never overwrites)");
  fk->add_option(
      "--key", fa.key,
      "Secret key file to create (default STATE_DIR/fim.key; public key beside it as .pub)");
  fk->callback([&] { rc = cmd_fim_keygen(o, fa); });
  auto* fi = fimc->add_subcommand(
      "init", "Record and sign a baseline of PATHs (default: system files, /etc, web roots)");
  fi->add_option("PATH", fa.paths,
                 "Trees to cover with every attribute (absolute, inside --root; default: the "
                 "policy's watch rules)");
  fi->add_option("--config", fa.config,
                 "Policy file (default ROOT/etc/mamori/fim.toml, else the built-in policy)")
      ->type_name("FILE");
  fi->add_option("--hash", fa.hash, "sha256, sha512 or blake2b (default: the policy's, sha256)");
  fi->add_option("--key", fa.key,
                 "Secret signing key (default: the host key, created on first use)");
  fi->add_flag("--force", fa.force,
               "Replace an existing baseline (even one whose signature does not verify)");
  fi->add_flag("--new-key", fa.new_key,
               "Sign with another key than the one pinned for this host (moving to an off-host "
               "key); the new fingerprint is pinned");
  add_common(fi);
  fi->callback([&] { rc = cmd_fim_init(o, fa, false); });
  auto* fu = fimc->add_subcommand(
      "update", "Accept the current state (all, or only PATHs) and re-sign the baseline");
  fu->add_option("PATH", fa.paths,
                 "Re-record only these paths (files or trees); the rest of the baseline is kept");
  fu->add_option("--config", fa.config,
                 "Re-read the policy from FILE (default: keep the policy recorded in the baseline)")
      ->type_name("FILE");
  fu->add_option("--key", fa.key, "Secret signing key");
  fu->add_flag("--force", fa.force, "Update even a baseline whose signature does not verify");
  fu->add_flag("--new-key", fa.new_key,
               "Sign with another key than the one pinned for this host (moving to an off-host "
               "key); the new fingerprint is pinned");
  add_common(fu);
  fu->callback([&] { rc = cmd_fim_init(o, fa, true); });
  auto* fc = fimc->add_subcommand(
      "check", "Compare the files with the signed baseline; findings go to the store");
  fc->add_flag(
      "--full", fa.full,
      "Re-hash every file (default: only files whose size, mtime, ctime or inode changed)");
  fc->add_option("--pubkey", fa.pubkey,
                 "Public key to verify the baseline (default STATE_DIR/fim.pub: the host's own, "
                 "which root here could replace)");
  fc->add_option("--fingerprint", fa.fingerprint,
                 "The signing key's fingerprint as 'fim init' printed it (SHA256:...), kept off "
                 "the host: a baseline re-signed with another key is a critical finding")
      ->type_name("FP");
  add_common(fc);
  fc->callback([&] { rc = cmd_fim_check(o, fa); });
  auto* fpk = fimc->add_subcommand(
      "packages", "Day one, no baseline: verify installed files against dpkg's own checksums");
  fpk->add_option("PKG", fa.paths, "Only these packages (default: every installed package)");
  fpk->add_option("--threads", fa.threads, "Hashing threads (default: all cores)");
  fpk->footer(R"(Every file a dpkg package installed is hashed and compared with the MD5 the package
recorded (/var/lib/dpkg/info/*.md5sums). A modified program is found even on a host that
never had a baseline. Conffiles are left out (administrators edit them: 'fim check' watches
them), dpkg diversions are followed, and files dpkg was told not to install (path-exclude)
are not reported missing.
Examples:
  mamori fim packages                      everything (a few seconds per GB of packages)
  mamori fim packages openssh-server sudo  just these
See docs/fim.md.)");
  fpk->callback([&] { rc = cmd_fim_packages(o, fa); });
  std::string backend = "auto";
  auto* fw = fimc->add_subcommand(
      "watch", "Report changes as they happen (fanotify; inotify fallback) until stopped");
  fw->add_option("--backend", backend,
                 "auto (fanotify when permitted, else inotify), fanotify or inotify");
  fw->add_option("--debounce", fa.debounce_ms,
                 "Milliseconds a path must be quiet before it is examined (editors' save storms)");
  fw->add_option("--pubkey", fa.pubkey,
                 "Public key to verify the baseline (default STATE_DIR/fim.pub: the host's own, "
                 "which root here could replace)");
  fw->add_option("--fingerprint", fa.fingerprint,
                 "The signing key's fingerprint as 'fim init' printed it (SHA256:...), kept off "
                 "the host: a baseline re-signed with another key is a critical finding")
      ->type_name("FP");
  fw->add_option("--baseline", fa.baseline, "Baseline file (default STATE_DIR/fim.baseline)")
      ->type_name("FILE");
  fw->footer(R"(Each change becomes a finding within a second: printed (text, or one JSON object per
line with --format json), and recorded in the store (scope fim). With fanotify (root) the
finding names the process that made the change: pid, executable, user. A lost-event
overflow triggers a rescan of everything against the baseline. Stop with Ctrl-C or SIGTERM.
Examples:
  mamori fim watch
  mamori --format json fim watch >> /var/log/mamori-fim.jsonl
See docs/fim.md.)");
  fw->callback([&] { rc = cmd_fim_watch(o, fa, backend); });
  bool builtin_policy = false;
  auto* fpol = fimc->add_subcommand(
      "policy", "Print the effective policy for this host (or the built-in default)");
  fpol->add_flag("--default", builtin_policy, "Print the built-in default policy, commented");
  fpol->add_option("--config", fa.config, "Policy file to check and resolve")->type_name("FILE");
  fpol->add_option("PATH", fa.paths, "As for init: cover these paths instead of the watch rules");
  fpol->callback([&] { rc = cmd_fim_policy(o, fa, builtin_policy); });

  bool audit_checks = false;
  auto* aud = app.add_subcommand(
      "audit",
      "Audit the remote-maintenance path: exposed ports, SSH, PAM/MFA, passwords, firewall");
  aud->add_flag("--checks", audit_checks,
                "List every check with its result (pass, fail, info, skipped) and evidence");
  aud->footer(R"(Examples:
  mamori audit                               findings of this machine, recorded in the store
  mamori audit --checks                      every check: pass/fail, what was seen, how to fix
  mamori --root /mnt/image audit --format json
  mamori audit --fail-on high -q             exit 1 when a new/open high or critical finding
Under --root, live state is read from snapshots when present: ROOT/proc/net/{tcp,tcp6,udp,udp6}
and ROOT/run/nft-ruleset.txt (output of 'nft list ruleset').
See docs/audit.md (every check, its rationale and remediation).)");
  aud->callback([&] { rc = cmd_audit(o, audit_checks); });

  GuardArgs ga;
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
Services: ssh (sshd, sshd-session), pam (any other service's PAM failure with a remote host),
xrdp, vnc (x11vnc, TigerVNC), wordpress (POST wp-login.php answered 200 = failure; a 302 is a
login only when the dashboard follows; every POST xmlrpc.php = an attempt).
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
  gscan->callback([&] { rc = cmd_guard_scan_log(o, ga); });
  auto* gstatus = guardc->add_subcommand("status", "Active bans of this host (store and firewall)");
  gstatus->callback([&] { rc = cmd_guard_status(o, ga); });
  std::string unban_addr;
  auto* gunban = guardc->add_subcommand("unban", "Lift a ban now (store and firewall)");
  gunban->add_option("ADDR", unban_addr, "Address or prefix")->required();
  gunban->callback([&] { rc = cmd_guard_unban(o, ga, unban_addr); });
  auto* grestore = guardc->add_subcommand(
      "restore", "Put the store's active bans back into nftables (after a reboot or flush)");
  grestore->callback([&] { rc = cmd_guard_restore(o, ga); });
  auto* grun = guardc->add_subcommand(
      "run", "The service: follow auth logs, ban password guessing as it happens (nftables)");
  grun->add_option("--log", ga.logs,
                   "Log file to follow through rotation (repeatable; default: the journal, else "
                   "/var/log/auth.log or /var/log/secure)")
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
  grun->callback([&] { rc = cmd_guard_run(o, ga); });
  for (auto* c : {gscan, gstatus, gunban, grestore, grun})
    c->add_option("--nft", ga.nft, "The nft program (default: nft in PATH)")->type_name("PATH");
  grestore->add_option("--allow", ga.allow, "Address or prefix never banned (repeatable)")
      ->type_name("ADDR[/LEN]");
  for (auto* c : {gscan, grestore, grun})
    c->add_option("--config", ga.config,
                  "Guard configuration: allow = [\"ADDR[/LEN]\", ...] (default "
                  "/etc/mamori/guard.toml, when present)")
        ->type_name("FILE");

  auto* ver = app.add_subcommand("version", "Print the version and the store schema version");
  ver->footer("See docs/version.md.");
  ver->callback([&] { rc = cmd_version(o); });

  // A repeatable option takes one value per occurrence: "--exclude GLOB PATH" must leave PATH
  // to the positional arguments (CLI11 would otherwise swallow it as a second GLOB).
  std::function<void(CLI::App*)> one_value_each = [&](CLI::App* a) {
    for (CLI::Option* opt : a->get_options())
      if (!opt->get_positional() && opt->get_items_expected_max() > 1)
        opt->expected(1)->allow_extra_args(false)->multi_option_policy(
            CLI::MultiOptionPolicy::TakeAll);
    for (CLI::App* sub : a->get_subcommands({})) one_value_each(sub);
  };
  one_value_each(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return rc;
}
