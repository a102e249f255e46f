#include "guard/follow.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace mamori::guard {

FileFollower::FileFollower(std::string path, bool from_start)
    : path_(std::move(path)), from_start_(from_start) {}

FileFollower::~FileFollower() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileFollower::open_file(bool at_end) {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  inode_ = st.st_ino;
  dev_ = st.st_dev;
  offset_ = at_end ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

uint64_t FileFollower::drain(const std::function<void(std::string_view)>& sink) {
  static thread_local std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    offset_ += static_cast<uint64_t>(n);
    total += static_cast<uint64_t>(n);
    sink(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  return total;
}

uint64_t FileFollower::poll(const std::function<void(std::string_view)>& sink) {
  if (fd_ < 0) {
    // The first time, start at the end unless asked otherwise; a file that appears later
    // (recreated after rotation) is read from its start.
    bool at_end = first_ && !from_start_;
    first_ = false;
    if (!open_file(at_end)) return 0;
  }
  uint64_t got = drain(sink);
  struct stat now {};
  if (::stat(path_.c_str(), &now) != 0) return got;  // rotated away, not recreated yet
  struct stat cur {};
  ::fstat(fd_, &cur);
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
  if (::fstat(fd_, &cur) == 0) mtime_ns_ = mtime(cur);
  return got;
}

}  // namespace mamori::guard
