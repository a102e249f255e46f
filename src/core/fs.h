#pragma once
// File access for collectors. Every collector reads "under a root" so the same
// code audits this host (root "/"), a mounted image or a fixture tree. Reads
// are size-bounded: a hostile or corrupted file must not exhaust memory.
//
// Example:
//   Root root("/mnt/image");
//   auto text = read_file(root.path("/var/lib/dpkg/status"), 256 << 20);
//   if (!text) report(text.error().message);  // "…/status: No such file or directory"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori {

class Root {
 public:
  explicit Root(std::filesystem::path dir = "/") : dir_(std::move(dir)) {}
  // Absolute in-image path ("/etc/os-release") → path on this host.
  std::filesystem::path path(std::string_view abs) const;
  // Path on this host → in-image absolute path (for reports); unchanged if outside the root.
  std::string display(const std::filesystem::path& host_path) const;
  const std::filesystem::path& dir() const { return dir_; }
  bool is_host() const { return dir_ == "/"; }

 private:
  std::filesystem::path dir_;
};

inline constexpr uint64_t kMaxTextFile = 256ull << 20;

// Where Mamori keeps its state (store, vulnerability database, keys): $MAMORI_STATE_DIR if
// set, else /var/lib/mamori as root, else $XDG_DATA_HOME/mamori (~/.local/share/mamori).
std::string state_dir();

// Whole file, at most max_bytes (larger files are an InvalidArgument error naming the file).
Result<std::string> read_file(const std::filesystem::path& p, uint64_t max_bytes = kMaxTextFile);
// Whole gzip file (decompressed size bounded by max_bytes).
Result<std::string> read_gzip_file(const std::filesystem::path& p,
                                   uint64_t max_bytes = kMaxTextFile);

// Atomic write: temp file in the same directory, fsync, rename.
Status write_file_atomic(const std::filesystem::path& p, std::string_view data);

// Directory entries matching a glob on the name (sorted); empty when the directory is missing.
std::vector<std::filesystem::path> list_dir(const std::filesystem::path& dir,
                                            std::string_view name_glob = "*");

}  // namespace mamori
