#pragma once
// Pieces of the FIM engine shared by check (check.cpp) and watch (watch.cpp). Not a public API.

#include <openssl/evp.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "fim/fim.h"
#include "fim/packages.h"

namespace mamori::fim::detail {

using ::mamori::fim::PackageIndex;

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
// ---- attrs.cpp ----
const EVP_MD* md_of(HashAlgo a);  // fetched once (OpenSSL 3 would fetch at every init)
std::string hex(const unsigned char* p, size_t n);
// Digest of an open regular file of `size` bytes (hex), or "" with the reason in error.
std::string digest_fd(int fd, uint64_t size, const EVP_MD* md_type, std::string& error);
// Digest of a regular file's content (hex), or "" with the reason in error (never a FIFO or
// a device: O_NONBLOCK, then a re-check that it is still a regular file).
std::string digest_file(const std::string& host_path, const EVP_MD* md_type, std::string& error,
                        const At& at = {});
void fill_from_stat(const struct stat& st, Entry& e);
void read_xattrs_fd(int fd, Entry& e);  // every xattr of an open file, sorted by name
// Content digest into e.hash (or e.error).
void hash_entry(const std::string& host_path, HashAlgo algo, Entry& e, const At& at = {});
// Whether the policy wants this entry's content hashed (regular file, rule has hash, size limit).
bool wants_hash(const Policy& p, const Entry& e);
// ---- format.cpp: the line format (fields escaped: \t \n \\ and \xNN; "-" is empty) ----
void esc_to(std::string& o, std::string_view s);
std::string esc(std::string_view s);
bool unesc(std::string_view s, std::string& out);
std::string format_entry(const Entry& e);
Result<Entry> parse_entry(std::string_view line, size_t lineno, const std::string& file);
// ---- diff.cpp ----
std::string short_hash(const std::string& h);  // the first 16 hex digits, for evidence
std::string iso_ns(int64_t ns);                // nanosecond times
bool is_acl_xattr(std::string_view name);
const std::string* xattr_value(const std::vector<std::pair<std::string, std::string>>& xs,
                               std::string_view name);
// What differs between two records, limited to `attrs`.
std::vector<std::string> differences(const Entry& a, const Entry& b, HashAlgo algo, uint32_t attrs);
// Every entry of a baseline in order (after its header), checking the trailer.
Status for_each_entry(const std::string& baseline, BaselineInfo& info,
                      const std::function<void(Entry&&)>& fn);

// Tells a package upgrade (the new content is what the package ships) from tampering.
void judge_against_packages(const Root& root, const PackageIndex& idx, Change& c);

// dpkg's own files, parsed without touching the filesystem (exposed for the fuzzer):
//  - deb-md5sums(5) lines "MD5  PATH" of package `pkg` into files (paths in `conffiles` left out);
void parse_md5sums(std::string_view text, const std::string& pkg,
                   const std::set<std::string>& conffiles,
                   std::unordered_map<std::string, std::pair<std::string, std::string>>& files);
//  - /var/lib/dpkg/diversions: records of three lines (path, diverted-to, diverting package);
std::vector<std::array<std::string, 3>> parse_diversions(std::string_view text);
//  - dpkg.cfg(5) path-exclude / path-include lines, appended in order (true = include).
void parse_path_filters(std::string_view text, std::vector<std::pair<bool, std::string>>& out);

// A file of the root for the *at() calls: for the host the plain path (resolution inside "/"
// is the ordinary one, and costs nothing more); for an image its directory opened inside the
// image, so that no symlink in the image leads to the host.
struct InRoot {
  std::string host;               // path on this host (messages; the host root's lookups)
  std::shared_ptr<UniqueFd> dir;  // the directory, for images
  std::string name;
  At at() const { return dir && *dir ? At{dir->get(), name.c_str()} : At{}; }
  bool missing = false;  // its directory does not exist inside the image
};
InRoot in_root_file(const Root& root, const std::string& abs);

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
