// composer.lock, package-lock.json and Python METADATA readers. The first byte picks one.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)mamori::inventory::parse_composer_lock(text, "composer.lock");
      break;
    case 1:
      (void)mamori::inventory::parse_package_lock(text, "package-lock.json");
      break;
    default:
      (void)mamori::inventory::parse_python_metadata(text, "METADATA");
      break;
  }
  return 0;
}
