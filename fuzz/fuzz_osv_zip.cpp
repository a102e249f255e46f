// OSV all.zip archives come from the network: the zip reader (libarchive's seekable zip, the
// central directory first, every entry's CRC) must never crash, whatever the bytes, and never
// keep a record without an id or an affected package — for the whole input and for prefixes of
// it (truncated downloads). (A prefix of a crafted file may itself be a complete archive, so
// that it is refused is the unit tests' business, on real archives.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vuln/importers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (size_t cut : {size, size / 2, size > 22 ? size - 22 : 0, size > 1 ? size - 1 : 0}) {
    if (cut == 0) continue;
    mamori::vuln::BuildState st;
    mamori::vuln::SourceInfo src;
    (void)mamori::vuln::import_zip_bytes(st, bytes.substr(0, cut), "all.zip", src);
    for (const auto& a : st.advisories)
      if (a.id.empty() || a.affected.empty()) __builtin_trap();
  }
  return 0;
}
