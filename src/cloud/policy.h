#pragma once
// AWS access policies (IAM's policy language, as S3 bucket policies use it), read exactly: a
// statement's Effect, Principal or NotPrincipal, Action or NotAction, Resource or NotResource and
// its Condition blocks, with the case rules AWS applies (element and condition-key names
// case-insensitive, action names case-insensitive, resources and values case-sensitive). What
// AWS would refuse to store (an unknown element, an unknown condition operator) is an error that
// names it: a verdict on a policy read wrongly would be worse than none.
//
// Example:
//   auto p = parse_policy_text(R"({"Statement":[{"Effect":"Allow","Principal":"*",
//                              "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]})");
//   p->statements[0].principal.everyone  // true

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::cloud {

// Who a statement names: "*" (everyone), or per type ("AWS", "Service", "CanonicalUser",
// "Federated") the values written.
struct Principal {
  bool everyone = false;                                   // "*" or {"AWS": "*"} (also in a list)
  std::vector<std::pair<std::string, std::string>> named;  // (type, value), not "*"
};

// One condition: operator, key, values (OR), as written; the operator split into its parts.
struct Condition {
  std::string op;                   // as written: "ForAnyValue:StringNotLikeIfExists"
  std::string base;                 // "StringNotLike"
  std::string key;                  // lower case: "aws:sourceip"
  std::string key_written;          // as the policy spells it: "aws:SourceIp"
  std::vector<std::string> values;  // numbers and booleans as JSON writes them
  bool if_exists = false;
  enum class Set { kSingle, kAnyValue, kAllValues } set = Set::kSingle;
};

struct Statement {
  size_t number = 0;  // 1-based, in the order written
  std::string sid;
  bool allow = false;
  bool has_principal = false;  // (identity policies have none)
  bool not_principal = false;
  Principal principal;
  bool not_action = false;
  std::vector<std::string> actions;
  bool not_resource = false;
  std::vector<std::string> resources;
  std::vector<Condition> conditions;  // AND
  // "statement 2 (Sid PublicRead)"
  std::string name() const;
};

struct Policy {
  std::string version;
  std::vector<Statement> statements;
};

// A policy document (JSON text, or parsed). Bounded: at most 1,000 statements, 1,000 values per
// element, conditions nested as AWS nests them (no deeper).
Result<Policy> parse_policy_text(std::string_view text);
Result<Policy> parse_policy(const nlohmann::json& doc);

// The condition operators AWS knows (without IfExists and the set prefixes).
bool known_operator(std::string_view base);
// Operators that are true when the key is missing (the negated ones).
bool negated_operator(std::string_view base);

}  // namespace mamori::cloud
