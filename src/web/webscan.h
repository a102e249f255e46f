#pragma once
// `mamori web scan`: web shells and backdoors in web roots. Every PHP file (and any other file
// that holds PHP code: a .jpg with <?php inside) below the given directories is judged
// (shell.h); a suspect whose bytes are known good — the file dpkg shipped (its md5sums), or the
// WordPress release's own (checksums given with --wp-checksums) — is not reported.
//
// Example:
//   WebScanOptions o;  o.dirs = {"/var/www"};
//   auto r = web_scan(Root("/"), o);
//   auto findings = webshell_findings(*r);

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"
#include "web/shell.h"

namespace mamori::web {

struct WebScanOptions {
  std::vector<std::string> dirs;          // in-root absolute directories
  uint64_t max_php_bytes = 8ull << 20;    // a PHP file larger is judged on its first 8 MiB
  uint64_t max_other_bytes = 2ull << 20;  // other files larger are not read (media, archives)
  bool use_dpkg = true;                   // dpkg's md5sums as known good
  // WordPress release checksums: path relative to the WordPress root → MD5 (--wp-checksums).
  std::map<std::string, std::string> wp_md5;
  // The FIM baseline's accepted files: in-root path → hex digest in fim_algo ("sha256",
  // "sha512" or "blake2b"), from fim::trusted_hashes_below.
  std::map<std::string, std::string> fim_known;
  std::string fim_algo = "sha256";
};

struct Suspect {
  std::string path;  // in-root absolute
  uint64_t size = 0;
  int64_t mtime = 0;
  std::string md5;
  ShellVerdict verdict;
};

struct WebScanResult {
  size_t files = 0;       // regular files seen
  size_t judged = 0;      // files with PHP code, judged
  size_t known_good = 0;  // suspects whose bytes dpkg, WordPress or the FIM baseline vouch for
  size_t large = 0;       // non-PHP files too large to read
  size_t links = 0;       // symbolic links: never followed
  size_t unreadable = 0;  // files that could not be opened or read
  uint64_t bytes = 0;     // bytes judged
  double seconds = 0;
  std::vector<Suspect> suspects;      // by score, highest first
  std::vector<std::string> warnings;  // directories that could not be read, and why
  size_t dirs_unread = 0;             // DIRs given that could not be judged at all
  // Links a web server would run as PHP (their name says PHP): never followed here, so what they
  // point to must be judged where it lies. "PATH -> TARGET", at most kMaxListed.
  std::vector<std::string> php_links;
  // Suspects not reported because their bytes are known good: "PATH (dpkg|wordpress|fim)", at
  // most kMaxListed — a shell taken into a FIM baseline on a compromised host shows up here.
  std::vector<std::string> known_good_paths;
  static constexpr size_t kMaxListed = 1000;
};

// Reads the WordPress checksums API's JSON ({"checksums": {"path": "md5", …}} or one level more,
// by version) from a file.
Result<std::map<std::string, std::string>> read_wp_checksums(const std::string& path);

Result<WebScanResult> web_scan(const Root& root, const WebScanOptions& opts);

// One finding per suspect: module web, check webshell, asset file:PATH.
std::vector<Finding> webshell_findings(const WebScanResult& r);

std::string render_web_scan_text(const WebScanResult& r);
std::string render_web_scan_json(const WebScanResult& r, const std::string& findings_json);

}  // namespace mamori::web
