// Alpine's installed database, lib/apk/db/installed: one record per package,
// "K:value" lines, records separated by blank lines (apk-tools' database format).
#include <fmt/format.h>

#include "core/text.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

Result<std::vector<Package>> parse_apk_installed(std::string_view text, std::string_view label) {
  std::vector<Package> out;
  Package cur;
  size_t rec_line = 0;
  size_t lineno = 0;
  auto flush = [&]() -> Status {
    if (rec_line == 0) return ok();
    if (cur.name.empty() || cur.version.empty())
      return Error::invalid(fmt::format("{}:{}: record has no {} (file truncated?)", label,
                                        rec_line, cur.name.empty() ? "P: (name)" : "V: (version)"));
    cur.ecosystem = kApk;
    cur.location = std::string(label);
    if (!cur.source_name) cur.source_name = cur.name;
    cur.source_version = cur.version;
    out.push_back(std::move(cur));
    cur = Package{};
    rec_line = 0;
    return ok();
  };
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    ++lineno;
    if (line.size() > kMaxFieldBytes)
      return Error::invalid(
          fmt::format("{}:{}: line is longer than {} bytes", label, lineno, kMaxFieldBytes));
    if (line.empty()) {
      MAMORI_TRY(flush(), "apk database");
      continue;
    }
    if (line.size() < 2 || line[1] != ':' || static_cast<unsigned char>(line[0]) <= 0x20 ||
        static_cast<unsigned char>(line[0]) >= 0x7F || line.find('\0') != std::string_view::npos)
      return Error::invalid(fmt::format("{}:{}: expected 'K:value', got '{}'", label, lineno,
                                        sanitize(line.substr(0, 80))));
    if (rec_line == 0) rec_line = lineno;
    std::string_view v = line.substr(2);
    switch (line[0]) {
      case 'P':
        cur.name = std::string(v);
        break;
      case 'V':
        cur.version = std::string(v);
        break;
      case 'A':
        cur.arch = std::string(v);
        break;
      case 'o':
        cur.source_name = std::string(v);
        break;
      default:
        break;
    }
  }
  MAMORI_TRY(flush(), "apk database");
  return out;
}

}  // namespace mamori::inventory
