// The requests the public-access search tries, and how statements and conditions judge them
// (request.h).
#include "cloud/request.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include "cloud/evaluate.h"
#include "core/ip.h"
#include "core/text.h"

namespace mamori::cloud::detail {

// ${aws:username} and friends, from the request; nullopt when a variable names a key the request
// does not carry (the value then matches nothing, as in AWS).
std::optional<std::string> resolve(std::string_view v, const Request& r) {
  if (!r.variables || v.find("${") == std::string_view::npos) return std::string(v);
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

static std::optional<double> number(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  std::string t(s);
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// ISO 8601 (2026-12-03, 2026-12-03T10:00:00Z) or Unix seconds.
static std::optional<double> date(std::string_view s) {
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

static bool arn_match(std::string_view pattern, std::string_view arn) {
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
  if (p.size() != 6) return wildcard_match(pattern, arn);  // "*", "arn:*": the whole ARN
  if (a.size() != 6) return false;
  for (size_t i = 0; i < 6; ++i)
    if (!wildcard_match(p[i], a[i])) return false;
  return true;
}

// One literal against one value, for the positive form of the operator.
static bool test(const std::string& base, std::string_view value, std::string_view literal) {
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

bool principal_matches(const Statement& s, const Request& r) {
  if (!s.has_principal) return false;  // (a bucket policy's statement names its principal)
  // Named accounts, roles, canonical users are never a stranger; a named service is, acting
  // for whichever account uses it, unless a condition pins the source (aws:SourceArn …).
  bool listed = s.principal.everyone;
  if (r.who == Who::kService)
    for (const auto& [type, value] : s.principal.named)
      if (type == "Service" && value == r.service) listed = true;
  return s.not_principal ? !listed : listed;
}

std::vector<std::string> services_named(const Statement& s) {
  std::vector<std::string> out;
  if (!s.has_principal || s.not_principal) return out;
  for (const auto& [type, value] : s.principal.named)
    if (type == "Service") out.push_back(value);
  return out;
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

std::vector<std::string> fill(std::string_view pattern) {
  // '*' as nothing, as a word, as a letter no word here has ('?' as one letter): a Deny on
  // b/*m* must not catch every key tried
  std::vector<std::string> out;
  for (std::string_view star : {"", "mamori", "z"}) {
    std::string f;
    for (char c : pattern) {
      if (c == '*')
        f += star;
      else if (c == '?')
        f += 'x';
      else
        f += c;
    }
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(std::move(f));
  }
  return out;
}

// A range an owner names as theirs (an office, a VPN: IPv4 /16 or narrower, IPv6 /48 or
// narrower): no stranger sends from it. Wider ones (0.0.0.0/0, a /8) hold strangers too.
static bool fixed_range(std::string_view spec) {
  Ip ip;
  int bits = 0;
  return parse_prefix(spec, ip, bits) && bits >= (ip.v4 ? 16 : 48);
}

// The addresses at the edges of a range (its first and last, and one past each side); of a
// fixed range only those outside it.
static void ip_edges(std::string_view spec, std::set<std::string>& out) {
  Ip ip;
  int bits = 0;
  if (!parse_prefix(spec, ip, bits)) return;
  const bool fixed = bits >= (ip.v4 ? 16 : 48);
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

// Who can set a key: the owner alone (fixed ids of the owner's own account, network and
// resources: a stranger can only miss them, or match a pattern with a wildcard), or the
// requester (its own names, tags, MFA, the services it calls through; what it sends).
enum class KeyKind {
  kFree,       // sent by the requester (Referer, headers, s3:prefix …), or unknown here
  kOwnId,      // the requester's own account, organisation, principal, endpoint, network
  kOwnChoice,  // the requester's own user name, tags, MFA, session, the services it goes via
  kSourceOf,   // set by an AWS service for the account it acts for (aws:SourceArn …)
};

static KeyKind kind_of(std::string_view k) {
  if (k == "aws:principalarn" || k == "aws:principalaccount" || k == "aws:principalorgid" ||
      k == "aws:principalorgpaths" || k == "aws:userid" || k == "aws:sourcevpc" ||
      k == "aws:sourcevpce" || k == "aws:vpcsourceip")
    return KeyKind::kOwnId;
  if (k == "aws:username" || k == "aws:multifactorauthpresent" || k == "aws:multifactorauthage" ||
      k == "aws:federatedprovider" || k == "aws:tokenissuetime" ||
      k.starts_with("aws:principaltag/") || k.starts_with("aws:calledvia") ||
      k == "aws:viaawsservice" || k == "aws:principaltype")
    return KeyKind::kOwnChoice;
  if (k == "aws:sourcearn" || k == "aws:sourceaccount" || k == "aws:sourceowner" ||
      k == "aws:sourceorgid" || k == "aws:sourceorgpaths" || k == "aws:principalservicename")
    return KeyKind::kSourceOf;
  return KeyKind::kFree;
}

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
      if (auto d = date(l); d && c->base.starts_with("Date")) {
        lits.insert(fmt::format("{}", *d - 1));
        lits.insert(fmt::format("{}", *d + 1));
      }
    }
  const std::string missing(kMissing);
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
  if (key == "aws:principalisawsservice") return {who == Who::kService ? "true" : "false"};
  std::vector<std::string> out;
  auto own_id = [&](std::string fresh) {  // the stranger's own: never the owner's fixed value
    out.assign(wild.begin(), wild.end());
    out.push_back(std::move(fresh));
    out.push_back(missing);
  };
  switch (kind_of(key)) {
    case KeyKind::kOwnId:
      if (who == Who::kAnonymous && key.starts_with("aws:principal")) return {missing};
      if (key == "aws:userid" && who == Who::kAnonymous) return {"anonymous"};
      if (key == "aws:principalarn")
        own_id(fmt::format("arn:aws:iam::{}:user/mamori", kOtherAccount));
      else if (key == "aws:principalaccount")
        own_id(std::string(kOtherAccount));
      else
        own_id(std::string(kOther));
      return out;
    case KeyKind::kOwnChoice:
      if (key == "aws:principaltype")
        return who == Who::kAnonymous
                   ? std::vector<std::string>{"Anonymous"}
                   : std::vector<std::string>{"User", "AssumedRole", "FederatedUser", "Account"};
      if (key == "aws:viaawsservice")
        return who == Who::kAnonymous ? std::vector<std::string>{"false"}
                                      : std::vector<std::string>{"false", "true"};
      if (who == Who::kAnonymous) return {missing};
      out.assign(lits.begin(), lits.end());  // its own user's name, tags, MFA age …
      if (key == "aws:multifactorauthpresent") out.insert(out.end(), {"true", "false"});
      out.emplace_back(kOther);
      out.push_back(missing);
      return out;
    case KeyKind::kSourceOf:
      if (who != Who::kService) return {missing};
      if (key == "aws:sourceaccount" || key == "aws:sourceowner")
        own_id(std::string(kOtherAccount));
      else if (key == "aws:sourcearn")
        own_id(fmt::format("arn:aws:cloudfront::{}:distribution/MAMORI", kOtherAccount));
      else
        own_id(std::string(kOther));
      return out;
    default:
      out.assign(lits.begin(), lits.end());
      out.emplace_back(kOther);
      out.push_back(missing);
      return out;
  }
}

std::vector<std::string> variables_in(std::string_view v) {
  std::vector<std::string> out;
  for (size_t i = v.find("${"); i != std::string_view::npos; i = v.find("${", i + 2)) {
    size_t end = v.find('}', i);
    if (end == std::string_view::npos) break;
    std::string_view inner = v.substr(i + 2, end - i - 2);
    if (inner == "*" || inner == "?" || inner == "$") continue;
    inner = inner.substr(0, inner.find(','));
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    out.push_back(to_lower(inner));
  }
  return out;
}

bool resource_has_variable(const Statement& s) {
  return std::any_of(s.resources.begin(), s.resources.end(),
                     [](const std::string& x) { return x.find("${") != std::string::npos; });
}

// A value that names another key (${aws:username}): its truth waits until every key is set.
bool has_variable(const Condition& c) {
  for (const auto& v : c.values)
    if (v.find("${") != std::string::npos) return true;
  return false;
}

}  // namespace mamori::cloud::detail
