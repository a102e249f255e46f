// Deciding whether a policy lets the public in, with a witness (evaluate.h).
#include "cloud/evaluate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "core/ip.h"
#include "core/text.h"

namespace mamori::cloud {

bool wildcard_match(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, back = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      back = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++back;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {

constexpr size_t kBudget = 200'000;  // search nodes per question
constexpr std::string_view kOther = "mamori-other";
constexpr std::string_view kOtherAccount = "999988887777";

enum class Who { kAnonymous, kAccount };

// A request: who, the action, the resource, and the condition keys it carries (absent: missing).
struct Request {
  Who who = Who::kAnonymous;
  std::string action;                       // "s3:GetObject"
  std::string resource;                     // "arn:aws:s3:::b/k"
  std::string verb;                         // "GET s3://b/k" for the witness
  std::map<std::string, std::string> keys;  // lower-case key → value
};

// ${aws:username} and friends, from the request; nullopt when a variable names a key the request
// does not carry (the value then matches nothing, as in AWS).
std::optional<std::string> resolve(std::string_view v, const Request& r) {
  if (v.find("${") == std::string_view::npos) return std::string(v);
  std::string out;
  for (size_t i = 0; i < v.size();) {
    if (v.compare(i, 2, "${") != 0) {
      out += v[i++];
      continue;
    }
    size_t end = v.find('}', i);
    if (end == std::string_view::npos) return std::string(v);  // not a variable: as written
    std::string_view inner = v.substr(i + 2, end - i - 2);
    i = end + 1;
    if (inner == "*" || inner == "?" || inner == "$") {
      out += inner;
      continue;
    }
    std::string_view key = inner, fallback;
    bool has_default = false;
    if (size_t comma = inner.find(','); comma != std::string_view::npos) {
      key = inner.substr(0, comma);
      fallback = inner.substr(comma + 1);
      while (!fallback.empty() && fallback.front() == ' ') fallback.remove_prefix(1);
      if (fallback.size() >= 2 && fallback.front() == '\'' && fallback.back() == '\'') {
        fallback = fallback.substr(1, fallback.size() - 2);
        has_default = true;
      }
    }
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    auto it = r.keys.find(to_lower(key));
    if (it != r.keys.end()) {
      out += it->second;
    } else if (has_default) {
      out += fallback;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::optional<double> number(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  std::string t(s);
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// ISO 8601 (2026-12-03, 2026-12-03T10:00:00Z) or Unix seconds.
std::optional<double> date(std::string_view s) {
  if (auto n = number(s)) return n;
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  std::string t(s);
  int got = std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec);
  if (got != 3 && got != 6) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<double>(timegm(&tm));
}

bool arn_match(std::string_view pattern, std::string_view arn) {
  // ARNs match part by part (arn:partition:service:region:account:resource)
  auto split = [](std::string_view a) {
    std::vector<std::string_view> parts;
    for (int i = 0; i < 5; ++i) {
      size_t c = a.find(':');
      if (c == std::string_view::npos) break;
      parts.push_back(a.substr(0, c));
      a.remove_prefix(c + 1);
    }
    parts.push_back(a);
    return parts;
  };
  auto p = split(pattern), a = split(arn);
  if (p.size() != 6 || a.size() != 6) return false;
  for (size_t i = 0; i < 6; ++i)
    if (!wildcard_match(p[i], a[i])) return false;
  return true;
}

// One literal against one value, for the positive form of the operator.
bool test(const std::string& base, std::string_view value, std::string_view literal) {
  if (base == "StringEquals" || base == "StringNotEquals") return value == literal;
  if (base == "StringEqualsIgnoreCase" || base == "StringNotEqualsIgnoreCase")
    return to_lower(value) == to_lower(literal);
  if (base == "StringLike" || base == "StringNotLike") return wildcard_match(literal, value);
  if (base.starts_with("Numeric") || base.starts_with("Date")) {
    const bool num = base.starts_with("Numeric");
    auto v = num ? number(value) : date(value);
    auto l = num ? number(literal) : date(literal);
    if (!v || !l) return false;
    std::string_view rel = std::string_view(base).substr(num ? 7 : 4);
    if (rel == "Equals" || rel == "NotEquals") return *v == *l;
    if (rel == "LessThan") return *v < *l;
    if (rel == "LessThanEquals") return *v <= *l;
    if (rel == "GreaterThan") return *v > *l;
    if (rel == "GreaterThanEquals") return *v >= *l;
    return false;
  }
  if (base == "Bool") return to_lower(value) == to_lower(literal);
  if (base == "BinaryEquals") return value == literal;
  if (base == "IpAddress" || base == "NotIpAddress") return in_prefix(value, literal);
  if (base == "ArnEquals" || base == "ArnLike" || base == "ArnNotEquals" || base == "ArnNotLike")
    return arn_match(literal, value);
  return false;
}

// Is the condition true for the request?
bool holds(const Condition& c, const Request& r) {
  auto it = r.keys.find(c.key);
  const bool present = it != r.keys.end();
  if (c.base == "Null") {
    for (const auto& l : c.values)
      if ((to_lower(l) == "true") == !present) return true;
    return false;
  }
  if (!present) {
    if (c.if_exists) return true;
    if (c.set == Condition::Set::kAllValues) return true;
    if (c.set == Condition::Set::kAnyValue) return false;
    return negated_operator(c.base);
  }
  bool any = false;
  for (const auto& l : c.values) {
    auto lit = resolve(l, r);
    if (lit && test(c.base, it->second, *lit)) {
      any = true;
      break;
    }
  }
  return negated_operator(c.base) ? !any : any;
}

bool principal_matches(const Statement& s, Who who) {
  if (!s.has_principal) return false;  // (a bucket policy's statement names its principal)
  // Named principals (an account, a role, a service, a canonical user) are never the anonymous
  // requester nor an account of the attacker's choosing.
  const bool listed = s.principal.everyone;
  (void)who;
  return s.not_principal ? !listed : listed;
}

bool action_matches(const Statement& s, std::string_view action) {
  const std::string a = to_lower(action);
  bool any = false;
  for (const auto& p : s.actions)
    if (p == "*" || wildcard_match(to_lower(p), a)) any = true;
  return s.not_action ? !any : any;
}

bool resource_matches(const Statement& s, const Request& r) {
  bool any = false;
  for (const auto& p : s.resources) {
    auto pat = resolve(p, r);
    if (pat && (*pat == "*" || wildcard_match(*pat, r.resource))) any = true;
  }
  return s.not_resource ? !any : any;
}

// '*' → "" or "mamori", '?' → "x": the values a pattern accepts, in two shapes.
std::vector<std::string> fill(std::string_view pattern) {
  std::string a, b;
  for (char c : pattern) {
    if (c == '*') {
      b += "mamori";
    } else if (c == '?') {
      a += 'x';
      b += 'x';
    } else {
      a += c;
      b += c;
    }
  }
  if (a == b) return {a};
  return {a, b};
}

// A range an owner names as theirs (an office, a VPN: IPv4 /8 or narrower, IPv6 /32 or narrower):
// no stranger sends from it. Wider ones (0.0.0.0/0, 0.0.0.0/1) hold the stranger's address too.
bool fixed_range(std::string_view spec) {
  Ip ip;
  int bits = 0;
  return parse_prefix(spec, ip, bits) && bits >= (ip.v4 ? 8 : 32);
}

// The addresses at the edges of a range (its first and last, and one past each side); of a
// fixed range only those outside it.
void ip_edges(std::string_view spec, std::set<std::string>& out) {
  Ip ip;
  int bits = 0;
  if (!parse_prefix(spec, ip, bits)) return;
  const bool fixed = bits >= (ip.v4 ? 8 : 32);
  const int bits128 = ip.v4 ? 96 + bits : bits;
  Ip lo = masked(ip, bits128), hi = lo;
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(bits128 - i * 8, 0, 8);
    hi.b[i] |= static_cast<unsigned char>(keep == 8 ? 0 : (0xff >> keep));
  }
  auto step = [](Ip x, int d) {
    for (int i = 15; i >= 0; --i) {
      int v = x.b[i] + d;
      x.b[i] = static_cast<unsigned char>(v & 0xff);
      if (v >= 0 && v <= 0xff) break;
    }
    return x;
  };
  std::vector<Ip> edges = {step(lo, -1), step(hi, 1)};
  if (!fixed) edges.insert(edges.end(), {lo, hi});
  for (Ip y : edges) {
    y.v4 = ip.v4;
    out.insert(y.str());
  }
}

enum class KeyKind { kFree, kAlways, kIdentity, kOwnNetwork, kService };

KeyKind kind_of(std::string_view k) {
  if (k == "aws:sourceip" || k == "aws:securetransport" || k == "aws:currenttime" ||
      k == "aws:epochtime" || k == "aws:principaltype" || k == "aws:userid" ||
      k == "aws:viaawsservice" || k == "aws:principalisawsservice")
    return KeyKind::kAlways;
  if (k == "aws:principalarn" || k == "aws:principalaccount" || k == "aws:principalorgid" ||
      k == "aws:principalorgpaths" || k == "aws:username" || k == "aws:multifactorauthpresent" ||
      k == "aws:multifactorauthage" || k == "aws:federatedprovider" || k == "aws:tokenissuetime" ||
      k.starts_with("aws:principaltag/"))
    return KeyKind::kIdentity;
  if (k == "aws:sourcevpc" || k == "aws:sourcevpce" || k == "aws:vpcsourceip")
    return KeyKind::kOwnNetwork;
  if (k == "aws:sourcearn" || k == "aws:sourceaccount" || k == "aws:sourceowner" ||
      k == "aws:sourceorgid" || k == "aws:sourceorgpaths" || k.starts_with("aws:calledvia") ||
      k == "aws:principalservicename")
    return KeyKind::kService;
  return KeyKind::kFree;  // set by the requester (Referer, headers, s3:prefix …) or unknown
}

constexpr std::string_view kMissing = "\x01missing";

// The values the requester can give `key` (kMissing: none), from the literals the policy
// compares it with.
std::vector<std::string> candidates(const std::string& key, const std::vector<const Condition*>& cs,
                                    Who who, int64_t now) {
  std::set<std::string> lits;  // literals with wildcards filled in
  std::set<std::string> wild;  // … of literals that hold a wildcard (not a fixed value)
  for (const Condition* c : cs)
    for (const auto& l : c->values) {
      for (auto& f : fill(l)) {
        if (l.find_first_of("*?") != std::string::npos) wild.insert(f);
        lits.insert(std::move(f));
      }
      if (auto n = number(l); n && !c->base.starts_with("Date")) {
        lits.insert(fmt::format("{}", *n - 1));
        lits.insert(fmt::format("{}", *n + 1));
      }
    }
  std::vector<std::string> out;
  const KeyKind k = kind_of(key);
  if (key == "aws:sourceip") {
    std::set<std::string> ips = {"203.0.113.9", "2001:db8::9"};
    for (const Condition* c : cs)
      for (const auto& l : c->values) ip_edges(l, ips);
    // never an address inside a range the owner names as theirs
    for (const Condition* c : cs)
      for (const auto& l : c->values)
        if (fixed_range(l))
          std::erase_if(ips, [&](const std::string& a) { return in_prefix(a, l); });
    std::vector<std::string> v;  // an ordinary address first: the witness reads best with it
    for (const char* plain : {"203.0.113.9", "2001:db8::9"})
      if (ips.erase(plain)) v.emplace_back(plain);
    v.insert(v.end(), ips.begin(), ips.end());
    return v;
  }
  if (key == "aws:securetransport") return {"true", "false"};
  if (key == "aws:currenttime") {
    char buf[32];
    std::tm tm{};
    time_t t = static_cast<time_t>(now);
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return {buf};
  }
  if (key == "aws:epochtime") return {std::to_string(now)};
  if (key == "aws:principaltype")
    return who == Who::kAnonymous
               ? std::vector<std::string>{"Anonymous"}
               : std::vector<std::string>{"User", "AssumedRole", "FederatedUser", "Account"};
  if (key == "aws:userid") {
    if (who == Who::kAnonymous) return {"anonymous"};
    out.assign(wild.begin(), wild.end());
    out.emplace_back(kOther);
    return out;
  }
  if (key == "aws:viaawsservice" || key == "aws:principalisawsservice") return {"false"};
  switch (k) {
    case KeyKind::kService:
      return {std::string(kMissing)};
    case KeyKind::kIdentity:
      if (who == Who::kAnonymous) return {std::string(kMissing)};
      out.assign(wild.begin(), wild.end());
      if (key == "aws:principalarn")
        out.push_back(fmt::format("arn:aws:iam::{}:user/mamori", kOtherAccount));
      else if (key == "aws:principalaccount")
        out.emplace_back(kOtherAccount);
      else if (key == "aws:username")
        out.insert(out.end(), lits.begin(), lits.end());  // a name the attacker picks
      else if (key == "aws:multifactorauthpresent")
        out.insert(out.end(), {"true", "false"});
      else
        out.emplace_back(kOther);
      out.emplace_back(kMissing);
      return out;
    case KeyKind::kOwnNetwork:
      out.assign(wild.begin(), wild.end());  // the requester's own endpoint, if a pattern takes it
      out.emplace_back(kOther);
      out.emplace_back(kMissing);
      return out;
    default:
      out.assign(lits.begin(), lits.end());
      out.emplace_back(kOther);
      out.emplace_back(kMissing);
      return out;
  }
}

struct Search {
  const Statement* allow = nullptr;
  std::vector<const Statement*> denies;
  Who who;
  int64_t now;
  size_t nodes = 0;
  bool over = false;
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> cands;
  Request req;

  // Is there an assignment of keys[i…] under which `allow` holds and every deny fails?
  bool run(size_t i, std::vector<bool>& escaped) {
    if (++nodes > kBudget) {
      over = true;
      return false;
    }
    if (i == keys.size()) {
      for (const auto& c : allow->conditions)
        if (!holds(c, req)) return false;
      for (size_t d = 0; d < denies.size(); ++d) {
        if (escaped[d]) continue;
        bool all = true;
        for (const auto& c : denies[d]->conditions) all = all && holds(c, req);
        if (all) return false;
      }
      return true;
    }
    const std::string& k = keys[i];
    for (const auto& v : cands[i]) {
      if (v == kMissing)
        req.keys.erase(k);
      else
        req.keys[k] = v;
      bool ok = true;
      for (const auto& c : allow->conditions)
        if (c.key == k && !holds(c, req)) ok = false;
      if (!ok) continue;
      std::vector<bool> esc = escaped;
      for (size_t d = 0; d < denies.size(); ++d)
        for (const auto& c : denies[d]->conditions)
          if (c.key == k && !holds(c, req)) esc[d] = true;
      if (run(i + 1, esc)) return true;
      if (over) return false;
    }
    req.keys.erase(k);
    return false;
  }
};

std::string describe(const Request& r, const Statement& s) {
  std::string who = r.who == Who::kAnonymous ? "anonymous" : "another AWS account's";
  std::string ctx;
  auto ip = r.keys.find("aws:sourceip");
  for (const auto& [k, v] : r.keys) {
    if (k == "aws:sourceip" || k == "aws:principaltype" || k == "aws:userid" ||
        k == "aws:currenttime" || k == "aws:epochtime" || k == "aws:viaawsservice" ||
        k == "aws:principalisawsservice")
      continue;
    ctx += fmt::format("{}{}={}", ctx.empty() ? " with " : ", ", k, sanitize(v));
  }
  return fmt::format("{} {} from {}{} is allowed by {}", who, r.verb,
                     ip == r.keys.end() ? "anywhere" : ip->second, ctx, s.name());
}

struct Target {
  std::string action, verb;
  bool object;
};

}  // namespace

std::string policy_bucket(const Policy& p) {
  for (const auto& s : p.statements)
    for (const auto& r : s.resources)
      if (r.starts_with("arn:aws:s3:::")) {
        std::string_view rest = std::string_view(r).substr(13);
        rest = rest.substr(0, rest.find('/'));
        if (!rest.empty() && rest.find_first_of("*?$") == std::string_view::npos)
          return std::string(rest);
      }
  return "";
}

Access public_access(const Policy& p, std::string_view bucket, Access::Kind kind, int64_t now) {
  std::vector<Target> targets;
  if (kind == Access::kRead) {
    targets = {{"s3:GetObject", "GET", true}, {"s3:ListBucket", "LIST", false}};
  } else {
    targets = {{"s3:PutObject", "PUT", true},
               {"s3:DeleteObject", "DELETE", true},
               {"s3:PutObjectAcl", "PUT ?acl", true},
               {"s3:PutBucketPolicy", "PUT ?policy", false},
               {"s3:DeleteBucketPolicy", "DELETE ?policy", false},
               {"s3:PutBucketAcl", "PUT ?acl", false}};
  }
  // Object keys worth trying: those the policy's resources name (filled in), and any other.
  std::set<std::string> object_keys = {"mamori/any-key"};
  const std::string prefix = "arn:aws:s3:::";
  for (const auto& s : p.statements)
    for (const auto& r : s.resources)
      if (r.starts_with(prefix))
        if (size_t slash = r.find('/', prefix.size()); slash != std::string::npos)
          for (auto& k : fill(r.substr(slash + 1)))
            if (!k.empty()) object_keys.insert(k);

  Access out;
  std::set<std::string> why;
  for (Who who : {Who::kAnonymous, Who::kAccount})
    for (const Target& t : targets)
      for (const std::string& key : t.object ? object_keys : std::set<std::string>{""}) {
        Request r;
        r.who = who;
        r.action = t.action;
        r.resource = prefix + std::string(bucket) + (t.object ? "/" + key : "");
        r.verb = fmt::format("{} s3://{}{}", t.verb, bucket, t.object ? "/" + key : "");
        std::vector<const Statement*> allows, denies;
        for (const auto& s : p.statements) {
          if (!principal_matches(s, who) || !action_matches(s, t.action)) continue;
          // (resources with variables are matched per request, in the search, too)
          if (!resource_matches(s, r) &&
              std::none_of(s.resources.begin(), s.resources.end(),
                           [](const std::string& x) { return x.find("${") != std::string::npos; }))
            continue;
          (s.allow ? allows : denies).push_back(&s);
        }
        for (const Statement* a : allows) {
          Search sr{a, denies, who, now, 0, false, {}, {}, {}};
          std::set<std::string> keyset;
          for (const auto& c : a->conditions) keyset.insert(c.key);
          for (const Statement* d : denies)
            for (const auto& c : d->conditions) keyset.insert(c.key);
          for (const auto& k : keyset) {
            std::vector<const Condition*> cs;
            for (const auto& c : a->conditions)
              if (c.key == k) cs.push_back(&c);
            for (const Statement* d : denies)
              for (const auto& c : d->conditions)
                if (c.key == k) cs.push_back(&c);
            sr.keys.push_back(k);
            sr.cands.push_back(candidates(k, cs, who, now));
          }
          sr.req = r;
          if (!keyset.count("aws:sourceip")) sr.req.keys["aws:sourceip"] = "203.0.113.9";
          std::vector<bool> escaped(denies.size(), false);
          const bool found = sr.run(0, escaped);
          // (resources with variables: the request as found must still be the statement's)
          if (found && resource_matches(*a, sr.req) &&
              std::none_of(denies.begin(), denies.end(), [&](const Statement* d) {
                if (!resource_matches(*d, sr.req)) return false;
                for (const auto& c : d->conditions)
                  if (!holds(c, sr.req)) return false;
                return true;
              })) {
            out.granted = true;
            out.witness = describe(sr.req, *a);
            return out;
          }
          if (sr.over) {
            out.unknown = true;
            why.insert(fmt::format("{}: too many combinations of conditions to decide", a->name()));
            continue;
          }
          // Why not: the condition no requester can meet, or the Deny that stops the rest.
          Search alone{a, {}, who, now, 0, false, sr.keys, sr.cands, r};
          std::vector<bool> none;
          const std::string whom = who == Who::kAnonymous ? "anonymous requests" : "other accounts";
          if (!alone.run(0, none)) {
            std::string cond = "its conditions";
            for (const auto& c : a->conditions) {
              Request probe = r;
              bool met = false;
              size_t ki = std::find(sr.keys.begin(), sr.keys.end(), c.key) - sr.keys.begin();
              for (const auto& v : sr.cands[ki]) {
                if (v == kMissing)
                  probe.keys.erase(c.key);
                else
                  probe.keys[c.key] = v;
                met = met || holds(c, probe);
              }
              if (!met) {
                cond = fmt::format("{} {} [{}]", c.op, c.key,
                                   sanitize(fmt::format("{}", fmt::join(c.values, ", "))));
                break;
              }
            }
            why.insert(fmt::format("{} grants {} to everyone only when {}, which {} cannot meet",
                                   a->name(), t.action, cond, whom));
          } else {
            std::string ds;
            for (const Statement* d : denies) ds += (ds.empty() ? "" : ", ") + d->name();
            why.insert(fmt::format("what {} allows ({} by {}) is denied by {}", a->name(), t.action,
                                   whom, ds));
          }
        }
      }
  out.why.assign(why.begin(), why.end());
  return out;
}

}  // namespace mamori::cloud
