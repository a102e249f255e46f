#include "guard/follow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <vector>

#include "core/fs.h"

namespace mamori::guard {

std::vector<std::string> rotated_logs(const std::string& path, int64_t since) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::string base = p.filename().string();
  fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::vector<std::pair<int64_t, std::string>> found;  // (mtime ns, path)
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= base.size() + 1 || name.compare(0, base.size(), base) != 0) continue;
    std::string_view rest = std::string_view(name).substr(base.size());
    char sep = rest[0];
    rest.remove_prefix(1);
    if (rest.ends_with(".gz")) rest.remove_suffix(3);
    bool digits = !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos;
    // ".N" (logrotate's numbers) or "-YYYYMMDD" (dateext)
    if (!digits || (sep == '.' ? rest.size() > 4 : sep != '-' || rest.size() != 8)) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_mtime < since) continue;
    found.emplace_back(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                       it->path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [t, f] : found) out.push_back(std::move(f));
  return out;
}

FileFollower::FileFollower(std::string path, bool from_start)
    : path_(std::move(path)), from_start_(from_start) {
  // Opened now, not at the first poll: a caller that announces readiness after constructing
  // must not lose the lines written between that announcement and the first poll.
  open_file(!from_start_);
}

FileFollower::~FileFollower() = default;

bool FileFollower::open_file(bool at_end) {
  // a regular file only (a FIFO or device where the log was is never opened)
  struct stat st {};
  auto opened = open_regular(path_, &st);
  if (!opened) return false;
  fd_ = std::move(*opened);
  inode_ = st.st_ino;
  dev_ = st.st_dev;
  offset_ = at_end ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

uint64_t FileFollower::drain(const std::function<void(std::string_view)>& sink) {
  static thread_local std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::pread(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    offset_ += static_cast<uint64_t>(n);
    total += static_cast<uint64_t>(n);
    sink(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return total;
}

uint64_t FileFollower::poll(const std::function<void(std::string_view)>& sink) {
  if (!fd_) {
    // Missing when constructed (or between rotation and recreation): a file that appears
    // later is new, and read from its start.
    if (!open_file(false)) return 0;
  }
  uint64_t got = drain(sink);
  struct stat now {};
  if (::stat(path_.c_str(), &now) != 0) return got;  // rotated away, not recreated yet
  struct stat cur {};
  ::fstat(fd_.get(), &cur);
  auto mtime = [](const struct stat& s) {
    return static_cast<int64_t>(s.st_mtim.tv_sec) * 1000000000 + s.st_mtim.tv_nsec;
  };
  if (now.st_ino != inode_ || now.st_dev != dev_) {
    got += drain(sink);  // the rest of the old file
    ++rotations_;
    if (open_file(false)) got += drain(sink);
  } else if (static_cast<uint64_t>(cur.st_size) < offset_ ||
             (got == 0 && mtime_ns_ != 0 && mtime(cur) != mtime_ns_ &&
              static_cast<uint64_t>(cur.st_size) <= offset_)) {
    // Truncated in place (copytruncate) — also when rewritten back to the size already read:
    // an append-only log changes its mtime only by growing.
    ++rotations_;
    offset_ = 0;
    got += drain(sink);
  }
  if (::fstat(fd_.get(), &cur) == 0) mtime_ns_ = mtime(cur);
  return got;
}

}  // namespace mamori::guard
