#pragma once
// PAM stacks as Linux-PAM builds and runs them, read under a root:
//  - /etc/pam.d/SERVICE lines "type control module [args]", '#' comments, '\' continuations,
//    "[value=action …]" controls and "[bracketed args]";
//  - "@include FILE" (every type), "type include FILE" and "type substack FILE", at most 16
//    deep; a "-type" line only silences PAM's log when its module is missing (kept, marked);
//  - evaluation with libpam's rules (required/requisite/sufficient/optional as their
//    [value=action] forms, ok/done/bad/die/ignore/reset/N jumps, a substack counted as one
//    module whose done/die end only the substack).
// The audit asks the stack questions such as "can authentication succeed when the second
// factor fails?" (pam_can_succeed) instead of pattern-matching module names.
//
// Example:
//   auto st = read_pam_stack(Root("/"), "sshd", "auth");
//   bool mfa_required = !pam_can_succeed(*st, [](const PamRule& r) {
//     return is_mfa_module(r.module) ? PamOutcome::kFail : PamOutcome::kAny; });

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"
#include "core/result.h"

namespace mamori::audit {

struct PamRule {
  std::string type;     // auth, account, password, session
  std::string control;  // "required" or "[success=1 default=ignore]" (raw)
  std::string module;   // "pam_unix.so" or a path
  std::vector<std::string> args;
  std::string file;  // in-root path of the line
  int line = 0;
  bool dash = false;         // "-auth …": PAM does not log when the module is missing
  std::vector<PamRule> sub;  // for a substack: its rules (module is then empty)
  bool substack = false;

  std::string module_name() const;  // "pam_unix" for "/lib/…/pam_unix.so"
  bool has_arg(std::string_view a) const;
  // Value of "key=value" among the arguments ("" when absent).
  std::string arg_value(std::string_view key) const;
};

struct PamStack {
  std::string service;
  std::string type;
  std::vector<PamRule> rules;         // includes inlined; substacks nested
  std::vector<std::string> warnings;  // missing include files and the like
  bool found = false;                 // the service file exists
};

// Reads the stack of one type ("auth") for a service ("sshd"), or of a file such as
// "common-auth" read as if it were a service.
Result<PamStack> read_pam_stack(const Root& root, std::string_view service, std::string_view type);
// Parses one pam.d file's text; includes resolved under root. Exposed for the fuzzer.
Result<PamStack> parse_pam_stack(const Root& root, std::string_view text, std::string_view type,
                                 const std::string& file);

// Every rule of a stack in order, substacks flattened (for "is module X there, with arg Y").
std::vector<const PamRule*> pam_rules_flat(const PamStack& s);

// What a module may return in a scenario.
enum class PamOutcome { kSuccess, kFail, kAny };

// Can the stack end in success when each module returns what `outcome` allows (kAny: success
// or failure, each tried)? pam_deny always fails and pam_permit always succeeds. Combinations
// are tried exhaustively for up to 12 kAny modules; beyond that the rest succeed.
bool pam_can_succeed(const PamStack& s, const std::function<PamOutcome(const PamRule&)>& outcome);

// Modules that ask for a second factor (TOTP, HOTP, U2F/FIDO, Duo, RADIUS/OTP tokens…).
bool is_mfa_module(std::string_view module_name);

}  // namespace mamori::audit
