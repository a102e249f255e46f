// FIM policy files are written by operators and recorded inside baselines (which may be
// tampered with). Properties: never crash; an accepted policy round-trips through to_toml()
// unchanged; path queries are safe on any policy; baseline headers never crash either.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fim/fim.h"
#include "fim/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto p = mamori::fim::parse_policy(text, "fuzz.toml");
  if (p) {
    std::string once = p->to_toml();
    auto again = mamori::fim::parse_policy(once, "effective");
    if (!again || again->to_toml() != once) __builtin_trap();
    for (const auto& webroots : {std::vector<std::string>{}, std::vector<std::string>{"/srv"}}) {
      auto resolved = *p;
      resolved.resolve(mamori::Root("/nonexistent-root"), webroots);
      std::string text = resolved.to_toml();
      auto back = mamori::fim::parse_policy(text, "resolved");
      if (!back || back->to_toml() != text) __builtin_trap();
    }
    for (std::string_view path : {"/", "/etc/passwd", "/var/www/a/uploads/x.php", "/srv/tmp/x"}) {
      (void)p->rule_for(path);
      (void)p->excluded(path);
      (void)p->alert_for(path, mamori::fim::kOnAdded);
    }
  }
  std::string header = "#mamori-fim-baseline v1 " + std::string(text.substr(0, 4096));
  (void)mamori::fim::parse_baseline_header(header, "baseline");
  return 0;
}
