// dpkg's view of the files: its checksums, conffiles, diversions and path filters; day-one
// verification.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/text.h"
#include "fim/fim.h"
#include "fim/internal.h"
#include "fim/pipeline.h"
#include "fim/walk.h"

namespace mamori::fim {

using namespace detail;

namespace detail {
void parse_md5sums(std::string_view text, const std::string& pkg,
                   const std::set<std::string>& conffiles,
                   std::unordered_map<std::string, std::pair<std::string, std::string>>& files);
}  // namespace detail

namespace detail {

void parse_md5sums(std::string_view text, const std::string& pkg,
                   const std::set<std::string>& conffiles,
                   std::unordered_map<std::string, std::pair<std::string, std::string>>& files) {
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    if (line.size() < 35 || line[32] != ' ') continue;
    std::string path = "/" + std::string(trim(line.substr(33)));
    if (conffiles.contains(path)) continue;
    files[path] = {pkg, std::string(line.substr(0, 32))};
  }
}

InRoot in_root_file(const Root& root, const std::string& abs) {
  InRoot r;
  r.host = root.path(abs).string();
  if (root.is_host()) return r;
  size_t slash = abs.rfind('/');
  std::string parent = slash == 0 || slash == std::string::npos ? "/" : abs.substr(0, slash);
  r.name = abs.substr(slash == std::string::npos ? 0 : slash + 1);
  if (r.name.empty()) r.name = ".";
  auto fd = root.open_dir(parent);
  if (!fd) {
    r.missing = true;
    return r;
  }
  r.dir = std::make_shared<UniqueFd>(std::move(*fd));
  return r;
}

std::string md5_of(const Root& root, const std::string& abs) {
  std::string error;
  InRoot f = in_root_file(root, abs);
  if (f.missing) return "";
  return digest_file(f.host, EVP_md5(), error, f.at());
}

// Tells a package upgrade (the new content is what the package ships) from tampering.
void judge_against_packages(const Root& root, const PackageIndex& idx, Change& c) {
  if (c.kind == Change::kRemoved || c.after.type != 'f') return;
  const auto* owner = idx.find(c.after.path);
  if (!owner) return;
  c.package = owner->first;
  std::string md5 = md5_of(root, c.after.path);
  if (md5 == owner->second) {
    c.verdict = Change::kMatchesPackage;
    c.differences.push_back(
        fmt::format("matches the checksum of package {} (an upgrade or reinstall)", owner->first));
  } else {
    c.verdict = Change::kDiffersFromPackage;
    c.differences.push_back(
        fmt::format("differs from the checksum package {} installed (modified after installation)",
                    owner->first));
  }
}

}  // namespace detail

// ---- day-one verification against dpkg's checksums ----

namespace detail {

std::vector<std::array<std::string, 3>> parse_diversions(std::string_view text) {
  std::vector<std::array<std::string, 3>> out;
  std::vector<std::string> lines;
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) lines.emplace_back(line);
  for (size_t i = 0; i + 2 < lines.size(); i += 3)
    out.push_back({lines[i], lines[i + 1], lines[i + 2]});
  return out;
}

void parse_path_filters(std::string_view text, std::vector<std::pair<bool, std::string>>& out) {
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    line = trim(line);
    for (auto [key, include] : {std::pair{"path-exclude", false}, {"path-include", true}}) {
      std::string_view k = key;
      if (!line.starts_with(k)) continue;
      std::string_view v = trim(line.substr(k.size()));
      if (!v.empty() && v[0] == '=') v = trim(v.substr(1));
      if (!v.empty()) out.emplace_back(include, std::string(v));
    }
  }
}

// dpkg-divert's records: (path, diverted-to, diverting package).
std::vector<std::array<std::string, 3>> read_diversions(const Root& root) {
  auto t = root.read("/var/lib/dpkg/diversions", 16 << 20);
  if (!t) return {};
  return parse_diversions(*t);
}

// dpkg's path-exclude / path-include filters (dpkg.cfg(5)): the last matching one wins.
std::vector<std::pair<bool, std::string>> read_path_filters(const Root& root) {
  std::vector<std::pair<bool, std::string>> out;
  std::vector<std::string> files = {"/etc/dpkg/dpkg.cfg"};
  for (auto& f : root.list("/etc/dpkg/dpkg.cfg.d")) files.push_back(std::move(f));
  for (const auto& f : files)
    if (auto t = root.read(f, 1 << 20)) parse_path_filters(*t, out);
  return out;
}

}  // namespace detail

Result<PackageVerifyResult> verify_packages(const Root& root, const PackageVerifyOptions& opts) {
  PackageVerifyResult res;
  PackageIndex idx;
  idx.load(root);
  if (idx.files.empty() && !root.is_dir("/var/lib/dpkg/info"))
    return Error::not_found("fim packages: no dpkg database under " + root.path("/").string() +
                            " (only dpkg-based systems record file checksums this way)");
  res.conffiles_skipped = idx.conffiles;
  std::set<std::string> wanted(opts.packages.begin(), opts.packages.end());
  for (const auto& w : wanted) {
    bool known = std::any_of(idx.files.begin(), idx.files.end(),
                             [&w](const auto& kv) { return kv.second.first == w; });
    if (!known)
      return Error::not_found("fim packages: no checksums recorded for package '" + w + "'");
  }
  auto diversions = read_diversions(root);
  auto filters = read_path_filters(root);
  // Sorted, so the output and the progress are stable.
  std::vector<const std::pair<const std::string, std::pair<std::string, std::string>>*> files;
  std::set<std::string> pkgs;
  for (const auto& kv : idx.files) {
    if (!wanted.empty() && !wanted.contains(kv.second.first)) continue;
    files.push_back(&kv);
    pkgs.insert(kv.second.first);
  }
  std::sort(files.begin(), files.end(),
            [](auto* a, auto* b) { return path_less(a->first, b->first); });
  res.packages = pkgs.size();
  struct Item {
    std::string path, on_disk, package, md5;
    Entry e;
    bool exists = false;
    std::string found;
  };
  {
    OrderedPipeline<Item> pipe(
        thread_count(opts.threads), 8192,
        [&root](Item& it) {
          std::string err;
          InRoot where = in_root_file(root, it.on_disk);  // resolved again here: no descriptor
          it.found = digest_file(where.host, EVP_md5(), err, where.at());  // waits in the queue
          if (it.found.empty()) it.e.error = err;
        },
        [&](Item& it) {
          if (++res.files % 8192 == 0 && opts.on_progress)
            opts.on_progress(fmt::format("{} files", res.files));
          if (!it.exists) {
            bool excluded = false;
            for (const auto& [include, glob] : filters)
              if (glob_match(glob, it.path)) excluded = !include;
            if (excluded) {
              ++res.excluded;
              return;
            }
            Change c{Change::kRemoved,           Entry{}, Entry{}, {}, it.package,
                     Change::kDiffersFromPackage};
            c.before.path = it.path;
            c.before.type = 'f';
            c.differences.push_back(
                fmt::format("installed by package {}, missing now", it.package));
            res.changes.push_back(std::move(c));
            return;
          }
          if (it.e.type != 'f') {
            Change c{Change::kChanged, Entry{}, it.e, {}, it.package, Change::kDiffersFromPackage};
            c.before.path = it.path;
            c.before.type = 'f';
            c.differences.push_back(fmt::format(
                "type: f → {} (package {} installed a regular file)", it.e.type, it.package));
            res.changes.push_back(std::move(c));
            return;
          }
          if (it.found.empty()) {
            ++res.unreadable;
            return;
          }
          if (it.found == it.md5) return;
          Change c{Change::kChanged, Entry{}, it.e, {}, it.package, Change::kDiffersFromPackage};
          c.before.path = it.path;
          c.before.type = 'f';
          c.before.mode = it.e.mode;
          c.before.uid = it.e.uid;
          c.before.gid = it.e.gid;
          c.differences.push_back(
              fmt::format("content: md5 {} (package {}) → {}", it.md5, it.package, it.found));
          if (it.on_disk != it.path)
            c.differences.push_back("checked at " + sanitize(it.on_disk) + " (dpkg diversion)");
          c.differences.push_back(fmt::format(
              "differs from the checksum package {} installed (modified after installation)",
              it.package));
          res.changes.push_back(std::move(c));
        });
    for (const auto* kv : files) {
      Item it;
      it.path = kv->first;
      it.package = kv->second.first;
      it.md5 = kv->second.second;
      it.on_disk = it.path;
      for (const auto& d : diversions)
        if (d[0] == it.path && d[2] != it.package)
          it.on_disk = d[1];  // moved aside for another package
      it.e.path = it.path;
      InRoot where = in_root_file(root, it.on_disk);
      it.exists = !where.missing && stat_entry(where.host, it.e, where.at());
      bool need = it.exists && it.e.type == 'f';
      pipe.push(std::move(it), need);
    }
    pipe.finish();
  }
  return res;
}

std::vector<Finding> package_findings(const PackageVerifyResult& r) {
  std::vector<Finding> out;
  for (const auto& c : r.changes) {
    Finding f;
    f.module = "fim";
    f.asset = c.kind == Change::kRemoved ? c.before.path : c.after.path;
    f.evidence = fmt::format("{}", fmt::join(c.differences, "; "));
    if (c.kind == Change::kRemoved) {
      f.check = "package-file-missing";
      f.severity = Severity::kLow;
      f.title = fmt::format("{} (package {}) is missing", sanitize(f.asset), c.package);
      f.remediation = fmt::format(
          "If nobody removed it on purpose, reinstall the package: apt-get install --reinstall {}",
          c.package);
    } else {
      f.check = "package-file-modified";
      bool bin = false;
      for (std::string_view d : {"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/lib/", "/usr/lib/",
                                 "/usr/libexec/", "/boot/"})
        if (f.asset.starts_with(d)) bin = true;
      // A program or library that runs (executable, shared object, kernel) is the backdoor
      // case; a changed document or data file under the same directories is less alarming.
      bool runs = (c.after.mode & 0111) != 0 || f.asset.find(".so") != std::string::npos ||
                  f.asset.starts_with("/boot/") || f.asset.ends_with(".ko") ||
                  f.asset.ends_with(".ko.xz");
      f.severity = (bin && runs) || (c.after.mode & 06000) ? Severity::kCritical : Severity::kHigh;
      f.title =
          fmt::format("{} differs from what package {} installed", sanitize(f.asset), c.package);
      f.remediation = fmt::format(
          "A packaged {} was modified after installation: compare it with a fresh copy (apt-get "
          "download {}; dpkg-deb -x), treat the host as compromised if it is not a known local "
          "patch, and restore it with apt-get install --reinstall {}.",
          bin ? "program or library" : "file", c.package, c.package);
    }
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

void PackageIndex::load(const Root& root) {
  using namespace detail;
  std::set<std::string> conf;
  auto info = root.list("/var/lib/dpkg/info");
  for (const auto& f : info) {
    if (!f.ends_with(".conffiles")) continue;
    auto t = root.read(f, 16 << 20);
    if (!t) continue;
    size_t pos = 0;
    std::string_view line;
    while (next_line(*t, pos, line))
      if (!trim(line).empty()) conf.insert(std::string(trim(line)));
  }
  conffiles = conf.size();
  for (const auto& f : info) {
    if (!f.ends_with(".md5sums")) continue;
    std::string pkg = f.substr(f.rfind('/') + 1);
    pkg = pkg.substr(0, pkg.size() - 8);  // ".md5sums"
    pkg = pkg.substr(0, pkg.find(':'));
    auto t = root.read(f, 64 << 20);
    if (!t) continue;
    parse_md5sums(*t, pkg, conf, files);
  }
}

const std::pair<std::string, std::string>* PackageIndex::find(const std::string& p) const {
  auto it = files.find(p);
  if (it == files.end()) it = files.find(p.starts_with("/usr/") ? p.substr(4) : "/usr" + p);
  return it == files.end() ? nullptr : &it->second;
}

}  // namespace mamori::fim
