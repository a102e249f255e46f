// sshd_config text (from an audited image it is attacker-controlled): the reader must give an
// error or a configuration, never crash; effective() must hold for any connection.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/sshd.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Includes resolve under a root that does not exist: only this text is read.
  auto cfg = mamori::audit::parse_sshd_config(mamori::Root("/nonexistent-mamori-fuzz"), text);
  if (!cfg) return 0;
  mamori::audit::SshConnection c;
  c.user = "root";
  c.addr = "10.1.2.3";
  c.host = "h";
  auto g = cfg->effective();
  auto m = cfg->effective(&c);
  if (g.count("passwordauthentication") != 1 || m.count("permitrootlogin") != 1) __builtin_trap();
  for (const auto& b : cfg->matches) (void)mamori::audit::ssh_match(b.criteria, c);
  return 0;
}
