// /proc/net/{tcp,udp}[6] tables (from a mounted image they are just files).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inventory/listeners.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr const char* kProto[] = {"tcp", "tcp6", "udp", "udp6"};
  for (const auto& l : mamori::inventory::parse_proc_net(text, kProto[data[0] % 4]))
    if (l.address.empty() || l.port < 0 || l.port > 0xFFFF) __builtin_trap();
  return 0;
}
