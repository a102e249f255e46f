// Reading AWS policy documents (policy.h).
#include "cloud/policy.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace mamori::cloud {
namespace {

using nlohmann::json;

constexpr size_t kMaxStatements = 1000;
constexpr size_t kMaxValues = 1000;

constexpr std::array<std::string_view, 27> kOperators = {"StringEquals",
                                                         "StringNotEquals",
                                                         "StringEqualsIgnoreCase",
                                                         "StringNotEqualsIgnoreCase",
                                                         "StringLike",
                                                         "StringNotLike",
                                                         "NumericEquals",
                                                         "NumericNotEquals",
                                                         "NumericLessThan",
                                                         "NumericLessThanEquals",
                                                         "NumericGreaterThan",
                                                         "NumericGreaterThanEquals",
                                                         "DateEquals",
                                                         "DateNotEquals",
                                                         "DateLessThan",
                                                         "DateLessThanEquals",
                                                         "DateGreaterThan",
                                                         "DateGreaterThanEquals",
                                                         "Bool",
                                                         "BinaryEquals",
                                                         "IpAddress",
                                                         "NotIpAddress",
                                                         "ArnEquals",
                                                         "ArnLike",
                                                         "ArnNotEquals",
                                                         "ArnNotLike",
                                                         "Null"};

bool iequals(std::string_view a, std::string_view b) { return to_lower(a) == to_lower(b); }

// A scalar as AWS reads it in a policy: strings as written, numbers and booleans as JSON text.
Result<std::string> scalar(const json& v, std::string_view what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  if (v.is_number()) return v.dump();
  return Error::invalid(fmt::format("{}: expected a string, got {}", what, v.type_name()));
}

// A string or a list of strings (Action, Resource, a principal's values, condition values).
Result<std::vector<std::string>> strings(const json& v, std::string_view what) {
  std::vector<std::string> out;
  if (v.is_array()) {
    if (v.size() > kMaxValues)
      return Error::invalid(fmt::format("{}: more than {} values", what, kMaxValues));
    for (const auto& e : v) {
      auto s = scalar(e, what);
      if (!s) return s.error();
      out.push_back(std::move(*s));
    }
    return out;
  }
  auto s = scalar(v, what);
  if (!s) return s.error();
  out.push_back(std::move(*s));
  return out;
}

Result<Principal> principal(const json& v, std::string_view what) {
  Principal p;
  if (v.is_string()) {
    if (v.get<std::string>() != "*")
      return Error::invalid(fmt::format("{}: a principal is \"*\" or an object of types", what));
    p.everyone = true;
    return p;
  }
  if (!v.is_object()) return Error::invalid(fmt::format("{}: not a principal", what));
  for (const auto& [type, values] : v.items()) {
    auto vs = strings(values, fmt::format("{} {}", what, type));
    if (!vs) return vs.error();
    for (auto& s : *vs) {
      if (s == "*" && type == "AWS") {
        p.everyone = true;
        continue;
      }
      p.named.emplace_back(type, std::move(s));
    }
  }
  return p;
}

Result<Condition> condition(const std::string& op, const std::string& key, const json& values,
                            std::string_view where) {
  Condition c;
  c.op = op;
  std::string_view base = op;
  if (base.starts_with("ForAnyValue:")) {
    c.set = Condition::Set::kAnyValue;
    base.remove_prefix(12);
  } else if (base.starts_with("ForAllValues:")) {
    c.set = Condition::Set::kAllValues;
    base.remove_prefix(13);
  }
  if (base.ends_with("IfExists") && base != "IfExists") {
    c.if_exists = true;
    base.remove_suffix(8);
  }
  if (!known_operator(base) || (c.if_exists && base == "Null"))
    return Error::invalid(fmt::format("{}: unknown condition operator {}", where, sanitize(op)));
  c.base = std::string(base);
  c.key = to_lower(key);
  c.key_written = key;
  auto vs = strings(values, fmt::format("{} {} {}", where, op, key));
  if (!vs) return vs.error();
  c.values = std::move(*vs);
  return c;
}

Result<Statement> statement(const json& s, size_t number) {
  const std::string where = fmt::format("statement {}", number);
  if (!s.is_object()) return Error::invalid(where + ": not an object");
  Statement st;
  st.number = number;
  bool effect = false, action = false, resource = false;
  for (const auto& [name, v] : s.items()) {
    const std::string n = to_lower(name);
    if (n == "sid") {
      auto sid = scalar(v, where + " Sid");
      if (!sid) return sid.error();
      st.sid = *sid;
    } else if (n == "effect") {
      if (!v.is_string() || (v.get<std::string>() != "Allow" && v.get<std::string>() != "Deny"))
        return Error::invalid(where + ": Effect is \"Allow\" or \"Deny\" (exactly so), not " +
                              sanitize(v.dump()));
      st.allow = v.get<std::string>() == "Allow";
      effect = true;
    } else if (n == "principal" || n == "notprincipal") {
      if (st.has_principal) return Error::invalid(where + ": both Principal and NotPrincipal");
      auto p = principal(v, where + " " + name);
      if (!p) return p.error();
      st.principal = std::move(*p);
      st.has_principal = true;
      st.not_principal = n == "notprincipal";
    } else if (n == "action" || n == "notaction") {
      if (action) return Error::invalid(where + ": both Action and NotAction");
      auto a = strings(v, where + " " + name);
      if (!a) return a.error();
      st.actions = std::move(*a);
      st.not_action = n == "notaction";
      action = true;
    } else if (n == "resource" || n == "notresource") {
      if (resource) return Error::invalid(where + ": both Resource and NotResource");
      auto r = strings(v, where + " " + name);
      if (!r) return r.error();
      st.resources = std::move(*r);
      st.not_resource = n == "notresource";
      resource = true;
    } else if (n == "condition") {
      if (!v.is_object()) return Error::invalid(where + ": Condition is not an object");
      for (const auto& [op, keys] : v.items()) {
        if (!keys.is_object())
          return Error::invalid(where + ": Condition " + sanitize(op) + " is not an object");
        for (const auto& [key, values] : keys.items()) {
          auto c = condition(op, key, values, where);
          if (!c) return c.error();
          st.conditions.push_back(std::move(*c));
        }
      }
    } else {
      return Error::invalid(where + ": unknown element " + sanitize(name));
    }
  }
  if (!effect) return Error::invalid(where + ": no Effect");
  if (!action) return Error::invalid(where + ": no Action or NotAction");
  return st;
}

}  // namespace

std::string Statement::name() const {
  return sid.empty() ? fmt::format("statement {}", number)
                     : fmt::format("statement {} (Sid {})", number, sanitize(sid));
}

bool known_operator(std::string_view base) {
  for (auto k : kOperators)
    if (k == base) return true;
  return false;
}

bool negated_operator(std::string_view base) {
  return base == "StringNotEquals" || base == "StringNotEqualsIgnoreCase" ||
         base == "StringNotLike" || base == "NumericNotEquals" || base == "DateNotEquals" ||
         base == "NotIpAddress" || base == "ArnNotEquals" || base == "ArnNotLike";
}

Result<Policy> parse_policy(const json& doc) {
  if (!doc.is_object()) return Error::invalid("a policy is a JSON object");
  Policy p;
  const json* stmts = nullptr;
  for (const auto& [name, v] : doc.items()) {
    if (iequals(name, "Version")) {
      auto s = scalar(v, "Version");
      if (!s) return s.error();
      p.version = *s;
    } else if (iequals(name, "Statement")) {
      stmts = &v;
    } else if (!iequals(name, "Id")) {
      return Error::invalid("unknown policy element " + sanitize(name));
    }
  }
  if (!stmts) return Error::invalid("no Statement");
  if (stmts->is_object()) {
    auto s = statement(*stmts, 1);
    if (!s) return s.error();
    p.statements.push_back(std::move(*s));
    return p;
  }
  if (!stmts->is_array()) return Error::invalid("Statement is neither an object nor a list");
  if (stmts->size() > kMaxStatements)
    return Error::invalid(fmt::format("more than {} statements", kMaxStatements));
  for (const auto& s : *stmts) {
    auto st = statement(s, p.statements.size() + 1);
    if (!st) return st.error();
    p.statements.push_back(std::move(*st));
  }
  return p;
}

Result<Policy> parse_policy_text(std::string_view text) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Error::invalid("not JSON");
  return parse_policy(doc);
}

}  // namespace mamori::cloud
