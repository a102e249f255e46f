#include "core/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "core/text.h"

namespace mamori {

namespace {

std::atomic<bool> g_force_manual{false};
// openat2 is refused with ENOSYS on kernels before 5.6 and with EPERM by some seccomp filters
// (older container runtimes): then every resolution takes the walk.
std::atomic<int> g_openat2_state{0};  // 0 unknown, 1 works, -1 unavailable

constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

Error at_error(const std::string& label, int err) { return errno_error(label, err); }

// Resolves `rel` below rootfd as if rootfd were "/": ".." never climbs above it, absolute
// symlinks restart at it. Every step is an openat(O_PATH|O_NOFOLLOW) on the descriptor of
// the directory reached so far, so a concurrent rename cannot move the walk outside.
int resolve_manual(int rootfd, std::string_view rel, bool follow_last, bool no_symlinks) {
  std::deque<std::string> todo;
  auto push_front_components = [&todo](std::string_view s) {
    std::vector<std::string> parts;
    for (auto c : split(s, '/'))
      if (!c.empty() && c != ".") parts.emplace_back(c);
    todo.insert(todo.begin(), parts.begin(), parts.end());
  };
  push_front_components(rel);
  std::vector<UniqueFd> stack;
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    int cur = stack.empty() ? rootfd : stack.back().get();
    UniqueFd fd(::openat(cur, comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return -errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return -errno;
    bool last = todo.empty();
    if (S_ISLNK(st.st_mode) && no_symlinks) return -ELOOP;  // as RESOLVE_NO_SYMLINKS says
    if (S_ISLNK(st.st_mode) && (!last || follow_last)) {
      if (++links > kMaxSymlinks) return -ELOOP;
      char buf[4096];
      ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof buf);
      if (n < 0) return -errno;
      if (static_cast<size_t>(n) >= sizeof buf) return -ENAMETOOLONG;
      std::string_view target(buf, static_cast<size_t>(n));
      if (!target.empty() && target.front() == '/') stack.clear();
      push_front_components(target);
      continue;
    }
    if (last) return fd.release();
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    stack.push_back(std::move(fd));
  }
  int cur = stack.empty() ? rootfd : stack.back().get();
  int fd = ::openat(cur, ".", O_PATH | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

// An O_PATH descriptor of rel below rootfd, confined to it; -errno on failure.
int resolve_in_root(int rootfd, const std::string& rel, bool follow_last, bool no_symlinks) {
  if (!g_force_manual.load(std::memory_order_relaxed) &&
      g_openat2_state.load(std::memory_order_relaxed) >= 0) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
    const char* p = rel.empty() ? "." : rel.c_str();
    for (int attempt = 0; attempt < 8; ++attempt) {
      long fd = ::syscall(SYS_openat2, rootfd, p, &how, sizeof how);
      if (fd >= 0) {
        g_openat2_state.store(1, std::memory_order_relaxed);
        return static_cast<int>(fd);
      }
      if (errno == EAGAIN || errno == EINTR) continue;  // a rename raced with ".."
      if ((errno == ENOSYS || errno == EPERM) &&
          g_openat2_state.load(std::memory_order_relaxed) == 0) {
        g_openat2_state.store(-1, std::memory_order_relaxed);
        break;
      }
      return -errno;
    }
    if (g_openat2_state.load(std::memory_order_relaxed) >= 0) return -EAGAIN;
  }
  return resolve_manual(rootfd, rel, follow_last, no_symlinks);
}

// Reopens an O_PATH descriptor of a regular file for reading: through /proc/self/fd the kernel
// opens that very inode, so nothing can be swapped in between the check and the open.
Result<UniqueFd> reopen_regular(UniqueFd path_fd, const std::string& label, struct stat* out) {
  struct stat st {};
  if (::fstat(path_fd.get(), &st) != 0) return at_error(label, errno);
  if (!S_ISREG(st.st_mode)) return Error::invalid(label + ": not a regular file");
  std::string proc = fmt::format("/proc/self/fd/{}", path_fd.get());
  UniqueFd fd(::open(proc.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    int e = errno;
    if (e != ENOENT) return at_error(label, e);
    return Error::unavailable(label + ": cannot reopen safely (is /proc mounted?)");
  }
  struct stat st2 {};
  if (::fstat(fd.get(), &st2) != 0) return at_error(label, errno);
  if (!S_ISREG(st2.st_mode) || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev)
    return Error::invalid(label + ": changed while being opened");
  if (out) *out = st2;
  return fd;
}

}  // namespace

void set_force_manual_resolve(bool on) { g_force_manual.store(on); }

Root::Root(std::filesystem::path dir) : dir_(std::move(dir)) {
  int fd = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) open_errno_ = errno;
  fd_ = std::make_shared<UniqueFd>(fd);
  // "/", "/.", "//", a link to "/": the host is the directory that is the host's root, however
  // it was written (the live state of this machine is read only then).
  struct stat a {
  }, b{};
  host_ = dir_ == "/" || (fd >= 0 && ::fstat(fd, &a) == 0 && ::stat("/", &b) == 0 &&
                          a.st_dev == b.st_dev && a.st_ino == b.st_ino);
  if (host_) dir_ = "/";
}

std::string Root::rel(std::string_view abs) const {
  while (!abs.empty() && abs.front() == '/') abs.remove_prefix(1);
  return std::string(abs);
}

std::filesystem::path Root::path(std::string_view abs) const {
  return dir_ / std::filesystem::path(rel(abs));
}

std::string Root::display(const std::filesystem::path& host_path) const {
  if (is_host()) return host_path.string();
  auto r = host_path.lexically_relative(dir_);
  if (r.empty() || r.native().starts_with("..")) return host_path.string();
  return "/" + r.string();
}

Result<UniqueFd> Root::open_path(std::string_view abs, bool follow_last, Links links) const {
  std::string label = path(abs).string();
  if (open_errno_ != 0) return at_error(dir_.string(), open_errno_);
  int fd = resolve_in_root(fd_->get(), rel(abs), follow_last, links == Links::kRefuse);
  if (fd == -ELOOP && links == Links::kRefuse)
    return Error::permission(label + ": a symbolic link on the way (not followed here)");
  if (fd < 0) return at_error(label, -fd);
  return UniqueFd(fd);
}

Result<UniqueFd> Root::open_file(std::string_view abs, struct stat* st, Links links) const {
  auto p = open_path(abs, true, links);
  if (!p) return p.error();
  return reopen_regular(std::move(*p), path(abs).string(), st);
}

Result<std::string> Root::canonical(std::string_view abs) const {
  auto p = open_path(abs, true);
  if (!p) return p.error();
  char buf[PATH_MAX];
  std::string proc = fmt::format("/proc/self/fd/{}", p->get());
  ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf - 1);
  if (n < 0) return at_error(path(abs).string(), errno);
  std::string host(buf, static_cast<size_t>(n));
  if (is_host()) return host;
  // the root's own host path, resolved the same way, is cut off the front
  std::string top = fmt::format("/proc/self/fd/{}", fd_->get());
  n = ::readlink(top.c_str(), buf, sizeof buf - 1);
  if (n < 0) return at_error(dir_.string(), errno);
  std::string root_host(buf, static_cast<size_t>(n));
  if (host == root_host) return std::string("/");
  if (!host.starts_with(root_host + "/"))
    return Error::internal(path(abs).string() + ": resolved outside the root");
  return host.substr(root_host.size());
}

Result<UniqueFd> Root::open_entry(const WalkEntry& e, struct stat* out) {
  if (e.dir_fd < 0 || e.name.empty() || e.name.find('/') != std::string_view::npos)
    return Error::invalid(e.path + ": not an entry of a walk");
  std::string name(e.name);
  UniqueFd fd(
      ::openat(e.dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return at_error(e.path, errno);  // ELOOP: a link put there since the listing
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return at_error(e.path, errno);
  if (!S_ISREG(st.st_mode)) return Error::invalid(e.path + ": not a regular file");
  if (out) *out = st;
  return fd;
}

Result<UniqueFd> Root::open_dir(std::string_view abs) const {
  auto p = open_path(abs, true);
  if (!p) return p.error();
  UniqueFd fd(::openat(p->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return at_error(path(abs).string(), errno);
  return fd;
}

Result<std::string> Root::read(std::string_view abs, uint64_t max_bytes, Links links) const {
  struct stat st {};
  auto fd = open_file(abs, &st, links);
  if (!fd) return fd.error();
  return read_fd(fd->get(), st, max_bytes, path(abs).string());
}

Result<std::string> Root::read_gzip(std::string_view abs, uint64_t max_bytes) const {
  auto fd = open_file(abs);
  if (!fd) return fd.error();
  std::string out;
  MAMORI_TRY(read_gzip_fd(std::move(*fd), path(abs).string(), max_bytes,
                          [&out](std::string_view b) { out.append(b); }),
             "gzip");
  return out;
}

Result<struct stat> Root::stat(std::string_view abs, bool follow_last) const {
  auto p = open_path(abs, follow_last);
  if (!p) return p.error();
  struct stat st {};
  if (::fstat(p->get(), &st) != 0) return at_error(path(abs).string(), errno);
  return st;
}

bool Root::is_dir(std::string_view abs) const {
  auto st = stat(abs);
  return st && S_ISDIR(st->st_mode);
}

bool Root::is_regular(std::string_view abs) const {
  auto st = stat(abs);
  return st && S_ISREG(st->st_mode);
}

Result<std::string> Root::readlink(std::string_view abs) const {
  auto p = open_path(abs, false);
  if (!p) return p.error();
  char buf[4096];
  ssize_t n = ::readlinkat(p->get(), "", buf, sizeof buf);
  if (n < 0) return at_error(path(abs).string(), errno);
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

// Names and types of a directory's entries (not "." and ".."), sorted by name. Takes the fd.
bool read_dir_entries(UniqueFd fd, std::vector<std::pair<std::string, unsigned char>>& out) {
  DIR* d = ::fdopendir(fd.get());
  if (!d) return false;
  int dfd = fd.release();
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode)   ? DT_DIR
             : S_ISREG(st.st_mode) ? DT_REG
             : S_ISLNK(st.st_mode) ? DT_LNK
                                   : DT_UNKNOWN;
      if (type == DT_UNKNOWN) type = DT_FIFO;  // something that is neither: never opened
    }
    out.emplace_back(std::string(n), type);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return true;
}

std::string join_abs(std::string_view dir, std::string_view name) {
  std::string s(dir);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (s.empty() || s.back() != '/') s += '/';
  s += name;
  return s;
}

}  // namespace

std::vector<std::string> Root::list(std::string_view dir, std::string_view name_glob) const {
  std::vector<std::string> out;
  auto fd = open_dir(dir);
  if (!fd) return out;
  std::vector<std::pair<std::string, unsigned char>> entries;
  if (!read_dir_entries(std::move(*fd), entries)) return out;
  for (const auto& [name, type] : entries)
    if (glob_match(name_glob, name)) out.push_back(join_abs(dir, name));
  return out;
}

Status Root::walk(std::string_view top, const std::function<Walk(const WalkEntry&)>& visit,
                  size_t* unopened) const {
  auto topfd = open_dir(top);
  if (!topfd) return topfd.error();
  struct Frame {
    UniqueFd fd;  // the directory, kept open while its entries are visited
    std::string path;
    std::vector<std::pair<std::string, unsigned char>> entries;
    size_t next = 0;
  };
  std::vector<Frame> stack;
  auto enter = [&stack, unopened](UniqueFd fd, std::string p) {
    int raw = fd.get();
    Frame f{UniqueFd(), std::move(p), {}, 0};
    // read_dir_entries closes what it is given: list through a duplicate, keep the original.
    // A directory that cannot be listed (out of descriptors deep down a tree built to exhaust
    // them) was not seen: it counts as unopened, never as empty.
    UniqueFd dup(::fcntl(raw, F_DUPFD_CLOEXEC, 0));
    if (!dup || !read_dir_entries(std::move(dup), f.entries)) {
      if (unopened) ++*unopened;
    }
    f.fd = std::move(fd);
    stack.push_back(std::move(f));
  };
  enter(std::move(*topfd), std::string(top));
  Status result;
  bool stop = false;
  while (!stack.empty() && !stop) {
    Frame& f = stack.back();
    if (f.next >= f.entries.size()) {
      stack.pop_back();
      continue;
    }
    auto [name, type] = f.entries[f.next++];
    WalkEntry e{join_abs(f.path, name), type, static_cast<int>(stack.size()), f.fd.get(), name};
    Walk w = visit(e);
    if (w == Walk::kStop) {
      stop = true;
      break;
    }
    if (type != DT_DIR || w == Walk::kSkipChildren) continue;
    UniqueFd sub(
        ::openat(f.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {  // replaced by a symlink, gone, unreadable, or out of descriptors
      if (unopened) ++*unopened;
      continue;
    }
    enter(std::move(sub), std::move(e.path));
  }
  return result;  // the frames left close their directories
}

std::string state_dir() {
  if (const char* d = std::getenv("MAMORI_STATE_DIR"); d && *d) return d;
  if (::geteuid() == 0) return "/var/lib/mamori";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/mamori";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/mamori";
}

Status ensure_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error(dir.string(), errno);
    if (dir.has_parent_path() && dir.parent_path() != dir)
      std::filesystem::create_directories(dir.parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error(dir.string(), errno);
    if (::lstat(dir.c_str(), &st) != 0) return errno_error(dir.string(), errno);
  }
  if (!S_ISDIR(st.st_mode))
    return Error::invalid(dir.string() +
                          ": not a directory (a symlink or file where Mamori's "
                          "private directory belongs)");
  // narrowed through a descriptor of that very directory (O_NOFOLLOW: a symlink swapped in
  // meanwhile is refused, never chmod'ed)
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd || ::fstat(fd.get(), &st) != 0) return errno_error(dir.string(), errno);
  if (st.st_uid != ::geteuid())
    return Error::permission(fmt::format(
        "{}: owned by uid {}, not by this user ({}): whoever owns it could replace the keys, "
        "the baseline and the store inside — give it to this user (chown) or choose another "
        "directory (MAMORI_STATE_DIR)",
        dir.string(), st.st_uid, ::geteuid()));
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), st.st_mode & 0700) != 0)
    return errno_error(dir.string(), errno);
  return ok();
}

Status ensure_parent_dir(const std::filesystem::path& file) {
  std::filesystem::path parent = std::filesystem::absolute(file).parent_path();
  std::filesystem::path state = std::filesystem::absolute(state_dir()).lexically_normal();
  std::error_code ec;
  if (parent.lexically_normal() == state || !std::filesystem::exists(parent, ec))
    return ensure_private_dir(parent);
  return ok();
}

Status ensure_private_file(const std::filesystem::path& file) {
  UniqueFd pfd(::open(file.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!pfd) return errno == ENOENT ? ok() : errno_error(file.string(), errno);
  struct stat st {};
  auto fd = reopen_regular(std::move(pfd), file.string(), &st);  // a symlink is refused here
  if (!fd) return fd.error();
  if (st.st_uid != ::geteuid())
    return Error::permission(fmt::format("{}: owned by uid {}, not by this user ({})",
                                         file.string(), st.st_uid, ::geteuid()));
  if ((st.st_mode & 077) != 0 && ::fchmod(fd->get(), st.st_mode & 0700) != 0)
    return errno_error(file.string(), errno);
  return ok();
}

Result<UniqueFd> open_private_append(const std::filesystem::path& file) {
  if (auto st = ensure_parent_dir(file); !st) return st.error();
  UniqueFd fd(::open(file.c_str(),
                     O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                     0600));  // a FIFO must not block
  if (!fd) return errno_error(file.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(file.string(), errno);
  if (!S_ISREG(st.st_mode)) return Error::invalid(file.string() + ": not a regular file");
  if (st.st_uid != ::geteuid())
    return Error::permission(fmt::format("{}: owned by uid {}, not by this user ({})",
                                         file.string(), st.st_uid, ::geteuid()));
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), st.st_mode & 0700) != 0)
    return errno_error(file.string(), errno);
  return fd;
}

Result<UniqueFd> open_regular(const std::filesystem::path& p, struct stat* st) {
  UniqueFd pfd(::open(p.c_str(), O_PATH | O_CLOEXEC));
  if (!pfd) return errno_error(p.string(), errno);
  return reopen_regular(std::move(pfd), p.string(), st);
}

Result<std::string> read_fd(int fd, const struct stat& st, uint64_t max_bytes,
                            const std::string& label) {
  auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes)
    return Error::invalid(
        fmt::format("{}: file is {} bytes, more than the {} byte limit", label, size, max_bytes));
  std::string out;
  // procfs and sysfs files say size 0 and have content: read those to their end, at most
  // max_bytes (one byte more is asked for to tell "exactly max" from "more")
  bool sized = size > 0;
  uint64_t cap = max_bytes + 1;
  out.resize(sized ? static_cast<size_t>(size)
                   : static_cast<size_t>(std::min<uint64_t>(cap, 65536)));
  size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (sized) break;  // as large as fstat said: a file that grew meanwhile is read later
      if (got >= cap)
        return Error::invalid(fmt::format("{}: more than the {} byte limit", label, max_bytes));
      out.resize(static_cast<size_t>(std::min<uint64_t>(cap, out.size() * 2)));
    }
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(label, errno);
    }
    if (n == 0) break;  // end (or the file shrank while reading)
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<std::string> read_file(const std::filesystem::path& p, uint64_t max_bytes) {
  struct stat st {};
  auto fd = open_regular(p, &st);
  if (!fd) return fd.error();
  return read_fd(fd->get(), st, max_bytes, p.string());
}

Status read_gzip_fd(UniqueFd fd, const std::string& label, uint64_t max_bytes,
                    const std::function<void(std::string_view)>& sink, bool plain_ok) {
  gzFile gz = gzdopen(fd.get(), "rb");
  if (!gz) return Error::internal(label + ": gzdopen failed");
  fd.release();  // gzclose closes it
  gzbuffer(gz, 1 << 17);
  std::vector<char> buf(1 << 17);
  uint64_t total = 0;
  for (;;) {
    int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(gz, &err);
      gzclose(gz);
      return Error::data_loss(label + ": corrupt gzip data: " + msg);
    }
    if (!plain_ok && gzdirect(gz) == 1) {
      gzclose(gz);
      return Error::data_loss(label + ": not gzip data");
    }
    if (n == 0) {
      // the end — or a stream cut short, which zlib reports only here (a truncated download
      // whose trailer, with its CRC and length, is missing)
      int err = Z_OK;
      std::string msg = gzerror(gz, &err);
      if (err != Z_OK) {
        gzclose(gz);
        return Error::data_loss(label + ": corrupt or truncated gzip data: " + msg);
      }
      break;
    }
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) {
      gzclose(gz);
      return Error::invalid(label + ": decompressed size exceeds limit");
    }
    sink(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  gzclose(gz);
  return ok();
}

Result<std::string> read_gzip_file(const std::filesystem::path& p, uint64_t max_bytes) {
  auto fd = open_regular(p);
  if (!fd) return fd.error();
  std::string out;
  MAMORI_TRY(read_gzip_fd(std::move(*fd), p.string(), max_bytes,
                          [&out](std::string_view b) { out.append(b); }),
             "gzip");
  return out;
}

Result<Snapshot> snapshot_file(const std::filesystem::path& p, uint64_t max_bytes) {
  struct stat st {};
  auto in = open_regular(p, &st);
  if (!in) return in.error();
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Error::invalid(fmt::format("{}: more than {} bytes", p.string(), max_bytes));
  UniqueFd mem(::memfd_create("mamori-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return errno_error("memfd_create", errno);
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in->get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(p.string(), errno);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(mem.get(), buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno_error("memfd", errno);
      off += w;
    }
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) !=
      0)
    return errno_error("memfd seals", errno);
  Snapshot s;
  s.path = fmt::format("/proc/self/fd/{}", mem.get());
  s.fd = std::move(mem);
  return s;
}

std::string temp_path_for(const std::filesystem::path& p) {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r))
    r = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^
        static_cast<uint64_t>(::time(nullptr));
  return fmt::format("{}.tmp.{:016x}", p.string(), r);
}

Status write_file_atomic(const std::filesystem::path& p, std::string_view data, bool private_file) {
  mode_t mode = 0600;
  struct stat target {};
  if (!private_file && ::stat(p.c_str(), &target) == 0 && S_ISREG(target.st_mode))
    mode = target.st_mode & 07777;
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    tmp = temp_path_for(p);
    fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd && errno != EEXIST) return errno_error(tmp, errno);
  }
  if (!fd) return errno_error(tmp, EEXIST);
  auto fail = [&tmp, &p](int e) {
    ::unlink(tmp.c_str());
    return errno_error(p.string(), e);
  };
  if (::fchmod(fd.get(), mode) != 0) return fail(errno);  // the umask does not decide
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(errno);
  if (::close(fd.release()) != 0) return fail(errno);
  if (::rename(tmp.c_str(), p.c_str()) != 0) return fail(errno);
  return ok();
}

std::vector<std::filesystem::path> list_dir(const std::filesystem::path& dir,
                                            std::string_view name_glob) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  if (ec) return out;
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    if (glob_match(name_glob, it->path().filename().string())) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mamori
