#pragma once
// S3 buckets from Terraform's JSON (`terraform show -json PLANFILE`, or of the state): the
// planned values of aws_s3_bucket (with its older inline acl, grant, policy and website),
// aws_s3_bucket_policy, aws_s3_bucket_acl, aws_s3_bucket_public_access_block,
// aws_s3_bucket_ownership_controls, aws_s3_bucket_website_configuration and
// aws_s3_account_public_access_block, in every module, joined by bucket name. What Terraform
// knows only after apply (a name from bucket_prefix, a policy built from another resource's id)
// is absent from the plan: such a setting is named in a note, never guessed.
//
// Example:
//   auto plan = nlohmann::json::parse(text);
//   if (is_terraform_json(plan)) auto buckets = read_terraform_json("plan.json", plan);

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "cloud/s3.h"
#include "core/result.h"

namespace mamori::cloud {

bool is_terraform_json(const nlohmann::json& doc);
Result<std::vector<Bucket>> read_terraform_json(const std::string& file, const nlohmann::json& doc);

// A canned ACL's grants to the public ("public-read" → AllUsers READ …; "private" → none).
std::vector<Grant> canned_acl(const std::string& acl);

}  // namespace mamori::cloud
