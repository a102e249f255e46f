// Web server configuration (nginx `root`, Apache `DocumentRoot`) is read to find web roots:
// files a web admin or a compromised application may write. No crash, and every root found is
// an absolute, variable-free path without a trailing slash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool nginx : {true, false})
    for (const auto& r : mamori::inventory::document_roots_in_config(text, nginx)) {
      if (r.empty() || r[0] != '/' || r.find('$') != std::string::npos) __builtin_trap();
      if (r.size() > 1 && r.back() == '/') __builtin_trap();
    }
  return 0;
}
