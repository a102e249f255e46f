// `nft list ruleset` text (from a snapshot in an audited image): parse and evaluate.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/firewall.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rs = mamori::audit::parse_nft_ruleset(text);
  if (!rs) return 0;
  (void)rs->filtering_input_chains();
  for (int port : {22, 3389, 5900})
    for (bool v6 : {false, true}) {
      auto r = mamori::audit::reachable(*rs, "tcp", port, v6);
      if (r.kind == mamori::audit::Reach::kRestricted && r.sources.empty()) __builtin_trap();
    }
  return 0;
}
