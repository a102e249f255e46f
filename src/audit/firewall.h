#pragma once
// Is a listening port reachable from outside? The nftables ruleset as `nft list ruleset`
// prints it (iptables-nft rules included), evaluated for a NEW connection from an arbitrary
// outside address on a non-loopback interface:
//  - every base chain on the input hook of an ip/ip6/inet table must accept it (each one is
//    evaluated; jump/goto followed, 16 deep); a chain's end applies its policy;
//  - matches understood: ct state, iif/iifname "lo", ip/ip6 saddr (prefix, set, @named set,
//    !=), tcp/udp/th dport (number, service name, range, set, !=), meta l4proto / ip protocol;
//    anything else (limit, meters…) is taken as "may match" — the answer errs toward open;
//  - the answer: open to all, open to some sources (which), closed, or unknown.
//
// Example:
//   auto rs = parse_nft_ruleset(text);
//   Reach r = reachable(*rs, "tcp", 22, false);   // r.kind == Reach::kRestricted, r.sources …

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::audit {

struct NftRule {
  std::vector<std::string> words;  // tokens; "{ a, b }" is one token
  int line = 0;
};

struct NftChain {
  std::string family, table, name;
  std::string hook;    // "input" for base chains on the input hook, "" for regular chains
  std::string policy;  // "accept" (default) or "drop"
  std::vector<NftRule> rules;
};

struct NftRuleset {
  std::vector<NftChain> chains;
  bool empty() const { return chains.empty(); }
  // Base chains on the input hook that drop by default (policy drop, or ending with an
  // unconditional drop/reject).
  std::vector<const NftChain*> filtering_input_chains() const;
};

Result<NftRuleset> parse_nft_ruleset(std::string_view text);

struct Reach {
  enum Kind { kOpen, kRestricted, kClosed } kind = kOpen;
  std::vector<std::string> sources;  // kRestricted: the source prefixes/sets let in
  std::string why;                   // "no input filtering", "policy drop in inet filter input"…
};

// proto "tcp" or "udp"; ipv6 selects ip6/inet tables (else ip/inet).
Reach reachable(const NftRuleset& rs, std::string_view proto, int port, bool ipv6);

}  // namespace mamori::audit
