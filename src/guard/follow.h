#pragma once
// Following a log file the way `tail -F` does: new bytes as they are appended; when the file is
// rotated (renamed and recreated: another inode) or truncated (copytruncate: smaller than what
// was read), what is left of the old file is read to its end and the new one from its start.
//
// Example:
//   FileFollower f("/var/log/auth.log", /*from_start=*/false);
//   for (;;) { f.poll([&](std::string_view bytes) { parser.feed(bytes); }); sleep… }

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.h"

namespace mamori::guard {

// The rotations of a log that may hold lines written at or after `since` (unix seconds):
// PATH.1, PATH.2.gz…, and dateext's PATH-20240506[.gz], those modified at or after `since`,
// oldest first (their modification time is their last line's).
std::vector<std::string> rotated_logs(const std::string& path, int64_t since);

class FileFollower {
 public:
  FileFollower(std::string path, bool from_start);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Reads what is new; returns the bytes delivered. A missing file is not an error (it may
  // be between rotation and recreation): nothing is delivered until it appears.
  uint64_t poll(const std::function<void(std::string_view)>& sink);
  const std::string& path() const { return path_; }
  uint64_t rotations() const { return rotations_; }

 private:
  bool open_file(bool at_end);
  uint64_t drain(const std::function<void(std::string_view)>& sink);
  std::string path_;
  UniqueFd fd_;
  ino_t inode_ = 0;
  dev_t dev_ = 0;
  uint64_t offset_ = 0;
  int64_t mtime_ns_ = 0;  // of the file when last read to its end
  uint64_t rotations_ = 0;
  bool from_start_;
};

}  // namespace mamori::guard
