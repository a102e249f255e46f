// S3 buckets from exported AWS CLI output, judged (s3.h).
#include "cloud/s3.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "cloud/terraform.h"
#include "core/text.h"

namespace mamori::cloud {
namespace {

using nlohmann::json;

const json* member(const json& j, std::string_view name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(name));
  return it == j.end() ? nullptr : &*it;
}

// AWS stores no bucket policy over 20 KB: a larger one is no real policy (and would make the
// evaluation as long as it likes).
constexpr size_t kMaxPolicy = 20 << 10;

Result<Policy> policy_of(const json& out) {
  // {"Policy": "<JSON text>"} as the CLI prints it; an object is taken as it is
  const json* p = member(out, "Policy");
  const json& doc = p ? *p : out;
  if (doc.is_string()) {
    const std::string& text = doc.get_ref<const std::string&>();
    if (text.size() > kMaxPolicy)
      return Error::invalid(fmt::format("{} bytes: larger than AWS stores (20 KB)", text.size()));
    return parse_policy_text(text);
  }
  if (doc.dump().size() > kMaxPolicy) return Error::invalid("larger than AWS stores (20 KB)");
  return parse_policy(doc);
}

// A member that is a string, or "" (a grant's fields are read whatever they hold)
std::string text_of(const json& j, const char* name) {
  const json* m = member(j, name);
  return m && m->is_string() ? m->get<std::string>() : "";
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
    std::string uri = text_of(*who, "URI");
    if (uri.ends_with("/global/AllUsers"))
      gr.grantee = "AllUsers";
    else if (uri.ends_with("/global/AuthenticatedUsers"))
      gr.grantee = "AuthenticatedUsers";
    else if (!uri.empty())
      gr.grantee = uri;
    else
      for (const char* k : {"DisplayName", "EmailAddress", "ID"})
        if (std::string id = text_of(*who, k); !id.empty()) gr.grantee = id;
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

namespace {

Result<Bucket> read_parts(const std::string& file, const json& j);

Result<Bucket> read_one(const std::string& file, const json& j) {
  try {
    return read_parts(file, j);
  } catch (const json::exception& e) {  // a value of another type than AWS writes
    return Error::invalid(file + ": unexpected content (" + sanitize(e.what()) + ")");
  }
}

Result<Bucket> read_parts(const std::string& file, const json& j) {
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
    // A policy is stored on its own bucket only: another's is an export mistake.
    if (b.policy && !b.name.empty()) {
      const std::string named = policy_bucket(*b.policy);
      if (!named.empty() && named != b.name)
        return Error::invalid(fmt::format(
            "{}: the bundle is for bucket {} but its policy names bucket {} (AWS stores a "
            "policy only on the bucket it names: an export mixed up?)",
            file, sanitize(b.name), sanitize(named)));
    }
    b.bundle = true;  // what it leaves out was not configured
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

}  // namespace

Result<std::vector<Bucket>> read_bucket_file(const std::string& file, std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return Error::invalid(file +
                          ": empty (did the aws call fail — NoSuchBucketPolicy, NoSuch…? A "
                          "setting that is not configured is left out: leave the file out)");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // (a syntax error, a number past any range)
    std::string what = e.what();
    if (size_t at = what.find("parse error"); at != std::string::npos) what = what.substr(at);
    return Error::invalid(file + ": not JSON (" + sanitize(what) +
                          "); export with the AWS CLI's --output json");
  }
  if (is_terraform_json(j)) {
    try {
      return read_terraform_json(file, j);
    } catch (const json::exception& e) {
      return Error::invalid(file + ": unexpected content (" + sanitize(e.what()) + ")");
    }
  }
  std::vector<Bucket> out;
  if (j.is_array()) {  // a list of bundles (jq -s)
    if (j.empty()) return Error::invalid(file + ": an empty list (no bundle in it)");
    if (j.size() > 10'000) return Error::invalid(file + ": more than 10,000 buckets");
    for (size_t i = 0; i < j.size(); ++i) {
      auto b = read_one(fmt::format("{}[{}]", file, i), j[i]);
      if (!b) return b.error();
      b->file = file;
      out.push_back(std::move(*b));
    }
    return out;
  }
  auto b = read_one(file, j);
  if (!b) return b.error();
  out.push_back(std::move(*b));
  return out;
}

Result<Bucket> join_bucket(const std::string& name, const std::vector<Bucket>& parts) {
  Bucket m;
  m.name = name;
  m.bundle = !parts.empty();
  for (const Bucket& b : parts) {
    m.bundle = m.bundle && b.bundle;
    if (!b.name.empty() && b.name != name)
      return Error::invalid(
          fmt::format("{}: describes bucket {}, not {}", b.file, sanitize(b.name), sanitize(name)));
    auto twice = [&](bool given_before, std::string_view what) -> std::optional<Error> {
      if (!given_before) return std::nullopt;
      return Error::invalid(fmt::format("{}: a second {} for bucket {} (one file per setting)",
                                        b.file, what, sanitize(name)));
    };
    std::optional<Error> e;
    if (b.policy && (e = twice(m.policy.has_value(), "policy"))) return *e;
    if (b.acl && (e = twice(m.acl.has_value(), "ACL"))) return *e;
    if (b.bucket_pab && (e = twice(m.bucket_pab.has_value(), "public access block"))) return *e;
    if (b.account_pab && (e = twice(m.account_pab.has_value(), "account public access block")))
      return *e;
    if (!b.ownership.empty() && (e = twice(!m.ownership.empty(), "ownership setting"))) return *e;
    m.file += (m.file.empty() ? "" : ", ") + b.file;
    if (b.policy) m.policy = b.policy;
    if (b.acl) m.acl = b.acl;
    if (b.bucket_pab) m.bucket_pab = b.bucket_pab;
    if (b.account_pab) m.account_pab = b.account_pab;
    if (!b.ownership.empty()) m.ownership = b.ownership;
    m.website = m.website || b.website;
    m.parts.insert(m.parts.end(), b.parts.begin(), b.parts.end());
  }
  return m;
}

BucketVerdict judge_bucket(const Bucket& b, int64_t now) {
  BucketVerdict v;
  v.resource = "s3://" + (!b.name.empty()    ? b.name
                          : !b.label.empty() ? valid_utf8(b.label)
                                             : valid_utf8(stem(b.file)));
  v.file = valid_utf8(b.file);
  if (b.name.empty() && b.label.empty())
    v.notes.push_back(
        "no bucket named in the file: shown under the file's name; give --bucket NAME to join "
        "the files of one bucket");
  v.website = b.website;
  PublicAccessBlock pab;
  for (const auto& p : {b.bucket_pab, b.account_pab})
    if (p) {
      pab.block_public_acls |= p->block_public_acls;
      pab.ignore_public_acls |= p->ignore_public_acls;
      pab.block_public_policy |= p->block_public_policy;
      pab.restrict_public_buckets |= p->restrict_public_buckets;
    }
  v.notes.insert(v.notes.end(), b.read_notes.begin(), b.read_notes.end());
  if (!b.bundle) {  // (a bundle leaves out what is not configured)
    if (!b.bucket_pab) v.notes.push_back("no bucket public access block given: taken as off");
    if (!b.account_pab) v.notes.push_back("no account public access block given: taken as off");
    if (!b.acl) v.notes.push_back("no ACL given: taken as the owner's alone");
    if (!b.policy && b.acl) v.notes.push_back("no bucket policy given: taken as none");
  }
  const bool acls_off = b.ownership == "BucketOwnerEnforced";
  bool unknown = false;

  // The policy, unless RestrictPublicBuckets confines a public policy to the owner's account
  // and AWS services.
  std::string read_w, write_w;
  if (b.policy) {
    // (a file that names no bucket: judged as a bucket its policy's resources take)
    std::string name = b.name;
    if (name.empty()) name = policy_bucket_pattern(*b.policy);
    if (name.empty()) name = stem(b.file);
    const bool acls_in_force = !acls_off && !pab.ignore_public_acls;
    Access r = public_access(*b.policy, name, Access::kRead, now, acls_in_force);
    Access w = public_access(*b.policy, name, Access::kWrite, now, acls_in_force);
    unknown = r.unknown || w.unknown;
    if ((r.granted || w.granted) && pab.restrict_public_buckets) {
      v.why.push_back(
          "the policy is public (" + (w.granted ? w.witness : r.witness) +
          "), but RestrictPublicBuckets is on: only AWS services and the bucket owner's own "
          "account are let in");
    } else {
      if (r.granted) read_w = r.witness;
      if (w.granted) write_w = w.witness;
      if (r.granted || w.granted) v.source = "policy";
    }
    for (auto* a : {&r, &w})
      if (!a->granted) v.why.insert(v.why.end(), a->why.begin(), a->why.end());
  }
  // The ACL, unless ACLs are disabled (BucketOwnerEnforced) or IgnorePublicAcls is on.
  if (b.acl) {
    for (const Grant& g : *b.acl) {
      if (g.grantee != "AllUsers" && g.grantee != "AuthenticatedUsers") continue;
      const std::string who = g.grantee == "AllUsers"
                                  ? "an anonymous request such as"
                                  : "a request from any AWS account (AuthenticatedUsers) such as";
      if (acls_off || pab.ignore_public_acls) {
        v.why.push_back(fmt::format(
            "the ACL grants {} {}, but {}", g.grantee, g.permission,
            acls_off ? "ACLs are disabled (BucketOwnerEnforced)" : "IgnorePublicAcls is on"));
        continue;
      }
      const std::string by =
          fmt::format("would be allowed by the bucket ACL ({}: {})", g.grantee, g.permission);
      const std::string at = v.resource;
      const size_t before = read_w.size() + write_w.size();
      if ((g.permission == "WRITE" || g.permission == "FULL_CONTROL") && write_w.empty())
        write_w = fmt::format("{} PUT {}/mamori/any-key {}", who, at, by);
      if (g.permission == "WRITE_ACP" && write_w.empty())
        write_w = fmt::format("{} PUT {}?acl (then any write it grants itself) {}", who, at, by);
      if ((g.permission == "READ" || g.permission == "FULL_CONTROL") && read_w.empty())
        read_w = fmt::format("{} LIST {} {}", who, at, by);
      if (read_w.size() + write_w.size() != before && v.source.empty()) v.source = "acl";
    }
  }
  if (!acls_off && !pab.ignore_public_acls)
    v.notes.push_back(
        "ACLs are in force (neither BucketOwnerEnforced nor IgnorePublicAcls): single objects "
        "put with a public ACL can be public; object ACLs are not read here");
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

void sort_by_urgency(std::vector<BucketVerdict>& v) {
  auto rank = [](const BucketVerdict& x) {
    return x.public_write           ? (x.website ? 0 : 1)
           : x.public_read          ? 2
           : x.verdict == "unknown" ? 3
                                    : 4;
  };
  std::stable_sort(v.begin(), v.end(), [&](const BucketVerdict& a, const BucketVerdict& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a.resource < b.resource;
  });
}

std::vector<Finding> bucket_findings(const std::vector<BucketVerdict>& vs,
                                     const std::vector<std::string>& expected_public) {
  std::vector<Finding> out;
  for (const auto& v : vs) {
    const std::string name = v.resource.substr(5);  // after s3://
    const bool expected =
        std::find(expected_public.begin(), expected_public.end(), name) != expected_public.end();
    if (!v.public_write && (expected || (!v.public_read && v.verdict != "unknown"))) continue;
    Finding f;
    f.module = "cloud";
    f.asset = v.resource;
    const std::string pab_cmd = fmt::format(
        "aws s3api put-public-access-block --bucket {} --public-access-block-configuration "
        "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
        "RestrictPublicBuckets=true",
        name);
    const std::string fix_source =
        v.source == "acl"
            ? fmt::format(
                  "remove the ACL grant to everyone: `aws s3api put-bucket-acl --bucket {} "
                  "--acl private` (public-read if it must stay readable)",
                  name)
            : fmt::format(
                  "remove or narrow the statement named (`aws s3api get-bucket-policy "
                  "--bucket {0}`, edit, `aws s3api put-bucket-policy --bucket {0} "
                  "--policy file://policy.json`)",
                  name);
    if (v.verdict == "unknown") {
      f.check = "s3-undecided";
      f.severity = Severity::kHigh;  // not shown safe: as urgent as shown public
      f.title = "Bucket policy too complex to decide: " + v.resource;
      f.evidence = fmt::format("{}", fmt::join(v.why, "; "));
      f.remediation =
          "Review the statements named by hand, or simplify their conditions (fewer condition "
          "keys shared between Allow and Deny) and audit again; if the bucket need not be "
          "public: " +
          pab_cmd;
    } else if (v.public_write) {
      f.check = "s3-public-write";
      f.severity = v.website ? Severity::kCritical : Severity::kHigh;
      f.title = (v.website ? "Website bucket writable by anyone (web skimming): "
                           : "Bucket writable by anyone: ") +
                v.resource;
      f.evidence = v.witness;
      f.remediation = "First " + fix_source +
                      "; then check the bucket's objects — pages and scripts — for what a "
                      "stranger may have written (a script added to a page: web skimming). If "
                      "nothing in it must be public: " +
                      pab_cmd;
    } else {
      f.check = "s3-public-read";
      f.severity = Severity::kHigh;
      f.title = "Bucket readable by anyone: " + v.resource;
      f.evidence = v.witness;
      f.remediation =
          "Unless the bucket is meant to be public (a website's assets and nothing "
          "else: then say so with --expect-public " +
          name + "), " + fix_source + ", and block it for good: " + pab_cmd;
    }
    f.references = {"CWE-284",
                    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
                    "access-control-block-public-access.html"};
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

std::string render_cloud_text(const std::vector<BucketVerdict>& vs,
                              const std::vector<std::string>& errors) {
  std::string o;
  for (const auto& v : vs) {
    const char* sev = v.public_write ? (v.website ? "CRITICAL" : "HIGH    ")
                      : v.public_read || v.verdict == "unknown" ? "HIGH    "
                                                                : "ok      ";
    o += fmt::format("{} {:<12}  {}{}  ({})\n", sev, v.verdict, sanitize(v.resource),
                     v.website ? "  [website]" : "", sanitize(v.file));
    if (!v.witness.empty()) o += "    witness: " + sanitize(v.witness) + "\n";
    for (const auto& w : v.why) o += "    why: " + sanitize(w) + "\n";
    for (const auto& n : v.notes) o += "    note: " + sanitize(n) + "\n";
  }
  size_t w = 0, r = 0, u = 0;
  for (const auto& v : vs) {
    w += v.public_write;
    r += v.public_read && !v.public_write;
    u += v.verdict == "unknown";
  }
  o += fmt::format(
      "{} bucket{}: {} writable by anyone, {} readable by anyone, {} undecided, {} not public; "
      "{} file{} not understood\n",
      vs.size(), vs.size() == 1 ? "" : "s", w, r, u, vs.size() - w - r - u, errors.size(),
      errors.size() == 1 ? "" : "s");
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
