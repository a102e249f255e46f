// /etc/os-release parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto os = mamori::inventory::parse_os_release(text);
  if (os.found && os.id.empty()) __builtin_trap();
  return 0;
}
