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

// A text with %{macros} (a message, a setvar's name or value, an operator's parameter), parsed
// once when the rules are compiled: literal pieces and references.
struct Template {
  enum class Kind : uint8_t { kText, kVar, kRuleId, kRuleMsg, kRuleSeverity, kRuleLogdata };
  struct Piece {
    Kind kind = Kind::kText;
    std::string text;  // kText: the text; kVar: the key, lower-cased ("" for the first member)
    Collection coll = Collection::kTx;
    int slot = -1;  // %{tx.name}: the variable's slot (TxVars)
  };
  std::vector<Piece> pieces;
  bool constant = true;  // no macro: `pieces` is at most one text
  static Template parse(std::string_view text);
};

struct CompiledSetVar {
  SetVar::Op op = SetVar::Op::kSet;
  bool tx = true;  // a TX variable (persistent collections are not kept)
  Template name, value;
  int slot = -1;  // a constant name's slot (TxVars)
};

// The names of the TX variables a rule set names as constants (setvar:tx.x, TX:x, %{tx.x},
// the captures 0-9), each with a fixed slot: a transaction keeps their values in a table
// instead of a map. Lower-cased.
class TxNames {
 public:
  int intern(std::string_view name);      // the name's slot, added when new
  int find(std::string_view name) const;  // -1: not named by the rules
  size_t size() const { return names_.size(); }
  const std::string& name(size_t slot) const { return names_[slot]; }
  const std::vector<int>& sorted() const { return sorted_; }  // the slots in name order

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int, Hash, std::equal_to<>> index_;
  std::vector<std::string> names_;
  std::vector<int> sorted_;
};

// A transaction's TX collection: the slots of TxNames, and by name the variables whose names
// are made per request (setvar:'tx.header_name_%{tx.0}=…'). A slot's string keeps its memory
// from one request to the next.
class TxVars {
 public:
  void reset(const TxNames& names);
  // The value, or null. `slot` from TxNames (-1: the name is looked up).
  const std::string* get(std::string_view name, int slot) const;
  // The variable's string, created empty when it was not set.
  std::string& put(std::string_view name, int slot);
  void erase(std::string_view name, int slot);
  // Gives back the memory of slot strings larger than `max` bytes (kept between requests).
  void trim(size_t max);
  // Every variable that is set, as (name, value), in name order.
  void each(const std::function<void(std::string_view, const std::string&)>& f) const;

 private:
  int slot_of(std::string_view name, int slot) const {
    return slot >= 0 ? slot : names_->find(name);
  }
  const TxNames* names_ = nullptr;
  std::vector<std::string> vals_;
  std::vector<uint8_t> set_;
  std::map<std::string, std::string, std::less<>> other_;
};

struct CompiledTarget {
  Target t;
  Regex key_re;   // key_regex targets
  int slot = -1;  // TX:name: the variable's slot (TxVars)
};

struct CompiledRule {
  const Rule* rule = nullptr;  // in the engine's RuleSet
  CompiledOp op;
  std::vector<CompiledTarget> targets;
  std::vector<CompiledSetVar> setvars;
  Template msg, param;           // param: the operator's, when it is dynamic
  std::vector<uint32_t> tnodes;  // the trie node after each of the rule's transformations
  uint32_t node = 0;             // the last of them (0: none)
  // The rule's prefilter group: the rules of one trie node that read the same targets share a
  // Hyperscan database, so each pattern is scanned over the values its rule reads only.
  uint32_t group = 0;
  int slot = -1;  // the rule's bit in its group's prefilter (-1: none)
  // skipAfter: the index of the first rule after the marker it names (the first such marker
  // after this rule); SIZE_MAX when there is none (the rest of the phase is skipped).
  size_t skip_to = 0;
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

// The values the skippable rules of prefilter group `group` read (Engine::Impl::groups),
// transformed to the group's trie node, appended to `joined`, each followed by '\n'. false: a
// value has no id (ids disabled), so the caller cannot rule anything out.
// With `fresh_only`, only the values new since extend_cache() (Transaction::fresh).
bool join_group_values(Transaction& tx, uint32_t group, std::string& joined, bool fresh_only);
// A request value (with an id) after the transformations of trie node `node`, from the
// transaction's cache: each distinct chain is computed once per value and phase. The result
// is its index in Transaction::cached.
int32_t cached_at(Transaction& tx, int32_t id, std::string_view value, uint32_t node);
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
// The template's text for this transaction, appended to `out`.
void expand(const Template& t, Transaction& tx, const Rule* rule, std::string& out);
int64_t to_number(std::string_view s);  // atoi: leading blanks, sign, digits; else 0

// A transformed request value (per value and chain of transformations).
struct Cached {
  std::string_view v;       // the request's bytes, the parent node's, or a string of `owned`
  int32_t hits = -1;        // the prefilter's answer (index in TxBuffers::hits) once scanned
  int32_t hits_group = -1;  // the prefilter group that answer is for
};

// A transaction's working memory. Kept per thread between transactions (TxBuffers::acquire):
// its tables and strings keep their capacity, so a request allocates little.
struct TxBuffers {
  TxVars tx;
  std::vector<int32_t> slots;  // [value id * trie nodes + node] → index in `cached`, or -1
  std::vector<Cached> cached;
  std::deque<std::string> owned;  // transformed values that differ from their input
  std::vector<Hits> hits;
  size_t hits_used = 0;
  std::vector<Hits> node_union;
  std::vector<uint8_t> union_done;
  std::deque<std::string> scratch;
  std::vector<Value> vals;
  std::vector<std::string> groups;
  std::vector<MatchedVar> matched_vars;
  // A thread's spare buffers, or new ones; release() keeps them for the next transaction
  // unless they grew past what an ordinary request needs.
  static std::unique_ptr<TxBuffers> acquire();
  static void release(std::unique_ptr<TxBuffers> b);
};

struct Transaction {
  Transaction(const Engine::Impl& e, Request& r);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  const Engine::Impl& eng;
  Request& req;
  std::unique_ptr<TxBuffers> buf;
  TxVars& tx;  // TX: names lower-cased
  std::string matched_var, matched_var_name;
  std::vector<MatchedVar>& matched_vars;
  ValueIds ids;
  std::vector<int32_t>& slots;
  std::vector<Cached>& cached;
  // Per prefilter group: the union of the prefilter's answers over the values its skippable
  // rules read (computed when a rule of that group first asks, once per phase).
  std::vector<Hits>& node_union;
  std::vector<uint8_t>& union_done;
  // Numbers the request's values and empties the cache (when a phase starts after the body
  // was parsed: the request's strings may have moved).
  void reset_cache();
  // The same when the body was parsed, keeping what the values before it gave (their ids,
  // transformed values and prefilter answers): false when that cannot be (the numbering is
  // disabled), and the caller resets instead.
  bool extend_cache();
  // Is this value new since extend_cache() (or REQUEST_BODY/FULL_REQUEST, which changed)?
  bool fresh(int32_t id) const;
  int32_t fresh_from = 0;
  // Bytes of short values that rules may still give PCRE2 without a scan of their own (see
  // eval_one): bounded, so that many short values cannot multiply the work of one request.
  size_t direct_left = 32 * 1024;
  // A bit set for the prefilter's answer on one cached value.
  Hits& new_hits(int32_t& index);
  std::deque<std::string>& scratch;  // values that are not the request's (TX, counts)
  std::vector<Value>& vals;          // the values of the rule being evaluated
  std::vector<std::string>& groups;  // its captures
  std::set<int64_t> removed_ids;
  std::vector<std::pair<int64_t, int64_t>> removed_ranges;
  std::vector<std::string> removed_tags;
  std::vector<std::pair<int64_t, Target>> removed_targets;  // ctl:ruleRemoveTargetById
  std::vector<std::pair<std::string, Target>> removed_targets_by_tag;
  EngineMode mode = EngineMode::kOn;
  bool body_access = true;
  bool allowed = false;   // allow: no more rules in the request phases
  size_t skip_until = 0;  // skipAfter: rules before this index are skipped (in this phase)
  int skip_n = 0;         // skip:N
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
  std::vector<uint32_t> phase_rules[6];          // per phase, the indices of its rules in order
  std::vector<detail::TransformNode> tnodes{1};  // [0]: no transformation
  // Per prefilter group (CompiledRule::group): its trie node, and the targets its skippable
  // rules read, grouped by collection (a member is in the union when one of them takes its
  // key).
  struct NodeTargets {
    Collection coll;
    std::vector<const detail::CompiledTarget*> targets;
  };
  struct Group {
    uint32_t node = 0;
    std::vector<NodeTargets> colls;
  };
  std::vector<Group> groups;
  detail::PrefilterSet prefilter;
  detail::TxNames tx_names;
};
}  // namespace mamori::waf
