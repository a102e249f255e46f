#pragma once
// Whether a file-integrity baseline can be trusted: its signature verifies, and with the key
// the operator pinned — not merely with whatever public key sits on the host. Root on the host
// can replace STATE_DIR/fim.pub with a key of its own and re-sign a doctored baseline: then the
// signature verifies, and only the key's fingerprint, kept where the host cannot rewrite it
// unnoticed (the operator's notes: `--fingerprint`; an off-host key: `--pubkey`; the store,
// above all a fleet store on another machine), tells the two apart.
//
// Example:
//   TrustInput in{base, pub_path, /*host_key=*/true, args.fingerprint, store.pinned_fim_key(h)};
//   TrustVerdict v = judge_baseline(in);
//   for (auto& f : v.findings) findings.push_back(f);   // invalid / re-signed with another key
//   if (!v.trusted) return;                             // never compare against it
//   if (v.pin) store.pin_fim_key(h, v.fingerprint, now);

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"

namespace mamori::fim {

// "SHA256:" + unpadded base64 of the SHA-256 of the raw Ed25519 public key (ssh-keygen's form).
std::string key_fingerprint(std::string_view public_key);

struct TrustInput {
  std::string baseline;               // the baseline file (signature in BASELINE.sig)
  std::string content;                // what is verified: a snapshot of it (default: itself)
  std::string pubkey_path;            // the public key that verifies
  bool host_key = false;              // it is the host's own (STATE_DIR/fim.pub, by default)
  std::string fingerprint;            // --fingerprint: the key the operator expects ("" none)
  std::optional<std::string> pinned;  // the key the store pinned for this host
};

struct TrustVerdict {
  bool trusted = false;
  std::string fingerprint;        // of the key that verified ("" when none did)
  bool pin = false;               // nothing pinned yet: pin this one (trust on first use)
  std::vector<Finding> findings;  // baseline-signature-invalid, baseline-key-mismatch,
                                  // baseline-key-changed (critical)
  // Said on every check verified with the host's own key and no --fingerprint: it proves less.
  std::vector<std::string> warnings;
};

TrustVerdict judge_baseline(const TrustInput& in);

}  // namespace mamori::fim
