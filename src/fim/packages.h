#pragma once
// What dpkg installed: each file with the MD5 its package recorded. FIM tells a package upgrade
// from tampering with it; `mamori web scan` takes a file dpkg shipped unchanged as known good.
//
// Example:
//   fim::PackageIndex idx;
//   idx.load(root);
//   if (auto* e = idx.find("/usr/share/wordpress/index.php")) ... e->first (package), e->second
//   (md5)

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/fs.h"

namespace mamori::fim {

// Files dpkg installed, with the MD5 each package recorded (deb-md5sums(5)); conffiles are
// left out because administrators edit them.
struct PackageIndex {
  std::unordered_map<std::string, std::pair<std::string, std::string>> files;  // path → (pkg, md5)
  size_t conffiles = 0;
  void load(const Root& root);
  // The entry for a path, also through merged-/usr aliases (/bin/x ↔ /usr/bin/x).
  const std::pair<std::string, std::string>* find(const std::string& p) const;
};

}  // namespace mamori::fim
