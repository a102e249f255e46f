#include "audit/audit.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "audit/context.h"
#include "audit/firewall.h"
#include "audit/pam.h"
#include "audit/sshd.h"
#include "core/enum_names.h"
#include "core/text.h"
#include "inventory/checks.h"
#include "inventory/inventory.h"
#include "inventory/listeners.h"
#include "inventory/parsers.h"
#include "vuln/version.h"
#include "vuln/vuln.h"

namespace mamori::audit {

using namespace detail;

constexpr Named<CheckResult> kResultNames[] = {{CheckResult::kPass, "pass"},
                                               {CheckResult::kFail, "fail"},
                                               {CheckResult::kInfo, "info"},
                                               {CheckResult::kSkipped, "skipped"}};
static_assert(names_cover(kResultNames, CheckResult::kSkipped));

std::string_view result_name(CheckResult r) { return name_in(kResultNames, r, "?"); }

std::vector<Finding> AuditReport::findings() const {
  std::vector<Finding> out;
  for (const auto& c : checks)
    for (const auto& f : c.findings) out.push_back(f);
  return out;
}

HashInfo classify_hash(std::string_view f) {
  HashInfo h;
  if (f.empty()) return {"empty", true, "no password at all"};
  if (f[0] == '!' || f[0] == '*') return {"locked", false, ""};
  auto rounds = [&](std::string_view rest) -> long {
    if (!rest.starts_with("rounds=")) return -1;
    rest.remove_prefix(7);
    long v = 0;
    for (char c : rest) {
      if (c == '$') break;
      if (c < '0' || c > '9' || v > 100000000) return 0;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (f.starts_with("$1$") || f.starts_with("$apr1$"))
    return {"md5", true, "MD5-crypt is cracked at billions of guesses per second"};
  if (f.starts_with("$3$")) return {"nt", true, "NT hash: unsalted MD4"};
  if (f.starts_with("$5$") || f.starts_with("$6$")) {
    bool is256 = f[1] == '5';
    long r = rounds(f.substr(3));
    std::string name = is256 ? "sha256" : "sha512";
    if (r >= 0 && r < 5000)
      return {name, true, fmt::format("SHA-crypt with only {} rounds (default 5000)", r)};
    return {name, false, ""};
  }
  if (f.starts_with("$2a$") || f.starts_with("$2b$") || f.starts_with("$2y$")) {
    int cost = f.size() > 6 && std::isdigit(static_cast<unsigned char>(f[4])) &&
                       std::isdigit(static_cast<unsigned char>(f[5]))
                   ? (f[4] - '0') * 10 + (f[5] - '0')
                   : 0;
    if (cost < 10) return {"bcrypt", true, fmt::format("bcrypt with cost {} (< 10)", cost)};
    return {"bcrypt", false, ""};
  }
  if (f.starts_with("$y$")) return {"yescrypt", false, ""};
  if (f.starts_with("$gy$")) return {"gost-yescrypt", false, ""};
  if (f.starts_with("$7$")) return {"scrypt", false, ""};
  if (f.size() == 13 && f[0] != '$') return {"des", true, "DES-crypt: 8 characters, 56-bit keys"};
  if (f[0] != '$') return {"unknown", true, "not a crypt(3) hash: cannot be a valid password"};
  return {"unknown", false, ""};
}

Result<AuditReport> run_audit(const Root& root, const AuditOptions& opts) {
  AuditReport rep;
  Ctx x(rep);
  MAMORI_TRY(collect_facts(root, opts, x), "audit");
  exposure_checks(x);
  ssh_checks(x);
  key_checks(x);
  pam_checks(x);
  lockout_check(x);
  package_checks(x);
  firewall_check(x);
  // In the table's order, every row once: the table is what `audit --checks` lists.
  for (const auto& info : check_table())
    for (auto& c : x.checks)
      if (c.id == info.id) rep.checks.push_back(std::move(c));
  if (rep.checks.size() != check_table().size() || x.checks.size() != rep.checks.size()) {
    std::string missing;
    for (const auto& info : check_table())
      if (std::none_of(rep.checks.begin(), rep.checks.end(),
                       [&](const Check& c) { return c.id == info.id; }))
        missing += (missing.empty() ? "" : ", ") + std::string(info.id);
    return Error::internal(
        "audit: the checks run are not the table's rows (not evaluated on this tree: " +
        (missing.empty() ? std::string("none; one was added twice") : missing) +
        "; a check group returned before adding them)");
  }
  return rep;
}

}  // namespace mamori::audit
