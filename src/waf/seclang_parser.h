#pragma once
// The SecLang parser's parts (seclang.cpp: directives, files, rule exceptions;
// seclang_rule.cpp: a rule's targets, operator and actions). Internal to src/waf.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "waf/rules.h"

namespace mamori::waf::detail {

std::string lower(std::string_view s);

bool iequal(std::string_view a, std::string_view b);

std::optional<int64_t> to_int(std::string_view s);  // the whole text, or nothing

// One directive: its name, its arguments (quotes removed), where it starts.
struct Directive {
  std::string name;
  std::vector<std::string> args;
  int line = 0;
};

struct DefaultAction {
  Disruptive disruptive = Disruptive::kPass;
  std::vector<Transform> transforms;
  bool log = true;
};

// What the parse builds before rule exceptions are applied: rules and markers in order.
using Entry = std::variant<Rule, std::string>;  // a rule, or a marker's name

class Parser {
 public:
  Parser(const LoadOptions& opt, bool from_memory) : opt_(opt), from_memory_(from_memory) {}
  Status file(const std::string& path, int depth);
  Status text_of(std::string_view text, const std::string& name, int depth);
  Result<RuleSet> finish();

 private:
  // An action as written: name[:value], value a word or 'quoted' (\' inside).
  struct RawAction {
    std::string name, value;
    bool has_value = false;
  };
  Error err(const std::string& what) const;
  void issue(Issue::Kind k, int64_t id, std::string text);
  // Lines → directives: a backslash at the end of a line continues it; '#' starts a comment
  // line; arguments are words or "double-quoted" with \" inside.
  Status split(std::string_view text, const std::string& name, std::vector<Directive>& out);
  Status want_args(const Directive& d, size_t lo, size_t hi);
  Status on_off(const Directive& d, bool& v);
  Status directive(const Directive& d, int depth);
  Status include(const std::string& pattern, int depth);
  static std::vector<std::string_view> split_any(std::string_view s, std::string_view seps);
  Status id_range(std::string_view s, std::vector<std::pair<int64_t, int64_t>>& out);
  // ---- targets: COLL[:key]|!COLL:key|&COLL, keys as words, 'quoted' or /regex/
  Status targets(std::string_view s, std::vector<Target>& out);
  Status check_regex(const std::string& pat, const std::string& what);
  // ---- the operator: [!]@name param, or a bare regular expression
  Status op(std::string_view s, Operator& o, int64_t id);
  Status phrases_from_files(Operator& o, int64_t id);
  Status raw_actions(std::string_view s, std::vector<RawAction>& out);
  Status setvar(const std::string& v, Rule& r);
  Status ctl(const std::string& v, Rule& r);
  Status actions(std::string_view s, Rule& r, bool link);
  Status default_action(const std::string& s);
  Status rule(const std::string& vars, const std::string& oper, const std::string& acts,
              bool is_action);
  // SecRuleRemove* and SecRuleUpdateTarget*: applied to every rule whatever the order, as
  // ModSecurity v3 does; then markers are resolved to rule positions.
  void apply_exceptions();
  const LoadOptions& opt_;
  bool from_memory_;
  RuleSet out_;
  std::vector<Entry> entries_;
  std::set<int64_t> ids_;
  std::set<std::string> open_;
  uint64_t total_ = 0;
  std::string file_;
  int line_ = 0;
  DefaultAction defaults_[6];
  bool chain_open_ = false, chain_next_ = false;
  size_t chain_head_ = 0;
  int chain_phase_ = 2;
  int64_t chain_id_ = 0;
  std::vector<std::pair<int64_t, int64_t>> remove_ranges_;
  std::vector<std::string> remove_tags_, remove_msgs_;
  std::vector<std::pair<std::vector<std::pair<int64_t, int64_t>>, std::vector<Target>>>
      updates_by_id_;
  std::vector<std::pair<std::string, std::vector<Target>>> updates_by_tag_;
};

}  // namespace mamori::waf::detail
