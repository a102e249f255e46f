#pragma once
// The engine's parts (internal to src/waf): compiled operators (operators.cpp), variable
// collection and macro expansion (variables.cpp), the transaction and its phases (engine.cpp).

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ip.h"
#include "waf/engine.h"
#include "waf/prefilter.h"

typedef struct pcre2_real_code_8 pcre2_code_8;
typedef struct pcre2_real_match_data_8 pcre2_match_data_8;

namespace mamori::waf::detail {

enum class RxResult : uint8_t { kNoMatch, kMatch, kError };

// A compiled regular expression (PCRE2, JIT where available). Move-only.
class Regex {
 public:
  Regex() = default;
  static Result<Regex> compile(std::string_view pattern, bool caseless);
  Regex(Regex&& o) noexcept : code_(o.code_) { o.code_ = nullptr; }
  Regex& operator=(Regex&& o) noexcept;
  ~Regex();
  bool ok() const { return code_ != nullptr; }
  // Does it match? With `groups`, the whole match and up to 9 groups are stored. kError: the
  // search stopped at its backtracking or stack limit.
  RxResult search(std::string_view s, std::vector<std::string>* groups = nullptr) const;

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
  uint32_t node = 0;             // the last of them (0: none)
  int slot = -1;                 // the rule's bit in its node's prefilter (-1: none)
  // Every target reads request values (cached, prefiltered): when no value of the phase
  // reports the rule's slot at its node, the rule is skipped before collecting its values.
  bool skippable = false;
  std::vector<CompiledRule> chain;
};

// One value a target yields, as views: into the request (with a dense `id`: its
// transformations are computed once per phase and cached) or into the transaction's scratch
// space (TX, counts: id -1, not cached). Its name ("ARGS:q") is built only when it matches.
struct Value {
  Collection coll = Collection::kArgs;
  std::string_view key;
  std::string_view value;
  int32_t id = -1;
  bool keyed = false, count = false;
};

// Where the request keeps its values, for numbering them.
enum class Store : uint8_t {
  kArgsGet,
  kArgsPost,
  kCookies,
  kHeaders,
  kFiles,
  kFilesSizes,
  kPartHeaders,
  kCount
};
enum class Single : uint8_t {
  kFilename,
  kBasename,
  kUri,
  kUriRaw,
  kRequestLine,
  kMethod,
  kProtocol,
  kBody,
  kQueryString,
  kRemoteAddr,
  kServerAddr,
  kFullRequest,
  kCount
};

// Dense numbers for the request's values (names and values of each store, the single values,
// XML texts), assigned when a phase starts; the request does not change during a phase.
struct ValueIds {
  int32_t bases[2 * static_cast<int>(Store::kCount)] = {};
  int32_t singles = 0, xml_text = 0, xml_attrs = 0, total = 0;
  // false: values × trie nodes would exceed 2^20 table entries (4 MiB): nothing is cached and
  // every rule transforms its values itself (slower, the same answers).
  bool enabled = false;
  void index(const Request& r, size_t nodes);
  int32_t base(Store s, bool names) const {
    return enabled ? bases[2 * static_cast<int>(s) + (names ? 1 : 0)] : -1;
  }
  int32_t single(Single s) const { return enabled ? singles + static_cast<int32_t>(s) : -1; }
  int32_t xml(size_t i, bool attr) const {
    return enabled ? (attr ? xml_attrs : xml_text) + static_cast<int32_t>(i) : -1;
  }
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

struct Transaction;

// Every value of a collection that has an id (request values), as (key, value, id); values
// without one are reported with id -1.
void for_each_value(Collection c, Transaction& tx,
                    const std::function<void(std::string_view, std::string_view, int32_t)>& f);
// Collections whose every member is a request value with an id (when ids are enabled).
bool is_request_value(Collection c);
// Does a target (ARGS, ARGS:id, REQUEST_HEADERS:/^x-/) take a member with this key?
bool key_matches(const CompiledTarget& t, std::string_view key);

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
  // Transformed request values, per (value, chain of transformations).
  struct Cached {
    std::string value;     // the transformed value when it differs from its input
    std::string_view v;    // the value: `value`, or the request's or the parent node's bytes
    bool scanned = false;  // `hits` holds the prefilter's answer
    Hits hits;
  };
  ValueIds ids;
  std::vector<int32_t> slots;  // [value id * trie nodes + node] → index in `cached`, or -1
  std::deque<Cached> cached;
  // Per trie node: the union of the prefilter's answers over the values of the collections
  // its skippable rules read (computed when a rule at that node first asks, once per phase).
  std::vector<Hits> node_union;
  std::vector<uint8_t> union_done;
  // Numbers the request's values and empties the cache (when a phase starts after the body
  // was parsed: the request's strings may have moved).
  void reset_cache();
  std::deque<std::string> scratch;  // values that are not the request's (TX, counts)
  std::vector<Value> vals;          // the values of the rule being evaluated
  std::vector<std::string> groups;  // its captures
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
  uint32_t native = 0;                           // NativeDetector bits
  std::vector<detail::CompiledRule> rules;       // parallel to rs.rules
  std::vector<detail::TransformNode> tnodes{1};  // [0]: no transformation
  // Per node: the targets its skippable rules read, grouped by collection (a member is in the
  // union when one of them takes its key).
  struct NodeTargets {
    Collection coll;
    std::vector<const detail::CompiledTarget*> targets;
  };
  std::vector<std::vector<NodeTargets>> node_colls;
  detail::PrefilterSet prefilter;
};
}  // namespace mamori::waf
