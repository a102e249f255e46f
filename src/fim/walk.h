#pragma once
// The walk of the covered trees (internal to the FIM engine): depth-first, sorted children,
// directories opened relative to their parent inside the root.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/fs.h"
#include "fim/internal.h"
#include "fim/policy.h"

namespace mamori::fim::detail {

// Depth-first walk with sorted children (the order path_less defines), without following
// symlinks, staying on the starting mount (bind mounts included) unless told otherwise,
// skipping pseudo filesystems. Directories are stat'ed here (the walk needs their device);
// other entries come back with only their path and type 0: stat_entry() them (in parallel).
// Entry::type of a walked entry not stat'ed yet that readdir says is a regular file (0: any
// other kind, not stat'ed yet).
constexpr char kUnstatedRegular = 1;

// An open directory shared by the entries listed from it (closed with the last one).
struct DirFd {
  UniqueFd owner;
  int fd = -1;  // owner's, for the *at() calls
  explicit DirFd(int f) : owner(f), fd(f) {}
};
using DirRef = std::shared_ptr<const DirFd>;

// The directory fd and name of an entry coming from the walk ("." for the root itself).
inline At at_of(const DirRef& dir, const std::string& path) {
  if (!dir) return {};
  const char* name = path.c_str() + path.rfind('/') + 1;
  return At{dir->fd, *name ? name : "."};
}

// The directory holding a top path, opened inside the root (so a symlink in an image's
// /var/www leads into the image, never to the host); for "/" the root itself.
inline DirRef parent_in_root(const Root& root, const std::string& path) {
  std::string parent = path == "/" ? "/" : path.substr(0, path.rfind('/'));
  auto fd = root.open_dir(parent.empty() ? "/" : parent);
  if (!fd) return nullptr;
  return std::make_shared<const DirFd>(fd->release());
}

class Walker {
 public:
  Walker(const Root& root, std::vector<std::string> paths, const Policy& policy)
      : root_(root), policy_(policy), one_fs_(policy.one_filesystem) {
    std::sort(paths.begin(), paths.end(), path_less);
    // A path inside another one is walked as part of it.
    std::vector<std::string> top;
    for (const auto& p : paths)
      if (top.empty() ||
          !(p == top.back() || p.starts_with(top.back() == "/" ? "/" : top.back() + "/")))
        top.push_back(p);
    for (auto it = top.rbegin(); it != top.rend(); ++it)
      stack_.push_back({*it, DT_DIR, true, nullptr});
    // Every entry is reached through its directory's descriptor, top paths too.
    for (auto& item : stack_) item.parent = parent_in_root(root_, item.path);
  }
  // Next entry, or nullopt at the end. parent() is then its directory (null for a top path).
  std::optional<Entry> next() {
    while (!stack_.empty()) {
      Item it = std::move(stack_.back());
      stack_.pop_back();
      if (excluded(it.path)) continue;
      Entry e;
      e.path = std::move(it.path);
      parent_ = std::move(it.parent);
      if (it.d_type != DT_DIR && it.d_type != DT_UNKNOWN) {
        // stat'ed later, off this thread; readdir's word that it is a regular file lets the
        // worker open it first (complete_regular)
        if (it.d_type == DT_REG) e.type = kUnstatedRegular;
        return e;
      }
      if (!parent_ || !stat_entry(root_.path(e.path).string(), e, at_of(parent_, e.path)))
        continue;  // vanished (or its directory did): not recorded
      if (e.type != 'd') return e;
      if (it.top) dev_ = e.dev;
      bool other_mount = !it.top && (e.dev != dev_ || is_mount_root(e.path));
      if (other_mount) {
        ++skipped_mounts_;
        if (one_fs_) return e;  // the mount point itself is recorded, not what is mounted there
      }
      push_children(e.path);
      return e;
    }
    return std::nullopt;
  }
  const DirRef& parent() const { return parent_; }
  // Directories that could not be listed: their contents are unknown, not absent.
  const std::vector<std::string>& unreadable() const { return unreadable_; }
  uint64_t mounts_not_crossed() const { return one_fs_ ? skipped_mounts_ : 0; }

 private:
  struct Item {
    std::string path;
    unsigned char d_type;  // from readdir; DT_DIR for top paths (stat'ed here)
    bool top;
    DirRef parent;
  };
  bool excluded(const std::string& p) const {
    static constexpr std::string_view kPseudo[] = {"/proc", "/sys", "/dev", "/run"};
    for (auto x : kPseudo)
      if (p.starts_with(x) && (p.size() == x.size() || p[x.size()] == '/')) return true;
    return policy_.excluded(p);
  }
  bool is_mount_root(const std::string& p) const {
    struct statx sx {};
    At at = at_of(parent_, p);
    if (at.dirfd < 0 || ::statx(at.dirfd, at.name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) != 0)
      return false;
    return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  }
  // Lists a directory with getdents64 on the fd kept for the entries' *at() calls: no DIR
  // stream (its dup, fcntl, fstat and close are five system calls per directory saved).
  void push_children(const std::string& dir) {
    names_.clear();
    const At at = at_of(parent_, dir);
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = at.dirfd >= 0 ? ::openat(at.dirfd, at.name, kFlags) : -1;
    if (fd < 0) {
      if (at.dirfd < 0) errno = ENOENT;
      unreadable_.push_back(dir + ": " + std::strerror(errno));
      return;
    }
    auto ref = std::make_shared<const DirFd>(fd);
    alignas(8) static thread_local char buf[64 * 1024];
    for (;;) {
      long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        // Listed only in part: say so rather than record a directory as emptier than it is.
        unreadable_.push_back(dir + ": " + std::strerror(errno));
        return;
      }
      if (n == 0) break;
      for (long off = 0; off < n;) {
        // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name
        unsigned short reclen;
        std::memcpy(&reclen, buf + off + 16, sizeof reclen);
        auto type = static_cast<unsigned char>(buf[off + 18]);
        std::string_view name(buf + off + 19);
        off += reclen;
        if (name == "." || name == "..") continue;
        names_.push_back({std::string(name), type});
      }
    }
    std::sort(names_.begin(), names_.end());
    std::string base = dir == "/" ? "" : dir;
    for (auto it = names_.rbegin(); it != names_.rend(); ++it)
      stack_.push_back({base + "/" + it->first, it->second, false, ref});  // d_type
  }

  const Root& root_;
  const Policy& policy_;
  bool one_fs_;
  uint64_t dev_ = 0;
  uint64_t skipped_mounts_ = 0;
  std::vector<Item> stack_;
  std::vector<std::pair<std::string, unsigned char>> names_;  // name, d_type
  std::vector<std::string> unreadable_;
  DirRef parent_;
};

// A regular file (per readdir) to be hashed, through one open: fstat, xattrs and content of
// the same file. false when this fast path does not apply (then the generic one does).
bool complete_regular(const Policy& pol, HashAlgo algo, Entry& e, const At& at);
// Completes an entry from the walk: stat (when the walker did not) and hash (when wanted).
// Returns false when the file vanished in between.
bool complete_entry(const Root& root, const Policy& pol, HashAlgo algo, Entry& e,
                    const DirRef& dir);
// Hashing threads: `requested`, or every core when 0.
unsigned thread_count(unsigned requested);

}  // namespace mamori::fim::detail
