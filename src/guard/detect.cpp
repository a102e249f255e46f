#include "guard/detect.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/enum_names.h"

namespace mamori::guard {

namespace {

using K = AttackKind::Value;
constexpr Named<K> kKindNames[] = {{K::kGuessed, "guessed"},
                                   {K::kSpraying, "spraying"},
                                   {K::kBurst, "burst"},
                                   {K::kDistributed, "distributed"},
                                   {K::kSlow, "slow"}};
static_assert(names_cover(kKindNames, K::kSlow));

}  // namespace

std::string_view AttackKind::name() const { return name_in(kKindNames, v_, "unknown"); }

std::optional<AttackKind> AttackKind::parse(std::string_view name) {
  if (auto v = parse_in(kKindNames, name)) return AttackKind(*v);
  return std::nullopt;
}

namespace {

struct FailEv {
  int64_t ts;
  uint32_t user;
  bool valid;
};

struct PerIp {
  Ip ip;
  std::vector<int64_t> fails, successes;  // every failure (reported counts, grouping), logins
  std::vector<uint32_t> success_users;
  std::vector<FailEv> fail_ev;
  std::unordered_map<uint32_t, uint32_t> users;  // user → failures
  // Failures not corrected by a login of the same user from the same address soon after: an
  // office behind one address where people mistype and then log in is not guessing passwords.
  std::vector<int64_t> open;
  std::unordered_map<uint32_t, uint32_t> open_users;
  std::unordered_set<uint32_t> open_valid_users;  // users that exist (not "invalid user")
  unsigned services = 0;                          // bit per Service with a failure
  // Requests the WAF blocked: attacks on the site, not passwords. They count only towards a
  // burst (a WAF's false alarms from an office behind one address must not add up over a day
  // or across a prefix), and never correct or confirm a login.
  std::vector<int64_t> waf;
  bool flagged = false;
};

// Largest number of timestamps inside any window of `w` seconds (ts sorted).
size_t max_in_window(const std::vector<int64_t>& ts, int64_t w) {
  size_t best = 0, j = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    while (ts[i] - ts[j] >= w) ++j;
    best = std::max(best, i - j + 1);
  }
  return best;
}

struct Prefix {
  unsigned char b[16] = {};
  int bits = 0;
  bool operator<(const Prefix& o) const {
    int c = std::memcmp(b, o.b, 16);
    return c < 0 || (c == 0 && bits < o.bits);
  }
};

Prefix prefix_of(const Ip& ip, int bits) {  // bits over the 128-bit (mapped) address
  Prefix p;
  p.bits = bits;
  std::memcpy(p.b, masked(ip, bits).b, 16);
  return p;
}

std::string prefix_str(const Prefix& p, bool v4) {
  Ip ip;
  std::memcpy(ip.b, p.b, 16);
  ip.v4 = v4;
  return fmt::format("{}/{}", ip.str(), v4 ? p.bits - 96 : p.bits);
}

std::vector<std::string> top_users(const PerIp& s,
                                   const std::function<std::string(uint32_t)>& name) {
  std::vector<std::pair<uint32_t, uint32_t>> v(s.users.begin(), s.users.end());
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size() && out.size() < 20; ++i)
    if (std::string n = name(v[i].first); !n.empty()) out.push_back(std::move(n));  // web, VNC
  return out;
}

std::vector<std::string> service_names(unsigned bits) {
  std::vector<std::string> out;
  for (int i = 0; i < kServices; ++i)
    if (bits & (1u << i)) out.emplace_back(service_name(static_cast<Service>(i)));
  return out;
}

Attacker single(const PerIp& s, AttackKind kind, const std::function<std::string(uint32_t)>& name) {
  Attacker a;
  a.address = s.ip.str();
  a.kind = kind;
  a.failures = s.fails.size() + s.waf.size();
  int64_t first = INT64_MAX, last = 0;
  for (const auto* v : {&s.fails, &s.waf})
    if (!v->empty()) first = std::min(first, v->front()), last = std::max(last, v->back());
  a.first_seen = last ? first : 0;
  a.last_seen = last;
  a.usernames = top_users(s, name);
  a.services = service_names(s.services);
  return a;
}

Attacker group(const std::vector<PerIp*>& members, std::string address,
               const std::function<std::string(uint32_t)>& name) {
  Attacker a;
  a.address = std::move(address);
  a.kind = AttackKind::kDistributed;
  a.first_seen = INT64_MAX;
  std::unordered_map<uint32_t, uint32_t> users;
  unsigned services = 0;
  for (const PerIp* m : members) {
    services |= m->services;
    a.failures += m->fails.size();
    a.first_seen = std::min(a.first_seen, m->fails.front());
    a.last_seen = std::max(a.last_seen, m->fails.back());
    a.addresses.push_back(m->ip.str());
    for (auto& [u, n] : m->users) users[u] += n;
  }
  PerIp all;
  all.users = std::move(users);
  a.usernames = top_users(all, name);
  a.services = service_names(services);
  return a;
}

}  // namespace

std::vector<std::string> ban_targets(const Attacker& a) {
  if (a.addresses.empty() || a.address.find('/') != std::string::npos) return {a.address};
  return a.addresses;
}

std::vector<std::string> ban_targets(const Attacker& a, const Allowlist& allow) {
  std::vector<std::string> out;
  for (const auto& t : ban_targets(a)) {
    if (check_ban(t, allow)) {
      out.push_back(t);
      continue;
    }
    if (t.find('/') == std::string::npos) continue;  // an allowlisted (or bad) address
    for (const auto& m : a.addresses)                // the prefix split into its members
      if (check_ban(m, allow)) out.push_back(m);
  }
  return out;
}

std::vector<Attacker> detect(const std::vector<AuthEvent>& events, const DetectOptions& o,
                             const std::function<std::string(uint32_t)>& name) {
  std::unordered_map<Ip, size_t, IpHash> index;
  std::vector<PerIp> ips;
  for (const auto& e : events) {
    auto [it, fresh] = index.emplace(e.ip, ips.size());
    if (fresh) {
      ips.emplace_back();
      ips.back().ip = e.ip;
    }
    PerIp& s = ips[it->second];
    if (e.service == Service::kWaf) {
      if (e.kind == AuthKind::kFailure) {
        s.waf.push_back(e.ts);
        s.services |= 1u << static_cast<unsigned>(e.service);
      }
      continue;
    }
    if (e.kind == AuthKind::kSuccess) {
      s.successes.push_back(e.ts);
      s.success_users.push_back(e.user);
    } else {
      s.fails.push_back(e.ts);
      s.fail_ev.push_back({e.ts, e.user, e.valid_user});
      s.services |= 1u << static_cast<unsigned>(e.service);
      ++s.users[e.user];
    }
  }
  auto allowed = [&](const Ip& ip) { return o.allow.contains(ip); };
  std::vector<Attacker> out;
  std::set<Prefix> with_success;
  for (auto& s : ips) {
    std::sort(s.fails.begin(), s.fails.end());
    std::sort(s.waf.begin(), s.waf.end());
    if (!s.successes.empty())  // IPv4 /24 = 120 bits of the mapped address; IPv6 /64, /56
      for (int bits : {120, 64, 56}) with_success.insert(prefix_of(s.ip, bits));
    if (s.fails.empty() && s.waf.empty()) continue;
    if (allowed(s.ip)) {
      s.flagged = true;  // never reported, never grouped
      continue;
    }
    if (s.successes.empty()) {  // (nearly every address: nothing corrects its failures)
      s.open = s.fails;
      s.open_users = s.users;
      for (const auto& f : s.fail_ev)
        if (f.valid) s.open_valid_users.insert(f.user);
    }
    // per account: the times of its failures and of its logins from this address (sorted)
    std::unordered_map<uint32_t, std::vector<int64_t>> fail_t, login_t;
    if (!s.successes.empty()) {
      for (const auto& f : s.fail_ev) fail_t[f.user].push_back(f.ts);
      for (size_t k = 0; k < s.successes.size(); ++k)
        login_t[s.success_users[k]].push_back(s.successes[k]);
      for (auto* m : {&fail_t, &login_t})
        for (auto& [u, v] : *m) std::sort(v.begin(), v.end());
    }
    auto fails_of = [&](uint32_t user, int64_t from, int64_t to) -> size_t {
      auto it = fail_t.find(user);
      if (it == fail_t.end()) return 0;
      return static_cast<size_t>(std::upper_bound(it->second.begin(), it->second.end(), to) -
                                 std::lower_bound(it->second.begin(), it->second.end(), from));
    };
    // guessed: a login after many failures of that account from the same address shortly
    // before (failures on other accounts are other people's mistypes behind one address)
    for (size_t k = 0; k < s.successes.size() && !s.flagged; ++k) {
      int64_t t = s.successes[k];
      if (fails_of(s.success_users[k], t - o.guessed_window, t) >=
          static_cast<size_t>(o.guessed_count)) {
        Attacker a = single(s, AttackKind::kGuessed, name);
        a.guessed_user = name(s.success_users[k]);
        out.push_back(std::move(a));
        s.flagged = true;
      }
    }
    if (s.flagged) continue;
    // the failures no login of the same account corrects within the hour
    if (!s.successes.empty()) {
      for (const auto& f : s.fail_ev) {
        auto it = login_t.find(f.user);
        if (it != login_t.end()) {
          auto next = std::lower_bound(it->second.begin(), it->second.end(), f.ts);
          if (next != it->second.end() && *next - f.ts <= o.guessed_window) continue;
        }
        s.open.push_back(f.ts);
        ++s.open_users[f.user];
        if (f.valid) s.open_valid_users.insert(f.user);
      }
      std::sort(s.open.begin(), s.open.end());
    }
    size_t valid_fails = 0, max_per_user = 0;
    for (uint32_t u : s.open_valid_users) {
      valid_fails += s.open_users[u];
      max_per_user = std::max<size_t>(max_per_user, s.open_users[u]);
    }
    if (s.open_valid_users.size() >= 5 && max_per_user <= 2 && valid_fails >= 5) {
      // one password against every account — and if one of them then logged in from there,
      // the sprayed password worked
      Attacker a = single(s, AttackKind::kSpraying, name);
      for (size_t k = 0; k < s.successes.size(); ++k)
        if (fails_of(s.success_users[k], s.successes[k] - o.guessed_window, s.successes[k]) > 0) {
          a.kind = AttackKind::kGuessed;
          a.guessed_user = name(s.success_users[k]);
          break;
        }
      out.push_back(std::move(a));
      s.flagged = true;
    } else if (max_in_window(s.open, o.burst_window) >= static_cast<size_t>(o.burst_count) ||
               max_in_window(s.waf, o.burst_window) >= static_cast<size_t>(o.burst_count)) {
      out.push_back(single(s, AttackKind::kBurst, name));
      s.flagged = true;
    } else if (s.successes.empty() &&
               max_in_window(s.open, o.slow_window) >= static_cast<size_t>(o.slow_count)) {
      out.push_back(single(s, AttackKind::kSlow, name));
      s.flagged = true;
    }
  }
  // Below every per-address threshold, never logged in: grouped by prefix, then by time.
  std::vector<PerIp*> rest;
  for (auto& s : ips)
    if (!s.flagged && !s.fails.empty() && s.successes.empty()) rest.push_back(&s);
  for (int v6bits : {64, 56}) {
    std::map<Prefix, std::vector<PerIp*>> groups;
    for (PerIp* s : rest) {
      if (s->flagged) continue;
      int bits = s->ip.v4 ? 120 : v6bits;  // IPv4 /24 (first pass only)
      if (s->ip.v4 && v6bits != 64) continue;
      groups[prefix_of(s->ip, bits)].push_back(s);
    }
    for (auto& [p, members] : groups) {
      if (members.size() < static_cast<size_t>(o.prefix_min_addresses) || with_success.count(p))
        continue;
      uint64_t fails = 0;
      for (auto* m : members) fails += m->fails.size();
      if (fails < static_cast<uint64_t>(o.prefix_min_failures)) continue;
      Ip net;
      std::memcpy(net.b, p.b, 16);
      net.v4 = members[0]->ip.v4;
      if (o.allow.overlaps(net, net.v4 ? p.bits - 96 : p.bits)) {
        // an allowlisted address inside: the prefix is never reported, its members are
        const PerIp* lead = *std::max_element(members.begin(), members.end(), [](auto* a, auto* b) {
          return a->fails.size() < b->fails.size();
        });
        out.push_back(group(members, lead->ip.str(), name));
      } else {
        out.push_back(group(members, prefix_str(p, members[0]->ip.v4), name));
      }
      for (auto* m : members) m->flagged = true;
    }
  }
  std::vector<PerIp*> loose;
  for (PerIp* s : rest)
    if (!s->flagged) loose.push_back(s);
  std::sort(loose.begin(), loose.end(),
            [](const PerIp* a, const PerIp* b) { return a->fails.front() < b->fails.front(); });
  for (size_t i = 0; i < loose.size();) {
    size_t j = i;
    int64_t end = loose[i]->fails.back();
    while (j + 1 < loose.size() && loose[j + 1]->fails.front() <= end + o.campaign_gap) {
      ++j;
      end = std::max(end, loose[j]->fails.back());
    }
    if (j - i + 1 >= static_cast<size_t>(o.campaign_min_addresses)) {
      std::vector<PerIp*> members(loose.begin() + static_cast<long>(i),
                                  loose.begin() + static_cast<long>(j) + 1);
      const PerIp* lead = *std::max_element(members.begin(), members.end(), [](auto* a, auto* b) {
        return a->fails.size() < b->fails.size();
      });
      out.push_back(group(members, lead->ip.str(), name));
    }
    i = j + 1;
  }
  // most urgent first (the order of AttackKind), then the most failures
  std::stable_sort(out.begin(), out.end(), [](const Attacker& a, const Attacker& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.failures > b.failures;
  });
  return out;
}

}  // namespace mamori::guard
