// S3 buckets from Terraform's JSON (terraform.h).
#include "cloud/terraform.h"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace mamori::cloud {
namespace {

using nlohmann::json;

constexpr size_t kMaxResources = 100'000;
constexpr int kMaxModuleDepth = 32;

std::string str(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
bool flag(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
// Terraform writes nested blocks as lists of objects.
const json* first_block(const json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end()) return nullptr;
  if (it->is_array() && !it->empty() && it->front().is_object()) return &it->front();
  if (it->is_object()) return &*it;
  return nullptr;
}
std::vector<const json*> blocks(const json& j, const char* k) {
  std::vector<const json*> out;
  auto it = j.find(k);
  if (it == j.end()) return out;
  if (it->is_array()) {
    for (const auto& e : *it)
      if (e.is_object()) out.push_back(&e);
  } else if (it->is_object()) {
    out.push_back(&*it);
  }
  return out;
}

struct Resource {
  std::string address, type;
  const json* values;
};

void collect(const json& module, std::vector<Resource>& out, int depth) {
  if (depth > kMaxModuleDepth || !module.is_object()) return;
  if (auto it = module.find("resources"); it != module.end() && it->is_array())
    for (const auto& r : *it) {
      if (out.size() >= kMaxResources || !r.is_object() || str(r, "mode") == "data") continue;
      auto v = r.find("values");
      if (v == r.end() || !v->is_object()) continue;
      out.push_back({str(r, "address"), str(r, "type"), &*v});
    }
  if (auto it = module.find("child_modules"); it != module.end() && it->is_array())
    for (const auto& m : *it) collect(m, out, depth + 1);
}

Grant grant_of(const json& g, const json& grantee) {
  std::string uri = str(grantee, "uri");
  Grant out;
  out.permission = str(g, "permission");
  out.grantee = uri.ends_with("/global/AllUsers")             ? "AllUsers"
                : uri.ends_with("/global/AuthenticatedUsers") ? "AuthenticatedUsers"
                : !uri.empty()                                ? uri
                                                              : str(grantee, "id");
  return out;
}

}  // namespace

std::vector<Grant> canned_acl(const std::string& acl) {
  if (acl == "public-read") return {{"AllUsers", "READ"}};
  if (acl == "public-read-write") return {{"AllUsers", "READ"}, {"AllUsers", "WRITE"}};
  if (acl == "authenticated-read") return {{"AuthenticatedUsers", "READ"}};
  return {};  // private, bucket-owner-*, aws-exec-read, log-delivery-write: no one else
}

bool is_terraform_json(const json& doc) {
  return doc.is_object() && doc.contains("format_version") &&
         (doc.contains("planned_values") || doc.contains("values"));
}

Result<std::vector<Bucket>> read_terraform_json(const std::string& file, const json& doc) {
  const json* root = nullptr;
  for (const char* k : {"planned_values", "values"})
    if (auto it = doc.find(k); it != doc.end() && it->is_object())
      if (auto m = it->find("root_module"); m != it->end()) {
        root = &*m;
        break;
      }
  if (!root) return Error::invalid(file + ": Terraform JSON without planned_values.root_module");
  std::vector<Resource> rs;
  collect(*root, rs, 0);

  std::map<std::string, Bucket> by;  // bucket name (or the resource's address) → bucket
  std::optional<PublicAccessBlock> account;
  auto bucket = [&](const Resource& r, const std::string& name) -> Bucket& {
    const std::string key = name.empty() ? r.address : name;
    auto [it, fresh] = by.try_emplace(key);
    Bucket& b = it->second;
    if (fresh) {
      b.file = file;
      b.name = name;
      b.bundle = true;  // what the plan does not configure is not configured
      if (name.empty()) b.label = r.address;
      if (name.empty())
        b.read_notes.push_back(r.address +
                               ": the bucket's name is known only after apply (not in the plan)");
    }
    return b;
  };
  auto add_policy = [&](Bucket& b, const Resource& r, const std::string& text) -> Status {
    if (text.empty()) {
      b.read_notes.push_back(r.address + ": its policy is known only after apply");
      return ok();
    }
    if (text.size() > (20u << 10))
      return Error::invalid(
          fmt::format("{}: {}: policy larger than AWS stores (20 KB)", file, r.address));
    auto p = parse_policy_text(text);
    if (!p)
      return Error::invalid(fmt::format("{}: {}: policy: {}", file, r.address, p.error().message));
    // An inline policy and an aws_s3_bucket_policy overwrite each other on every apply: the
    // standalone resource is judged, and the fight named.
    if (b.policy) {
      b.read_notes.push_back(r.address +
                             ": a second policy for the bucket (inline and aws_s3_bucket_policy "
                             "overwrite each other on every apply; judged: the standalone one)");
      if (r.type != "aws_s3_bucket_policy") return ok();
    }
    b.policy = std::move(*p);
    return ok();
  };
  auto add_grants = [&](Bucket& b, std::vector<Grant> g) {
    if (!b.acl) b.acl = std::vector<Grant>{};
    b.acl->insert(b.acl->end(), g.begin(), g.end());
  };
  for (const Resource& r : rs) {
    const json& v = *r.values;
    if (r.type == "aws_s3_account_public_access_block") {
      account =
          PublicAccessBlock{flag(v, "block_public_acls"), flag(v, "ignore_public_acls"),
                            flag(v, "block_public_policy"), flag(v, "restrict_public_buckets")};
      continue;
    }
    if (!r.type.starts_with("aws_s3_bucket")) continue;
    Bucket& b = bucket(r, str(v, "bucket"));
    b.parts.push_back(r.address);
    if (r.type == "aws_s3_bucket") {
      if (auto acl = str(v, "acl"); !acl.empty()) add_grants(b, canned_acl(acl));
      for (const json* g : blocks(v, "grant"))  // the older inline grant blocks
        if (auto perms = g->find("permissions"); perms != g->end() && perms->is_array())
          for (const auto& p : *perms)
            if (p.is_string()) {
              Grant gr = grant_of(json{{"permission", p}}, *g);
              add_grants(b, {gr});
            }
      if (v.contains("policy") && v["policy"].is_string() && !str(v, "policy").empty())
        if (auto st = add_policy(b, r, str(v, "policy")); !st) return st.error();
      if (!blocks(v, "website").empty()) b.website = true;
    } else if (r.type == "aws_s3_bucket_policy") {
      if (auto st = add_policy(b, r, str(v, "policy")); !st) return st.error();
    } else if (r.type == "aws_s3_bucket_acl") {
      if (auto acl = str(v, "acl"); !acl.empty()) add_grants(b, canned_acl(acl));
      if (const json* acp = first_block(v, "access_control_policy"))
        for (const json* g : blocks(*acp, "grant"))
          for (const json* who : blocks(*g, "grantee")) add_grants(b, {grant_of(*g, *who)});
    } else if (r.type == "aws_s3_bucket_public_access_block") {
      b.bucket_pab =
          PublicAccessBlock{flag(v, "block_public_acls"), flag(v, "ignore_public_acls"),
                            flag(v, "block_public_policy"), flag(v, "restrict_public_buckets")};
    } else if (r.type == "aws_s3_bucket_ownership_controls") {
      if (const json* rule = first_block(v, "rule")) b.ownership = str(*rule, "object_ownership");
    } else if (r.type == "aws_s3_bucket_website_configuration") {
      b.website = true;
    }
  }
  std::vector<Bucket> out;
  for (auto& [key, b] : by) {
    if (account) b.account_pab = account;
    out.push_back(std::move(b));
  }
  if (out.empty())
    return Error::invalid(file + ": Terraform JSON with no S3 bucket resource in it");
  return out;
}

}  // namespace mamori::cloud
