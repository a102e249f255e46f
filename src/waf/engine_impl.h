#pragma once
// The engine's parts (internal to src/waf): compiled operators (operators.cpp), variable
// collection and macro expansion (variables.cpp), the transaction and its phases (engine.cpp).

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ip.h"
#include "waf/engine.h"

typedef struct pcre2_real_code_8 pcre2_code_8;
typedef struct pcre2_real_match_data_8 pcre2_match_data_8;

namespace mamori::waf::detail {

// A compiled regular expression (PCRE2, JIT where available). Move-only.
class Regex {
 public:
  Regex() = default;
  static Result<Regex> compile(std::string_view pattern, bool caseless);
  Regex(Regex&& o) noexcept : code_(o.code_) { o.code_ = nullptr; }
  Regex& operator=(Regex&& o) noexcept;
  ~Regex();
  bool ok() const { return code_ != nullptr; }
  // Does it match? With `groups`, the whole match and up to 9 groups are stored.
  bool match(std::string_view s, std::vector<std::string>* groups = nullptr) const;

 private:
  pcre2_code_8* code_ = nullptr;
};

struct CompiledOp {
  OpKind kind = OpKind::kRx;
  bool negated = false;
  std::string param;
  bool dynamic = false;              // the parameter holds %{macros}: expanded per transaction
  Regex re;                          // kRx with a fixed pattern
  std::vector<std::string> phrases;  // kPm, kPmFromFile: lower-cased
  std::vector<std::pair<int, int>> ranges;  // kValidateByteRange
  std::vector<std::pair<Ip, int>> nets;     // kIpMatch(FromFile)
};

struct CompiledTarget {
  Target t;
  Regex key_re;  // key_regex targets
};

struct CompiledRule {
  const Rule* rule = nullptr;  // in the engine's RuleSet
  CompiledOp op;
  std::vector<CompiledTarget> targets;
  std::vector<uint32_t> tnodes;  // the trie node after each of the rule's transformations
  std::vector<CompiledRule> chain;
};

// One value a target yields, as views: into the request (stable for a phase: `cacheable`, its
// transformations are computed once per transaction) or into the transaction's scratch space
// (TX, counts). Its name ("ARGS:q") is built only when it matches.
struct Value {
  Collection coll = Collection::kArgs;
  std::string_view key;
  std::string_view value;
  bool keyed = false, count = false, cacheable = false;
};
std::string value_name(const Value& v);

struct MatchedVar {
  std::string name, value;
};

// The transformation chains of all rules as a trie: a node is a chain (its parent's, then one
// transformation); equal chains of different rules are one node, so one transformed value.
struct TransformNode {
  uint32_t parent = 0;
  Transform t = Transform::kLowercase;
};

struct CacheKey {
  const char* data;
  size_t size;
  uint32_t node;
  bool operator==(const CacheKey& o) const = default;
};
struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const {
    uint64_t h = reinterpret_cast<uintptr_t>(k.data) * 0x9e3779b97f4a7c15ULL;
    h ^= (k.size + (static_cast<uint64_t>(k.node) << 24)) * 0xc2b2ae3d27d4eb4fULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

struct Transaction;

// operators.cpp
Result<CompiledOp> compile_op(const Operator& o);
// The operator on one (transformed) value; `param` is the expanded parameter for dynamic
// ones. Captures go to `groups` when asked.
bool run_op(const CompiledOp& op, std::string_view param, std::string_view v, Transaction& tx,
            std::vector<std::string>* groups);

// variables.cpp
void collect(const CompiledRule& cr, Transaction& tx, std::vector<Value>& out);
std::string expand(std::string_view text, Transaction& tx, const Rule* rule);
int64_t to_number(std::string_view s);  // atoi: leading blanks, sign, digits; else 0

struct Transaction {
  Transaction(const Engine::Impl& e, Request& r) : eng(e), req(r) {}
  const Engine::Impl& eng;
  Request& req;
  std::map<std::string, std::string> tx;  // TX: names lower-cased
  std::string matched_var, matched_var_name;
  std::vector<MatchedVar> matched_vars;
  // Transformed request values, per (value, chain); cleared when the body is parsed (the
  // request's strings may move then).
  std::unordered_map<CacheKey, std::string, CacheKeyHash> tcache;
  std::deque<std::string> scratch;  // values that are not the request's (TX, counts)
  std::set<int64_t> removed_ids;
  std::vector<std::pair<int64_t, int64_t>> removed_ranges;
  std::vector<std::string> removed_tags;
  std::vector<std::pair<int64_t, Target>> removed_targets;  // ctl:ruleRemoveTargetById
  std::vector<std::pair<std::string, Target>> removed_targets_by_tag;
  EngineMode mode = EngineMode::kOn;
  bool body_access = true;
  bool allowed = false;  // allow: no more rules in the request phases
  std::string skip_to;   // skipAfter: a marker's name, until it is passed
  int skip_n = 0;        // skip:N
  Verdict verdict;
  bool rule_removed(const Rule& r) const;
};

}  // namespace mamori::waf::detail

namespace mamori::waf {
struct Engine::Impl {
  RuleSet rs;
  BodyLimits limits;
  std::vector<detail::CompiledRule> rules;       // parallel to rs.rules
  std::vector<detail::TransformNode> tnodes{1};  // [0]: no transformation
};
}  // namespace mamori::waf
