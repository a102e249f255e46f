// Version comparators: any input must compare without crashing, and the order must be
// antisymmetric and reflexive (a broken order silently mis-matches vulnerabilities).
// PHP's version_compare is exempt from the order checks: PHP itself is not reflexive
// (version_compare("2.", "2.") is -1), and Mamori follows PHP exactly.
// Input: first byte picks the scheme, the rest is "A\nB".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vuln/version.h"

using mamori::vuln::Scheme;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 512) return 0;
  auto scheme = static_cast<Scheme>(data[0] % 6);
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t nl = rest.find('\n');
  std::string_view a = rest.substr(0, nl);
  std::string_view b = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  auto ab = mamori::vuln::compare_versions(scheme, a, b);
  auto ba = mamori::vuln::compare_versions(scheme, b, a);
  if (ab.has_value() != ba.has_value()) __builtin_trap();
  if (ab && scheme != Scheme::kPhp) {
    int x = (*ab > 0) - (*ab < 0), y = (*ba > 0) - (*ba < 0);
    if (x != -y) __builtin_trap();
    auto aa = mamori::vuln::compare_versions(scheme, a, a);
    if (aa && *aa != 0) __builtin_trap();
  }
  return 0;
}
