// dpkg status file and dpkg.log parsers (files on a possibly compromised host).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = mamori::inventory::parse_dpkg_status(text, "status");
  if (r) {
    for (const auto& p : *r) {
      // Invariants: every package has a name, a version and a source.
      if (p.name.empty() || p.version.empty() || !p.source_name || !p.source_version)
        __builtin_trap();
    }
  }
  std::map<std::string, int64_t> when;
  mamori::inventory::parse_dpkg_log(text, when);
  return 0;
}
