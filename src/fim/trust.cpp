#include "fim/trust.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include "fim/fim.h"

namespace mamori::fim {

std::string key_fingerprint(std::string_view public_key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(public_key.data(), public_key.size(), md, &len, EVP_sha256(), nullptr);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
  std::string s(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  while (!s.empty() && s.back() == '=') s.pop_back();
  return "SHA256:" + s;
}

namespace {

Finding critical(const std::string& check, const std::string& asset, std::string title,
                 std::string evidence) {
  Finding f;
  f.module = "fim";
  f.check = check;
  f.asset = asset;
  f.severity = Severity::kCritical;
  f.title = std::move(title);
  f.evidence = std::move(evidence);
  f.remediation =
      "Do not trust this baseline or this host's files: someone may have changed both. Verify "
      "with the off-host public key (or the fingerprint recorded at 'mamori fim init'), compare "
      "against a trusted copy, then rebuild with 'mamori fim init --force' from a known-good "
      "state.";
  assign_fingerprint(f);
  return f;
}

}  // namespace

TrustVerdict judge_baseline(const TrustInput& in) {
  TrustVerdict v;
  auto pub = read_key(in.pubkey_path, 32);
  const std::string& content = in.content.empty() ? in.baseline : in.content;
  Status ok_sig = pub ? verify_file(content, *pub, in.baseline + ".sig") : Status(pub.error());
  if (!ok_sig) {
    std::string why = ok_sig.error().message;
    if (!in.content.empty())  // messages name the baseline, not the snapshot verified
      for (size_t p = why.find(in.content); p != std::string::npos; p = why.find(in.content, p))
        why.replace(p, in.content.size(), in.baseline);
    v.findings.push_back(critical("baseline-signature-invalid", in.baseline,
                                  "The file-integrity baseline cannot be trusted", why));
    v.warnings.push_back(why);
    return v;
  }
  v.fingerprint = key_fingerprint(*pub);
  if (!in.fingerprint.empty() && in.fingerprint != v.fingerprint) {
    std::string why = fmt::format(
        "{} verifies with {} (key {}), not with the key you gave ({}): it was re-signed with "
        "another key",
        in.baseline, in.pubkey_path, v.fingerprint, in.fingerprint);
    v.findings.push_back(critical("baseline-key-mismatch", in.baseline,
                                  "The file-integrity baseline is signed with another key than "
                                  "yours",
                                  why));
    v.warnings.push_back(why);
    return v;
  }
  if (in.pinned && *in.pinned != v.fingerprint) {
    std::string why = fmt::format(
        "{} verifies with key {}, but this host's baseline was signed with {} when it was "
        "pinned: someone re-signed it (replacing {} as well)",
        in.baseline, v.fingerprint, *in.pinned, in.pubkey_path);
    v.findings.push_back(critical("baseline-key-changed", in.baseline,
                                  "The file-integrity baseline was re-signed with a new key", why));
    v.warnings.push_back(why);
    return v;
  }
  v.trusted = true;
  v.pin = !in.pinned;
  if (in.host_key && in.fingerprint.empty())
    v.warnings.push_back(
        fmt::format("verified with the host's own key {}: root here could re-sign the baseline; "
                    "--fingerprint {} (kept off the host) proves it is yours (docs/fim.md)",
                    in.pubkey_path, v.fingerprint));
  return v;
}

}  // namespace mamori::fim
