// OSV all.zip archives come from the network: the zip reader (libarchive's seekable zip, the
// central directory first, every entry's CRC) must never crash, whatever the bytes — and a
// truncated archive must never pass: every prefix of an archive is refused, or (if the prefix
// happens to be a complete archive of its own) yields no more records than the whole.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vuln/importers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mamori::vuln::BuildState whole;
  mamori::vuln::SourceInfo src;
  bool ok = mamori::vuln::import_zip_bytes(whole, bytes, "all.zip", src).has_value();
  for (const auto& a : whole.advisories)
    if (a.id.empty() || a.affected.empty()) __builtin_trap();
  for (size_t cut : {size / 2, size > 22 ? size - 22 : 0, size > 1 ? size - 1 : 0}) {
    if (cut == 0 || cut >= size) continue;
    mamori::vuln::BuildState part;
    mamori::vuln::SourceInfo psrc;
    bool pok =
        mamori::vuln::import_zip_bytes(part, bytes.substr(0, cut), "cut.zip", psrc).has_value();
    if (ok && pok && psrc.records > src.records) __builtin_trap();
  }
  return 0;
}
