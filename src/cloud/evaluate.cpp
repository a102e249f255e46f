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

#include "cloud/request.h"
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

using namespace detail;

constexpr size_t kBudget = 2'000'000;  // search nodes per policy and question kind

struct Search {
  const Statement* allow = nullptr;
  std::vector<const Statement*> denies;
  size_t* nodes = nullptr;  // shared by every question of one policy: one budget for it all
  bool over = false;
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> cands;
  Request req;
  // Per deny: the index of its last key — once all its keys are set it applies unless one of
  // its conditions was false (SIZE_MAX: decided only at the end: a variable in it).
  std::vector<size_t> last;

  void prepare() {
    last.assign(denies.size(), 0);
    for (size_t d = 0; d < denies.size(); ++d)
      for (const auto& c : denies[d]->conditions) {
        if (resource_has_variable(*denies[d]) || has_variable(c)) {
          last[d] = SIZE_MAX;
          break;
        }
        size_t ki = std::find(keys.begin(), keys.end(), c.key) - keys.begin();
        last[d] = std::max(last[d], ki);
      }
  }

  // A Deny no value can escape (no condition any candidate makes false) closes the question.
  const Statement* inescapable() const {
    for (const Statement* d : denies) {
      if (resource_has_variable(*d)) continue;
      bool escapable = false;
      for (const auto& c : d->conditions) {
        if (has_variable(c)) {
          escapable = true;
          break;
        }
        size_t ki = std::find(keys.begin(), keys.end(), c.key) - keys.begin();
        Request probe = req;
        for (const auto& v : cands[ki]) {
          if (v == kMissing)
            probe.keys.erase(c.key);
          else
            probe.keys[c.key] = v;
          if (!holds(c, probe)) escapable = true;
        }
        if (escapable) break;
      }
      if (!escapable) return d;
    }
    return nullptr;
  }

  // Is there an assignment of keys[i…] under which `allow` holds and every deny fails?
  bool run(size_t i, std::vector<bool>& escaped) {
    if (++*nodes > kBudget) {
      over = true;
      return false;
    }
    if (i == keys.size()) {
      if (!resource_matches(*allow, req)) return false;
      for (const auto& c : allow->conditions)
        if (!holds(c, req)) return false;
      for (size_t d = 0; d < denies.size(); ++d) {
        if (escaped[d] || !resource_matches(*denies[d], req)) continue;
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
        if (c.key == k && !has_variable(c) && !holds(c, req)) ok = false;
      if (!ok) continue;
      std::vector<bool> esc = escaped;
      for (size_t d = 0; d < denies.size(); ++d) {
        for (const auto& c : denies[d]->conditions)
          if (c.key == k && last[d] != SIZE_MAX && !holds(c, req)) esc[d] = true;
        if (last[d] == i && !esc[d]) ok = false;  // every key of this Deny set: it applies
      }
      if (!ok) continue;
      if (run(i + 1, esc)) return true;
      if (over) return false;
    }
    req.keys.erase(k);
    return false;
  }
};

std::string describe(const Request& r, const Statement& s) {
  std::string who = r.who == Who::kAnonymous ? "an anonymous request"
                    : r.who == Who::kAccount ? "a request from another AWS account"
                                             : "a request from " + sanitize(r.service) +
                                                   " acting for another AWS account";
  std::string ctx;
  auto ip = r.keys.find("aws:sourceip");
  for (const auto& [k, v] : r.keys) {
    if (k == "aws:sourceip" || k == "aws:principaltype" || k == "aws:userid" ||
        k == "aws:currenttime" || k == "aws:epochtime" || k == "aws:viaawsservice" ||
        k == "aws:principalisawsservice")
      continue;
    ctx += fmt::format("{}{}={}", ctx.empty() ? " with " : ", ", k, sanitize(v));
  }
  return fmt::format("{} such as {} from {}{} would be allowed by {}", who, r.verb,
                     ip == r.keys.end() ? "anywhere" : ip->second, ctx, s.name());
}

struct Target {
  std::string action, verb;
  bool object;
};

// "arn:aws:s3:::", "arn:aws-cn:s3:::" …: the partitions the policy's S3 resources are in.
std::set<std::string> partitions(const Policy& p) {
  std::set<std::string> out = {"aws"};
  for (const auto& s : p.statements)
    for (const auto& r : s.resources)
      if (r.starts_with("arn:"))
        if (size_t c = r.find(':', 4); c != std::string::npos && r.compare(c, 6, ":s3:::") == 0)
          out.insert(r.substr(4, c - 4));
  return out;
}

}  // namespace

std::string policy_bucket(const Policy& p) {
  // the first bucket an Allow's Resource names whole (not NotResource: that names what is not)
  for (const auto& s : p.statements) {
    if (!s.allow || s.not_resource) continue;
    for (const auto& r : s.resources) {
      if (!r.starts_with("arn:")) continue;
      size_t c = r.find(':', 4);
      if (c == std::string::npos || r.compare(c, 6, ":s3:::") != 0) continue;
      std::string_view rest = std::string_view(r).substr(c + 6);
      rest = rest.substr(0, rest.find('/'));
      if (!rest.empty() && rest.find_first_of("*?$") == std::string_view::npos)
        return std::string(rest);
    }
  }
  return "";
}

std::string policy_bucket_pattern(const Policy& p) {
  for (const auto& s : p.statements) {
    if (!s.allow || s.not_resource) continue;
    for (const auto& r : s.resources) {
      size_t c = r.find(":s3:::");
      if (!r.starts_with("arn:") || c == std::string::npos) continue;
      std::string_view rest = std::string_view(r).substr(c + 6);
      rest = rest.substr(0, rest.find('/'));
      if (!rest.empty() && rest.find("${") == std::string_view::npos) {
        auto f = fill(rest);
        return f.size() > 1 ? f[1] : f[0];
      }
    }
  }
  return "";
}

Access public_access(const Policy& p, std::string_view bucket, Access::Kind kind, int64_t now,
                     bool acls_in_force) {
  std::vector<Target> targets;
  if (kind == Access::kRead) {
    targets = {{"s3:GetObject", "GET", true},
               {"s3:GetObjectVersion", "GET ?versionId", true},
               {"s3:ListBucket", "LIST", false},
               {"s3:ListBucketVersions", "LIST ?versions", false}};
  } else {
    // (PutBucketPolicy and DeleteBucketPolicy: only ever the owner's account, whatever a
    // policy says; ACL writes only where ACLs are in force)
    targets = {{"s3:PutObject", "PUT", true},
               {"s3:DeleteObject", "DELETE", true},
               {"s3:DeleteObjectVersion", "DELETE ?versionId", true},
               {"s3:PutBucketWebsite", "PUT ?website", false},
               {"s3:PutLifecycleConfiguration", "PUT ?lifecycle", false}};
    if (acls_in_force) {
      targets.push_back({"s3:PutObjectAcl", "PUT ?acl", true});
      targets.push_back({"s3:PutBucketAcl", "PUT ?acl", false});
    }
  }
  // Object keys worth trying: those the policy's resources name (filled in), and others.
  std::set<std::string> object_keys = {"mamori/any-key", "z"};
  for (const auto& s : p.statements)
    for (const auto& r : s.resources)
      if (size_t c = r.find(":s3:::"); r.starts_with("arn:") && c != std::string::npos)
        if (size_t slash = r.find('/', c + 6); slash != std::string::npos) {
          std::string pattern = r.substr(slash + 1);
          // ${aws:username, 'pub'}: as its default, and as a value the requester picks
          if (p.version == "2012-10-17")
            for (std::string_view v : {std::string_view(), std::string_view(kOther)}) {
              Request with;
              for (const auto& k : variables_in(pattern)) with.keys[k] = std::string(v);
              if (v.empty()) with.keys.clear();
              if (auto resolved = resolve(pattern, with))
                for (auto& k : fill(*resolved))
                  if (!k.empty()) object_keys.insert(k);
            }
          for (auto& k : fill(pattern))
            if (!k.empty()) object_keys.insert(k);
        }
  // Requesters: anonymous, another account, and each service a statement names.
  std::vector<std::pair<Who, std::string>> whos = {{Who::kAnonymous, ""}, {Who::kAccount, ""}};
  std::set<std::string> services;
  for (const auto& s : p.statements) {
    for (auto& sv : services_named(s)) services.insert(sv);
    // a service a condition expects as the source (aws:SourceArn arn:aws:cloudfront::*…): a
    // Principal "*" takes it too, acting for whichever account uses it
    for (const auto& c : s.conditions)
      if (c.key == "aws:sourcearn")
        for (const auto& v : c.values)
          if (v.starts_with("arn:"))
            if (size_t a = v.find(':', 4), b = a == std::string::npos ? a : v.find(':', a + 1);
                b != std::string::npos && b > a + 1)
              services.insert(v.substr(a + 1, b - a - 1) + ".amazonaws.com");
  }
  for (const auto& sv : services) whos.emplace_back(Who::kService, sv);

  Access out;
  std::map<std::string, std::set<std::string>> why;  // reason → for whom
  size_t nodes = 0;
  for (const auto& [who, service] : whos)
    for (const std::string& part : partitions(p))
      for (const Target& t : targets)
        for (const std::string& key : t.object ? object_keys : std::set<std::string>{""}) {
          if (out.unknown) break;
          Request r;
          r.who = who;
          r.service = service;
          r.variables = p.version == "2012-10-17";
          r.action = t.action;
          r.resource = "arn:" + part + ":s3:::" + std::string(bucket) + (t.object ? "/" + key : "");
          r.verb = fmt::format("{} s3://{}{}", t.verb, bucket, t.object ? "/" + key : "");
          std::vector<const Statement*> allows, denies;
          for (const auto& s : p.statements) {
            if (!principal_matches(s, r) || !action_matches(s, t.action)) continue;
            // (resources with variables are matched per request, in the search)
            if (!resource_matches(s, r) && !resource_has_variable(s)) continue;
            (s.allow ? allows : denies).push_back(&s);
          }
          const std::string whom = who == Who::kAnonymous ? "anonymous requests"
                                   : who == Who::kAccount ? "other accounts"
                                                          : service + " for other accounts";
          for (const Statement* a : allows) {
            Search sr{a, denies, &nodes, false, {}, {}, r, {}};
            std::set<std::string> keyset;
            for (const auto& c : a->conditions) keyset.insert(c.key);
            if (r.variables)  // keys the statement's resources name (${aws:username})
              for (const auto& res : a->resources)
                for (auto& k : variables_in(res)) keyset.insert(k);
            for (const Statement* d : denies)
              for (const auto& c : d->conditions) keyset.insert(c.key);
            for (const auto& k : keyset) {
              std::vector<const Condition*> cs;
              for (const auto& c : a->conditions)
                if (c.key == k) cs.push_back(&c);
              for (const Statement* d : denies)
                for (const auto& c : d->conditions)
                  if (c.key == k) cs.push_back(&c);
              auto cand = candidates(k, cs, who, now);
              // a value naming another key (aws:Referer = ${aws:SourceIp}): the requester can
              // send what that key holds
              for (const Condition* c : cs)
                for (const auto& v : c->values)
                  for (auto& other : variables_in(v))
                    if (other != k)
                      for (auto& x : candidates(other, {}, who, now))
                        if (x != kMissing) cand.push_back(x);
              sr.keys.push_back(k);
              sr.cands.push_back(std::move(cand));
            }
            if (!keyset.count("aws:sourceip")) sr.req.keys["aws:sourceip"] = "203.0.113.9";
            sr.prepare();
            if (const Statement* closed = sr.inescapable()) {
              why[fmt::format("what {} allows ({}) is denied by {}", a->name(), t.action,
                              closed->name())]
                  .insert(whom);
              continue;
            }
            std::vector<bool> escaped(denies.size(), false);
            if (sr.run(0, escaped)) {
              out.granted = true;
              out.witness = describe(sr.req, *a);
              return out;
            }
            if (sr.over) {
              out.unknown = true;
              why[fmt::format("{}: too many combinations of its conditions and the Denies' on {} "
                              "keys ({}) to decide",
                              a->name(), sr.keys.size(), fmt::join(sr.keys, ", "))]
                  .insert(whom);
              break;  // (the budget is the policy's: nothing more is decided)
            }
            // Why not: the condition no requester can meet, or the Deny that stops the rest.
            size_t spare = 0;
            Search alone{a, {}, &spare, false, sr.keys, sr.cands, sr.req, {}};
            alone.prepare();
            std::vector<bool> none;
            if (!alone.run(0, none)) {
              std::string cond = "its conditions";
              for (const auto& c : a->conditions) {
                Request probe = sr.req;
                bool met = has_variable(c);
                size_t ki = std::find(sr.keys.begin(), sr.keys.end(), c.key) - sr.keys.begin();
                for (const auto& v : sr.cands[ki]) {
                  if (v == kMissing)
                    probe.keys.erase(c.key);
                  else
                    probe.keys[c.key] = v;
                  met = met || holds(c, probe);
                }
                if (!met) {
                  cond = fmt::format("{} {} [{}]", c.op, sanitize(c.key_written),
                                     sanitize(fmt::format("{}", fmt::join(c.values, ", "))));
                  break;
                }
              }
              why[fmt::format("{} grants {} only when {}", a->name(), t.action, cond)].insert(whom);
            } else {
              std::string ds;
              for (const Statement* d : denies) ds += (ds.empty() ? "" : ", ") + d->name();
              why[fmt::format("what {} allows ({}) is denied by {}", a->name(), t.action, ds)]
                  .insert(whom);
            }
          }
        }
  for (const auto& [text, whom] : why)
    out.why.push_back(text + fmt::format(", for {}", fmt::join(whom, " and ")));
  return out;
}

}  // namespace mamori::cloud
