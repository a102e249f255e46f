// S3 buckets from exported AWS CLI output, judged (s3.h).
#include "cloud/s3.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace mamori::cloud {
namespace {

using nlohmann::json;

const json* member(const json& j, std::string_view name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(name));
  return it == j.end() ? nullptr : &*it;
}

Result<Policy> policy_of(const json& out) {
  // {"Policy": "<JSON text>"} as the CLI prints it; an object is taken as it is
  const json* p = member(out, "Policy");
  if (!p) return parse_policy(out);
  if (p->is_string()) {
    auto r = parse_policy_text(p->get<std::string>());
    if (!r) return r.error().with_context("Policy");
    return r;
  }
  return parse_policy(*p);
}

Result<std::vector<Grant>> grants_of(const json& out) {
  const json* g = member(out, "Grants");
  if (!g || !g->is_array()) return Error::invalid("an ACL has a Grants list");
  std::vector<Grant> v;
  for (const auto& e : *g) {
    const json* who = member(e, "Grantee");
    const json* perm = member(e, "Permission");
    if (!who || !who->is_object() || !perm || !perm->is_string())
      return Error::invalid("a grant has a Grantee and a Permission");
    Grant gr;
    gr.permission = perm->get<std::string>();
    std::string uri = who->value("URI", "");
    if (uri.ends_with("/global/AllUsers"))
      gr.grantee = "AllUsers";
    else if (uri.ends_with("/global/AuthenticatedUsers"))
      gr.grantee = "AuthenticatedUsers";
    else if (!uri.empty())
      gr.grantee = uri;
    else
      gr.grantee = who->value("ID", who->value("EmailAddress", who->value("DisplayName", "?")));
    v.push_back(std::move(gr));
  }
  return v;
}

Result<PublicAccessBlock> pab_of(const json& out) {
  const json* c = member(out, "PublicAccessBlockConfiguration");
  if (!c) c = &out;
  if (!c->is_object()) return Error::invalid("PublicAccessBlockConfiguration is not an object");
  PublicAccessBlock p;
  auto flag = [&](const char* name, bool& to) -> Result<bool> {
    const json* f = member(*c, name);
    if (!f) return false;
    if (!f->is_boolean()) return Error::invalid(std::string(name) + " is not true or false");
    to = f->get<bool>();
    return true;
  };
  for (auto [n, to] : {std::pair<const char*, bool*>{"BlockPublicAcls", &p.block_public_acls},
                       {"IgnorePublicAcls", &p.ignore_public_acls},
                       {"BlockPublicPolicy", &p.block_public_policy},
                       {"RestrictPublicBuckets", &p.restrict_public_buckets}})
    if (auto r = flag(n, *to); !r) return r.error();
  return p;
}

std::string ownership_of(const json& out) {
  const json* c = member(out, "OwnershipControls");
  if (!c) c = &out;
  const json* rules = member(*c, "Rules");
  if (rules && rules->is_array())
    for (const auto& r : *rules)
      if (const json* o = member(r, "ObjectOwnership"); o && o->is_string())
        return o->get<std::string>();
  return "";
}

bool website_of(const json& out) {
  return member(out, "IndexDocument") || member(out, "RedirectAllRequestsTo") ||
         member(out, "ErrorDocument") || member(out, "RoutingRules");
}

std::string stem(const std::string& file) {
  std::string s = file.substr(file.rfind('/') + 1);
  if (size_t dot = s.rfind('.'); dot != std::string::npos && dot > 0) s.resize(dot);
  return s;
}

}  // namespace

Result<Bucket> read_bucket_file(const std::string& file, std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error::invalid(file + ": not JSON");
  if (!j.is_object()) return Error::invalid(file + ": not a JSON object");
  Bucket b;
  b.file = file;
  auto fail = [&](std::string_view what, const Error& e) {
    return Error::invalid(fmt::format("{}: {}: {}", file, what, e.message));
  };
  const bool bundle = member(j, "GetBucketPolicy") || member(j, "GetBucketAcl") ||
                      member(j, "GetPublicAccessBlock") ||
                      member(j, "GetAccountPublicAccessBlock") ||
                      member(j, "GetBucketOwnershipControls") || member(j, "GetBucketWebsite");
  if (bundle) {
    for (const char* k : {"Bucket", "BucketName"})
      if (const json* n = member(j, k); n && n->is_string()) b.name = n->get<std::string>();
    if (const json* p = member(j, "GetBucketPolicy")) {
      auto r = policy_of(*p);
      if (!r) return fail("GetBucketPolicy", r.error());
      b.policy = std::move(*r);
      b.parts.push_back("policy");
    }
    if (const json* a = member(j, "GetBucketAcl")) {
      auto r = grants_of(*a);
      if (!r) return fail("GetBucketAcl", r.error());
      b.acl = std::move(*r);
      b.parts.push_back("acl");
    }
    if (const json* p = member(j, "GetPublicAccessBlock")) {
      auto r = pab_of(*p);
      if (!r) return fail("GetPublicAccessBlock", r.error());
      b.bucket_pab = *r;
      b.parts.push_back("public-access-block");
    }
    if (const json* p = member(j, "GetAccountPublicAccessBlock")) {
      auto r = pab_of(*p);
      if (!r) return fail("GetAccountPublicAccessBlock", r.error());
      b.account_pab = *r;
      b.parts.push_back("account-public-access-block");
    }
    if (const json* o = member(j, "GetBucketOwnershipControls")) {
      b.ownership = ownership_of(*o);
      b.parts.push_back("ownership");
    }
    if (member(j, "GetBucketWebsite")) {
      b.website = true;
      b.parts.push_back("website");
    }
    // A bundle says what was not configured by leaving its key out.
    if (!b.acl) b.acl = std::vector<Grant>{};
    if (!b.bucket_pab) b.bucket_pab = PublicAccessBlock{};
    if (!b.account_pab) b.account_pab = PublicAccessBlock{};
  } else if (member(j, "Statement") || member(j, "Policy")) {
    auto r = policy_of(j);
    if (!r) return fail("policy", r.error());
    b.policy = std::move(*r);
    b.parts.push_back("policy");
  } else if (member(j, "Grants")) {
    auto r = grants_of(j);
    if (!r) return fail("ACL", r.error());
    b.acl = std::move(*r);
    b.parts.push_back("acl");
  } else if (member(j, "PublicAccessBlockConfiguration")) {
    auto r = pab_of(j);
    if (!r) return fail("public access block", r.error());
    b.bucket_pab = *r;
    b.parts.push_back("public-access-block");
  } else if (member(j, "OwnershipControls")) {
    b.ownership = ownership_of(j);
    b.parts.push_back("ownership");
  } else if (website_of(j)) {
    b.website = true;
    b.parts.push_back("website");
  } else {
    return Error::invalid(file +
                          ": not a bucket policy, ACL, public access block, ownership controls, "
                          "website configuration or bundle of them (see docs/cloud.md)");
  }
  if (b.name.empty() && b.policy) b.name = policy_bucket(*b.policy);
  return b;
}

std::vector<Bucket> merge_buckets(std::vector<Bucket> parts) {
  std::vector<Bucket> named, nameless;
  for (auto& b : parts) (b.name.empty() ? nameless : named).push_back(std::move(b));
  std::map<std::string, Bucket> by;
  for (auto& b : named) {
    auto [it, fresh] = by.try_emplace(b.name, b);
    if (fresh) continue;
    Bucket& m = it->second;
    m.file += ", " + b.file;
    if (b.policy) m.policy = std::move(b.policy);
    if (b.acl) m.acl = std::move(b.acl);
    if (b.bucket_pab) m.bucket_pab = b.bucket_pab;
    if (b.account_pab) m.account_pab = b.account_pab;
    if (!b.ownership.empty()) m.ownership = b.ownership;
    m.website = m.website || b.website;
    m.parts.insert(m.parts.end(), b.parts.begin(), b.parts.end());
  }
  std::vector<Bucket> out;
  for (auto& [n, b] : by) out.push_back(std::move(b));
  // Parts that name no bucket (an ACL, a public access block alone) belong to the one bucket
  // named, when there is exactly one; otherwise each stands alone, named after its file.
  for (auto& b : nameless) {
    if (out.size() == 1 && named.size() >= 1) {
      std::vector<Bucket> two{out[0], b};
      two[1].name = out[0].name;
      out = merge_buckets(std::move(two));
      continue;
    }
    b.name = stem(b.file);
    out.push_back(std::move(b));
  }
  return out;
}

BucketVerdict judge_bucket(const Bucket& b, int64_t now) {
  BucketVerdict v;
  v.resource = "s3://" + b.name;
  v.file = b.file;
  v.website = b.website;
  PublicAccessBlock pab;
  for (const auto& p : {b.bucket_pab, b.account_pab})
    if (p) {
      pab.block_public_acls |= p->block_public_acls;
      pab.ignore_public_acls |= p->ignore_public_acls;
      pab.block_public_policy |= p->block_public_policy;
      pab.restrict_public_buckets |= p->restrict_public_buckets;
    }
  if (!b.bucket_pab) v.notes.push_back("no bucket public access block given: taken as off");
  if (!b.account_pab) v.notes.push_back("no account public access block given: taken as off");
  if (!b.acl) v.notes.push_back("no ACL given: taken as the owner's alone");
  if (!b.policy && b.acl) v.notes.push_back("no bucket policy given: taken as none");
  const bool acls_off = b.ownership == "BucketOwnerEnforced";
  bool unknown = false;

  // The policy, unless RestrictPublicBuckets confines a public policy to the owner's account
  // and AWS services.
  std::string read_w, write_w;
  if (b.policy) {
    Access r = public_access(*b.policy, b.name, Access::kRead, now);
    Access w = public_access(*b.policy, b.name, Access::kWrite, now);
    unknown = r.unknown || w.unknown;
    if ((r.granted || w.granted) && pab.restrict_public_buckets) {
      v.why.push_back(
          "the policy is public (" + (w.granted ? w.witness : r.witness) +
          "), but RestrictPublicBuckets is on: only AWS services and the bucket owner's own "
          "account are let in");
    } else {
      if (r.granted) read_w = r.witness;
      if (w.granted) write_w = w.witness;
    }
    for (auto* a : {&r, &w})
      if (!a->granted) v.why.insert(v.why.end(), a->why.begin(), a->why.end());
  }
  // The ACL, unless ACLs are disabled (BucketOwnerEnforced) or IgnorePublicAcls is on.
  if (b.acl) {
    for (const Grant& g : *b.acl) {
      if (g.grantee != "AllUsers" && g.grantee != "AuthenticatedUsers") continue;
      const std::string who =
          g.grantee == "AllUsers" ? "anonymous" : "another AWS account's (AuthenticatedUsers)";
      if (acls_off || pab.ignore_public_acls) {
        v.why.push_back(fmt::format(
            "the ACL grants {} {}, but {}", g.grantee, g.permission,
            acls_off ? "ACLs are disabled (BucketOwnerEnforced)" : "IgnorePublicAcls is on"));
        continue;
      }
      const std::string by =
          fmt::format("is allowed by the bucket ACL ({}: {})", g.grantee, g.permission);
      if ((g.permission == "WRITE" || g.permission == "FULL_CONTROL") && write_w.empty())
        write_w = fmt::format("{} PUT s3://{}/mamori/any-key {}", who, b.name, by);
      if (g.permission == "WRITE_ACP" && write_w.empty())
        write_w =
            fmt::format("{} PUT s3://{}?acl (then any write it grants itself) {}", who, b.name, by);
      if ((g.permission == "READ" || g.permission == "FULL_CONTROL") && read_w.empty())
        read_w = fmt::format("{} LIST s3://{} {}", who, b.name, by);
    }
  }
  if (pab.block_public_acls || pab.block_public_policy)
    v.notes.push_back(
        "BlockPublicAcls/BlockPublicPolicy refuse new public grants; they do not change what is "
        "in force (IgnorePublicAcls and RestrictPublicBuckets do)");
  v.public_read = !read_w.empty();
  v.public_write = !write_w.empty();
  v.witness = v.public_write ? write_w : read_w;
  v.verdict = v.public_write  ? "public-write"
              : v.public_read ? "public-read"
              : unknown       ? "unknown"
                              : "not-public";
  if (v.verdict == "not-public" && v.why.empty())
    v.why.push_back("nothing grants access to anonymous requests or other accounts");
  return v;
}

std::vector<Finding> bucket_findings(const std::vector<BucketVerdict>& vs) {
  std::vector<Finding> out;
  for (const auto& v : vs) {
    if (!v.public_read && !v.public_write && v.verdict != "unknown") continue;
    Finding f;
    f.module = "cloud";
    f.asset = v.resource;
    if (v.verdict == "unknown") {
      f.check = "s3-undecided";
      f.severity = Severity::kMedium;
      f.title = "Bucket policy too complex to decide: " + v.resource;
      f.evidence = fmt::format("{}", fmt::join(v.why, "; "));
      f.remediation = "Simplify the policy's conditions, or review it by hand.";
    } else if (v.public_write) {
      f.check = "s3-public-write";
      f.severity = v.website ? Severity::kCritical : Severity::kHigh;
      f.title = (v.website ? "Website bucket writable by anyone (web skimming): "
                           : "Bucket writable by anyone: ") +
                v.resource;
      f.evidence = v.witness;
      f.remediation =
          "Turn on Block Public Access (IgnorePublicAcls and RestrictPublicBuckets, for the "
          "account), remove the public grant (the statement or ACL grant named), and check the "
          "bucket's objects — pages and scripts — for what a stranger may have written.";
    } else {
      f.check = "s3-public-read";
      f.severity = Severity::kHigh;
      f.title = "Bucket readable by anyone: " + v.resource;
      f.evidence = v.witness;
      f.remediation =
          "Unless the bucket is meant to be public (a website's assets, nothing else in it), "
          "turn on Block Public Access for it and for the account, and remove the grant named.";
    }
    f.references = {"CWE-284",
                    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                    "access-control-block-public-access.html"};
    out.push_back(std::move(f));
  }
  return out;
}

std::string render_cloud_text(const std::vector<BucketVerdict>& vs,
                              const std::vector<std::string>& errors) {
  std::string o;
  for (const auto& v : vs) {
    o += fmt::format("{:<12}  {}{}  ({})\n", v.verdict, sanitize(v.resource),
                     v.website ? "  [website]" : "", sanitize(v.file));
    if (!v.witness.empty()) o += "    witness: " + sanitize(v.witness) + "\n";
    for (const auto& w : v.why) o += "    why: " + sanitize(w) + "\n";
    for (const auto& n : v.notes) o += "    note: " + sanitize(n) + "\n";
  }
  size_t pub = 0;
  for (const auto& v : vs) pub += v.public_read || v.public_write;
  o += fmt::format("{} buckets: {} public, {} files not read\n", vs.size(), pub, errors.size());
  for (const auto& e : errors) o += "error: " + sanitize(e) + "\n";
  return o;
}

std::string render_cloud_json(const std::vector<BucketVerdict>& vs,
                              const std::vector<std::string>& errors,
                              const std::string& findings_json) {
  nlohmann::ordered_json j;
  auto arr = nlohmann::ordered_json::array();
  for (const auto& v : vs) {
    nlohmann::ordered_json x;
    x["resource"] = v.resource;
    x["file"] = v.file;
    x["verdict"] = v.verdict;
    x["public_read"] = v.public_read;
    x["public_write"] = v.public_write;
    x["website"] = v.website;
    x["witness"] = v.witness;
    x["why"] = v.why;
    x["notes"] = v.notes;
    arr.push_back(std::move(x));
  }
  j["resources"] = std::move(arr);
  j["errors"] = errors;
  auto f = nlohmann::ordered_json::parse(findings_json, nullptr, false);
  j["findings"] =
      f.is_object() && f.contains("findings") ? f["findings"] : nlohmann::ordered_json::array();
  return j.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace mamori::cloud
