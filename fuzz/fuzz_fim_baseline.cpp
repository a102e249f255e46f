// FIM baseline lines: a baseline may be damaged or tampered with (its signature is checked
// first, but the reader must still never crash on garbage). Property: whatever parses is
// written back (format_baseline_entry) to a line that parses to the same entry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fim/fim.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0, n = 0;
  while (pos <= text.size() && n < 64) {
    size_t nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    auto e = mamori::fim::parse_baseline_entry(line, ++n, "baseline");
    if (e && (e->path.empty() || e->path[0] != '/')) __builtin_trap();
    if (e) {
      // What was read writes back to a line that reads as the same entry.
      std::string again = mamori::fim::format_baseline_entry(*e);
      auto back = mamori::fim::parse_baseline_entry(
          std::string_view(again).substr(0, again.size() - 1), n, "baseline");
      if (!back || back->path != e->path || back->target != e->target ||
          back->xattrs != e->xattrs || back->hash != e->hash || back->mode != e->mode ||
          back->size != e->size || back->mtime_ns != e->mtime_ns || back->type != e->type ||
          mamori::fim::format_baseline_entry(*back) != again)
        __builtin_trap();
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return 0;
}
