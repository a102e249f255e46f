#pragma once
// Pieces of the FIM engine shared by check (fim.cpp) and watch (watch.cpp). Not a public API.

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fim/fim.h"

namespace mamori::fim::detail {

// Where a file is: its host path, and when known an open fd of its directory with its name
// there (the *at() calls then skip the path lookup, which dominates on large trees).
struct At {
  int dirfd = -1;
  const char* name = nullptr;
};
// lstat + readlink + xattrs of one path (host path), into e (whose .path is the in-root path).
bool stat_entry(const std::string& host_path, Entry& e, const At& at = {});
bool stat_basic(const std::string& host_path, Entry& e, const At& at = {});   // lstat only
void stat_extras(const std::string& host_path, Entry& e, const At& at = {});  // readlink, xattrs
// Content digest into e.hash (or e.error).
void hash_entry(const std::string& host_path, HashAlgo algo, Entry& e, const At& at = {});
// Whether the policy wants this entry's content hashed (regular file, rule has hash, size limit).
bool wants_hash(const Policy& p, const Entry& e);
// What differs between two records, limited to `attrs`.
std::vector<std::string> differences(const Entry& a, const Entry& b, HashAlgo algo, uint32_t attrs);
// Every entry of a baseline in order (after its header), checking the trailer.
Status for_each_entry(const std::string& baseline, BaselineInfo& info,
                      const std::function<void(Entry&&)>& fn);

// Files dpkg installed, with the MD5 each package recorded (deb-md5sums(5)); conffiles are
// left out because administrators edit them.
struct PackageIndex {
  std::unordered_map<std::string, std::pair<std::string, std::string>> files;  // path → (pkg, md5)
  size_t conffiles = 0;
  void load(const Root& root);
  // The entry for a path, also through merged-/usr aliases (/bin/x ↔ /usr/bin/x).
  const std::pair<std::string, std::string>* find(const std::string& p) const;
};
// Tells a package upgrade (the new content is what the package ships) from tampering.
void judge_against_packages(const Root& root, const PackageIndex& idx, Change& c);

// One fanotify event as decoded from the kernel's packed records (exposed for the fuzzer).
struct FanEvent {
  uint64_t mask = 0;
  int pid = 0;
  bool overflow = false;
  std::string key;   // fsid + file handle of the directory ("" when the event carries none)
  std::string name;  // entry name in that directory ("" for the directory itself)
};
void decode_fanotify(const char* buf, size_t n, const std::function<void(const FanEvent&)>& fn);

}  // namespace mamori::fim::detail
