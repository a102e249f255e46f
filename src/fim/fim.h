#pragma once
// File integrity: a baseline of file attributes and content hashes, a signed copy of it,
// and a comparison that says attribute by attribute what changed.
//
// Example:
//   FimOptions opts;
//   opts.policy = *parse_policy(default_policy_text(), "default");
//   opts.policy.resolve(Root("/"), webroots);
//   auto n = write_baseline(Root("/"), opts, "/var/lib/mamori/fim.baseline", now);
//   sign_file("/var/lib/mamori/fim.baseline", secret_key);
//   auto diff = check_baseline(Root("/"), "/var/lib/mamori/fim.baseline", {.full = false});

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"
#include "fim/policy.h"

namespace mamori::fim {

enum class HashAlgo { kSha256, kSha512, kBlake2b };
Result<HashAlgo> parse_hash(std::string_view s);
std::string_view hash_name(HashAlgo a);

// One file system object as recorded in the baseline.
struct Entry {
  std::string path;  // absolute, inside the root
  char type = 0;     // f file, d directory, l symlink, c/b device, p fifo, s socket; 0 not stat'ed
  uint32_t mode = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t inode = 0, nlink = 0, dev = 0;
  std::string target;                                       // symlink target
  std::vector<std::pair<std::string, std::string>> xattrs;  // name → value (raw bytes)
  std::string hash;   // hex; empty when not a regular file or unreadable
  std::string error;  // why the content could not be read
};

// Component-wise order of absolute paths: the order of a depth-first walk with sorted children.
bool path_less(std::string_view a, std::string_view b);

struct FimOptions {
  Policy policy;         // resolved: its rules' paths are what gets covered
  unsigned threads = 0;  // 0 = all cores
  std::function<void(const std::string&)> on_progress;
};

struct BaselineInfo {
  int version = 1;
  HashAlgo hash = HashAlgo::kSha256;
  int64_t created_at = 0;
  std::vector<std::string> paths;
  Policy policy;  // the effective policy recorded (and signed) with the baseline
  uint64_t entries = 0;
  uint64_t not_hashed = 0;          // regular files left unhashed (over max_hash_size, unreadable)
  uint64_t mounts_not_crossed = 0;  // other filesystems / bind mounts met and not entered
  std::vector<std::string> warnings;  // directories that could not be listed, ...
  // SHA-512 of the baseline file as its writer wrote it: what gets signed (never read back
  // from the path, which someone could swap in between).
  std::string sha512;
};

// Walks the paths and streams the baseline to `out` (written to a temp file, then renamed).
Result<BaselineInfo> write_baseline(const Root& root, const FimOptions& opts,
                                    const std::string& out, int64_t now);

struct CheckOptions {
  bool full = false;  // re-hash every file (else only those whose size/mtime/ctime/inode changed)
  unsigned threads = 0;
  std::vector<std::string> excludes;  // added to the baseline policy's excludes
  std::function<void(const std::string&)> on_progress;
};

struct Change {
  enum Kind { kAdded, kRemoved, kChanged } kind;
  Entry before, after;                   // before empty for added, after empty for removed
  std::vector<std::string> differences;  // "content: sha256 ab12… → cd34…", "mode: 0644 → 0755"
  // dpkg's view of the file (from /var/lib/dpkg/info/*.md5sums, conffiles excluded):
  std::string package;  // owning package, "" when not a packaged file
  enum PackageVerdict { kNotPackaged, kMatchesPackage, kDiffersFromPackage } verdict = kNotPackaged;
};

struct CheckResult {
  BaselineInfo baseline;
  std::vector<Change> changes;
  uint64_t checked = 0, hashed = 0;
  uint64_t unchecked = 0;  // baseline entries under directories that cannot be listed
  std::vector<std::string> warnings;
};

Result<CheckResult> check_baseline(const Root& root, const std::string& baseline,
                                   const CheckOptions& opts);

// Re-records only the entries under `paths` (accepting their current state) and keeps every
// other entry of the baseline as it was; written to a temp file, then renamed over `baseline`.
// (`baseline` is read — a snapshot, say — and the result written to `out`, default the same.)
Result<BaselineInfo> update_baseline_paths(const Root& root, const std::string& baseline,
                                           const std::vector<std::string>& paths,
                                           const FimOptions& opts, int64_t now,
                                           const std::string& out = "");

// Day one, no baseline needed: every file dpkg installed is compared with the MD5 its package
// recorded (conffiles apart; dpkg diversions followed; files dpkg was told not to install,
// path-exclude in /etc/dpkg/dpkg.cfg.d, are not missing).
struct PackageVerifyOptions {
  std::vector<std::string> packages;  // empty = all
  unsigned threads = 0;
  std::function<void(const std::string&)> on_progress;
};
struct PackageVerifyResult {
  std::vector<Change> changes;  // kChanged (content differs, or not a regular file) / kRemoved
  uint64_t files = 0, packages = 0, conffiles_skipped = 0, excluded = 0, unreadable = 0;
};
Result<PackageVerifyResult> verify_packages(const Root& root, const PackageVerifyOptions& opts);
std::vector<Finding> package_findings(const PackageVerifyResult& r);

// Reads only the header of a baseline (paths, hash, policy).
Result<BaselineInfo> read_baseline_info(const std::string& baseline);

// One baseline line (exposed for the fuzzer); errors name `file` and `lineno`.
Result<Entry> parse_baseline_entry(std::string_view line, size_t lineno, const std::string& file);
// The line (with its newline) that parse_baseline_entry reads back as `e`.
std::string format_baseline_entry(const Entry& e);

// The header line of a baseline (paths, hash, recorded policy); exposed for the fuzzer.
Result<BaselineInfo> parse_baseline_header(std::string_view line, const std::string& file);

// Findings (module "fim", asset = absolute path) with the built-in severity policy.
std::vector<Finding> fim_findings(const CheckResult& r);

// ---- signatures (Ed25519, libsodium) ----
struct KeyPair {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 64 bytes
};
KeyPair generate_keypair();
Status write_keypair(const KeyPair& k, const std::string& secret_path,
                     const std::string& public_path);
Result<std::string> read_key(const std::string& path, size_t expected_size);
// Detached signature of the file's SHA-512 digest, written to path + ".sig".
Status sign_file(const std::string& path, const std::string& secret_key);
// Writes sig_path: a signature over a SHA-512 digest computed by whoever wrote the file.
Status sign_digest(const std::string& sig_path, const std::string& sha512,
                   const std::string& secret_key);
// Ok when sig_path (default path + ".sig") is a valid signature by public_key of the file as it
// is now. Verify a snapshot (core/fs.h) and read that same snapshot afterwards.
Status verify_file(const std::string& path, const std::string& public_key,
                   const std::string& sig_path = "");

}  // namespace mamori::fim
