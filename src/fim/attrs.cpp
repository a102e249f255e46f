// Hash algorithms, content digests, stat and extended attributes of one entry.
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

#include "core/enum_names.h"
#include "core/text.h"
#include "fim/fim.h"
#include "fim/internal.h"

namespace mamori::fim {

using namespace detail;

constexpr Named<HashAlgo> kHashNames[] = {
    {HashAlgo::kSha256, "sha256"}, {HashAlgo::kSha512, "sha512"}, {HashAlgo::kBlake2b, "blake2b"}};
static_assert(names_cover(kHashNames, HashAlgo::kBlake2b));

std::string_view hash_name(HashAlgo a) { return name_in(kHashNames, a, "sha256"); }

Result<HashAlgo> parse_hash(std::string_view s) {
  if (auto v = parse_in(kHashNames, s)) return *v;
  return Error::invalid("unknown hash '" + std::string(s) + "' (sha256, sha512 or blake2b)");
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
                        const At& at) {
  constexpr int kFlags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
  UniqueFd fd(at.dirfd >= 0 ? ::openat(at.dirfd, at.name, kFlags)
                            : ::open(host_path.c_str(), kFlags));
  if (!fd) {
    error = std::strerror(errno);
    return "";
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    error = "not a regular file any more";
    return "";
  }
  return digest_fd(fd.get(), static_cast<uint64_t>(st.st_size), md_type, error);
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

void read_xattrs_fd(int fd, Entry& e) {
  collect_xattrs(
      e, [fd](char* buf, size_t size) { return ::flistxattr(fd, buf, size); },
      [fd](const char* name, char* buf, size_t size) { return ::fgetxattr(fd, name, buf, size); });
}

}  // namespace detail

}  // namespace mamori::fim
