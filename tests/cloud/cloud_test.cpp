// mamori cloud audit: bucket policies judged as AWS evaluates them, each trap the open-source
// checkers fall into (read from their sources) written here as a policy, with the verdict and
// the witness or the reason; ACLs, Block Public Access, object ownership; bad input.
#include <gtest/gtest.h>

#include <string>

#include "cloud/evaluate.h"
#include "cloud/policy.h"
#include "cloud/s3.h"

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
  return judge_bucket(*b, kNow);
}
const std::string kAnyone = "\"Principal\":\"*\"";

TEST(CloudPolicy, AnyoneReadingIsPublicReadWithTheRequestThatProvesIt) {
  auto v = judge(stmt("Allow", kAnyone, "\"s3:GetObject\""));
  EXPECT_EQ(v.verdict, "public-read");
  EXPECT_EQ(v.resource, "s3://b");
  EXPECT_NE(v.witness.find("anonymous GET s3://b/"), std::string::npos) << v.witness;
  EXPECT_NE(v.witness.find("is allowed by statement 1"), std::string::npos);
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
  EXPECT_EQ(
      judge(stmt("Allow", "\"Principal\":{\"Service\":\"cloudfront.amazonaws.com\"}", "\"s3:*\""))
          .verdict,
      "not-public");
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
  EXPECT_NE(ip.why[0].find("IpAddress aws:sourceip [192.0.2.0/24]"), std::string::npos);
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
  EXPECT_NE(d.witness.find("?policy s3://b"), std::string::npos) << d.witness;
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
    return judge_bucket(*b, kNow);
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
  auto rv = judge_bucket(*r, kNow);
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

TEST(CloudBucket, FilesOfOneBucketAreJoinedAndBadInputNamesTheFile) {
  auto pol = read_bucket_file("p.json",
                              "{\"Policy\":\"{\\\"Statement\\\":{\\\"Effect\\\":\\\"Allow\\\","
                              "\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"s3:GetObject\\\","
                              "\\\"Resource\\\":\\\"arn:aws:s3:::shop/*\\\"}}\"}");
  ASSERT_TRUE(pol.has_value()) << pol.error().message;
  EXPECT_EQ(pol->name, "shop");
  auto pab = read_bucket_file(
      "pab.json", "{\"PublicAccessBlockConfiguration\":{\"RestrictPublicBuckets\":true}}");
  ASSERT_TRUE(pab.has_value());
  auto joined = merge_buckets({*pol, *pab});
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].name, "shop");
  EXPECT_EQ(judge_bucket(joined[0], kNow).verdict, "not-public");

  for (const char* bad :
       {"nope", "[]", "{\"x\":1}", "{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"NotAction\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Colour\":\"red\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Condition\":{\"StringFoo\":{"
        "\"a\":\"b\"}}}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Condition\":{\"NullIfExists\":{"
        "\"a\":\"true\"}}}]}",
        "{\"Policy\":\"{not json\"}", "{\"Grants\":[{\"Permission\":\"READ\"}]}"}) {
    auto r = read_bucket_file("bad.json", bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().message.rfind("bad.json: ", 0), 0u) << r.error().message;
  }
  // nesting far deeper than any policy: an error, not a crash
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(read_bucket_file("deep.json", deep).has_value());
}

}  // namespace
}  // namespace mamori::cloud
