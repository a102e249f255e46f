// RPM header blobs from rpmdb.sqlite.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view blob(reinterpret_cast<const char*>(data), size);
  auto r = mamori::inventory::parse_rpm_header(blob, "hnum 1");
  if (r && (r->name.empty() || r->version.empty())) __builtin_trap();
  return 0;
}
