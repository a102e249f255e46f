#pragma once
// File access for collectors. Mamori runs as root and reads what attackers write, so:
//  - every read "under a root" resolves inside that root: `--root /mnt/image` with an absolute
//    symlink `etc/shadow -> /etc/shadow` reads the image's /etc/shadow, never the host's
//    (openat2(2) with RESOLVE_IN_ROOT, or an equivalent walk on kernels without it);
//  - only regular files are ever opened for reading: a path is opened with O_PATH first,
//    checked with fstat, then reopened through /proc/self/fd, so a `composer.lock ->
//    /dev/watchdog` planted by the web user never reaches a device driver's open();
//  - reads are size-bounded: a hostile or corrupted file must not exhaust memory.
//
// Example:
//   Root root("/mnt/image");
//   auto text = root.read("/var/lib/dpkg/status", 256 << 20);
//   if (!text) report(text.error().message);  // "/mnt/image/var/lib/dpkg/status: No such file…"
//   for (const std::string& p : root.list("/etc/pam.d")) …   // "/etc/pam.d/sshd", …

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.h"
#include "core/result.h"

namespace mamori {

inline constexpr uint64_t kMaxTextFile = 256ull << 20;

class Root {
 public:
  explicit Root(std::filesystem::path dir = "/");

  // Absolute in-root path ("/etc/os-release") → path on this host, for messages and for the
  // few callers that hand a path to another program. Never open what it returns: use the
  // members below, which stay inside the root.
  std::filesystem::path path(std::string_view abs) const;
  // Path on this host → in-root absolute path (for reports); unchanged if outside the root.
  std::string display(const std::filesystem::path& host_path) const;
  const std::filesystem::path& dir() const { return dir_; }
  bool is_host() const { return host_; }

  // How symlinks on the way are treated: followed inside the root (system files, which root
  // owns), or refused anywhere below the root (what web users write: a web root's files, once
  // the web root itself is made canonical()).
  enum class Links { kFollow, kRefuse };
  // An O_PATH descriptor of `abs` resolved inside the root; the last component's symlink is
  // followed (inside the root) unless follow_last is false.
  Result<UniqueFd> open_path(std::string_view abs, bool follow_last = true,
                             Links links = Links::kFollow) const;
  // A regular file opened for reading (never a device, FIFO or socket); st filled when given.
  Result<UniqueFd> open_file(std::string_view abs, struct stat* st = nullptr,
                             Links links = Links::kFollow) const;
  // The in-root path with every symlink resolved (inside the root): "/var/www" → "/srv/www".
  Result<std::string> canonical(std::string_view abs) const;
  // A directory opened for reading (getdents, *at() calls).
  Result<UniqueFd> open_dir(std::string_view abs) const;
  // A whole regular file, at most max_bytes (larger: InvalidArgument naming the file).
  Result<std::string> read(std::string_view abs, uint64_t max_bytes = kMaxTextFile,
                           Links links = Links::kFollow) const;
  // A whole gzip file, decompressed size bounded by max_bytes.
  Result<std::string> read_gzip(std::string_view abs, uint64_t max_bytes = kMaxTextFile) const;
  Result<struct stat> stat(std::string_view abs, bool follow_last = true) const;
  bool exists(std::string_view abs) const { return stat(abs, false).has_value(); }
  bool is_dir(std::string_view abs) const;
  bool is_regular(std::string_view abs) const;
  // Target of a symlink (not resolved).
  Result<std::string> readlink(std::string_view abs) const;
  // Entries of a directory whose names match a glob, as in-root absolute paths, sorted; empty
  // when the directory is missing or unreadable.
  std::vector<std::string> list(std::string_view dir, std::string_view name_glob = "*") const;

  // Depth-first walk below `top` (sorted names, symlinks reported and never followed, every
  // directory opened relative to its parent's descriptor: nothing outside `top` is reached).
  struct WalkEntry {
    std::string path;       // in-root absolute
    unsigned char type;     // DT_DIR, DT_REG, DT_LNK, … (never DT_UNKNOWN)
    int depth;              // 1 for the entries of `top`
    int dir_fd = -1;        // the directory listed, open while the entry is visited (open_entry)
    std::string_view name;  // the entry's name in it
  };
  // The regular file a walk entry names, opened from the directory the walk listed (no path
  // resolved again: a rename or a link put on the way after the listing changes nothing), never
  // following a link, never blocking on a FIFO; not a regular file: an error.
  static Result<UniqueFd> open_entry(const WalkEntry& e, struct stat* st = nullptr);
  enum class Walk { kContinue, kSkipChildren, kStop };
  // `unopened` (when given) counts the directories below `top` that could not be opened (no
  // longer there, replaced by a link, or the open-file limit reached): their files were not seen.
  Status walk(std::string_view top, const std::function<Walk(const WalkEntry&)>& visit,
              size_t* unopened = nullptr) const;

 private:
  std::string rel(std::string_view abs) const;
  std::filesystem::path dir_;
  std::shared_ptr<UniqueFd> fd_;  // O_PATH of dir_, shared by copies
  int open_errno_ = 0;
  bool host_ = false;
};

// Test hook: resolve with the portable walk instead of openat2(2) (as on kernels before 5.6
// or under seccomp filters that refuse it).
void set_force_manual_resolve(bool on);

// Where Mamori keeps its state (store, vulnerability database, keys): $MAMORI_STATE_DIR if
// set, else /var/lib/mamori as root, else $XDG_DATA_HOME/mamori (~/.local/share/mamori).
std::string state_dir();

// A directory only its owner can enter: created 0700 when missing (parents as needed), and
// brought back to 0700 when it exists with wider permissions (a unit or an older version may
// have made it 0755). A symlink or a non-directory is refused.
Status ensure_private_dir(const std::filesystem::path& dir);
// The directory of a file Mamori is about to write: the state directory is made private (as
// above); any other missing directory is created 0700; an existing one is left as it is.
Status ensure_parent_dir(const std::filesystem::path& file);
// A file that holds findings, bans, baselines or keys: mode 0600 (wider modes narrowed).
Status ensure_private_file(const std::filesystem::path& file);

// A log Mamori appends to: created 0600 (parents as ensure_parent_dir), O_APPEND, never
// through a symlink; an existing file must be a regular file owned by this user (its mode is
// narrowed to 0600 like ensure_private_file).
Result<UniqueFd> open_private_append(const std::filesystem::path& file);

// Opens a regular file for reading by path (symlinks followed, as the operator named it), but
// never a device node, FIFO or socket.
Result<UniqueFd> open_regular(const std::filesystem::path& p, struct stat* st = nullptr);
// Reads an open file to its end (st from its fstat: procfs files say size 0 and are read until
// EOF), at most max_bytes; `label` names it in errors.
Result<std::string> read_fd(int fd, const struct stat& st, uint64_t max_bytes,
                            const std::string& label);

// Whole file, at most max_bytes (larger files are an InvalidArgument error naming the file).
Result<std::string> read_file(const std::filesystem::path& p, uint64_t max_bytes = kMaxTextFile);
// Whole gzip file (decompressed size bounded by max_bytes).
Result<std::string> read_gzip_file(const std::filesystem::path& p,
                                   uint64_t max_bytes = kMaxTextFile);
// Decompresses a gzip stream from an open descriptor (which it takes over) in chunks: sink gets
// each chunk; at most max_bytes in all. A stream cut before its trailer is an error. Plain data
// passes through only when plain_ok (a log that may or may not be compressed); a ".gz" that is
// not gzip at all is an error otherwise.
Status read_gzip_fd(UniqueFd fd, const std::string& label, uint64_t max_bytes,
                    const std::function<void(std::string_view)>& sink, bool plain_ok = false);

// A sealed in-memory copy of a regular file (memfd, F_SEAL_WRITE…): what is verified is what is
// then read, whatever happens to the file meanwhile. `path` ("/proc/self/fd/N") opens the copy.
struct Snapshot {
  UniqueFd fd;
  std::string path;
};
Result<Snapshot> snapshot_file(const std::filesystem::path& p, uint64_t max_bytes = 4ull << 30);

// Atomic write: a temporary file with a random name in the same directory (O_EXCL|O_NOFOLLOW),
// fsync, rename over the target. Mode: `private_file` → 0600 always (Mamori's own state: keys,
// signatures); otherwise the target's mode when it exists (an operator's report), else 0600.
Status write_file_atomic(const std::filesystem::path& p, std::string_view data,
                         bool private_file = false);
// A fresh temporary path beside `p` ("p.tmp.RANDOM") for writers that stream.
std::string temp_path_for(const std::filesystem::path& p);

// Directory entries matching a glob on the name (sorted); empty when the directory is missing.
std::vector<std::filesystem::path> list_dir(const std::filesystem::path& dir,
                                            std::string_view name_glob = "*");

}  // namespace mamori
