// mamori fim keygen, init, update, check, packages, watch, policy.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli.h"
#include "core/fs.h"
#include "core/progress.h"
#include "core/text.h"
#include "fim/fim.h"
#include "fim/trusted.h"
#include "fim/watch.h"
#include "inventory/inventory.h"

namespace mamori::cli {
namespace {

struct FimArgs : fim::KeyFiles {  // --baseline, --key, --pubkey, --fingerprint
  std::vector<std::string> paths;
  std::string hash;    // empty: the policy's
  std::string config;  // policy file; default ROOT/etc/mamori/fim.toml, else built in
  std::vector<std::string> excludes;
  bool full = false;
  bool force = false;
  bool new_key = false;  // init/update: sign with another key than the pinned one
  unsigned threads = 0;
  int debounce_ms = 200;  // watch
};

// The policy a command asks for: --config, PATHs, --hash, --exclude and the web roots (named
// with --webroot, and discovered unless --no-discover).
fim::PolicyRequest policy_request(const Options& o, const FimArgs& a, const Root& root) {
  fim::PolicyRequest req;
  req.config = a.config;
  req.paths = a.paths;
  req.hash = a.hash;
  req.excludes = a.excludes;
  req.webroots = o.webroots;
  if (!o.no_discover)
    for (auto& w : inventory::discover_webroots(root)) req.webroots.push_back(std::move(w));
  return req;
}

int cmd_fim_keygen(const Options& o, const FimArgs& a) {
  std::string sec = a.key_path(), pub = a.pub_path();  // KEY and KEY.pub, or the state dir's
  if (auto s = ensure_parent_dir(sec); !s) return fail(s.error());
  auto k = fim::generate_keypair();
  auto st = fim::write_keypair(k, sec, pub);
  if (!st)
    return fail(st.error().with_context("fim keygen (an existing key is never overwritten)"));
  std::string fp = fim::key_fingerprint(k.public_key);
  return emit(
      o, fmt::format("secret key {} (keep it off this host: copy it away and delete it here)\n"
                     "public key {} (verifies only)\nfingerprint {} (keep it off the host too: "
                     "'mamori fim check --fingerprint {}' proves a baseline was signed with this "
                     "key, whatever public key lies on the host)\n",
                     sec, pub, fp, fp));
}

int cmd_fim_init(const Options& o, const FimArgs& a, bool update) {
  Root root(o.root);
  fim::BaselineRequest req;
  req.update = update;
  req.force = a.force;
  req.new_key = a.new_key;
  req.threads = a.threads;
  req.policy = policy_request(o, a, root);
  if (update) {
    req.policy.paths.clear();  // update's PATHs choose what to accept
    req.update_paths = a.paths;
  }
  auto st = open_store(o);
  if (!st) return fail(st.error());
  Result<fim::BaselineOutcome> r = Error::internal("not built");
  {
    Progress progress(!o.quiet, update ? "updating" : "baseline");
    req.on_progress = [&progress](const std::string& s) { progress.update(s); };
    r = fim::record_baseline(root, a, req, **st, host_name(o), now_s());
  }
  if (!r) return fail(r.error());
  if (r->created_key)
    info(o, "created a host signing key " + a.key_path() +
                " (an off-host key is stronger: see docs/fim.md)");
  if (o.verbose > 0 && !r->dropped.empty())
    info(o, fmt::format("not on this host (skipped): {}", fmt::join(r->dropped, " ")));
  // Never silently partial: what could not be read is said, and counted.
  for (const auto& w : r->info.warnings)
    std::fprintf(stderr, "mamori: warning: %s\n", sanitize(w).c_str());
  if (r->info.mounts_not_crossed)
    info(o, fmt::format("{} mount points not crossed (other filesystems or bind mounts: "
                        "one_filesystem = true)",
                        r->info.mounts_not_crossed));
  std::string pin_note = !r->pin_error.empty() ? " (not pinned: " + r->pin_error + ")"
                         : !r->replaced_pin.empty()
                             ? fmt::format(" (replacing the pinned key {})", r->replaced_pin)
                             : "";
  std::string what =
      update && !a.paths.empty() ? fmt::format(" (re-recorded {})", fmt::join(a.paths, " ")) : "";
  const auto& bi = r->info;
  return emit(
      o, fmt::format("{} {}: {} entries ({}{}){}, signed ({}.sig)\nsigning key {}{}: keep this "
                     "fingerprint off the host; 'mamori fim check --fingerprint {}' proves the "
                     "baseline is yours\n",
                     update ? "updated" : "wrote", r->path, bi.entries, fim::hash_name(bi.hash),
                     bi.not_hashed ? fmt::format(", {} files not hashed", bi.not_hashed) : "", what,
                     r->path, r->fingerprint, sanitize(pin_note), r->fingerprint));
}

int cmd_fim_policy(const Options& o, const FimArgs& a, bool builtin) {
  if (builtin) return emit(o, std::string(fim::default_policy_text()));
  Root root(o.root);
  std::vector<std::string> dropped;
  auto pol = fim::load_policy(root, policy_request(o, a, root), &dropped);
  if (!pol) return fail(pol.error());
  std::string text = "# effective policy for this host (web roots and absent paths resolved)\n";
  if (!dropped.empty()) text += fmt::format("# not on this host: {}\n", fmt::join(dropped, " "));
  return emit(o, text + pol->to_toml());
}

int cmd_fim_check(const Options& o, const FimArgs& a) {
  ReportArgs ra;
  if (auto rc = report_args(o, ra)) return *rc;
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  std::string host = host_name(o);
  if (!a.fingerprint.empty() && !fim::valid_fingerprint(a.fingerprint))
    return usage("fim check: --fingerprint " + sanitize(a.fingerprint) +
                 " is not a key fingerprint (SHA256: and 43 characters, as 'fim init' prints it)");
  Result<fim::TrustedCheck> c = Error::internal("not run");
  {
    Progress progress(!o.quiet, "checking");
    fim::CheckOptions co;
    co.full = a.full;
    co.excludes = a.excludes;
    co.threads = a.threads;
    co.on_progress = [&progress](const std::string& s) { progress.update(s); };
    c = fim::check_trusted(Root(o.root), a, co, **st, host, started);
  }
  if (!c) return fail(c.error());
  if (o.verbose > 0 && c->complete)
    info(o, fmt::format("fim: {} entries checked, {} hashed, {} changes", c->checked, c->hashed,
                        c->changes));
  store::ScanInput in = scan_input(host, "fim", started, std::move(c->findings));
  in.partial = !c->complete;
  return record_and_report(o, **st, in, std::move(c->warnings), ra);
}

int cmd_fim_packages(const Options& o, const FimArgs& a) {
  ReportArgs ra;
  if (auto rc = report_args(o, ra)) return *rc;
  auto st = open_store(o);
  if (!st) return fail(st.error());
  int64_t started = now_s();
  fim::PackageVerifyOptions po;
  po.packages = a.paths;  // PKG arguments
  po.threads = a.threads;
  Result<fim::PackageVerifyResult> res = Error::internal("not run");
  {
    Progress progress(!o.quiet, "verifying packages");
    po.on_progress = [&progress](const std::string& s) { progress.update(s); };
    res = fim::verify_packages(Root(o.root), po);
  }
  if (!res) return fail(res.error());
  std::vector<std::string> warnings;
  if (res->unreadable)
    warnings.push_back(
        fmt::format("{} packaged files could not be read (permissions?)", res->unreadable));
  info(o, fmt::format("{} files of {} packages verified against dpkg's checksums ({} conffiles "
                      "left to fim check, {} excluded by dpkg path-exclude)",
                      res->files, res->packages, res->conffiles_skipped, res->excluded));
  // Its own scope: verifying some packages must not mark the others' findings fixed.
  std::string scope = a.paths.empty()
                          ? "fim-packages"
                          : "fim-packages:" + fmt::format("{}", fmt::join(a.paths, ","));
  store::ScanInput in = scan_input(host_name(o), scope, started, fim::package_findings(*res));
  return record_and_report(o, **st, in, warnings, ra);
}

volatile std::sig_atomic_t g_stop_watch = 0;
std::string upper(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}
void on_stop_signal(int) { g_stop_watch = 1; }

int cmd_fim_watch(const Options& o, const FimArgs& a, const std::string& backend) {
  if (o.format != "text" && o.format != "json")
    return usage("fim watch streams text or json (one finding per line), not " + o.format);
  auto be = fim::parse_backend(backend);
  if (!be) return usage(be.error().message);
  std::string base = a.baseline_path();
  if (!std::filesystem::exists(base))
    return fail(Error::not_found(base + ": no baseline; create one with 'mamori fim init'"));
  auto st = open_store(o);
  if (!st) return fail(st.error());
  std::string host = host_name(o);
  bool json = o.format == "json";
  std::FILE* out = stdout;
  if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "a");
    if (!out) return fail(errno_error(o.output, errno));
  }
  auto print = [&](const std::vector<Finding>& fs) {
    for (const auto& f : fs) {
      std::string line =
          json ? report::render_finding_json_line(f, host)
               : fmt::format("{} {:<8} {} [{}] {} — {} (owner: {})\n", iso8601(now_s()),
                             upper(severity_name(f.severity)), state_name(f.state), f.fingerprint,
                             sanitize(f.title), sanitize(f.evidence),
                             f.owner.empty() ? "unassigned" : sanitize(f.owner));
      std::fwrite(line.data(), 1, line.size(), out);
    }
    std::fflush(out);
  };
  auto record = [&](std::vector<Finding> fs) -> bool {
    store::ScanInput in = scan_input(host, "fim", now_s(), std::move(fs));
    in.partial = true;
    auto outcome = (*st)->record_scan(in);
    if (!outcome) {
      std::fprintf(stderr, "mamori: error: %s (findings printed, not stored)\n",
                   sanitize(outcome.error().message).c_str());
      print(in.findings);
      return false;
    }
    print(outcome->findings);
    return true;
  };
  if (!a.fingerprint.empty() && !fim::valid_fingerprint(a.fingerprint))
    return usage("fim watch: --fingerprint " + sanitize(a.fingerprint) +
                 " is not a key fingerprint (SHA256: and 43 characters, as 'fim init' prints it)");
  // A baseline that does not verify (or verifies with another key than the pinned one) is
  // never trusted: say so and stop.
  std::vector<std::string> trust_notes;
  auto snap = snapshot_file(base);
  if (!snap) return fail(snap.error().with_context("fim watch"));
  auto trust = fim::judge_with_pin(a, base, snap->path, **st, host, now_s(), trust_notes);
  for (const auto& n : trust_notes) info(o, "mamori: warning: " + sanitize(n));
  if (!trust.trusted) {
    record(trust.findings);
    return fail(Error::data_loss(trust_notes.empty() ? "untrusted baseline" : trust_notes[0])
                    .with_context("fim watch: not watching with an untrusted baseline"));
  }
  fim::WatchOptions w;
  w.backend = *be;
  w.quiet_ms = a.debounce_ms;
  w.max_delay_ms = std::max(a.debounce_ms, 700);
  w.on_notice = [&o](const std::string& s) {
    if (!o.quiet) std::fprintf(stderr, "mamori: %s\n", sanitize(s).c_str());
  };
  w.on_findings = [&](std::vector<Finding> fs) { record(std::move(fs)); };
  w.stop = [] { return g_stop_watch != 0; };
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  Status r = fim::watch(Root(o.root), snap->path, w);  // the very copy that verified
  if (out != stdout) std::fclose(out);
  if (!r) return fail(r.error());
  if (!o.quiet) std::fprintf(stderr, "mamori: watch stopped\n");
  return kExitOk;
}

}  // namespace

void add_fim_commands(CLI::App& app, Options& o, int& rc) {
  auto fa_ = std::make_shared<FimArgs>();
  FimArgs& fa = *fa_;
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
  auto add_common = [&fa](CLI::App* c) {
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
  fk->callback([&o, &rc, fa_] { rc = cmd_fim_keygen(o, *fa_); });
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
  fi->callback([&o, &rc, fa_] { rc = cmd_fim_init(o, *fa_, false); });
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
  fu->callback([&o, &rc, fa_] { rc = cmd_fim_init(o, *fa_, true); });
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
  fc->callback([&o, &rc, fa_] { rc = cmd_fim_check(o, *fa_); });
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
  fpk->callback([&o, &rc, fa_] { rc = cmd_fim_packages(o, *fa_); });
  auto backend = std::make_shared<std::string>("auto");
  auto* fw = fimc->add_subcommand(
      "watch", "Report changes as they happen (fanotify; inotify fallback) until stopped");
  fw->add_option("--backend", *backend,
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
  fw->callback([&o, &rc, fa_, backend] { rc = cmd_fim_watch(o, *fa_, *backend); });
  auto builtin_policy = std::make_shared<bool>(false);
  auto* fpol = fimc->add_subcommand(
      "policy", "Print the effective policy for this host (or the built-in default)");
  fpol->add_flag("--default", *builtin_policy, "Print the built-in default policy, commented");
  fpol->add_option("--config", fa.config, "Policy file to check and resolve")->type_name("FILE");
  fpol->add_option("PATH", fa.paths, "As for init: cover these paths instead of the watch rules");
  fpol->callback([&o, &rc, fa_, builtin_policy] { rc = cmd_fim_policy(o, *fa_, *builtin_policy); });
}

}  // namespace mamori::cli
