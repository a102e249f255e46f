// Alpine lib/apk/db/installed parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = mamori::inventory::parse_apk_installed(text, "installed");
  if (r)
    for (const auto& p : *r)
      if (p.name.empty() || p.version.empty()) __builtin_trap();
  return 0;
}
