#pragma once
// Software inventory: what is installed under a root. Collectors read the
// package databases (dpkg, rpm's rpmdb.sqlite, apk), WordPress installs under
// web roots, and language lockfiles; each package carries a purl.
//
// Example:
//   InventoryOptions opts;
//   opts.webroots = {"/srv/shop"};
//   auto inv = collect_inventory(Root("/"), opts);
//   if (!inv) die(inv.error().message);
//   for (const Package& p : inv->packages) fmt::print("{} {}\n", p.purl, p.version);

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/package.h"
#include "core/result.h"

namespace mamori::inventory {

using mamori::Package;

struct OsRelease {
  std::string id;  // "debian", "ubuntu", "almalinux", "alpine", ...
  std::string id_like;
  std::string version_id;  // "12", "22.04", "9.4", "3.19.1"
  std::string codename;
  std::string pretty_name;
  bool found = false;
  // purl "distro" qualifier: "debian-12"
  std::string distro() const;
};

struct InventoryOptions {
  std::vector<std::filesystem::path> webroots;  // in-root absolute paths; empty = discover
  std::vector<std::filesystem::path> paths;     // extra trees to search for lockfiles
  bool discover_webroots = true;
  std::function<void(const std::string&)> on_progress;  // optional status callback
};

// A source of packages that exists but could not be read: the inventory is incomplete there.
struct SourceProblem {
  enum class Kind { kUnreadable, kUnsupported };
  Kind kind = Kind::kUnreadable;
  std::string path;               // in-root path of the file
  std::string message;            // what is wrong, naming the file (and line where there is one)
  bool package_database = false;  // dpkg, rpm or apk: a whole ecosystem goes unchecked
};

struct Inventory {
  OsRelease os;
  std::vector<Package> packages;
  std::vector<std::string> webroots;  // web roots that were searched (in-root paths)
  std::vector<std::string> warnings;  // non-fatal problems (an unreadable plugin header, ...)
  // Sources that exist but could not be read (a truncated dpkg status, a lockfile holding
  // "{", a Berkeley DB rpmdb): each is also in `warnings`. A scan that has any records its
  // findings as partial, so nothing is marked fixed on an inventory that is missing parts.
  std::vector<SourceProblem> problems;
};

// Collects everything it can. One broken input never aborts the collection: a package
// database or lockfile that exists but cannot be read becomes a SourceProblem (with the file,
// and line where it has one) and everything else is still collected. Fails only when the root
// itself cannot be read or a web root / path the caller named does not exist.
Result<Inventory> collect_inventory(const Root& root, const InventoryOptions& opts);

Result<OsRelease> read_os_release(const Root& root);

// "NAME:ARCH VERSION" → when dpkg last recorded it installed (unix seconds), from
// ROOT/var/log/dpkg.log and its rotations (.1, .N.gz); unreadable logs become warnings.
std::map<std::string, int64_t> dpkg_install_times(const Root& root,
                                                  std::vector<std::string>& warnings);

// A package version dpkg.log shows on the system: from `t` ("status installed"), or until `t`
// (`before`: the old version of an "upgrade").
struct DpkgRecord {
  int64_t t = 0;
  std::string package;  // binary package name, without ":ARCH"
  std::string version;
  bool before = false;
};
// Every record of ROOT/var/log/dpkg.log and its rotations, oldest first.
std::vector<DpkgRecord> dpkg_history(const Root& root, std::vector<std::string>& warnings);

// Web roots of the host: the usual directories that exist, and the document roots named by
// nginx (`root`) and Apache (`DocumentRoot`) configuration; nested roots folded into their parent.
std::vector<std::string> discover_webroots(const Root& root);

// Package URL (https://github.com/package-url/purl-spec) for a package; `distro` as in OsRelease.
std::string make_purl(const Package& p, const OsRelease& os);
// The purl without version (identifies the package across upgrades; used as a finding asset).
std::string versionless_purl(const Package& p, const OsRelease& os);

}  // namespace mamori::inventory

namespace mamori {
class Module;
namespace inventory {
// The inventory as a module of `mamori scan` (core/module.h).
std::unique_ptr<Module> make_module();
}  // namespace inventory
}  // namespace mamori
