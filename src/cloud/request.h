#pragma once
// The requests the public-access search (evaluate.cpp) tries, and how a policy's statement and
// conditions judge one: who asks, the action, the resource, the condition keys it carries; the
// values a stranger can give each key. Not a public API.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/policy.h"

namespace mamori::cloud::detail {

// Anyone on the internet without credentials; another AWS account (the stranger's own); an AWS
// service (CloudFront, Athena's …) acting for another account — what a Service principal
// without aws:SourceArn/SourceAccount lets in (the confused deputy).
enum class Who { kAnonymous, kAccount, kService };

struct Request {
  Who who = Who::kAnonymous;
  std::string service;   // kService: the service principal ("cloudfront.amazonaws.com")
  std::string action;    // "s3:GetObject"
  std::string resource;  // "arn:aws:s3:::b/k"
  std::string verb;      // "GET s3://b/k", for the witness
  std::map<std::string, std::string> keys;  // lower-case key → value (absent: missing)
  bool variables = true;                    // policy variables are read (Version 2012-10-17)
};

constexpr std::string_view kMissing = "\x01missing";
constexpr std::string_view kOther = "mamori-other";
constexpr std::string_view kOtherAccount = "999988887777";

// ${aws:username} and friends from the request; nullopt when a variable names a key the request
// does not carry and has no default (the value then matches nothing, as in AWS).
std::optional<std::string> resolve(std::string_view v, const Request& r);
bool holds(const Condition& c, const Request& r);
// The keys a value's variables name, lower case (${aws:username, 'x'} → aws:username).
std::vector<std::string> variables_in(std::string_view v);
// Does the statement's Principal/NotPrincipal take this requester? (kService: r.service)
bool principal_matches(const Statement& s, const Request& r);
bool action_matches(const Statement& s, std::string_view action);
bool resource_matches(const Statement& s, const Request& r);
bool resource_has_variable(const Statement& s);
bool has_variable(const Condition& c);  // a value naming another key: decided last
// The services a statement names as principal (Service).
std::vector<std::string> services_named(const Statement& s);

// '*' and '?' filled in, in three shapes: the values a pattern accepts.
std::vector<std::string> fill(std::string_view pattern);
// The values requester `who` can give `key` (kMissing: none), from the literals the policy
// compares it with; `now` for aws:CurrentTime.
std::vector<std::string> candidates(const std::string& key, const std::vector<const Condition*>& cs,
                                    Who who, int64_t now);

}  // namespace mamori::cloud::detail
