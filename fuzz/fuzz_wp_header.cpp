// WordPress version.php, plugin/theme file headers and readme.txt.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = mamori::inventory::parse_wp_version_php(text);
  if (v.size() > 64) __builtin_trap();
  auto h = mamori::inventory::parse_wp_file_header(text);
  for (const auto& [k, val] : h)
    if (val.size() > 256) __builtin_trap();
  (void)mamori::inventory::parse_wp_readme_stable_tag(text);
  return 0;
}
