// Auth log bytes (attacker-controlled user names end up in them): parse in two different
// splits — the events must not depend on how the bytes arrive — then run the detection.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "guard/authlog.h"
#include "guard/detect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  mamori::guard::AuthLogParser whole(2024), pieces(2024);
  whole.feed(text);
  whole.finish();
  for (size_t i = 0; i < text.size(); i += 13) pieces.feed(text.substr(i, 13));
  pieces.finish();
  if (whole.events().size() != pieces.events().size() || whole.lines() != pieces.lines())
    __builtin_trap();
  for (size_t i = 0; i < whole.events().size(); ++i)
    if (whole.events()[i].ts != pieces.events()[i].ts ||
        !(whole.events()[i].ip == pieces.events()[i].ip))
      __builtin_trap();
  auto found = mamori::guard::detect(whole.events(), {}, [&](uint32_t u) { return whole.user(u); });
  for (const auto& a : found)
    if (a.address.empty() || a.failures == 0) __builtin_trap();
  return 0;
}
