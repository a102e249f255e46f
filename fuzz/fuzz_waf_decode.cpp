// Every SecLang transformation and the SQL / HTML detectors on arbitrary bytes (what an
// attacker puts in an argument). Properties: each decoder is total and bounded (its output is
// at most a small multiple of its input); when unchanged() says a transformation leaves the
// input as it is, it does (the engine keeps a view instead of the result); the detectors
// terminate.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "waf/detect.h"
#include "waf/transform.h"

using namespace mamori::waf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int t = 0; t <= static_cast<int>(Transform::kParityZero7bit); ++t) {
    std::string o = apply(static_cast<Transform>(t), in);
    if (o.size() > 3 * size + 64) std::abort();
    if (unchanged(static_cast<Transform>(t), in) && o != in) std::abort();
  }
  std::string fp;
  (void)detect_sqli(in, &fp);
  (void)detect_xss(in);
  return 0;
}
