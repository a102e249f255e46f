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
};

int cmd_cloud_audit(const Options& o, const CloudAuditArgs& a) {
  ReportArgs ra;
  if (auto bad = report_args(o, ra)) return *bad;
  std::vector<cloud::Bucket> parts;
  std::vector<std::string> errors;
  for (const auto& p : a.paths) {
    // AWS stores bucket policies of at most 20 KB; an export of 1 MiB is already no policy
    auto text = read_file(p, 1u << 20);
    if (!text) {
      errors.push_back(text.error().message);
      continue;
    }
    auto b = cloud::read_bucket_file(p, *text);
    if (!b) {
      errors.push_back(b.error().message);
      continue;
    }
    parts.push_back(std::move(*b));
  }
  std::vector<cloud::BucketVerdict> verdicts;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& b : cloud::merge_buckets(std::move(parts)))
    verdicts.push_back(cloud::judge_bucket(b, now));
  if (ra.format != report::Format::kText)  // (the text lists them itself)
    for (const auto& e : errors) info(o, "cloud audit: error: " + sanitize(e));
  report::Report rep;
  rep.host = host_name(o);
  rep.tool_version = MAMORI_VERSION;
  rep.findings = cloud::bucket_findings(verdicts);
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
                   "JSON files exported with the AWS CLI (get-bucket-policy, get-bucket-acl, "
                   "get-public-access-block, get-bucket-ownership-controls, "
                   "get-bucket-website), a policy document, or a bundle of them")
      ->required()
      ->check(CLI::ExistingFile);
  audit->footer(R"(A bundle is one JSON object per bucket: {"Bucket": "shop-assets",
"GetBucketPolicy": <get-bucket-policy's output>, "GetBucketAcl": …, "GetPublicAccessBlock": …,
"GetAccountPublicAccessBlock": <s3control get-public-access-block's output>,
"GetBucketOwnershipControls": …, "GetBucketWebsite": …}; a key left out means the call answered
NoSuch… (not configured). Separate files of one bucket are joined by the bucket the policy names.
The policy is evaluated as AWS does (explicit Deny first; NotPrincipal/NotAction/NotResource;
wildcards; every condition operator; policy variables) over the requests a stranger can make; a
public verdict shows one such request, a not-public one says what stops each public grant.
Block Public Access: IgnorePublicAcls and RestrictPublicBuckets change what is in force;
BlockPublicAcls and BlockPublicPolicy only refuse future grants. Public write to a bucket that
serves a website is critical (anyone can change its pages and scripts: web skimming).
--format json|sarif|html for machines. Exit: 0; 1 with --fail-on and a finding at or above it;
2 a usage mistake; 3 a file could not be read or understood (the others are still audited).

Examples:
  aws s3api get-bucket-policy --bucket shop-assets > policy.json
  mamori cloud audit policy.json
  mamori --format json cloud audit bundles/*.json
  mamori --fail-on high -q cloud audit shop-assets.json   # exit 1 when public)");
  audit->callback([&o, &rc, a] { rc = cmd_cloud_audit(o, *a); });
}

}  // namespace mamori::cli
