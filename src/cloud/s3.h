#pragma once
// An S3 bucket's exposure from what an operator exports offline, decided exactly: its policy
// (evaluate.h), its ACL, the Block Public Access settings of the bucket and of the account, the
// object ownership setting, and whether it serves a website. Inputs, per file:
//   - a bundle: {"Bucket": "name", "AccountId": "…", "GetBucketPolicy": {"Policy": "<JSON>"},
//     "GetBucketAcl": {…}, "GetPublicAccessBlock": {…}, "GetAccountPublicAccessBlock": {…},
//     "GetBucketOwnershipControls": {…}, "GetBucketWebsite": {…}} — a missing key: the call
//     answered NoSuch… (not configured);
//   - one call's output as the AWS CLI prints it (get-bucket-policy {"Policy": "<JSON>"},
//     get-bucket-acl {"Owner", "Grants"}, get-public-access-block
//     {"PublicAccessBlockConfiguration"}, get-bucket-ownership-controls
//     {"OwnershipControls"}, get-bucket-website {"IndexDocument", …}) or a raw policy document.
// A file may also hold a list of bundles (`jq -s`), or Terraform's JSON (terraform.h). A file that
// is none of these, or malformed, is an error naming the file; the others are still audited.
//
// Example:
//   auto b = read_bucket_file("/tmp/shop.json", text);
//   BucketVerdict v = judge_bucket(*b, now);
//   v.verdict  // "public-write"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/evaluate.h"
#include "cloud/policy.h"
#include "core/finding.h"
#include "core/result.h"

namespace mamori::cloud {

struct Grant {
  std::string grantee;     // "AllUsers", "AuthenticatedUsers", or the id / e-mail / URI given
  std::string permission;  // READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL
};

// Block Public Access: Ignore/Restrict change what is in force; Block* only refuse future PUTs.
struct PublicAccessBlock {
  bool block_public_acls = false, ignore_public_acls = false;
  bool block_public_policy = false, restrict_public_buckets = false;
};

struct Bucket {
  std::string file;  // where it was read
  std::string name;  // the bucket ("" until known: the policy's resources, else the file's stem)
  std::optional<Policy> policy;
  std::optional<std::vector<Grant>> acl;
  std::optional<PublicAccessBlock> bucket_pab, account_pab;
  std::string ownership;  // BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter ("" unknown)
  bool website = false;   // GetBucketWebsite answered: the bucket serves a site
  std::vector<std::string> parts;       // what the file held ("policy", "acl" …)
  bool bundle = false;                  // read from a bundle: a setting left out was not configured
  std::vector<std::string> read_notes;  // what reading could not know (a value after apply)
  std::string label;  // shown when the name is unknown (a Terraform address), else the file's
};

// One file's bucket facts (several for a list of bundles).
Result<std::vector<Bucket>> read_bucket_file(const std::string& file, std::string_view text);
// The parts of one bucket (one file per CLI call, `--bucket NAME`) joined; a part naming another
// bucket, or a setting given twice, is an error: nothing is guessed.
Result<Bucket> join_bucket(const std::string& name, const std::vector<Bucket>& parts);

struct BucketVerdict {
  std::string resource;  // "s3://name"
  std::string file;
  std::string verdict;  // "public-write", "public-read", "not-public", "unknown"
  bool public_read = false, public_write = false, website = false;
  std::string witness;             // the request that proves it ("" when not public)
  std::string source;              // what lets it in: "policy" or "acl"
  std::vector<std::string> why;    // why not public, or what limits the public access
  std::vector<std::string> notes;  // what was not given (no ACL …) and so assumed
};

BucketVerdict judge_bucket(const Bucket& b, int64_t now);

// module cloud, check s3-public-write (critical on a website bucket: anyone can change the
// site's pages and scripts — web skimming; high otherwise), s3-public-read (high; none for a
// bucket in `expected_public`, meant to be read by all), s3-undecided (high: not shown safe),
// asset s3://name; the remediation gives the commands.
std::vector<Finding> bucket_findings(const std::vector<BucketVerdict>& v,
                                     const std::vector<std::string>& expected_public = {});
// Most urgent first: public write (a website's first), public read, undecided, not public.
void sort_by_urgency(std::vector<BucketVerdict>& v);

std::string render_cloud_text(const std::vector<BucketVerdict>& v,
                              const std::vector<std::string>& errors);
std::string render_cloud_json(const std::vector<BucketVerdict>& v,
                              const std::vector<std::string>& errors,
                              const std::string& findings_json);

}  // namespace mamori::cloud
