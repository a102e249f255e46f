// fanotify event buffers: packed, variable-length records with nested info records and file
// handles. The decoder must stay inside the buffer whatever the lengths say, and never read a
// field through a misaligned pointer (UBSan checks that here).
#include <cstddef>
#include <cstdint>

#include "fim/internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t events = 0;
  mamori::fim::detail::decode_fanotify(reinterpret_cast<const char*>(data), size,
                                       [&](const mamori::fim::detail::FanEvent& ev) {
                                         ++events;
                                         if (ev.key.size() > size || ev.name.size() > size)
                                           __builtin_trap();
                                       });
  if (events > size / 24 + 1) __builtin_trap();  // each record is at least 24 bytes
  return 0;
}
