#pragma once
// A file-integrity check as `mamori fim check` and `mamori scan` run it: the host's baseline
// and keys found where the operator said (else the state directory), the baseline verified and
// its key judged against the pin in the store (trust.h), then compared with the files.
//
// Example:
//   fim::KeyFiles files;                        // the state directory's baseline and keys
//   auto r = fim::check_trusted(Root("/"), files, {}, store, "web01", now);
//   if (r) for (auto& f : r->findings) ...      // untrusted baseline: critical, nothing compared

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"
#include "fim/fim.h"
#include "fim/policy.h"
#include "fim/trust.h"

namespace mamori {
class Module;
namespace store {
class Store;
}
}  // namespace mamori

namespace mamori::fim {

// The baseline and keys a command was given ("" = the default in the state directory).
struct KeyFiles {
  std::string baseline;     // default: STATE_DIR/fim.baseline
  std::string key;          // secret key (init/update); default STATE_DIR/fim.key
  std::string pubkey;       // public key (check); default STATE_DIR/fim.pub
  std::string fingerprint;  // check/watch: the signing key's fingerprint, kept off the host

  std::string baseline_path() const;
  std::string key_path() const;
  std::string pub_path() const;  // where init writes the public half: KEY.pub or fim.pub
  // The public key checks verify with: --pubkey, else the state directory's fim.pub (which init
  // and update keep as the public half of the key they signed with), else KEY.pub.
  std::string verify_key_path() const;
};

// "SHA256:" + 43 base64 characters, as `fim init` prints it.
bool valid_fingerprint(const std::string& fp);

// The baseline's signature checked with the key checks verify with.
Status verify_baseline(const KeyFiles& k, const std::string& base, const std::string& content);

// Whether the baseline (its verified copy `content`) can be trusted: its signature, and the
// key's fingerprint against --fingerprint and the key pinned in the store (pinned now when none
// was). Problems with the store become warnings.
TrustVerdict judge_with_pin(const KeyFiles& k, const std::string& base, const std::string& content,
                            store::Store& st, const std::string& host, int64_t now,
                            std::vector<std::string>& warnings);

struct TrustedCheck {
  std::vector<Finding> findings;
  std::vector<std::string> warnings;
  // Compared with a trusted baseline. When not, the findings of the last trusted check must
  // stay as they were (recorded as partial): neither fixed by an untrusted baseline nor lost.
  bool complete = false;
  uint64_t checked = 0, hashed = 0, changes = 0;
};

// One sealed copy of the baseline is verified and then compared against: swapping the file
// between the two (someone who can write the state directory) changes nothing.
Result<TrustedCheck> check_trusted(const Root& root, const KeyFiles& k, const CheckOptions& co,
                                   store::Store& st, const std::string& host, int64_t now);

// The content hashes the host's baseline holds for the regular files below `dirs` (in-root
// absolute paths): what the operator accepted, as known good. Read from a sealed copy whose
// signature verifies with the key checks verify with; one that does not verify is an error
// and nothing of it is used.
struct KnownHashes {
  HashAlgo algo = HashAlgo::kSha256;
  std::map<std::string, std::string> by_path;  // path → hex digest
  std::set<std::string> paths;  // every entry below the dirs: files, links, directories
};
Result<KnownHashes> trusted_hashes_below(const KeyFiles& k, const std::vector<std::string>& dirs);

// `fim init` and `fim update`: a baseline recorded and signed, its key pinned in the store.
struct BaselineRequest {
  bool update = false;   // accept the current state of an existing baseline (else a new one)
  bool force = false;    // replace (or update) a baseline even when it does not verify
  bool new_key = false;  // sign with another key than the one pinned for this host
  PolicyRequest policy;  // init, or update with --config (else the recorded policy is kept)
  std::vector<std::string> update_paths;  // update: re-record only these
  unsigned threads = 0;
  std::function<void(const std::string&)> on_progress;
};
struct BaselineOutcome {
  std::string path;  // the baseline (signature beside it, .sig)
  BaselineInfo info;
  std::string fingerprint;           // of the key that signed it: to keep off the host
  std::string replaced_pin;          // the pin it replaced (--new-key)
  std::string pin_error;             // the store could not pin it
  bool created_key = false;          // a host key was made for it
  std::vector<std::string> dropped;  // policy paths not on this host
};
// Never overwrites a baseline that does not verify (it may be evidence) unless forced, and never
// signs with another key than the pinned one unless asked (new_key).
Result<BaselineOutcome> record_baseline(const Root& root, const KeyFiles& k,
                                        const BaselineRequest& req, store::Store& st,
                                        const std::string& host, int64_t now);

// The quick check (default mode) as a module of `mamori scan` (core/module.h): runs on this
// host when it has a baseline.
std::unique_ptr<Module> make_module();

}  // namespace mamori::fim
