#include "fim/fim.h"

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
#include "fim/internal.h"

namespace mamori::fim {

using namespace detail;

Result<HashAlgo> parse_hash(std::string_view s) {
  if (s == "sha256") return HashAlgo::kSha256;
  if (s == "sha512") return HashAlgo::kSha512;
  if (s == "blake2b") return HashAlgo::kBlake2b;
  return Error::invalid("unknown hash '" + std::string(s) + "' (sha256, sha512 or blake2b)");
}

std::string_view hash_name(HashAlgo a) {
  switch (a) {
    case HashAlgo::kSha256:
      return "sha256";
    case HashAlgo::kSha512:
      return "sha512";
    case HashAlgo::kBlake2b:
      return "blake2b";
  }
  return "sha256";
}

bool path_less(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    size_t ea = a.find('/', i), eb = b.find('/', j);
    std::string_view ca = a.substr(i, ea == std::string_view::npos ? a.npos : ea - i);
    std::string_view cb = b.substr(j, eb == std::string_view::npos ? b.npos : eb - j);
    if (ca != cb) return ca < cb;
    if (ea == std::string_view::npos || eb == std::string_view::npos)
      return ea == std::string_view::npos && eb != std::string_view::npos;
    i = ea + 1;
    j = eb + 1;
  }
  return a.size() - i < b.size() - j;
}

namespace detail {

// Digests fetched once from the default provider: OpenSSL 3 otherwise fetches (under a lock)
// at every EVP_DigestInit_ex with EVP_sha256() & co — measurable at 100,000 files.
const EVP_MD* md_of(HashAlgo a) {
  struct Fetched {
    EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    EVP_MD* sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
    EVP_MD* blake2b = EVP_MD_fetch(nullptr, "BLAKE2B-512", nullptr);
  };
  static const Fetched f;  // kept for the life of the process
  const EVP_MD* md = nullptr;
  switch (a) {
    case HashAlgo::kSha256:
      md = f.sha256;
      break;
    case HashAlgo::kSha512:
      md = f.sha512;
      break;
    case HashAlgo::kBlake2b:
      md = f.blake2b;
      break;
  }
  if (md) return md;
  switch (a) {  // no default provider loaded: the legacy accessors still work
    case HashAlgo::kSha512:
      return EVP_sha512();
    case HashAlgo::kBlake2b:
      return EVP_blake2b512();
    default:
      return EVP_sha256();
  }
}

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char k[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    s.push_back(k[p[i] >> 4]);
    s.push_back(k[p[i] & 15]);
  }
  return s;
}

// Digest of a regular file's content (hex), or an error text. Never opens FIFOs or devices:
// O_NONBLOCK, then a re-check that it is still a regular file.
// Digest of an open regular file of `size` bytes (hex), or "" with the reason in error.
std::string digest_fd(int fd, uint64_t size, const EVP_MD* md_type, std::string& error) {
  // Syscalls dominate on small files (each one is expensive in a VM): no fadvise, and no
  // final read for end-of-file when fstat's size has been read (a file that grew while being
  // read is re-hashed at the next check: its size or ctime differs from what was recorded).
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  static thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_holder(EVP_MD_CTX_new());
  EVP_MD_CTX* ctx = ctx_holder.get();
  EVP_DigestInit_ex2(ctx, md_type, nullptr);
  uint64_t want = size, got = 0;
  static thread_local std::vector<char> buf(1 << 20);
  while (got < want || want == 0) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      break;
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
    got += static_cast<uint64_t>(n);
    if (want == 0) want = ~0ull;  // size 0 (procfs-like): read to the end
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  return error.empty() ? hex(md, len) : "";
}

// Digest of a regular file's content (hex), or "" with the reason in error. Never opens FIFOs
// or devices for reading: O_NONBLOCK, then a check that it is still a regular file.
std::string digest_file(const std::string& host_path, const EVP_MD* md_type, std::string& error,
                        const At& at = {}) {
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  int fd = at.dirfd >= 0 ? ::openat(at.dirfd, at.name, kFlags) : ::open(host_path.c_str(), kFlags);
  if (fd < 0) {
    error = std::strerror(errno);
    return "";
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = "not a regular file any more";
    return "";
  }
  std::string h = digest_fd(fd, static_cast<uint64_t>(st.st_size), md_type, error);
  ::close(fd);
  return h;
}

void hash_entry(const std::string& host_path, HashAlgo algo, Entry& e, const At& at) {
  e.hash = digest_file(host_path, md_of(algo), e.error, at);
}

char type_of(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  if (S_ISFIFO(m)) return 'p';
  if (S_ISSOCK(m)) return 's';
  return '?';
}

#ifndef SYS_listxattrat
#define SYS_listxattrat 465  // Linux 6.13
#endif

// listxattrat(2) where the kernel has it (no path lookup), else llistxattr on `path`.
ssize_t list_xattrs(const std::string& path, const At& at, char* buf, size_t size) {
  static std::atomic<bool> have_at{true};
  if (at.dirfd >= 0 && have_at.load(std::memory_order_relaxed)) {
    long r = ::syscall(SYS_listxattrat, at.dirfd, at.name, AT_SYMLINK_NOFOLLOW, buf, size);
    if (r >= 0 || errno != ENOSYS) return r;
    have_at.store(false, std::memory_order_relaxed);
  }
  return ::llistxattr(path.c_str(), buf, size);
}

// Fills e.xattrs from a name list (list(buf, size) → bytes) and a value getter
// (get(name, buf, size) → bytes), sorted by name. A list or value larger than the first buffer
// (ERANGE) is fetched again with the size the kernel gives (size 0 asks for it): 18 long user.*
// names beside a security.capability must not read as "no xattrs".
template <typename List, typename Get>
void collect_xattrs(Entry& e, List list, Get get) {
  constexpr size_t kMax = 1 << 20;  // above the kernel's XATTR_LIST_MAX / XATTR_SIZE_MAX (64 KiB)
  // Calls f(buf, size) until the buffer is large enough; -1 with errno on other errors.
  auto sized = [](std::vector<char>& buf, auto&& f) -> ssize_t {
    for (int attempt = 0; attempt < 8; ++attempt) {
      ssize_t n = f(buf.data(), buf.size());
      if (n >= 0 || errno != ERANGE) return n;
      ssize_t need = f(nullptr, 0);
      if (need < 0) return need;
      size_t want = std::max(static_cast<size_t>(need), buf.size() * 2);
      if (want > kMax) {
        errno = E2BIG;
        return -1;
      }
      buf.resize(want);
    }
    errno = ERANGE;
    return -1;
  };
  thread_local std::vector<char> names(4096), val(4096);
  ssize_t n = sized(names, [&](char* b, size_t sz) { return list(b, sz); });
  if (n < 0) return;  // no xattr support here (ENOTSUP), or the entry vanished
  for (ssize_t off = 0; off < n;) {
    std::string name(names.data() + off,
                     ::strnlen(names.data() + off, static_cast<size_t>(n - off)));
    off += static_cast<ssize_t>(name.size()) + 1;
    if (name.empty()) continue;
    ssize_t v = sized(val, [&](char* b, size_t sz) { return get(name.c_str(), b, sz); });
    if (v >= 0) e.xattrs.emplace_back(name, std::string(val.data(), static_cast<size_t>(v)));
  }
  std::sort(e.xattrs.begin(), e.xattrs.end());
}

void read_xattrs(const std::string& host_path, Entry& e, const At& at) {
  // Values by path, but through the directory descriptor of the walk when there is one
  // (/proc/self/fd/N/NAME): the lookup stays in that directory whatever was renamed meanwhile.
  std::string path =
      at.dirfd >= 0 ? fmt::format("/proc/self/fd/{}/{}", at.dirfd, at.name) : host_path;
  collect_xattrs(
      e, [&](char* buf, size_t size) { return list_xattrs(path, at, buf, size); },
      [&](const char* name, char* buf, size_t size) {
        return ::lgetxattr(path.c_str(), name, buf, size);
      });
}

void stat_extras(const std::string& host_path, Entry& e, const At& at) {
  if (e.type == 'l') {
    char buf[4096];
    ssize_t n = at.dirfd >= 0 ? ::readlinkat(at.dirfd, at.name, buf, sizeof buf)
                              : ::readlink(host_path.c_str(), buf, sizeof buf);
    if (n >= 0) e.target.assign(buf, static_cast<size_t>(n));
  }
  read_xattrs(host_path, e, at);
}

void fill_from_stat(const struct stat& st, Entry& e);

bool stat_basic(const std::string& host_path, Entry& e, const At& at) {
  struct stat st {};
  int r = at.dirfd >= 0 ? ::fstatat(at.dirfd, at.name, &st, AT_SYMLINK_NOFOLLOW)
                        : ::lstat(host_path.c_str(), &st);
  if (r != 0) return false;
  fill_from_stat(st, e);
  return true;
}

void fill_from_stat(const struct stat& st, Entry& e) {
  e.type = type_of(st.st_mode);
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.size = e.type == 'f' || e.type == 'l' ? static_cast<uint64_t>(st.st_size) : 0;
  e.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  e.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  e.inode = st.st_ino;
  e.nlink = st.st_nlink;
  e.dev = st.st_dev;
}

bool stat_entry(const std::string& host_path, Entry& e, const At& at) {
  if (!stat_basic(host_path, e, at)) return false;
  stat_extras(host_path, e, at);
  return true;
}

// Depth-first walk with sorted children (the order path_less defines), without following
// symlinks, staying on the starting mount (bind mounts included) unless told otherwise,
// skipping pseudo filesystems. Directories are stat'ed here (the walk needs their device);
// other entries come back with only their path and type 0: stat_entry() them (in parallel).
// Entry::type of a walked entry not stat'ed yet that readdir says is a regular file (0: any
// other kind, not stat'ed yet).
constexpr char kUnstatedRegular = 1;

// An open directory shared by the entries listed from it (closed with the last one).
struct DirFd {
  int fd = -1;
  explicit DirFd(int f) : fd(f) {}
  ~DirFd() {
    if (fd >= 0) ::close(fd);
  }
  DirFd(const DirFd&) = delete;
  DirFd& operator=(const DirFd&) = delete;
};
using DirRef = std::shared_ptr<const DirFd>;

// The directory fd and name of an entry coming from the walk ("." for the root itself).
At at_of(const DirRef& dir, const std::string& path) {
  if (!dir) return {};
  const char* name = path.c_str() + path.rfind('/') + 1;
  return At{dir->fd, *name ? name : "."};
}

// The directory holding a top path, opened inside the root (so a symlink in an image's
// /var/www leads into the image, never to the host); for "/" the root itself.
DirRef parent_in_root(const Root& root, const std::string& path) {
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

// Streams items through hashing threads while keeping their order: the walk goes on while
// earlier files are hashed (no batch barrier where one large file idles the other cores), and
// the sink sees items in walk order, on the producer's thread. At most `window` items are in
// flight, so memory stays bounded. With threads <= 1 everything runs inline.
template <typename T>
class OrderedPipeline {
 public:
  OrderedPipeline(unsigned threads, size_t window, std::function<void(T&)> hash,
                  std::function<void(T&)> sink)
      : window_(window), hash_(std::move(hash)), sink_(std::move(sink)) {
    if (threads > 1)
      for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~OrderedPipeline() { finish(); }

  void push(T item, bool needs_hash) {
    if (workers_.empty()) {
      if (needs_hash) hash_(item);
      sink_(item);
      return;
    }
    std::vector<T> ready;
    {
      std::unique_lock l(m_);
      done_cv_.wait(l, [&] { return q_.size() < window_ || q_.front().done; });
      take_ready(ready);
      q_.push_back({std::move(item), !needs_hash});
      if (needs_hash) {
        pending_.push_back(head_ + q_.size() - 1);
        work_cv_.notify_one();
      }
    }
    for (auto& r : ready) sink_(r);
  }

  void finish() {
    if (workers_.empty()) return;
    for (;;) {
      std::vector<T> ready;
      {
        std::unique_lock l(m_);
        done_cv_.wait(l, [&] { return q_.empty() || q_.front().done; });
        if (q_.empty()) break;
        take_ready(ready);
      }
      for (auto& r : ready) sink_(r);
    }
    {
      std::lock_guard l(m_);
      closing_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

 private:
  struct Slot {
    T item;
    bool done;
  };
  void take_ready(std::vector<T>& ready) {
    while (!q_.empty() && q_.front().done) {
      ready.push_back(std::move(q_.front().item));
      q_.pop_front();
      ++head_;
    }
  }
  void work() {
    for (;;) {
      Slot* slot;
      {
        std::unique_lock l(m_);
        work_cv_.wait(l, [&] { return closing_ || !pending_.empty(); });
        if (pending_.empty()) return;
        slot = &q_[pending_.front() - head_];  // deque references survive push_back
        pending_.pop_front();
      }
      hash_(slot->item);
      {
        std::lock_guard l(m_);
        slot->done = true;
      }
      done_cv_.notify_all();
    }
  }

  size_t window_;
  std::function<void(T&)> hash_, sink_;
  std::mutex m_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Slot> q_;
  std::deque<uint64_t> pending_;
  uint64_t head_ = 0;
  bool closing_ = false;
  std::vector<std::thread> workers_;
};

// OrderedPipeline in batches: one lock round per batch instead of per file.
template <typename T>
class BatchPipeline {
 public:
  BatchPipeline(unsigned threads, std::function<void(T&)> work, std::function<void(T&)> sink)
      : pipe_(
            threads, 64,
            [work = std::move(work)](std::vector<T>& b) {
              for (auto& x : b) work(x);
            },
            [sink = std::move(sink)](std::vector<T>& b) {
              for (auto& x : b) sink(x);
            }) {
    cur_.reserve(kBatch);
  }
  void push(T item) {
    cur_.push_back(std::move(item));
    if (cur_.size() >= kBatch) flush();
  }
  void finish() {
    flush();
    pipe_.finish();
  }

 private:
  static constexpr size_t kBatch = 128;
  void flush() {
    if (cur_.empty()) return;
    pipe_.push(std::move(cur_), true);
    cur_ = {};
    cur_.reserve(kBatch);
  }
  OrderedPipeline<std::vector<T>> pipe_;
  std::vector<T> cur_;
};

// Completes an entry from the walk: stat (when the walker did not) and hash (when wanted).
// Returns false when the file vanished in between.
// Regular files (per readdir) to be hashed: open first, then fstat and flistxattr on the fd —
// one path lookup and one syscall fewer than stat-then-open, and stat and content are
// guaranteed to be of the same file. Returns false when the fast path does not apply.
bool complete_regular(const Policy& pol, HashAlgo algo, Entry& e, const At& at) {
  if (at.dirfd < 0) return false;
  const Rule* r = pol.rule_for(e.path);
  if (r && !(r->attrs & kAttrHash)) return false;
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  int fd = ::openat(at.dirfd, at.name, kFlags);
  if (fd < 0) return false;  // a symlink now (ELOOP), gone, unreadable: the generic path says
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  fill_from_stat(st, e);
  collect_xattrs(
      e, [fd](char* buf, size_t size) { return ::flistxattr(fd, buf, size); },
      [fd](const char* name, char* buf, size_t size) { return ::fgetxattr(fd, name, buf, size); });
  if (e.size <= pol.max_hash_size) e.hash = digest_fd(fd, e.size, md_of(algo), e.error);
  ::close(fd);
  return true;
}

bool complete_entry(const Root& root, const Policy& pol, HashAlgo algo, Entry& e,
                    const DirRef& dir) {
  At at = at_of(dir, e.path);
  if (e.type == kUnstatedRegular) {
    if (complete_regular(pol, algo, e, at)) return true;
    e.type = 0;
  }
  std::string host = root.path(e.path).string();
  if (e.type == 0 && !stat_entry(host, e, at)) return false;
  if (wants_hash(pol, e)) hash_entry(host, algo, e, at);
  return true;
}

unsigned thread_count(unsigned requested) {
  return requested ? requested : std::max(1u, std::thread::hardware_concurrency());
}

// ---- line format: fields separated by tabs; strings escaped (\t \n \\ and \xNN) ----
// Appends s escaped for a baseline field: the backslash doubled, bytes outside printable ASCII
// (space and tab included) as \xHH; "-" stands for the empty string, so a lone "-" (a symlink
// to "-") is written \x2d. Runs of plain bytes are copied at once.
void esc_to(std::string& o, std::string_view s) {
  if (s.empty() || s == "-") {
    o += s.empty() ? "-" : "\\x2d";
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size()) {
      auto c = static_cast<unsigned char>(s[j]);
      if (c == '\\' || c < 0x21 || c >= 0x7f) break;
      ++j;
    }
    o.append(s.data() + i, j - i);
    if (j == s.size()) break;
    auto c = static_cast<unsigned char>(s[j]);
    if (c == '\\') {
      o += "\\\\";
    } else {
      o += "\\x";
      o.push_back(kHex[c >> 4]);
      o.push_back(kHex[c & 15]);
    }
    i = j + 1;
  }
}

std::string esc(std::string_view s) {
  std::string o;
  esc_to(o, s);
  return o;
}

bool unesc(std::string_view s, std::string& out) {
  out.clear();
  if (s == "-") return true;
  auto h = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < s.size();) {
    size_t bs = s.find('\\', i);
    out.append(s.substr(i, bs == std::string_view::npos ? s.npos : bs - i));
    if (bs == std::string_view::npos) break;
    if (bs + 1 < s.size() && s[bs + 1] == '\\') {
      out.push_back('\\');
      i = bs + 2;
    } else if (bs + 3 < s.size() && s[bs + 1] == 'x') {
      int a = h(s[bs + 2]), b = h(s[bs + 3]);
      if (a < 0 || b < 0) return false;
      out.push_back(static_cast<char>(a * 16 + b));
      i = bs + 4;
    } else {
      return false;
    }
  }
  return true;
}

// One baseline line, built in one string (this runs once per entry on the workers).
std::string format_entry(const Entry& e) {
  std::string o;
  o.reserve(e.path.size() + e.target.size() + e.hash.size() + 128);
  esc_to(o, e.path);
  o.push_back('\t');
  o.push_back(e.type);
  char num[24];
  auto field = [&](auto v, int base = 10) {
    auto r = std::to_chars(num, num + sizeof num, v, base);
    o.push_back('\t');
    o.append(num, r.ptr);
  };
  field(e.mode, 8);
  field(e.uid);
  field(e.gid);
  field(e.size);
  field(e.mtime_ns);
  field(e.ctime_ns);
  field(e.inode);
  field(e.nlink);
  field(e.dev);
  o.push_back('\t');
  esc_to(o, e.target);
  o.push_back('\t');
  if (e.xattrs.empty()) o.push_back('-');
  for (size_t i = 0; i < e.xattrs.size(); ++i) {
    if (i) o.push_back(',');
    esc_to(o, e.xattrs[i].first);
    o.push_back('=');
    const auto& v = e.xattrs[i].second;
    o += hex(reinterpret_cast<const unsigned char*>(v.data()), v.size());
  }
  o.push_back('\t');
  o += e.hash.empty() ? std::string_view("-") : std::string_view(e.hash);
  o.push_back('\n');
  return o;
}

Result<Entry> parse_entry(std::string_view line, size_t lineno, const std::string& file) {
  auto bad = [&](const char* why) {
    return Error::data_loss(fmt::format("{}:{}: {}", file, lineno, why));
  };
  // The 14 tab-separated fields, without allocating (this runs once per entry on every check).
  std::array<std::string_view, 14> f;
  size_t nf = 0;
  for (size_t pos = 0;;) {
    size_t tab = line.find('\t', pos);
    if (nf == f.size()) return bad("expected 14 fields (baseline truncated or damaged?)");
    f[nf++] = line.substr(pos, tab == std::string_view::npos ? line.npos : tab - pos);
    if (tab == std::string_view::npos) break;
    pos = tab + 1;
  }
  if (nf != f.size()) return bad("expected 14 fields (baseline truncated or damaged?)");
  Entry e;
  if (!unesc(f[0], e.path) || e.path.empty() || e.path[0] != '/') return bad("bad path");
  if (f[1].size() != 1) return bad("bad type");
  e.type = f[1][0];
  auto num = [](std::string_view s, int base, auto& out) {
    if (s.empty() || s.size() > 24) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  uint64_t v[9];
  if (!num(f[2], 8, v[0]) || !num(f[3], 10, v[1]) || !num(f[4], 10, v[2]) || !num(f[5], 10, v[3]) ||
      !num(f[8], 10, v[6]) || !num(f[9], 10, v[7]) || !num(f[10], 10, v[8]))
    return bad("bad number");
  e.mode = static_cast<uint32_t>(v[0]);
  e.uid = static_cast<uint32_t>(v[1]);
  e.gid = static_cast<uint32_t>(v[2]);
  e.size = v[3];
  if (!num(f[6], 10, e.mtime_ns) || !num(f[7], 10, e.ctime_ns)) return bad("bad time");
  e.inode = v[6];
  e.nlink = v[7];
  e.dev = v[8];
  if (!unesc(f[11], e.target)) return bad("bad symlink target");
  if (f[12] != "-")
    for (auto kv : split(f[12], ',')) {
      size_t eq = kv.find('=');
      std::string name, val;
      if (eq == std::string_view::npos || !unesc(kv.substr(0, eq), name)) return bad("bad xattr");
      std::string_view hx = kv.substr(eq + 1);
      if (hx.size() % 2) return bad("bad xattr value");
      for (size_t i = 0; i + 1 < hx.size(); i += 2) {
        auto h = [](char c) {
          return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        };
        int a = h(hx[i]), b = h(hx[i + 1]);
        if (a < 0 || b < 0) return bad("bad xattr value");
        val.push_back(static_cast<char>(a * 16 + b));
      }
      e.xattrs.emplace_back(name, val);
    }
  if (f[13] != "-") e.hash = std::string(f[13]);
  return e;
}

}  // namespace detail

Result<Entry> parse_baseline_entry(std::string_view line, size_t lineno, const std::string& file) {
  return parse_entry(line, lineno, file);
}

std::string format_baseline_entry(const Entry& e) { return format_entry(e); }

Result<BaselineInfo> parse_baseline_header(std::string_view header, const std::string& path) {
  if (!header.starts_with("#mamori-fim-baseline v1 "))
    return Error::data_loss(path + ": not a Mamori baseline (bad header)");
  BaselineInfo info;
  bool has_policy = false, has_hash = false;
  for (auto part : split(header.substr(24), ' ')) {
    if (part.starts_with("hash=")) {
      auto h = parse_hash(part.substr(5));
      if (!h) return Error::data_loss(path + ": " + h.error().message);
      info.hash = *h;
      has_hash = true;
    } else if (part.starts_with("created=")) {
      info.created_at = std::atoll(std::string(part.substr(8)).c_str());
    } else if (part.starts_with("path=")) {
      std::string p;
      if (!unesc(part.substr(5), p) || p.empty() || p[0] != '/')
        return Error::data_loss(path + ": damaged path in the header");
      info.paths.push_back(p);
    } else if (part.starts_with("policy=")) {
      std::string text;
      if (!unesc(part.substr(7), text))
        return Error::data_loss(path + ": damaged policy in the header");
      auto pol = parse_policy(text, path + " (recorded policy)");
      if (!pol) return Error::data_loss(pol.error().message);
      info.policy = std::move(*pol);
      has_policy = true;
    } else if (!part.empty()) {
      return Error::data_loss(path + ": unknown header field '" + sanitize(part.substr(0, 40)) +
                              "'");
    }
  }
  if (!has_hash) return Error::data_loss(path + ": header names no hash");
  if (!has_policy) {  // a baseline written before policies: every attribute of its paths
    info.policy.hash = std::string(hash_name(info.hash));
    for (const auto& p : info.paths)
      info.policy.rules.push_back(Rule{p, kAttrAll, Severity::kMedium, {}, ""});
  }
  return info;
}

namespace detail {

struct RawLine {
  std::string path, line;
  size_t lineno = 0;
};

class BaselineReader {
 public:
  Status open(const std::string& path) {
    path_ = path;
    in_.open(path, std::ios::binary);
    if (!in_) return errno_error(path, errno ? errno : ENOENT);
    std::string header;
    if (!std::getline(in_, header)) return Error::data_loss(path + ": empty file, not a baseline");
    line_ = 1;
    auto info = parse_baseline_header(header, path);
    if (!info) return info.error();
    info_ = std::move(*info);
    return ok();
  }
  // Next entry; nullopt at the end (after checking the trailer).
  Result<std::optional<Entry>> next() {
    std::string line;
    if (!std::getline(in_, line))
      return Error::data_loss(fmt::format("{}: ends without its trailer line (truncated)", path_));
    ++line_;
    if (line.starts_with("#end ")) {
      uint64_t n = std::strtoull(line.c_str() + 5, nullptr, 10);
      if (n != info_.entries)
        return Error::data_loss(
            fmt::format("{}: trailer says {} entries, found {}", path_, n, info_.entries));
      return std::optional<Entry>();
    }
    auto e = parse_entry(line, line_, path_);
    if (!e) return e.error();
    if (!last_.empty() && !path_less(last_, e->path))
      return Error::data_loss(fmt::format("{}:{}: entries out of order", path_, line_));
    last_ = e->path;
    ++info_.entries;
    return std::optional<Entry>(std::move(*e));
  }
  // Next line with only its path decoded (the entry is parsed later, on a worker thread);
  // nullopt at the end (after checking the trailer).
  Result<std::optional<RawLine>> next_raw() {
    RawLine r;
    if (!std::getline(in_, r.line))
      return Error::data_loss(fmt::format("{}: ends without its trailer line (truncated)", path_));
    r.lineno = ++line_;
    if (r.line.starts_with("#end ")) {
      uint64_t n = std::strtoull(r.line.c_str() + 5, nullptr, 10);
      if (n != info_.entries)
        return Error::data_loss(
            fmt::format("{}: trailer says {} entries, found {}", path_, n, info_.entries));
      return std::optional<RawLine>();
    }
    size_t tab = r.line.find('\t');
    if (tab == std::string::npos || !unesc(std::string_view(r.line).substr(0, tab), r.path) ||
        r.path.empty() || r.path[0] != '/')
      return Error::data_loss(fmt::format("{}:{}: bad path (baseline damaged?)", path_, line_));
    if (!last_.empty() && !path_less(last_, r.path))
      return Error::data_loss(fmt::format("{}:{}: entries out of order", path_, line_));
    last_ = r.path;
    ++info_.entries;
    return std::optional<RawLine>(std::move(r));
  }
  BaselineInfo& info() { return info_; }

 private:
  std::string path_;
  std::ifstream in_;
  size_t line_ = 0;
  std::string last_;
  BaselineInfo info_;
};

Status for_each_entry(const std::string& baseline, BaselineInfo& info,
                      const std::function<void(Entry&&)>& fn) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim");
  for (;;) {
    auto e = rd.next();
    if (!e) return e.error();
    if (!*e) break;
    fn(std::move(**e));
  }
  info = rd.info();
  return ok();
}

std::string short_hash(const std::string& h) {
  return h.empty() ? "(not hashed)" : h.substr(0, 16) + "…";
}

std::string iso_ns(int64_t ns) {
  return fmt::format("{}.{:09d}", iso8601(ns / 1000000000).substr(0, 19), ns % 1000000000);
}

bool is_acl_xattr(std::string_view name) { return name.starts_with("system.posix_acl_"); }

// A POSIX ACL as the kernel stores it in system.posix_acl_access/default (posix_acl_xattr:
// a 4-byte version 2, then {u16 tag, u16 perm, u32 id} per entry), as getfacl writes it.
std::string acl_text(std::string_view blob) {
  if (blob.size() < 4 || (blob.size() - 4) % 8 != 0) return "(malformed ACL)";
  auto u16 = [&](size_t o) {
    return static_cast<unsigned>(static_cast<unsigned char>(blob[o])) |
           static_cast<unsigned>(static_cast<unsigned char>(blob[o + 1])) << 8;
  };
  std::vector<std::string> parts;
  for (size_t o = 4; o + 8 <= blob.size(); o += 8) {
    unsigned tag = u16(o), perm = u16(o + 2);
    uint32_t id = u16(o + 4) | (static_cast<uint32_t>(u16(o + 6)) << 16);
    std::string rwx = {perm & 4 ? 'r' : '-', perm & 2 ? 'w' : '-', perm & 1 ? 'x' : '-'};
    switch (tag) {
      case 0x01:
        parts.push_back("user::" + rwx);
        break;
      case 0x02:
        parts.push_back(fmt::format("user:{}:{}", id, rwx));
        break;
      case 0x04:
        parts.push_back("group::" + rwx);
        break;
      case 0x08:
        parts.push_back(fmt::format("group:{}:{}", id, rwx));
        break;
      case 0x10:
        parts.push_back("mask::" + rwx);
        break;
      case 0x20:
        parts.push_back("other::" + rwx);
        break;
      default:
        parts.push_back(fmt::format("tag{:#x}:{}:{}", tag, id, rwx));
    }
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

using Xattrs = std::vector<std::pair<std::string, std::string>>;
const std::string* xattr_value(const Xattrs& xs, std::string_view name) {
  for (const auto& [k, v] : xs)
    if (k == name) return &v;
  return nullptr;
}

// What differs between two records of a path, limited to the attributes the policy compares.
std::vector<std::string> differences(const Entry& a, const Entry& b, HashAlgo algo,
                                     uint32_t attrs) {
  std::vector<std::string> d;
  auto want = [attrs](uint32_t bit) { return (attrs & bit) != 0; };
  if (a.type != b.type) d.push_back(fmt::format("type: {} → {}", a.type, b.type));
  bool content = want(kAttrHash) && a.hash != b.hash && a.type == 'f' && b.type == 'f';
  if (content)
    d.push_back(fmt::format("content: {} {} → {}", hash_name(algo), short_hash(a.hash),
                            short_hash(b.hash)));
  if (want(kAttrSize) && a.size != b.size)
    d.push_back(fmt::format("size: {} → {}", a.size, b.size));
  if (want(kAttrMode) && a.mode != b.mode)
    d.push_back(fmt::format("mode: {:04o} → {:04o}", a.mode, b.mode));
  if (want(kAttrOwner) && a.uid != b.uid) d.push_back(fmt::format("owner: {} → {}", a.uid, b.uid));
  if (want(kAttrGroup) && a.gid != b.gid) d.push_back(fmt::format("group: {} → {}", a.gid, b.gid));
  if (want(kAttrTarget) && a.target != b.target)
    d.push_back(fmt::format("symlink: {} → {}", sanitize(a.target), sanitize(b.target)));
  if (want(kAttrInode) && a.inode != b.inode)
    d.push_back(fmt::format("inode: {} → {} (replaced)", a.inode, b.inode));
  if (want(kAttrLinks) && a.nlink != b.nlink && a.type != 'd')
    d.push_back(fmt::format("links: {} → {}", a.nlink, b.nlink));
  if (a.xattrs != b.xattrs) {
    for (const auto& kv : b.xattrs) {
      bool acl = is_acl_xattr(kv.first);
      if (!want(acl ? kAttrAcl : kAttrXattrs) || xattr_value(a.xattrs, kv.first)) continue;
      d.push_back(acl ? fmt::format("acl added ({}): {}", kv.first.substr(17), acl_text(kv.second))
                      : fmt::format("xattr added: {}", sanitize(kv.first)));
    }
    for (const auto& kv : a.xattrs) {
      bool acl = is_acl_xattr(kv.first);
      if (!want(acl ? kAttrAcl : kAttrXattrs)) continue;
      const std::string* now = xattr_value(b.xattrs, kv.first);
      if (!now)
        d.push_back(
            acl ? fmt::format("acl removed ({}): {}", kv.first.substr(17), acl_text(kv.second))
                : fmt::format("xattr removed: {}", sanitize(kv.first)));
      else if (*now != kv.second)
        d.push_back(acl ? fmt::format("acl ({}): {} → {}", kv.first.substr(17), acl_text(kv.second),
                                      acl_text(*now))
                        : fmt::format("xattr changed: {}", sanitize(kv.first)));
    }
  }
  // Times alone are reported only together with another difference (touch is not tampering),
  // but a content change with the old mtime put back is called out.
  if (!d.empty()) {
    if (a.mtime_ns != b.mtime_ns && want(kAttrMtime))
      d.push_back(fmt::format("mtime: {} → {}", iso_ns(a.mtime_ns), iso_ns(b.mtime_ns)));
    else if (content && a.mtime_ns == b.mtime_ns)
      d.push_back("mtime unchanged although the content changed (timestamp restored?)");
  }
  return d;
}

// Whether the policy wants this entry's content hashed.
bool wants_hash(const Policy& p, const Entry& e) {
  if (e.type != 'f') return false;
  const Rule* r = p.rule_for(e.path);
  return (!r || (r->attrs & kAttrHash)) && e.size <= p.max_hash_size;
}

}  // namespace detail

namespace detail {

std::string header_line(const BaselineInfo& info) {
  std::string header = fmt::format("#mamori-fim-baseline v1 hash={} created={}",
                                   hash_name(info.hash), info.created_at);
  for (const auto& p : info.paths) header += " path=" + esc(p);
  header += " policy=" + esc(info.policy.to_toml());
  return header + "\n";
}

// Writes a baseline to a temp file beside `out` (a random name, created O_EXCL|O_NOFOLLOW,
// mode 0600), renamed over it once complete.
class BaselineWriter {
 public:
  explicit BaselineWriter(std::string out) : out_(std::move(out)), tmp_(temp_path_for(out_)) {}
  ~BaselineWriter() {
    if (fd_ && !done_) ::unlink(tmp_.c_str());
  }
  Status open(const BaselineInfo& info) {
    fd_.reset(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd_) return errno_error(tmp_, errno);
    if (::fchmod(fd_.get(), 0600) != 0) return errno_error(tmp_, errno);
    EVP_DigestInit_ex(md_.get(), EVP_sha512(), nullptr);
    buf_.reserve(kChunk + 4096);
    buf_ += header_line(info);
    return ok();
  }
  void add(const Entry& e) { add_line(format_entry(e)); }
  void add_line(const std::string& line) {  // a line format_entry() made (on a worker)
    buf_ += line;
    ++entries_;
    if (buf_.size() >= kChunk) flush();  // one write(2) per megabyte of baseline
  }
  uint64_t entries() const { return entries_; }
  // The SHA-512 of everything written (valid after commit).
  const std::string& sha512() const { return sha512_; }
  Status commit() {
    buf_ += fmt::format("#end {}\n", entries_);
    flush();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md_.get(), md, &len);
    sha512_.assign(reinterpret_cast<char*>(md), len);
    if (write_errno_ != 0) return errno_error(tmp_, write_errno_);
    if (::fsync(fd_.get()) != 0) return errno_error(tmp_, errno);
    if (::close(fd_.release()) != 0) return errno_error(tmp_, errno);
    if (::rename(tmp_.c_str(), out_.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp_.c_str());
      return errno_error(out_, e);
    }
    done_ = true;
    return ok();
  }

 private:
  static constexpr size_t kChunk = 1 << 20;
  void flush() {
    EVP_DigestUpdate(md_.get(), buf_.data(), buf_.size());
    size_t off = 0;
    while (off < buf_.size() && write_errno_ == 0) {
      ssize_t n = ::write(fd_.get(), buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        write_errno_ = errno;
      else
        off += static_cast<size_t>(n);
    }
    buf_.clear();
  }
  std::string out_, tmp_;
  UniqueFd fd_;
  std::string buf_;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md_{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  std::string sha512_;
  uint64_t entries_ = 0;
  int write_errno_ = 0;
  bool done_ = false;
};

}  // namespace detail

Result<BaselineInfo> write_baseline(const Root& root, const FimOptions& opts,
                                    const std::string& out, int64_t now) {
  const Policy& pol = opts.policy;
  if (pol.rules.empty()) return Error::invalid("fim init: no paths to cover");
  auto algo = parse_hash(pol.hash);
  if (!algo) return algo.error();
  BaselineInfo info;
  info.hash = *algo;
  info.created_at = now;
  info.paths = pol.paths();
  info.policy = pol;
  // The recorded policy must read back as itself, or every later check would fail.
  auto back = parse_policy(pol.to_toml(), "effective policy");
  if (!back) return back.error().with_context("fim init: the effective policy does not read back");
  BaselineWriter wr(out);
  MAMORI_TRY(wr.open(info), "fim init");
  Walker w(root, info.paths, pol);
  {
    // Workers stat, hash and format; the producer only walks and writes.
    struct Item {
      Entry e;
      DirRef dir;
      std::string line;
    };
    BatchPipeline<Item> pipe(
        thread_count(opts.threads),
        [&](Item& it) {
          if (complete_entry(root, pol, info.hash, it.e, it.dir))
            it.line = format_entry(it.e);
          else
            it.e.type = 0;
          it.dir.reset();  // the directory closes as soon as its last entry is done
        },
        [&](Item& it) {
          if (it.e.type == 0) return;  // vanished during the walk
          if (it.e.type == 'f' && it.e.hash.empty()) ++info.not_hashed;
          wr.add_line(it.line);
          if (wr.entries() % 8192 == 0 && opts.on_progress)
            opts.on_progress(fmt::format("{} entries", wr.entries()));
        });
    while (auto e = w.next()) pipe.push(Item{std::move(*e), w.parent(), {}});
    pipe.finish();
  }
  for (const auto& u : w.unreadable()) info.warnings.push_back("cannot list directory " + u);
  info.mounts_not_crossed = w.mounts_not_crossed();
  info.entries = wr.entries();
  MAMORI_TRY(wr.commit(), "fim init");
  info.sha512 = wr.sha512();
  return info;
}

Result<BaselineInfo> read_baseline_info(const std::string& baseline) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim");
  return rd.info();
}

Result<BaselineInfo> update_baseline_paths(const Root& root, const std::string& baseline,
                                           const std::vector<std::string>& paths,
                                           const FimOptions& opts, int64_t now,
                                           const std::string& out) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim update");
  BaselineInfo info = rd.info();
  const Policy& pol = info.policy;
  auto chosen = [&paths](const std::string& p) {
    return std::any_of(paths.begin(), paths.end(), [&p](const std::string& c) {
      return c == "/" || p == c || (p.starts_with(c) && p[c.size()] == '/');
    });
  };
  for (const auto& c : paths)
    if (!pol.rule_for(c))
      return Error::invalid(
          fmt::format("fim update: {} is not covered by the baseline (its paths: {})", c,
                      fmt::join(info.paths, " ")));
  info.created_at = now;
  info.warnings.clear();
  BaselineWriter wr(out.empty() ? baseline : out);
  MAMORI_TRY(wr.open(info), "fim update");
  Walker w(root, paths, pol);
  auto b = rd.next();
  if (!b) return b.error();
  std::optional<Entry> old = std::move(*b);
  {
    struct Item {
      Entry e;
      bool kept;  // from the old baseline, as it was
      DirRef dir;
    };
    BatchPipeline<Item> pipe(
        thread_count(opts.threads),
        [&](Item& it) {
          if (!it.kept && !complete_entry(root, pol, info.hash, it.e, it.dir)) it.e.type = 0;
          it.dir.reset();
        },
        [&](Item& it) {
          if (it.e.type != 0) wr.add(it.e);
        });
    // Merge: baseline entries outside the chosen paths are kept; inside, the walk replaces them.
    for (;;) {
      std::optional<Entry> cur = w.next();
      while (old && (!cur || path_less(old->path, cur->path) || old->path == cur->path)) {
        if (!chosen(old->path)) pipe.push(Item{std::move(*old), true, nullptr});
        auto n = rd.next();
        if (!n) return n.error();
        old = std::move(*n);
      }
      if (!cur) break;
      pipe.push(Item{std::move(*cur), false, w.parent()});
    }
    pipe.finish();
  }
  for (const auto& u : w.unreadable()) info.warnings.push_back("cannot list directory " + u);
  info.entries = wr.entries();
  MAMORI_TRY(wr.commit(), "fim update");
  info.sha512 = wr.sha512();
  return info;
}

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

void PackageIndex::load(const Root& root) {
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

Result<CheckResult> check_baseline(const Root& root, const std::string& baseline,
                                   const CheckOptions& opts) {
  BaselineReader rd;
  MAMORI_TRY(rd.open(baseline), "fim check");
  CheckResult res;
  HashAlgo algo = rd.info().hash;
  Policy& pol = rd.info().policy;
  for (const auto& x : opts.excludes) pol.exclude.push_back(x);
  // dpkg's checksums are needed only to judge a change: read them at the first one.
  std::optional<PackageIndex> packages;
  auto judge_pkg = [&](Change& c) {
    if (!packages) {
      packages.emplace();
      packages->load(root);
    }
    judge_against_packages(root, *packages, c);
  };
  Walker w(root, rd.info().paths, pol);
  // A baseline line is parsed on a worker; the merge needs only its path.
  struct Item {
    RawLine before;
    std::optional<Entry> old;
    std::optional<Entry> after;
    bool hashed = false;
    std::string error;
    DirRef dir;
    std::vector<std::string> diffs;  // before → after, when both exist (worked out on a worker)
  };
  // Entries present before and after are compared on the worker, and the unchanged ones
  // (nearly all) emptied there, so that the ordered sink on the walking thread stays light.
  auto compare = [&](Item& it) {
    const Rule* rule = pol.rule_for(it.after->path);
    it.diffs = differences(*it.old, *it.after, algo, rule ? rule->attrs : kAttrAll);
    if (it.diffs.empty()) {
      it.old.reset();
      it.after.reset();
      it.before = RawLine{};
    }
  };
  std::string first_error;
  BatchPipeline<Item> pipe(
      thread_count(opts.threads),
      [&](Item& it) {
        if (!it.before.line.empty()) {
          auto e = parse_baseline_entry(it.before.line, it.before.lineno, baseline);
          if (!e) {
            it.error = e.error().message;
            return;
          }
          it.old = std::move(*e);
        }
        if (!it.after) return;
        Entry& a = *it.after;
        const Entry* o = it.old ? &*it.old : nullptr;
        At at = at_of(it.dir, a.path);
        DirRef keep = std::move(it.dir);  // released when this item is done
        if (a.type == kUnstatedRegular) {
          // --full reads everything anyway: open first (complete_regular), as init does.
          if (opts.full && complete_regular(pol, algo, a, at)) {
            it.hashed = !a.hash.empty();
            if (o) compare(it);
            return;
          }
          a.type = 0;
        }
        // The host path is needed where there is no directory fd (top paths) and to read
        // extended attributes (lgetxattr): built only then.
        std::string host = at.dirfd >= 0 ? std::string() : root.path(a.path).string();
        if (a.type == 0) {
          if (!stat_basic(host, a, at)) {
            it.after.reset();  // vanished during the walk: as good as removed
            return;
          }
          // Extended attributes and symlink targets cannot change without the ctime changing
          // (setxattr and a new symlink both set it): the default mode re-reads them only then.
          if (!opts.full && o && o->type == a.type && o->inode == a.inode &&
              o->ctime_ns == a.ctime_ns) {
            a.xattrs = o->xattrs;
            a.target = o->target;
          } else {
            if (host.empty()) host = root.path(a.path).string();
            stat_extras(host, a, at);
          }
        }
        if (wants_hash(pol, a)) {
          const Entry* b = o;
          bool changed_meta = !b || b->size != a.size || b->mtime_ns != a.mtime_ns ||
                              b->ctime_ns != a.ctime_ns || b->inode != a.inode || b->type != 'f';
          if (opts.full || changed_meta) {
            hash_entry(host, algo, a, at);
            it.hashed = true;
          } else {
            a.hash = b->hash;  // trusted: unchanged size, mtime, ctime and inode
          }
        }
        if (o) compare(it);
      },
      [&](Item& it) {
        if (!it.error.empty()) {
          if (first_error.empty()) first_error = it.error;
          return;
        }
        if (it.hashed) ++res.hashed;
        if (++res.checked % 8192 == 0 && opts.on_progress)
          opts.on_progress(fmt::format("{} entries checked", res.checked));
        auto& before = it.old;
        auto& after = it.after;
        if (!before && !after) return;
        if (!before) {
          res.changes.push_back({Change::kAdded, Entry{}, *after, {}, "", Change::kNotPackaged});
          judge_pkg(res.changes.back());
        } else if (!after) {
          res.changes.push_back({Change::kRemoved, *before, Entry{}, {}, "", Change::kNotPackaged});
        } else {
          res.changes.push_back(
              {Change::kChanged, *before, *after, std::move(it.diffs), "", Change::kNotPackaged});
          judge_pkg(res.changes.back());
        }
      });
  auto unreadable_parent = [&](const std::string& p) {
    for (const auto& u : w.unreadable()) {
      std::string dir = u.substr(0, u.rfind(": "));
      if (p.starts_with(dir) && p.size() > dir.size() && p[dir.size()] == '/') return true;
    }
    return false;
  };
  // Merge the walk with the baseline (both in path_less order).
  auto b = rd.next_raw();
  if (!b) return b.error();
  std::optional<RawLine> old = std::move(*b);
  for (;;) {
    std::optional<Entry> cur = w.next();
    while (old && (!cur || path_less(old->path, cur->path))) {  // gone: removed
      if (unreadable_parent(old->path)) {
        ++res.unchecked;  // its directory could not be listed: unknown, not removed
      } else {
        pipe.push(Item{std::move(*old), std::nullopt, std::nullopt, false, {}, nullptr, {}});
      }
      auto n = rd.next_raw();
      if (!n) return n.error();
      old = std::move(*n);
    }
    if (!cur) break;
    if (old && old->path == cur->path) {
      pipe.push(Item{std::move(*old), std::nullopt, std::move(cur), false, {}, w.parent(), {}});
      auto n = rd.next_raw();
      if (!n) return n.error();
      old = std::move(*n);
    } else {
      pipe.push(Item{RawLine{}, std::nullopt, std::move(cur), false, {}, w.parent(), {}});
    }
  }
  pipe.finish();
  if (!first_error.empty()) return Error::data_loss(first_error);
  res.baseline = rd.info();
  for (const auto& u : w.unreadable()) res.warnings.push_back("cannot list directory " + u);
  if (res.unchecked)
    res.warnings.push_back(
        fmt::format("{} baseline entries were not checked: their directory could not be listed",
                    res.unchecked));
  return res;
}

namespace detail {

// How much a change matters, and why: the policy's rule for the path and its alerts, then what
// the change itself says (a set-user-ID bit or a capability that appeared is a backdoor
// wherever it is; a packaged file whose content is the package's own is an upgrade).
std::pair<Severity, std::string> judge(const Change& c, const Policy& pol) {
  const Entry& e = c.kind == Change::kRemoved ? c.before : c.after;
  const std::string& p = e.path;
  const Rule* rule = pol.rule_for(p);
  if (c.verdict == Change::kMatchesPackage && c.kind == Change::kChanged &&
      c.before.mode == c.after.mode && c.before.uid == c.after.uid && c.before.gid == c.after.gid &&
      c.before.xattrs == c.after.xattrs)
    return {Severity::kLow, "the content is what the package ships: an upgrade or reinstall"};
  Severity sev = rule ? rule->severity : Severity::kMedium;
  std::string why = rule ? rule->why : "";
  auto raise = [&](Severity s, std::string reason) {
    if (s > sev || (s == sev && why.empty())) {
      sev = s;
      why = std::move(reason);
    }
  };
  Event ev = c.kind == Change::kAdded     ? kOnAdded
             : c.kind == Change::kRemoved ? kOnRemoved
                                          : kOnChanged;
  if (auto a = pol.alert_for(p, ev)) raise(a->first, a->second);
  if (c.verdict == Change::kDiffersFromPackage)
    raise(Severity::kHigh, "a packaged file no longer matches its package");
  bool cap_added = false;
  for (const auto& d : c.differences)
    if (d.starts_with("xattr added: security.capability")) cap_added = true;
  if (c.kind == Change::kAdded && e.type == 'f' &&
      xattr_value(e.xattrs, "security.capability") != nullptr)
    cap_added = true;
  if (cap_added) raise(Severity::kCritical, "a file capability gives a program root powers");
  uint32_t new_bits = c.kind == Change::kAdded ? e.mode : c.after.mode & ~c.before.mode;
  if (c.kind != Change::kRemoved && e.type == 'f' && (new_bits & 06000) != 0)
    raise(Severity::kCritical, "a set-user/group-ID program is the classic local backdoor");
  return {sev, why};
}

}  // namespace detail

std::vector<Finding> fim_findings(const CheckResult& r) {
  std::vector<Finding> out;
  const Policy& pol = r.baseline.policy;
  for (const auto& c : r.changes) {
    Finding f;
    f.module = "fim";
    const Entry& e = c.kind == Change::kRemoved ? c.before : c.after;
    f.asset = e.path;
    auto [sev, why] = judge(c, pol);
    f.severity = sev;
    switch (c.kind) {
      case Change::kAdded:
        f.check = "file-added";
        f.title = fmt::format("New {} {}", e.type == 'd' ? "directory" : "file", sanitize(e.path));
        f.evidence = fmt::format(
            "not in the baseline of {}; mode {:04o}, owner {}, size {}, mtime {}{}{}",
            iso8601(r.baseline.created_at), e.mode, e.uid, e.size, iso_ns(e.mtime_ns),
            e.hash.empty() ? "" : ", " + std::string(hash_name(r.baseline.hash)) + " " + e.hash,
            c.differences.empty() ? "" : "; " + fmt::format("{}", fmt::join(c.differences, "; ")));
        break;
      case Change::kRemoved:
        f.check = "file-removed";
        f.title = fmt::format("{} was removed", sanitize(e.path));
        f.evidence = fmt::format("in the baseline of {}, gone now", iso8601(r.baseline.created_at));
        break;
      case Change::kChanged:
        f.check = "file-changed";
        f.title = fmt::format("{} changed", sanitize(e.path));
        f.evidence = fmt::format("{}", fmt::join(c.differences, "; "));
        break;
    }
    if (!why.empty()) f.evidence += " — why it matters: " + why;
    f.remediation =
        "Find out who changed it and why (package upgrade, deployment, or an intruder). If the "
        "change is legitimate, accept it with 'mamori fim update " +
        sanitize(e.path) +
        "'; if not, restore the file from a trusted source and look for how it got there.";
    if (f.severity >= Severity::kHigh && pol.in_webroot(e.path))
      f.remediation =
          "A script appeared or changed in a web root: treat it as a possible web shell. "
          "Compare with your deployment, quarantine it, check the web server logs for requests "
          "to it. " +
          f.remediation;
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

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

// ---- signatures ----

KeyPair generate_keypair() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
  KeyPair k;
  k.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  k.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                      reinterpret_cast<unsigned char*>(k.secret_key.data()));
  return k;
}

Status write_keypair(const KeyPair& k, const std::string& secret_path,
                     const std::string& public_path) {
  UniqueFd fd(
      ::open(secret_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return errno_error(secret_path, errno);
  bool good = ::fchmod(fd.get(), 0600) == 0 &&
              ::write(fd.get(), k.secret_key.data(), k.secret_key.size()) ==
                  static_cast<ssize_t>(k.secret_key.size());
  good = ::fsync(fd.get()) == 0 && good;
  if (!good) return Error::unavailable(secret_path + ": write failed");
  return write_file_atomic(public_path, k.public_key, /*private_file=*/true);
}

Result<std::string> read_key(const std::string& path, size_t expected) {
  auto k = read_file(path, 4096);
  if (!k) return k.error();
  if (k->size() != expected)
    return Error::invalid(
        fmt::format("{}: not a key ({} bytes, {} expected)", path, k->size(), expected));
  return k;
}

namespace detail {
Result<std::string> file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error(path, errno ? errno : ENOENT);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(md), len);
}
}  // namespace detail

Status sign_digest(const std::string& sig_path, const std::string& sha512,
                   const std::string& secret_key) {
  if (sodium_init() < 0) return Error::internal("libsodium initialisation failed");
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) return Error::invalid("bad secret key size");
  if (sha512.size() != 64) return Error::internal("not a SHA-512 digest");
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(sha512.data()), sha512.size(),
                       reinterpret_cast<const unsigned char*>(secret_key.data()));
  return write_file_atomic(sig_path, sig, /*private_file=*/true);
}

Status sign_file(const std::string& path, const std::string& secret_key) {
  auto d = file_digest(path);
  if (!d) return d.error();
  return sign_digest(path + ".sig", *d, secret_key);
}

Status verify_file(const std::string& path, const std::string& public_key,
                   const std::string& sig_path_in) {
  if (sodium_init() < 0) return Error::internal("libsodium initialisation failed");
  std::string sig_path = sig_path_in.empty() ? path + ".sig" : sig_path_in;
  auto sig = read_file(sig_path, 4096);
  if (!sig)
    return Error::data_loss(
        fmt::format("{}: signature missing ({})", sig_path, sig.error().message));
  if (sig->size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES)
    return Error::data_loss(sig_path + ": malformed signature");
  auto d = file_digest(path);
  if (!d) return d.error();
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                  reinterpret_cast<const unsigned char*>(d->data()), d->size(),
                                  reinterpret_cast<const unsigned char*>(public_key.data())) != 0)
    return Error::data_loss(
        path + ": signature does not verify: the baseline was modified or signed by another key");
  return ok();
}

}  // namespace mamori::fim
