// Vulnerability feed readers (OSV JSON / JSON lines, KEV, EPSS CSV, FriendsOfPHP, WordPress):
// files downloaded from the network are untrusted input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vuln/importers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mamori::vuln::BuildState st;
  mamori::vuln::SourceInfo src;
  auto f = mamori::vuln::detect_format("input", text);
  (void)mamori::vuln::import_text(st, f, "input", text, src);
  mamori::vuln::SourceInfo src2;
  (void)mamori::vuln::import_osv_record(st, "record", text, src2);
  for (const auto& a : st.advisories)
    if (a.id.empty() || a.affected.empty()) __builtin_trap();
  return 0;
}
