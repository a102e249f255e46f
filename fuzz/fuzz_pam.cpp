// PAM service files (from an audited image): parse, then evaluate the stack as the audit does
// ("can authentication succeed when the second factor fails?").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "audit/pam.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto st = mamori::audit::parse_pam_stack(mamori::Root("/nonexistent-mamori-fuzz"), text, "auth",
                                           "/etc/pam.d/sshd");
  if (!st) return 0;
  using mamori::audit::PamOutcome;
  using mamori::audit::PamRule;
  bool mfa_can_fail = mamori::audit::pam_can_succeed(*st, [](const PamRule& r) {
    return mamori::audit::is_mfa_module(r.module_name()) ? PamOutcome::kFail : PamOutcome::kAny;
  });
  // Property: letting every module succeed can only make success easier.
  bool all_ok =
      mamori::audit::pam_can_succeed(*st, [](const PamRule&) { return PamOutcome::kAny; });
  if (mfa_can_fail && !all_ok) __builtin_trap();
  return 0;
}
