// The baseline a check may trust, and the check itself (trusted.h); the scan module.
#include "fim/trusted.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/module.h"
#include "core/progress.h"
#include "store/store.h"

namespace mamori::fim {

std::string KeyFiles::baseline_path() const {
  return baseline.empty() ? state_dir() + "/fim.baseline" : baseline;
}
std::string KeyFiles::key_path() const { return key.empty() ? state_dir() + "/fim.key" : key; }
std::string KeyFiles::pub_path() const {
  if (!pubkey.empty()) return pubkey;
  if (!key.empty()) return key + ".pub";
  return state_dir() + "/fim.pub";
}
std::string KeyFiles::verify_key_path() const {
  if (!pubkey.empty()) return pubkey;
  std::error_code ec;
  std::string host = state_dir() + "/fim.pub";
  if (!key.empty() && !std::filesystem::exists(host, ec)) return key + ".pub";
  return host;
}

bool valid_fingerprint(const std::string& fp) {
  if (fp.size() != 50 || !fp.starts_with("SHA256:")) return false;
  return fp.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                              7) == std::string::npos;
}

Status verify_baseline(const KeyFiles& k, const std::string& base, const std::string& content) {
  auto pub = read_key(k.verify_key_path(), 32);
  return pub ? verify_file(content, *pub, base + ".sig") : Status(pub.error());
}

TrustVerdict judge_with_pin(const KeyFiles& k, const std::string& base, const std::string& content,
                            store::Store& st, const std::string& host, int64_t now,
                            std::vector<std::string>& warnings) {
  TrustInput in;
  in.baseline = base;
  in.content = content;
  in.pubkey_path = k.verify_key_path();
  in.host_key = k.pubkey.empty();
  in.fingerprint = k.fingerprint;
  auto pinned = st.pinned_fim_key(host);
  if (pinned)
    in.pinned = *pinned;
  else
    warnings.push_back("fim: cannot read the pinned key: " + pinned.error().message);
  auto v = judge_baseline(in);
  for (auto& w : v.warnings) warnings.push_back(std::move(w));
  if (v.trusted && v.pin && pinned) {
    if (auto p = st.pin_fim_key(host, v.fingerprint, now); !p)
      warnings.push_back("fim: cannot pin the baseline key: " + p.error().message);
  }
  return v;
}

Result<TrustedCheck> check_trusted(const Root& root, const KeyFiles& k, const CheckOptions& co,
                                   store::Store& st, const std::string& host, int64_t now) {
  std::string base = k.baseline_path();
  if (!std::filesystem::exists(base))
    return Error::not_found(base +
                            ": no baseline; create one with 'mamori fim init' (and verify the "
                            "packaged files today, without one: 'mamori fim packages')");
  if (!k.pubkey.empty() && !std::filesystem::exists(k.pubkey))
    return Error::not_found("--pubkey " + k.pubkey + ": no such file");
  auto snap = snapshot_file(base);
  if (!snap) return snap.error().with_context("fim");
  TrustedCheck out;
  auto trust = judge_with_pin(k, base, snap->path, st, host, now, out.warnings);
  out.findings = std::move(trust.findings);
  if (!trust.trusted) return out;
  auto res = check_baseline(root, snap->path, co);
  if (!res) return res.error();
  out.complete = true;
  for (auto& f : fim_findings(*res)) out.findings.push_back(std::move(f));
  for (auto& w : res->warnings) out.warnings.push_back(std::move(w));
  out.checked = res->checked;
  out.hashed = res->hashed;
  out.changes = res->changes.size();
  return out;
}

Result<BaselineOutcome> record_baseline(const Root& root, const KeyFiles& k,
                                        const BaselineRequest& req, store::Store& st,
                                        const std::string& host, int64_t now) {
  const char* verb = req.update ? "update" : "init";
  BaselineOutcome out;
  out.path = k.baseline_path();
  const std::string& base = out.path;
  std::error_code ec;
  bool exists = std::filesystem::exists(base, ec);
  if (req.update && !exists)
    return Error::not_found(base + ": no baseline to update; create one with 'mamori fim init'");
  // What update reads is one sealed copy, the one that verified: a file swapped in between
  // would otherwise be re-signed with the genuine key.
  std::optional<Snapshot> snap;
  if (exists) {
    auto s = snapshot_file(base);
    if (!s) return s.error().with_context("fim");
    snap = std::move(*s);
  }
  if (exists && !req.force) {
    // Never overwrite a baseline that does not verify: it may be evidence.
    if (Status v = verify_baseline(k, base, snap->path); !v)
      return v.error().with_context(fmt::format(
          "fim {}: refusing to replace {} (use --force after investigating)", verb, base));
    if (!req.update)
      return Error::invalid(base +
                            " exists: use 'mamori fim update' to accept the current state, or "
                            "--force to start over with a new policy");
  }
  FimOptions fo;
  fo.threads = req.threads;
  fo.on_progress = req.on_progress;
  if (req.update && req.policy.config.empty()) {
    // The recorded policy: what was signed is what gets re-recorded.
    auto bi = read_baseline_info(snap->path);
    if (!bi) return bi.error();
    fo.policy = bi->policy;
    for (const auto& x : req.policy.excludes) fo.policy.exclude.push_back(x);
  } else {
    auto pol = load_policy(root, req.policy, &out.dropped);
    if (!pol) return pol.error();
    fo.policy = std::move(*pol);
  }
  // Signing key: the given one, else the host key (created on first use).
  std::string keyp = k.key_path();
  if (!std::filesystem::exists(keyp, ec)) {
    if (!k.key.empty()) return Error::not_found(keyp + ": no such key");
    MAMORI_TRY(ensure_parent_dir(keyp), "fim");
    MAMORI_TRY(write_keypair(generate_keypair(), keyp, k.pub_path()), "fim");
    out.created_key = true;
  }
  auto key = read_key(keyp, 64);
  if (!key) return key.error();
  // An Ed25519 secret key (libsodium) ends with its public key: its fingerprint is the one to
  // keep off the host, and the one pinned in the store for this host. Another key than the
  // pinned one is a decision (moving to an off-host key), never a side effect.
  std::string pub = std::string(std::string_view(*key).substr(32));
  out.fingerprint = key_fingerprint(pub);
  auto pinned = st.pinned_fim_key(host);
  if (!pinned) return pinned.error();
  if (*pinned && **pinned != out.fingerprint) {
    if (!req.new_key)
      return Error::invalid(fmt::format(
          "fim {}: {} is signed with key {}, and this host's baselines are pinned to {}: pass "
          "--new-key to sign with another key from now on",
          verb, keyp, out.fingerprint, **pinned));
    out.replaced_pin = **pinned;
  }
  MAMORI_TRY(ensure_parent_dir(base), "fim");
  auto bi = req.update && !req.update_paths.empty()
                ? update_baseline_paths(root, snap->path, req.update_paths, fo, now, base)
                : write_baseline(root, fo, base, now);
  if (!bi) return bi.error();
  out.info = std::move(*bi);
  // signed: the digest the writer computed of what it wrote, never the file read back
  MAMORI_TRY(sign_digest(base + ".sig", out.info.sha512, *key), "fim");
  for (const auto& f : {base, base + ".sig"}) MAMORI_TRY(ensure_private_file(f), "fim");
  // Checks verify with STATE_DIR/fim.pub (unless --pubkey): after signing with another key
  // (an off-host one, --new-key) it must be that key's public half — the pin, not the file's
  // place, is what says it is the right one.
  if (k.pubkey.empty() && k.baseline.empty() && !k.key.empty())
    MAMORI_TRY(write_file_atomic(state_dir() + "/fim.pub", pub, /*private_file=*/true),
               "fim: the public key checks verify with");
  if (auto p = st.pin_fim_key(host, out.fingerprint, now); !p) out.pin_error = p.error().message;
  return out;
}

namespace {

class FimModule final : public Module {
 public:
  std::string_view name() const override { return "fim"; }
  std::string_view title() const override { return "file integrity check"; }
  std::string_view summary() const override {
    return "files changed since the signed baseline (quick mode: only files whose metadata "
           "changed are re-hashed); runs on this host when 'mamori fim init' made a baseline";
  }
  std::string not_applicable(const ScanContext& ctx) const override {
    if (!ctx.root.is_host()) return "the scan is of another root than this host's";
    std::error_code ec;
    if (!std::filesystem::exists(KeyFiles{}.baseline_path(), ec))
      return "no baseline (mamori fim init)";
    if (!ctx.store) return "no store";
    return {};
  }
  Result<ModuleResult> run(const ScanContext& ctx) override {
    CheckOptions co;
    if (ctx.progress) co.on_progress = [p = ctx.progress](const std::string& s) { p->update(s); };
    auto c = check_trusted(ctx.root, KeyFiles{}, co, *ctx.store, ctx.host, ctx.now);
    if (!c) return c.error();
    ModuleResult r;
    r.findings = std::move(c->findings);
    r.warnings = std::move(c->warnings);
    r.partial = !c->complete;
    r.details.push_back(fmt::format("fim: {} entries checked, {} hashed, {} changes", c->checked,
                                    c->hashed, c->changes));
    return r;
  }
};

}  // namespace

std::unique_ptr<Module> make_module() { return std::make_unique<FimModule>(); }

}  // namespace mamori::fim
