// mamori cloud audit: bucket policies judged as AWS evaluates them, each trap the open-source
// checkers fall into (read from their sources) written here as a policy, with the verdict and
// the witness or the reason; ACLs, Block Public Access, object ownership; bad input.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cloud/evaluate.h"
#include "cloud/policy.h"
#include "cloud/s3.h"
#include "cloud/terraform.h"

namespace mamori::cloud {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15

// One statement on bucket "b" (objects and the bucket itself).
std::string stmt(const std::string& effect, const std::string& principal, const std::string& action,
                 const std::string& extra = "") {
  return "{\"Effect\":\"" + effect + "\"," + principal + ",\"Action\":" + action +
         ",\"Resource\":[\"arn:aws:s3:::b\",\"arn:aws:s3:::b/*\"]" +
         (extra.empty() ? "" : "," + extra) + "}";
}
BucketVerdict judge(const std::string& statements) {
  auto b = read_bucket_file("t.json", "{\"Statement\":[" + statements + "]}");
  EXPECT_TRUE(b.has_value()) << b.error().message;
  if (!b) return {};
  return judge_bucket(b->at(0), kNow);
}
const std::string kAnyone = "\"Principal\":\"*\"";

TEST(CloudPolicy, AnyoneReadingIsPublicReadWithTheRequestThatProvesIt) {
  auto v = judge(stmt("Allow", kAnyone, "\"s3:GetObject\""));
  EXPECT_EQ(v.verdict, "public-read");
  EXPECT_EQ(v.resource, "s3://b");
  EXPECT_NE(v.witness.find("an anonymous request such as GET s3://b/"), std::string::npos)
      << v.witness;
  EXPECT_NE(v.witness.find("would be allowed by statement 1"), std::string::npos);
  // s3:Get* reads; it writes nothing (a checker that calls it a write is wrong)
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"s3:Get*\"")).verdict, "public-read");
  // {"AWS": [account, "*"]}: the list holds everyone (CloudSploit misses it)
  auto w = judge(stmt("Allow", "\"Principal\":{\"AWS\":[\"arn:aws:iam::111122223333:root\",\"*\"]}",
                      "[\"s3:PutObject\"]"));
  EXPECT_EQ(w.verdict, "public-write");
  EXPECT_TRUE(w.public_write);
  // a named account, a service: not the public
  EXPECT_EQ(judge(stmt("Allow", "\"Principal\":{\"AWS\":\"111122223333\"}", "\"s3:*\"")).verdict,
            "not-public");
  // (a service named as principal: see StrangersOwnKeys… below)
  // action names are case-insensitive
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"S3:getobject\"")).verdict, "public-read");
}

TEST(CloudPolicy, ExplicitDenyWinsAndTheNotElementsInvert) {
  // Deny wins over Allow (Custodian ignores Deny)
  EXPECT_EQ(
      judge(stmt("Allow", kAnyone, "\"s3:*\"") + "," + stmt("Deny", kAnyone, "\"s3:*\"")).verdict,
      "not-public");
  auto v = judge(stmt("Allow", kAnyone, "\"s3:GetObject\"") + "," +
                 stmt("Deny", kAnyone, "\"s3:GetObject\""));
  ASSERT_FALSE(v.why.empty());
  EXPECT_NE(v.why[0].find("is denied by statement 2"), std::string::npos) << v.why[0];
  // A Deny on reads leaves writes open
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"s3:*\"") + "," + stmt("Deny", kAnyone, "\"s3:Get*\""))
                .verdict,
            "public-write");
  // NotAction: everything but deleting — writing included
  EXPECT_EQ(judge("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"s3:DeleteObject\","
                  "\"Resource\":\"arn:aws:s3:::b/*\"}")
                .verdict,
            "public-write");
  EXPECT_EQ(judge("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"s3:*\","
                  "\"Resource\":\"arn:aws:s3:::b/*\"}")
                .verdict,
            "not-public");  // every action but S3's
  // NotPrincipal with Allow: everyone but one account
  EXPECT_EQ(judge(stmt("Allow", "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"}",
                       "\"s3:GetObject\""))
                .verdict,
            "public-read");
  // NotResource that spares one key: the rest is readable
  auto nr = judge(
      "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
      "\"NotResource\":\"arn:aws:s3:::b/private/*\"}");
  EXPECT_EQ(nr.verdict, "public-read");
}

TEST(CloudPolicy, ConditionsDecideExactlyWhoCanMeetThem) {
  auto cond = [&](const std::string& c) {
    return judge(stmt("Allow", kAnyone, "\"s3:GetObject\"", "\"Condition\":" + c)).verdict;
  };
  // a fixed address range is the owner's: not public, and the reason names it
  auto ip = judge(stmt("Allow", kAnyone, "\"s3:GetObject\"",
                       "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"192.0.2.0/24\"}}"));
  EXPECT_EQ(ip.verdict, "not-public");
  ASSERT_FALSE(ip.why.empty());
  EXPECT_NE(ip.why[0].find("IpAddress aws:SourceIp [192.0.2.0/24]"), std::string::npos)
      << ip.why[0];
  EXPECT_NE(ip.why[0].find("for anonymous requests and other accounts"), std::string::npos);
  EXPECT_EQ(ip.why.size(), 1u);  // one reason, not one per request tried
  // 0.0.0.0/0 restricts nothing (a checker that takes it as a restriction is wrong)
  EXPECT_EQ(cond("{\"IpAddress\":{\"aws:SourceIp\":[\"0.0.0.0/0\"]}}"), "public-read");
  EXPECT_EQ(cond("{\"NotIpAddress\":{\"aws:SourceIp\":\"192.0.2.0/24\"}}"), "public-read");
  // keys case-insensitive
  EXPECT_EQ(cond("{\"IpAddress\":{\"AWS:SOURCEIP\":\"192.0.2.0/24\"}}"), "not-public");
  // a negated operator is true on a missing key: ArnNotEquals aws:PrincipalArn lets anonymous in
  EXPECT_EQ(cond("{\"ArnNotEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::111122223333:user/x\"}}"),
            "public-read");
  // arn:aws:iam::* is every account's principal
  EXPECT_EQ(cond("{\"ArnLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:root\"}}"), "public-read");
  EXPECT_EQ(cond("{\"ArnEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::111122223333:root\"}}"),
            "not-public");
  // a fixed VPC endpoint, organisation, source account: not public; negated ones are
  EXPECT_EQ(cond("{\"StringEquals\":{\"aws:SourceVpce\":\"vpce-1a2b3c4d\"}}"), "not-public");
  EXPECT_EQ(cond("{\"StringNotEquals\":{\"aws:SourceVpce\":\"vpce-1a2b3c4d\"}}"), "public-read");
  EXPECT_EQ(cond("{\"StringEquals\":{\"aws:PrincipalOrgID\":\"o-abc123\"}}"), "not-public");
  EXPECT_EQ(cond("{\"StringEquals\":{\"aws:SourceAccount\":\"111122223333\"}}"), "not-public");
  // IfExists: a missing key passes
  EXPECT_EQ(cond("{\"StringEqualsIfExists\":{\"aws:SourceVpce\":\"vpce-1a2b3c4d\"}}"),
            "public-read");
  // Null "true": the key must be missing — it is, from the internet
  EXPECT_EQ(cond("{\"Null\":{\"aws:SourceVpce\":\"true\"}}"), "public-read");
  // … and "false" (present) is met through the requester's own VPC endpoint
  EXPECT_EQ(cond("{\"Null\":{\"aws:SourceVpce\":\"false\"}}"), "public-read");
  EXPECT_EQ(cond("{\"Null\":{\"aws:PrincipalOrgID\":\"false\"}}"), "public-read");  // its org
  EXPECT_EQ(cond("{\"Null\":{\"aws:SourceArn\":\"false\"}}"), "not-public");        // services only
  // what the requester sends itself restricts nothing: TLS, a Referer, a header
  EXPECT_EQ(cond("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}"), "public-read");
  EXPECT_EQ(cond("{\"StringLike\":{\"aws:Referer\":\"https://shop.example/*\"}}"), "public-read");
  // ForAllValues is true on a missing key; ForAnyValue false
  EXPECT_EQ(cond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"a\"]}}"), "public-read");
  // condition blocks AND: a free key and a fixed range together are not public
  EXPECT_EQ(cond("{\"Bool\":{\"aws:SecureTransport\":\"true\"},"
                 "\"IpAddress\":{\"aws:SourceIp\":\"198.51.100.0/24\"}}"),
            "not-public");
  // dates: a grant that expired is closed, one that runs on is open
  EXPECT_EQ(cond("{\"DateLessThan\":{\"aws:CurrentTime\":\"2020-01-01T00:00:00Z\"}}"),
            "not-public");
  EXPECT_EQ(cond("{\"DateLessThan\":{\"aws:CurrentTime\":\"2099-01-01T00:00:00Z\"}}"),
            "public-read");
  // a Deny that only a fixed endpoint escapes closes the objects, not the bucket's own policy
  auto d = judge(stmt("Allow", kAnyone, "\"s3:*\"") + "," +
                 "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":"
                 "\"arn:aws:s3:::b/*\",\"Condition\":{\"StringNotEquals\":{\"aws:SourceVpce\":"
                 "\"vpce-1a2b\"}}}");
  EXPECT_EQ(d.verdict, "public-write");
  EXPECT_EQ(d.witness.find("s3://b/"), std::string::npos) << d.witness;  // the bucket's own
}

// What an attack review found: each a policy once judged wrongly.
TEST(CloudPolicy, StrangersOwnKeysServicesVersionsAndPartitionsAreTheirs) {
  auto cond = [&](const std::string& c) {
    return judge(stmt("Allow", kAnyone, "\"s3:GetObject\"", "\"Condition\":" + c)).verdict;
  };
  // a stranger tags their own user, has their own MFA, goes through Athena from their account
  EXPECT_EQ(cond("{\"StringEquals\":{\"aws:PrincipalTag/team\":\"finance\"}}"), "public-read");
  EXPECT_EQ(cond("{\"NumericLessThan\":{\"aws:MultiFactorAuthAge\":\"3600\"}}"), "public-read");
  EXPECT_EQ(cond("{\"ForAnyValue:StringEquals\":{\"aws:CalledVia\":\"athena.amazonaws.com\"}}"),
            "public-read");
  EXPECT_EQ(cond("{\"Bool\":{\"aws:ViaAWSService\":\"true\"}}"), "public-read");
  // an address range as wide as a /8 holds strangers (cloud address space anyone rents)
  EXPECT_EQ(cond("{\"IpAddress\":{\"aws:SourceIp\":\"3.0.0.0/8\"}}"), "public-read");
  // ArnLike "*" takes every principal's ARN
  EXPECT_EQ(cond("{\"ArnLike\":{\"aws:PrincipalArn\":\"*\"}}"), "public-read");
  // a service named as principal, with no source pinned: any account's distribution reads
  auto cf = judge(stmt("Allow", "\"Principal\":{\"Service\":\"cloudfront.amazonaws.com\"}",
                       "\"s3:GetObject\""));
  EXPECT_EQ(cf.verdict, "public-read");
  EXPECT_NE(cf.witness.find("cloudfront.amazonaws.com acting for another AWS account"),
            std::string::npos)
      << cf.witness;
  const std::string pinned =
      "\"Condition\":{\"StringEquals\":{\"aws:SourceArn\":"
      "\"arn:aws:cloudfront::111122223333:distribution/E1\"}}";
  EXPECT_EQ(judge(stmt("Allow", "\"Principal\":{\"Service\":\"cloudfront.amazonaws.com\"}",
                       "\"s3:GetObject\"", pinned))
                .verdict,
            "not-public");
  EXPECT_EQ(judge(stmt("Allow", "\"Principal\":{\"Service\":\"cloudfront.amazonaws.com\"}",
                       "\"s3:GetObject\"",
                       "\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":"
                       "\"arn:aws:cloudfront::*:distribution/*\"}}"))
                .verdict,
            "public-read");
  // reading by version, redirecting a website bucket, a lifecycle that deletes all
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"s3:GetObjectVersion\"")).verdict, "public-read");
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"s3:PutBucketWebsite\"")).verdict, "public-write");
  // … but a bucket's policy is only ever changed from its owner's account
  EXPECT_EQ(
      judge(stmt("Allow", kAnyone, "[\"s3:PutBucketPolicy\",\"s3:DeleteBucketPolicy\"]")).verdict,
      "not-public");
  // other partitions
  EXPECT_EQ(judge("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
                  "\"Resource\":\"arn:aws-cn:s3:::b/*\"}")
                .verdict,
            "public-read");
  // a Deny whose resource holds a variable an anonymous request lacks does not apply
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"s3:GetObject\"") + "," +
                  "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
                  "\"Resource\":\"arn:aws:s3:::b/${aws:username}/*\"}")
                .verdict,
            "public-read");
  // … nor one on keys holding an 'm': other keys are tried
  EXPECT_EQ(judge(stmt("Allow", kAnyone, "\"s3:PutObject\"") + "," +
                  "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\","
                  "\"Resource\":\"arn:aws:s3:::b/*m*\"}")
                .verdict,
            "public-write");
  // Version 2008-10-17 reads ${…} as it is written
  auto old = read_bucket_file(
      "o.json",
      "{\"Version\":\"2008-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":"
      "\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/${aws:username, "
      "'x'}/*\"}}");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(judge_bucket(old->at(0), kNow).verdict, "public-read");  // the key "${aws:…}/z"
}

TEST(CloudPolicy, ADenyNoValueEscapesIsDecidedAtOnceAndTheBudgetIsThePolicys) {
  // Null on 20 keys, "true" and "false" both: every request is denied — no search needed
  std::string keys;
  for (int k = 0; k < 20; ++k)
    keys += std::string(k ? "," : "") + "\"s3:x-k" + std::to_string(k) + "\":[\"true\",\"false\"]";
  std::string allows;
  for (int a = 0; a < 10; ++a)
    allows += stmt("Allow", kAnyone, "\"s3:*\"",
                   "\"Condition\":{\"StringLike\":{\"s3:x-k" + std::to_string(a) + "\":\"*\"}}") +
              ",";
  auto v =
      judge(allows + stmt("Deny", kAnyone, "\"s3:*\"", "\"Condition\":{\"Null\":{" + keys + "}}"));
  EXPECT_EQ(v.verdict, "not-public");
  ASSERT_FALSE(v.why.empty());
  EXPECT_NE(v.why[0].find("is denied by statement 11"), std::string::npos) << v.why[0];
}

TEST(CloudPolicy, AsearchPastItsBudgetIsUnknownNeverNotPublic) {
  // 16 keys every value of which the Allow takes and the Deny refuses all together: 3^16 cases
  std::string c;
  for (int k = 0; k < 16; ++k)
    c += std::string(k ? "," : "") + "\"s3:x-k" + std::to_string(k) + "\":\"*\"";
  auto v = judge(
      stmt("Allow", kAnyone, "\"s3:GetObject\"", "\"Condition\":{\"StringLike\":{" + c + "}}") +
      "," +
      stmt("Deny", kAnyone, "\"s3:GetObject\"", "\"Condition\":{\"StringLike\":{" + c + "}}"));
  EXPECT_EQ(v.verdict, "unknown");
  ASSERT_FALSE(v.why.empty());
  EXPECT_NE(v.why[0].find("too many combinations"), std::string::npos);
}

TEST(CloudBucket, AclsBlockPublicAccessAndOwnershipChangeWhatIsInForce) {
  auto bundle = [](const std::string& acl_perm, const std::string& extra) {
    auto b = read_bucket_file(
        "b.json",
        "{\"Bucket\":\"site\",\"GetBucketAcl\":{\"Grants\":[{\"Grantee\":{\"Type\":\"Group\","
        "\"URI\":\"http://acs.amazonaws.com/groups/global/AllUsers\"},\"Permission\":\"" +
            acl_perm + "\"}]}" + extra + "}");
    EXPECT_TRUE(b.has_value()) << b.error().message;
    return judge_bucket(b->at(0), kNow);
  };
  EXPECT_EQ(bundle("READ", "").verdict, "public-read");
  EXPECT_EQ(bundle("WRITE", "").verdict, "public-write");
  EXPECT_EQ(bundle("WRITE_ACP", "").verdict, "public-write");  // grants itself the rest
  EXPECT_EQ(bundle("FULL_CONTROL", "").verdict, "public-write");
  // BlockPublicAcls only refuses new grants; IgnorePublicAcls (bucket or account) switches
  // them off, and so does BucketOwnerEnforced
  EXPECT_EQ(bundle("WRITE",
                   ",\"GetPublicAccessBlock\":{\"PublicAccessBlockConfiguration\":"
                   "{\"BlockPublicAcls\":true}}")
                .verdict,
            "public-write");
  EXPECT_EQ(bundle("WRITE",
                   ",\"GetAccountPublicAccessBlock\":{\"PublicAccessBlockConfiguration\":"
                   "{\"IgnorePublicAcls\":true}}")
                .verdict,
            "not-public");
  EXPECT_EQ(bundle("WRITE",
                   ",\"GetBucketOwnershipControls\":{\"OwnershipControls\":{\"Rules\":"
                   "[{\"ObjectOwnership\":\"BucketOwnerEnforced\"}]}}")
                .verdict,
            "not-public");
  // RestrictPublicBuckets confines a public policy; the reason says so
  auto r = read_bucket_file(
      "r.json",
      "{\"Bucket\":\"b\",\"GetBucketPolicy\":{\"Policy\":\"{\\\"Statement\\\":[" +
          std::string("{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":"
                      "\\\"s3:GetObject\\\",\\\"Resource\\\":\\\"arn:aws:s3:::b/*\\\"}]}\"},") +
          "\"GetPublicAccessBlock\":{\"PublicAccessBlockConfiguration\":"
          "{\"RestrictPublicBuckets\":true}}}");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto rv = judge_bucket(r->at(0), kNow);
  EXPECT_EQ(rv.verdict, "not-public");
  ASSERT_FALSE(rv.why.empty());
  EXPECT_NE(rv.why[0].find("RestrictPublicBuckets is on"), std::string::npos);
  // a website bucket anyone can write: critical (web skimming)
  auto site =
      bundle("WRITE", ",\"GetBucketWebsite\":{\"IndexDocument\":{\"Suffix\":\"index.html\"}}");
  auto f = bucket_findings({site});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].check, "s3-public-write");
  EXPECT_EQ(f[0].severity, Severity::kCritical);
  EXPECT_EQ(f[0].asset, "s3://site");
  EXPECT_EQ(bucket_findings({bundle("READ", "")})[0].severity, Severity::kHigh);
}

TEST(CloudBucket, FilesOfOneBucketAreJoinedOnlyWhenSaidAndBadInputNamesTheFile) {
  auto pol = read_bucket_file("p.json",
                              "{\"Policy\":\"{\\\"Statement\\\":{\\\"Effect\\\":\\\"Allow\\\","
                              "\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"s3:GetObject\\\","
                              "\\\"Resource\\\":\\\"arn:aws:s3:::shop/*\\\"}}\"}");
  ASSERT_TRUE(pol.has_value()) << pol.error().message;
  EXPECT_EQ(pol->at(0).name, "shop");
  auto pab = read_bucket_file(
      "pab.json", "{\"PublicAccessBlockConfiguration\":{\"RestrictPublicBuckets\":true}}");
  ASSERT_TRUE(pab.has_value());
  // alone, the nameless file is shown under its own name, and says how to join it
  auto alone = judge_bucket(pab->at(0), kNow);
  EXPECT_EQ(alone.resource, "s3://pab");
  EXPECT_NE(alone.notes[0].find("give --bucket NAME"), std::string::npos);
  auto joined = join_bucket("shop", {pol->at(0), pab->at(0)});
  ASSERT_TRUE(joined.has_value()) << joined.error().message;
  EXPECT_EQ(judge_bucket(*joined, kNow).verdict, "not-public");
  // never joined by guessing: a part of another bucket, a setting given twice
  auto other = join_bucket("site", {pol->at(0)});
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().message, "p.json: describes bucket shop, not site");
  EXPECT_FALSE(join_bucket("shop", {pab->at(0), pab->at(0)}).has_value());
  // a bundle whose policy names another bucket is an export mistake
  auto mixed = read_bucket_file(
      "m.json",
      "{\"Bucket\":\"site\",\"GetBucketPolicy\":{\"Statement\":{\"Effect\":\"Allow\","
      "\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
      "\"arn:aws:s3:::shop/*\"}}}");
  ASSERT_FALSE(mixed.has_value());
  EXPECT_NE(mixed.error().message.find("policy names bucket shop"), std::string::npos);
  // two bundles of one bucket joined in either order: what one leaves out is not the other's
  auto acl =
      read_bucket_file("m1.json",
                       "{\"Bucket\":\"w\",\"GetBucketAcl\":{\"Grants\":[{\"Grantee\":{\"URI\":"
                       "\"http://acs.amazonaws.com/groups/global/AllUsers\"},\"Permission\":"
                       "\"FULL_CONTROL\"}]}}");
  auto web = read_bucket_file("m2.json", "{\"Bucket\":\"w\",\"GetBucketWebsite\":{}}");
  ASSERT_TRUE(acl && web);
  for (auto parts :
       {std::vector<Bucket>{acl->at(0), web->at(0)}, std::vector<Bucket>{web->at(0), acl->at(0)}}) {
    auto j = join_bucket("w", parts);
    ASSERT_TRUE(j.has_value()) << j.error().message;
    auto jv = judge_bucket(*j, kNow);
    EXPECT_EQ(jv.verdict, "public-write");
    EXPECT_TRUE(jv.website);
  }
  // a list of bundles (jq -s)
  auto list = read_bucket_file("l.json",
                               "[{\"Bucket\":\"a\",\"GetBucketWebsite\":{}},"
                               "{\"Bucket\":\"b\",\"GetBucketAcl\":{\"Grants\":[]}}]");
  ASSERT_TRUE(list.has_value()) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE(list->at(0).website);
  // an empty file: the aws call failed (NoSuch…)
  auto empty = read_bucket_file("e.json", "\n");
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.error().message.find("NoSuch"), std::string::npos);

  for (const char* bad :
       {"nope", "[]", "{\"x\":1}", "{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Colour\":\"red\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Condition\":{\"StringFoo\":{"
        "\"a\":\"b\"}}}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Condition\":{\"NullIfExists\":{"
        "\"a\":\"true\"}}}]}",
        "{\"Policy\":\"{not json\"}", "{\"Grants\":[{\"Permission\":\"READ\"}]}",
        "{\"Grants\":4E484}", "[]"}) {
    auto r = read_bucket_file("bad.json", bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().message.rfind("bad.json: ", 0), 0u) << r.error().message;
  }
  // a grant of odd types, a policy larger than AWS stores: errors naming the file, no crash
  auto odd = read_bucket_file("odd.json",
                              "{\"Grants\":[{\"Grantee\":{\"URI\":5,\"ID\":[\"x\"]},"
                              "\"Permission\":\"READ\"}]}");
  EXPECT_TRUE(odd.has_value() || odd.error().message.rfind("odd.json", 0) == 0);
  std::string big = "{\"Statement\":[";
  for (int i = 0; i < 400; ++i)
    big += std::string(i ? "," : "") +
           "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
           "\"arn:aws:s3:::b/x\"}";
  auto large = read_bucket_file("big.json", big + "]}");
  ASSERT_FALSE(large.has_value());
  EXPECT_NE(large.error().message.find("larger than AWS stores"), std::string::npos);
  // nesting far deeper than any policy: an error, not a crash
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(read_bucket_file("deep.json", deep).has_value());
}

// Terraform's JSON as `terraform show -json` writes it: planned values per module, nested
// blocks as lists, values known only after apply left out.
TEST(CloudTerraform, PlannedBucketsAreJoinedByNameAndWhatIsUnknownIsSaid) {
  const std::string plan = R"({
  "format_version": "1.2", "terraform_version": "1.5.7",
  "planned_values": {"root_module": {
    "resources": [
      {"address": "aws_s3_bucket.assets", "mode": "managed", "type": "aws_s3_bucket",
       "name": "assets", "values": {"bucket": "shop-assets", "force_destroy": false}},
      {"address": "aws_s3_bucket_policy.assets", "mode": "managed",
       "type": "aws_s3_bucket_policy", "name": "assets",
       "values": {"bucket": "shop-assets", "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::shop-assets/*\"}]}"}},
      {"address": "aws_s3_bucket.legacy", "mode": "managed", "type": "aws_s3_bucket",
       "name": "legacy", "values": {"bucket": "old-site", "acl": "public-read-write",
       "website": [{"index_document": "index.html"}]}},
      {"address": "aws_s3_bucket_acl.grants", "mode": "managed", "type": "aws_s3_bucket_acl",
       "name": "grants", "values": {"bucket": "granted", "access_control_policy": [{"grant": [
         {"grantee": [{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}],
          "permission": "FULL_CONTROL"}], "owner": [{"id": "abc"}]}]}},
      {"address": "aws_s3_bucket_public_access_block.granted", "mode": "managed",
       "type": "aws_s3_bucket_public_access_block", "name": "granted",
       "values": {"bucket": "granted", "block_public_acls": true, "ignore_public_acls": true,
                  "block_public_policy": true, "restrict_public_buckets": true}},
      {"address": "data.aws_iam_policy_document.x", "mode": "data", "type": "aws_iam_policy_document",
       "name": "x", "values": {}}
    ],
    "child_modules": [{"address": "module.logs", "resources": [
      {"address": "module.logs.aws_s3_bucket_policy.p", "mode": "managed",
       "type": "aws_s3_bucket_policy", "name": "p", "values": {}}]}]
  }}})";
  auto buckets = read_bucket_file("plan.json", plan);
  ASSERT_TRUE(buckets.has_value()) << buckets.error().message;
  std::map<std::string, BucketVerdict> by;
  for (const auto& b : *buckets) {
    auto v = judge_bucket(b, kNow);
    by[v.resource] = v;
  }
  ASSERT_EQ(by.size(), 4u);
  EXPECT_EQ(by["s3://shop-assets"].verdict, "public-read");
  EXPECT_EQ(by["s3://old-site"].verdict, "public-write");  // the older inline canned ACL
  EXPECT_TRUE(by["s3://old-site"].website);
  EXPECT_EQ(by["s3://granted"].verdict, "not-public");  // FULL_CONTROL, but IgnorePublicAcls
  // a policy whose bucket is known only after apply: named by its address, and said so
  auto& unknown = by["s3://module.logs.aws_s3_bucket_policy.p"];
  bool said = false;
  for (const auto& n : unknown.notes)
    said = said || n.find(
                       "module.logs.aws_s3_bucket_policy.p: the bucket's name is known only "
                       "after apply") != std::string::npos;
  EXPECT_TRUE(said);
  EXPECT_EQ(canned_acl("authenticated-read")[0].grantee, "AuthenticatedUsers");
  EXPECT_TRUE(canned_acl("log-delivery-write").empty());
  // a broken policy in a plan names the resource
  auto bad = read_bucket_file(
      "p.json", R"({"format_version":"1.2","planned_values":{"root_module":{"resources":[
      {"address":"aws_s3_bucket_policy.b","mode":"managed","type":"aws_s3_bucket_policy",
       "values":{"bucket":"b","policy":"{not json"}}]}}})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("aws_s3_bucket_policy.b: policy"), std::string::npos);
}

}  // namespace
}  // namespace mamori::cloud
