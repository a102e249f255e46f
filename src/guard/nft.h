#pragma once
// Bans in nftables, in a table of their own (never the operator's ruleset):
//   table inet mamori_guard {
//     set ban4 { type ipv4_addr; flags interval, timeout; }   // addresses and prefixes
//     set ban6 { type ipv6_addr; flags interval, timeout; }
//     chain input { type filter hook input priority filter - 10; policy accept;
//                   ip saddr @ban4 counter drop; ip6 saddr @ban6 counter drop }
//   }
// Elements carry their timeout: the kernel lifts a ban by itself even if mamori is gone.
// Commands go to the `nft` program on stdin (nftables is GPL; Mamori is Apache-2.0, so it is
// run, not linked); every address is parsed before it is written into a command.
//
// Example:
//   NftBans fw;
//   MAMORI_TRY(fw.ensure(), "guard");
//   MAMORI_TRY(fw.ban({{"198.18.0.1", 3600}}), "guard");

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace mamori::guard {

// "198.18.0.1" or "198.19.7.0/24" or "2001:db8::/64" in canonical form; error otherwise.
Result<std::string> canonical_element(const std::string& addr_or_prefix, bool& v6);

class Allowlist;

class NftBans {
 public:
  // `allow`: the last line of defence — no element that check_ban (allow.h) refuses is ever
  // written, whatever path asked for it (a detection, the store, an operator).
  explicit NftBans(std::string nft = "nft", const Allowlist* allow = nullptr)
      : nft_(std::move(nft)), allow_(allow) {}
  void set_allowlist(const Allowlist* allow) { allow_ = allow; }
  // Creates the table, sets and chain when missing; keeps the elements already there.
  Status ensure();
  // Adds (or refreshes) elements with their timeouts in one transaction; when that fails
  // (an address inside a banned prefix, say), one by one, the failures returned as warnings.
  // Elements check_ban refuses (too wide, allowlisted) are never written: warnings too.
  Result<std::vector<std::string>> ban(const std::vector<std::pair<std::string, int64_t>>& bans);
  // Removes an element (absent: no error).
  Status unban(const std::string& addr_or_prefix);
  // Current elements and the seconds left on each.
  Result<std::vector<std::pair<std::string, int64_t>>> list();

 private:
  Result<std::string> run(const std::string& script, const std::vector<std::string>& args = {});
  std::string nft_;
  const Allowlist* allow_;
};

}  // namespace mamori::guard
