#pragma once
// File-integrity policy: which trees are covered, which attributes of their files count, what
// is left out, and how much a change matters. Written by operators as TOML (docs/fim.md);
// Mamori ships a default that covers system binaries and libraries, /etc, PAM, cron, systemd,
// ssh keys, kernel modules and every web root found on the host.
//
// Example:
//   auto p = parse_policy(read_file("/etc/mamori/fim.toml"), "/etc/mamori/fim.toml");
//   p->resolve(Root("/"), discover_webroots(root));     // expands @webroots, drops absent paths
//   const Rule* r = p->rule_for("/usr/bin/sudo");       // attributes and severity for that file
//   std::string effective = p->to_toml();               // what the baseline records and signs

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"

namespace mamori::fim {

// Attributes a rule compares (bit set).
enum Attr : uint32_t {
  kAttrType = 1u << 0,
  kAttrMode = 1u << 1,
  kAttrOwner = 1u << 2,
  kAttrGroup = 1u << 3,
  kAttrSize = 1u << 4,
  kAttrMtime = 1u << 5,
  kAttrCtime = 1u << 6,
  kAttrInode = 1u << 7,
  kAttrLinks = 1u << 8,
  kAttrTarget = 1u << 9,
  kAttrXattrs = 1u << 10,
  kAttrAcl = 1u << 11,
  kAttrHash = 1u << 12,
  kAttrAll = (1u << 13) - 1,
};
// "all", "content", "perms", single names, "-name" to remove: {"all", "-inode"}.
Result<uint32_t> parse_attrs(const std::vector<std::string>& words);
std::string attrs_text(uint32_t attrs);

// A path glob with fast paths for the common shapes ("/etc/mtab", "**/__pycache__",
// "**/*.pyc", "/var/cache/**"); anything else goes to path_glob_match.
class Glob {
 public:
  explicit Glob(std::string pattern);
  bool match(std::string_view path) const;
  const std::string& pattern() const { return pattern_; }

 private:
  enum Kind { kLiteral, kBasename, kSuffix, kUnder, kGeneric } kind_;
  std::string pattern_, lit_;
};

struct Rule {
  std::string path;  // absolute directory or file; "@webroots" before resolve()
  uint32_t attrs = kAttrAll;
  Severity severity = Severity::kMedium;  // a change under this rule is at least this
  std::vector<std::string> exclude;       // globs on the absolute path
  std::string why;                        // said in findings ("system binaries")
};

enum Event : uint32_t { kOnAdded = 1, kOnChanged = 2, kOnRemoved = 4 };

struct Alert {
  std::vector<std::string> match;  // globs on the absolute path; "@webroots/..." before resolve()
  uint32_t on = kOnAdded | kOnChanged;
  Severity severity = Severity::kHigh;
  std::string why;
};

struct Policy {
  std::string hash = "sha256";
  uint64_t max_hash_size = 16ull << 30;  // larger files: metadata only (a sparse disk image)
  bool one_filesystem = true;
  std::vector<std::string> exclude;
  std::vector<Rule> rules;
  std::vector<Alert> alerts;
  std::vector<std::string> webroots;  // set by resolve()

  // Expands "@webroots" (one rule per web root, alert globs per web root) and drops rules whose
  // path does not exist under root; the dropped paths are returned (for a notice).
  std::vector<std::string> resolve(const Root& root, const std::vector<std::string>& webroots);
  // The rule covering a path: the one with the longest path that contains it.
  const Rule* rule_for(std::string_view path) const;
  bool excluded(std::string_view path) const;  // global or rule excludes
  std::vector<std::string> paths() const;      // the rules' paths
  // The highest alert severity that applies, with its reason.
  std::optional<std::pair<Severity, std::string>> alert_for(std::string_view path, Event ev) const;
  bool in_webroot(std::string_view path) const;
  std::string to_toml() const;  // the effective policy, re-readable by parse_policy

 private:
  // Compiled forms of `exclude` and each rule's excludes, rebuilt when the lists change.
  struct Compiled {
    size_t sizes_hash = 0;
    std::vector<Glob> global;
    std::vector<std::vector<Glob>> per_rule;
  };
  mutable Compiled compiled_;
  const Compiled& compiled() const;
};

// Parses TOML; errors name origin, line and column.
Result<Policy> parse_policy(std::string_view text, const std::string& origin);
// The policy Mamori uses when none is given (also `mamori fim policy --default`).
std::string_view default_policy_text();

// What a command asks of the policy for a new baseline.
struct PolicyRequest {
  std::string config;                 // --config FILE; "" = ROOT/etc/mamori/fim.toml, else built in
  std::vector<std::string> paths;     // PATHs: replace the watch rules (every attribute)
  std::string hash;                   // --hash; "" = the policy's
  std::vector<std::string> excludes;  // --exclude, added to the policy's
  std::vector<std::string> webroots;  // the host's web roots (for "@webroots" rules)
};
// The policy, read and resolved against the root; `dropped` gets the rules' paths not on this
// host. An error when no watched path exists.
Result<Policy> load_policy(const Root& root, const PolicyRequest& req,
                           std::vector<std::string>* dropped);

}  // namespace mamori::fim
