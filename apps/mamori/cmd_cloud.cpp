// mamori cloud audit.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <ctime>

#include "cli.h"
#include "cloud/s3.h"
#include "core/fs.h"
#include "core/text.h"
#include "report/report.h"

namespace mamori::cli {
namespace {

struct CloudAuditArgs {
  std::vector<std::string> paths;
  std::string bucket;
  std::vector<std::string> expect_public;
};

int cmd_cloud_audit(const Options& o, const CloudAuditArgs& a) {
  ReportArgs ra;
  if (auto bad = report_args(o, ra)) return *bad;
  std::vector<cloud::Bucket> parts;
  std::vector<std::string> errors;
  for (const auto& p : a.paths) {
    // (a policy is at most 20 KB, AWS's limit, checked as it is read; a list of bundles for a
    // whole account fits in 8 MiB — about 15,000 buckets)
    auto text = read_file(p, 8u << 20);
    if (!text) {
      errors.push_back(text.error().message);
      continue;
    }
    auto b = cloud::read_bucket_file(p, *text);
    if (!b) {
      errors.push_back(b.error().message);
      continue;
    }
    for (auto& one : *b) parts.push_back(std::move(one));
  }
  // With --bucket every file is a part of that one bucket; without, each file stands alone:
  // files are never joined by guessing.
  if (!a.bucket.empty()) {
    auto joined = cloud::join_bucket(a.bucket, parts);
    parts.clear();
    if (joined)
      parts.push_back(std::move(*joined));
    else
      errors.push_back(joined.error().message);
  }
  std::vector<cloud::BucketVerdict> verdicts;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& b : parts) verdicts.push_back(cloud::judge_bucket(b, now));
  cloud::sort_by_urgency(verdicts);
  if (ra.format != report::Format::kText)  // (the text lists them itself)
    for (const auto& e : errors) info(o, "cloud audit: error: " + sanitize(e));
  report::Report rep;
  rep.host = host_name(o);
  rep.tool_version = MAMORI_VERSION;
  rep.findings = cloud::bucket_findings(verdicts, a.expect_public);
  int rc = 0;
  switch (ra.format) {
    case report::Format::kText:
      rc = emit(o, cloud::render_cloud_text(verdicts, errors));
      break;
    case report::Format::kJson:
      rc = emit(o, cloud::render_cloud_json(verdicts, errors, report::render_json(rep)));
      break;
    default:
      rc = emit(o, report::render(rep, ra.format, use_color(o)));
  }
  if (rc != kExitOk) return rc;
  if (!errors.empty()) return kExitError;  // (the others were still audited, above)
  return exit_for(rep.findings, ra.threshold);
}

}  // namespace

void add_cloud_commands(CLI::App& app, Options& o, int& rc) {
  auto* cloud = app.add_subcommand(
      "cloud", "Cloud storage seen as AWS decides it: who can read or write a bucket");
  cloud->require_subcommand(1);
  auto a = std::make_shared<CloudAuditArgs>();
  auto* audit = cloud->add_subcommand(
      "audit",
      "Decide from exported settings whether an S3 bucket can be read or written by anyone "
      "(anonymous requests, or any other AWS account), with the request that proves it");
  audit
      ->add_option("PATH", a->paths,
                   "JSON files exported with the AWS CLI (--output json): get-bucket-policy, "
                   "get-bucket-acl, get-public-access-block, get-bucket-ownership-controls, "
                   "get-bucket-website; a policy document; a bundle of them, or a list of "
                   "bundles; Terraform's JSON (terraform show -json PLAN)")
      ->required();
  audit->add_option("--bucket", a->bucket,
                    "The files given are the settings of this one bucket (one file per aws "
                    "call): joined, and refused if one names another bucket or a setting "
                    "comes twice. Without it each file stands alone");
  audit->add_option("--expect-public", a->expect_public,
                    "A bucket meant to be readable by all (a website's assets): its public "
                    "read is shown but is no finding; public write still is (repeat)");
  audit->footer(
      R"(Export (one file per call, or one bundle per bucket; a call answering NoSuch… means
not configured: leave it out):
  B=shop-assets; ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
  aws s3api get-bucket-policy --bucket $B > policy.json
  aws s3api get-bucket-acl --bucket $B > acl.json
  aws s3api get-public-access-block --bucket $B > pab.json
  aws s3api get-bucket-ownership-controls --bucket $B > ownership.json
  aws s3api get-bucket-website --bucket $B > website.json
  mamori cloud audit --bucket $B policy.json acl.json pab.json ownership.json website.json
A bundle: {"Bucket": "shop-assets", "GetBucketPolicy": <get-bucket-policy's output>,
"GetBucketAcl": …, "GetPublicAccessBlock": …, "GetAccountPublicAccessBlock": <aws s3control
get-public-access-block --account-id $ACCOUNT>, "GetBucketOwnershipControls": …,
"GetBucketWebsite": …} (docs/cloud.md has a script that writes them).

The policy is evaluated as AWS does (explicit Deny first; NotPrincipal/NotAction/NotResource;
wildcards; every condition operator; policy variables) over the requests a stranger can make.
The witness is such a request, made up to prove the point (an example key and address): AWS
would allow it. A not-public verdict says what stops each grant to everyone. "unknown": the
policy's conditions were too many to decide — treat it as public until reviewed.
Block Public Access: IgnorePublicAcls and RestrictPublicBuckets change what is in force;
BlockPublicAcls and BlockPublicPolicy only refuse future grants. Public write to a bucket that
serves a website is critical (anyone can change its pages and scripts: web skimming).
--format json|sarif|html for machines. Exit: 0; 1 with --fail-on and a finding at or above it;
2 a usage mistake; 3 a file could not be read or understood (the others are still audited; 3
wins over 1).

Examples:
  mamori cloud audit --bucket shop-assets policy.json acl.json pab.json
  mamori --format json cloud audit bundles/*.json
  mamori --fail-on high cloud audit --expect-public shop-assets bundles/*.json  # exit 1: act)");
  audit->callback([&o, &rc, a] { rc = cmd_cloud_audit(o, *a); });
}

}  // namespace mamori::cli
