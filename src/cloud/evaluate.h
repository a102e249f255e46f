#pragma once
// Does a bucket policy let the public in — anyone on the internet without credentials, or any
// other AWS account — and how, exactly? AWS's evaluation: an explicit Deny wins, then an Allow,
// else the request is denied; NotPrincipal/NotAction/NotResource; '*' and '?' in actions,
// resources and condition values; condition blocks AND, values OR; every operator with IfExists,
// ForAnyValue/ForAllValues, negated operators true on a missing key; policy variables.
//
// The question is decided over a finite set of witness requests: a condition compares a key with
// the policy's own literals, so its truth depends only on where a value falls among them. For
// each key the candidates are the literals (wildcards filled in), the addresses at the edges of
// each CIDR range, a value none of them names, and no value at all — restricted to what the
// requester can choose: an anonymous request from the internet picks its address, its Referer,
// its headers, TLS or not, but carries no principal, no organisation, no source ARN; another
// account picks its own names but not yours. A request found is the witness; none found means no
// such request exists, and `why` says which condition or Deny stops each public grant. A policy
// whose search runs past its budget is "unknown", never "not public".
//
// Example:
//   auto a = public_access(policy, "shop-assets", Access::kWrite, now);
//   a.granted  // true
//   a.witness  // "anonymous PUT s3://shop-assets/mamori/x from 203.0.113.9 is allowed by …"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/policy.h"

namespace mamori::cloud {

struct Access {
  enum Kind { kRead, kWrite };
  bool granted = false;
  bool unknown = false;          // the search ran past its budget
  std::string witness;           // the request that is let in (granted)
  std::vector<std::string> why;  // why each public-looking grant lets no one in (not granted)
};

// Reads: GetObject of any key, ListBucket. Writes: PutObject, DeleteObject, PutObjectAcl of any
// key, and the bucket's own policy and ACL (PutBucketPolicy, DeleteBucketPolicy, PutBucketAcl:
// whoever may change them may grant themselves everything). `now`: Unix seconds, for
// aws:CurrentTime and aws:EpochTime.
// `acls_in_force`: ACL writes count (not under BucketOwnerEnforced or IgnorePublicAcls).
Access public_access(const Policy& p, std::string_view bucket, Access::Kind kind, int64_t now,
                     bool acls_in_force = true);

// A bucket name a policy's first Allow resource pattern takes (shop-* → shop-mamori), for a file
// that names none; "" when it has none.
std::string policy_bucket_pattern(const Policy& p);
// The bucket a policy is about: the first bucket named in an S3 Resource ARN ("" when none).
std::string policy_bucket(const Policy& p);

// AWS's wildcards: '*' any run, '?' one character; nothing else is special.
bool wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace mamori::cloud
