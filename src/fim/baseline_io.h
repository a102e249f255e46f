#pragma once
// Reading a baseline entry by entry, in order, checking its trailer (internal to the FIM engine).

#include <fstream>
#include <optional>
#include <string>

#include "core/result.h"
#include "fim/internal.h"

namespace mamori::fim::detail {

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

}  // namespace mamori::fim::detail
