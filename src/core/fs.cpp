#include "core/fs.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "core/text.h"

namespace mamori {

std::filesystem::path Root::path(std::string_view abs) const {
  std::string_view rel = abs;
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  return dir_ / std::filesystem::path(rel);
}

std::string Root::display(const std::filesystem::path& host_path) const {
  if (is_host()) return host_path.string();
  auto rel = host_path.lexically_relative(dir_);
  if (rel.empty() || rel.native().starts_with("..")) return host_path.string();
  return "/" + rel.string();
}

std::string state_dir() {
  if (const char* d = std::getenv("MAMORI_STATE_DIR"); d && *d) return d;
  if (::geteuid() == 0) return "/var/lib/mamori";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/mamori";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/mamori";
}

Result<std::string> read_file(const std::filesystem::path& p, uint64_t max_bytes) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return errno_error(p.string(), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error(p.string(), e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error::invalid(p.string() + ": not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Error::invalid(fmt::format("{}: file is {} bytes, more than the {} byte limit",
                                      p.string(), static_cast<uint64_t>(st.st_size), max_bytes));
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return errno_error(p.string(), e);
    }
    if (n == 0) break;  // file shrank while reading
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

Result<std::string> read_gzip_file(const std::filesystem::path& p, uint64_t max_bytes) {
  gzFile gz = gzopen(p.c_str(), "rb");
  if (!gz) return errno_error(p.string(), errno ? errno : EIO);
  std::string out;
  char buf[65536];
  for (;;) {
    int n = gzread(gz, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(gz, &err);
      gzclose(gz);
      return Error::data_loss(p.string() + ": corrupt gzip data: " + msg);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      gzclose(gz);
      return Error::invalid(p.string() + ": decompressed size exceeds limit");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  gzclose(gz);
  return out;
}

Status write_file_atomic(const std::filesystem::path& p, std::string_view data) {
  std::string tmp = p.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(tmp, errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errno_error(p.string(), e);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error(p.string(), e);
  }
  if (::rename(tmp.c_str(), p.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return errno_error(p.string(), e);
  }
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
