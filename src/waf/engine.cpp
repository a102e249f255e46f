// The engine: compiles a rule set, then runs each request through phase 1, the body processor,
// phase 2 and the logging phase (see engine.h).
#include "waf/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "core/text.h"
#include "waf/engine_impl.h"
#include "waf/native.h"
#include "waf/transform.h"

namespace mamori::waf {

using detail::CompiledRule;
using detail::Transaction;

namespace detail {

namespace {

std::string cut(std::string_view v) { return sanitize(v.substr(0, 200)); }

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  for (auto w : split(s, ' '))
    if (!w.empty()) out.push_back(to_lower(w));
  return out;
}

// The trie node of `t` after `parent`, added when new.
uint32_t tnode(std::vector<TransformNode>& nodes, uint32_t parent, Transform t) {
  for (uint32_t i = 1; i < nodes.size(); ++i)
    if (nodes[i].parent == parent && nodes[i].t == t) return i;
  nodes.push_back({parent, t});
  return static_cast<uint32_t>(nodes.size() - 1);
}

// The prefilter groups being built: (trie node, the rule's targets) → group id.
struct GroupIndex {
  std::map<std::pair<uint32_t, std::string>, uint32_t> ids;
  std::vector<uint32_t> node_of;
  uint32_t of(uint32_t node, const Rule& r) {
    std::vector<std::string> parts;
    for (const auto& t : r.targets)  // exclusions only narrow a rule: its union stays a superset
      if (!t.exclude)
        parts.push_back(fmt::format("{}{}{}:{}", t.count ? "&" : "", t.key_regex ? "/" : "",
                                    static_cast<int>(t.collection), t.key));
    std::sort(parts.begin(), parts.end());
    parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
    std::string sig;
    for (const auto& p : parts) sig.append(p).push_back('\0');
    auto [it, added] = ids.try_emplace({node, std::move(sig)}, node_of.size());
    if (added) node_of.push_back(node);
    return it->second;
  }
};

Result<CompiledRule> compile_rule(const Rule& r, std::vector<TransformNode>& nodes,
                                  PrefilterSet& pre, GroupIndex& groups) {
  CompiledRule c;
  c.rule = &r;
  uint32_t at = 0;
  for (Transform t : r.transforms) c.tnodes.push_back(at = tnode(nodes, at, t));
  c.node = at;
  c.group = groups.of(at, r);
  // Rules whose operator can only match where its pattern or phrases occur get a prefilter
  // slot; negated ones, multiMatch ones and patterns built per request do not.
  if (!r.op.negated && !r.multi_match && !r.is_action) {
    if (r.op.kind == OpKind::kRx && r.op.param.find("%{") == std::string::npos)
      c.slot = pre.add_regex(c.group, r.op.param);
    else if (r.op.kind == OpKind::kPm || r.op.kind == OpKind::kPmFromFile)
      c.slot = pre.add_phrases(c.group,
                               r.op.kind == OpKind::kPm ? split_words(r.op.param) : r.op.phrases);
  }
  for (const SetVar& sv : r.setvars)
    c.setvars.push_back({sv.op, sv.collection == Collection::kTx,
                         Template::parse(to_lower(sv.name)), Template::parse(sv.value)});
  c.msg = Template::parse(r.msg);
  if (r.op.param.find("%{") != std::string::npos) c.param = Template::parse(r.op.param);
  auto op = compile_op(r.op);
  if (!op) return Error::invalid(fmt::format("{}:{}: {}", r.file, r.line, op.error().message));
  c.op = std::move(*op);
  for (const auto& t : r.targets) {
    CompiledTarget ct{t, {}};
    if (t.key_regex) {
      auto re = Regex::compile(t.key, true);
      if (!re) return Error::invalid(fmt::format("{}:{}: {}", r.file, r.line, re.error().message));
      ct.key_re = std::move(*re);
    }
    c.targets.push_back(std::move(ct));
  }
  for (const auto& link : r.chain) {
    auto l = compile_rule(link, nodes, pre, groups);
    if (!l) return l.error();
    c.chain.push_back(std::move(*l));
  }
  return c;
}

// ctl:ruleRemoveTargetById=ID;TARGET and friends: the target part.
std::optional<Target> ctl_target(std::string_view spec) {
  Target t;
  size_t colon = spec.find(':');
  auto c = parse_collection(to_upper(trim(spec.substr(0, colon))));
  if (!c) return std::nullopt;
  t.collection = *c;
  if (colon != std::string_view::npos) t.key = to_lower(trim(spec.substr(colon + 1)));
  return t;
}

void run_ctl(const Ctl& c, Transaction& tx) {
  std::string_view v = c.value;
  switch (c.kind) {
    case CtlKind::kRuleRemoveById:
      for (auto part : split(v, ' ')) {
        size_t dash = part.find('-');
        int64_t a = to_number(part.substr(0, dash));
        int64_t b = dash == std::string_view::npos ? a : to_number(part.substr(dash + 1));
        if (a) tx.removed_ranges.emplace_back(a, b);
      }
      return;
    case CtlKind::kRuleRemoveByTag:
      tx.removed_tags.emplace_back(v);
      return;
    case CtlKind::kRuleRemoveTargetById:
    case CtlKind::kRuleRemoveTargetByTag: {
      size_t semi = v.find(';');
      if (semi == std::string_view::npos) return;
      auto t = ctl_target(v.substr(semi + 1));
      if (!t) return;
      if (c.kind == CtlKind::kRuleRemoveTargetByTag) {
        tx.removed_targets_by_tag.emplace_back(std::string(v.substr(0, semi)), *t);
      } else {
        for (auto part : split(v.substr(0, semi), ','))
          tx.removed_targets.emplace_back(to_number(part), *t);
      }
      return;
    }
    case CtlKind::kRuleEngine:
      tx.mode = iequals(v, "off")             ? EngineMode::kOff
                : iequals(v, "detectiononly") ? EngineMode::kDetectionOnly
                                              : EngineMode::kOn;
      return;
    case CtlKind::kRequestBodyProcessor:
      if (tx.req.body_processed) return;
      if (iequals(v, "json"))
        tx.req.processor = BodyProcessor::kJson;
      else if (iequals(v, "xml"))
        tx.req.processor = BodyProcessor::kXml;
      else if (iequals(v, "urlencoded"))
        tx.req.processor = BodyProcessor::kUrlEncoded;
      else if (iequals(v, "multipart"))
        tx.req.processor = BodyProcessor::kMultipart;
      return;
    case CtlKind::kRequestBodyAccess:
      tx.body_access = iequals(v, "on");
      return;
    default:
      return;  // body limits, forced body variable, audit logging: no effect here
  }
}

void run_setvar(const CompiledSetVar& sv, Transaction& tx, const Rule* rule) {
  if (!sv.tx) return;  // persistent collections: not kept
  thread_local std::string name, val;
  for (std::string* t : {&name, &val})  // a large value of one request is not kept
    if (t->capacity() > (1u << 16)) std::string().swap(*t);
  name.clear();
  val.clear();
  if (sv.name.constant) {  // lower-cased when the rules were read
    if (!sv.name.pieces.empty()) name = sv.name.pieces[0].text;
  } else {
    expand(sv.name, tx, rule, name);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  const int slot = sv.name.constant ? sv.slot : -1;
  if (sv.op == SetVar::Op::kDelete) {
    tx.tx.erase(name, slot);
    return;
  }
  expand(sv.value, tx, rule, val);
  if (sv.op == SetVar::Op::kSet) {
    tx.tx.put(name, slot) = val;
    return;
  }
  const std::string* old = tx.tx.get(name, slot);
  const int64_t cur = old ? to_number(*old) : 0, d = to_number(val);
  tx.tx.put(name, slot) = std::to_string(sv.op == SetVar::Op::kAdd ? cur + d : cur - d);
}

// Every constant TX name of a rule (and its chain) gets its slot.
void assign_slots(CompiledRule& c, TxNames& names) {
  auto in_template = [&](Template& t) {
    for (auto& p : t.pieces)
      if (p.kind == Template::Kind::kVar && p.coll == Collection::kTx && !p.text.empty())
        p.slot = names.intern(p.text);
  };
  for (auto& sv : c.setvars) {
    if (sv.tx && sv.name.constant && !sv.name.pieces.empty())
      sv.slot = names.intern(sv.name.pieces[0].text);
    in_template(sv.name);
    in_template(sv.value);
  }
  in_template(c.msg);
  in_template(c.param);
  for (auto& t : c.targets)
    if (t.t.collection == Collection::kTx && !t.t.key.empty() && !t.t.key_regex)
      t.slot = names.intern(t.t.key);
  for (auto& l : c.chain) assign_slots(l, names);
}

// A value (with an id) after the transformations of trie node `node`, from the cache: each
// distinct chain is computed once per value and phase.
// The value after the first `step + 1` transformations of rule `cr` (step -1: none).
int32_t cached(const CompiledRule& cr, Transaction& tx, const Value& v, int step) {
  return cached_at(tx, v.id, v.value, step < 0 ? 0 : cr.tnodes[static_cast<size_t>(step)]);
}

// Can any value the rule may read report its prefilter slot? (No: the rule cannot match.)
bool may_match(const CompiledRule& cr, Transaction& tx) {
  const uint32_t group = cr.group;
  Hits& u = tx.node_union[group];
  if (tx.union_done[group] != 1) {
    // Every value the group's rules read, transformed, joined: one scan for all of them. After
    // the body (2): the union so far, with the body's values added.
    const bool top_up = tx.union_done[group] == 2;
    tx.union_done[group] = 1;
    thread_local std::string joined;
    joined.clear();
    if (!join_group_values(tx, group, joined, top_up)) {
      u.reset(0, true);  // not numbered (ids disabled): anything may match
    } else if (!top_up) {
      tx.eng.prefilter.scan_joined(group, joined, u);
    } else if (!joined.empty()) {
      Hits more;
      tx.eng.prefilter.scan_joined(group, joined, more);
      u.merge(more);
    }
    if (joined.capacity() > (1u << 20)) std::string().swap(joined);
  }
  return u.test(static_cast<unsigned>(cr.slot));
}

// Values up to this length are given to PCRE2 without a scan of their own (see eval_one).
constexpr size_t kShortValue = 1024;

// One rule of a chain (or a lone rule): does it match? On each match of a variable, the
// "independent" actions run (captures, setvar, ctl), as in ModSecurity v3.
bool eval_one(const CompiledRule& cr, Transaction& tx, Match& first) {
  const Rule& r = *cr.rule;
  auto on_match = [&](const Value* v, std::string_view val,
                      const std::vector<std::string>* groups) {
    std::string name = v ? value_name(*v) : std::string();
    tx.matched_var = val;
    tx.matched_vars.push_back({name, std::string(val)});
    if (r.capture && groups)
      for (size_t i = 0; i < groups->size() && i < 10; ++i)
        tx.tx.put(std::string_view(&"0123456789"[i], 1), -1) = (*groups)[i];
    if (first.variable.empty()) {
      first.variable = name;
      first.value = cut(val);
    }
    tx.matched_var_name = std::move(name);
    for (const auto& sv : cr.setvars) run_setvar(sv, tx, &r);
    for (const auto& c : r.ctls) run_ctl(c, tx);
  };
  if (r.is_action) {
    on_match(nullptr, "", nullptr);
    return true;
  }
  std::vector<Value>& vals = tx.vals;  // reused: no allocation per rule
  vals.clear();
  collect(cr, tx, vals);
  std::string param;
  if (cr.op.dynamic) expand(cr.param, tx, &r, param);
  const std::string_view p =
      cr.op.dynamic ? std::string_view(param) : std::string_view(cr.op.param);
  std::vector<std::string>* g = r.capture ? &tx.groups : nullptr;
  bool any = false;
  for (const auto& v : vals) {
    std::string_view cur = v.value;
    if (r.multi_match) {  // the operator after every transformation that changed the value
      bool hit = run_op(cr.op, p, cur, tx, g);
      for (size_t k = 0; !hit && k < r.transforms.size(); ++k) {
        std::string_view next =
            v.id >= 0 ? tx.cached[static_cast<size_t>(cached(cr, tx, v, static_cast<int>(k)))].v
                      : std::string_view(tx.scratch.emplace_back(waf::apply(r.transforms[k], cur)));
        bool changed = next != cur;
        cur = next;
        hit = changed && run_op(cr.op, p, cur, tx, g);
      }
      if (hit) {
        any = true;
        on_match(&v, cur, g);
      }
      continue;
    }
    if (v.id >= 0) {
      const auto at =
          static_cast<size_t>(cached(cr, tx, v, static_cast<int>(r.transforms.size()) - 1));
      cur = tx.cached[at].v;
      // The prefilter on this value alone: for a rule the union did not rule out, only on a
      // long value (a short one costs PCRE2 less than a scan of the node's whole database),
      // or once the request's budget of such short values is spent.
      const bool direct = cr.skippable && cur.size() <= kShortValue && cur.size() <= tx.direct_left;
      if (direct) tx.direct_left -= cur.size();
      if (cr.slot >= 0 && !direct) {
        if (tx.cached[at].hits_group != static_cast<int32_t>(cr.group)) {
          // One answer per cached value, for the last group that asked: groups of one node
          // asking in turn about one long value scan it again (bounded: once per rule).
          int32_t h = tx.cached[at].hits;
          tx.eng.prefilter.scan(cr.group, cur,
                                h >= 0 ? tx.buf->hits[static_cast<size_t>(h)] : tx.new_hits(h));
          tx.cached[at].hits = h;
          tx.cached[at].hits_group = static_cast<int32_t>(cr.group);
        }
        if (!tx.buf->hits[static_cast<size_t>(tx.cached[at].hits)].test(
                static_cast<unsigned>(cr.slot)))
          continue;
      }
    } else {
      for (Transform t : r.transforms) cur = tx.scratch.emplace_back(waf::apply(t, cur));
    }
    if (run_op(cr.op, p, cur, tx, g)) {
      any = true;
      on_match(&v, cur, g);
    }
  }
  return any;
}

// A rule with its chain. true: it matched whole.
bool eval_rule(const CompiledRule& cr, Transaction& tx, const RuleSet& rs, int phase) {
  const Rule& r = *cr.rule;
  tx.matched_vars.clear();
  Match m;
  if (!eval_one(cr, tx, m)) return false;
  for (const auto& link : cr.chain) {
    Match ignored;
    if (!eval_one(link, tx, ignored)) return false;
  }
  if (r.log) {
    m.rule_id = r.id;
    m.phase = phase;
    std::string msg;
    expand(cr.msg, tx, &r, msg);
    m.msg = cut(msg);
    m.severity = r.severity;
    tx.verdict.matches.push_back(std::move(m));
  }
  Disruptive d =
      r.disruptive == Disruptive::kBlock ? rs.block_action[std::clamp(phase, 1, 5)] : r.disruptive;
  if (tx.mode == EngineMode::kOn &&
      (d == Disruptive::kDeny || d == Disruptive::kDrop || d == Disruptive::kRedirect)) {
    tx.verdict.blocked = true;
    tx.verdict.status = r.status ? r.status : 403;
    tx.verdict.rule_id = r.id;
  } else if (d == Disruptive::kAllow && tx.mode == EngineMode::kOn) {
    tx.allowed = true;
  }
  if (!r.skip_after.empty()) tx.skip_until = cr.skip_to;
  if (r.skip > 0) tx.skip_n = r.skip;
  return true;
}

void run_phase(const Engine::Impl& eng, Transaction& tx, int phase) {
  const RuleSet& rs = eng.rs;
  for (uint32_t i : eng.phase_rules[std::clamp(phase, 1, 5)]) {
    if (i < tx.skip_until) continue;
    const CompiledRule& cr = eng.rules[i];
    if (tx.skip_n > 0) {
      --tx.skip_n;
      continue;
    }
    if (tx.mode == EngineMode::kOff) return;
    if (tx.allowed && phase <= 4) return;
    if (tx.rule_removed(*cr.rule)) continue;
    if (cr.skippable && !may_match(cr, tx)) continue;
    eval_rule(cr, tx, rs, phase);
    if (tx.verdict.blocked) break;
  }
  // A marker is in every phase (ModSecurity keeps one list per phase): a skip ends with it.
  tx.skip_n = 0;
  tx.skip_until = 0;
}

// Mamori's native detectors, after the rules, as one more rule each: logged, blocking when the
// engine is On, removable with ctl:ruleRemoveById like any rule.
void run_native(Transaction& tx) {
  std::vector<NativeHit> hits;
  native_detect(tx.req, tx.eng.native, hits,
                tx.mode == EngineMode::kOn && tx.removed_ids.empty() && tx.removed_ranges.empty() &&
                    tx.removed_targets.empty() && tx.removed_targets_by_tag.empty());
  for (NativeHit& h : hits) {
    if (tx.removed_ids.count(h.id) ||
        std::any_of(tx.removed_ranges.begin(), tx.removed_ranges.end(),
                    [&](const auto& r) { return h.id >= r.first && h.id <= r.second; }))
      continue;
    // ctl:ruleRemoveTargetById=ID;ARGS:x and ctl:ruleRemoveTargetByTag=mamori-native;ARGS:x
    // (the tag every native detector carries; waf.toml field types use it).
    size_t colon = h.variable.find(':');
    std::string_view key = colon == std::string::npos
                               ? std::string_view()
                               : std::string_view(h.variable).substr(colon + 1);
    auto coll = parse_collection(h.variable.substr(0, colon));
    auto hits_target = [&](const Target& t) {
      return coll && t.collection == *coll && (t.key.empty() || iequals(t.key, key));
    };
    if (std::any_of(tx.removed_targets.begin(), tx.removed_targets.end(),
                    [&](const auto& p) { return p.first == h.id && hits_target(p.second); }) ||
        std::any_of(
            tx.removed_targets_by_tag.begin(), tx.removed_targets_by_tag.end(),
            [&](const auto& p) { return p.first == "mamori-native" && hits_target(p.second); }))
      continue;
    Match m;
    m.rule_id = h.id;
    m.phase = 2;
    m.variable = cut(h.variable);
    m.value = cut(h.value);
    m.msg = std::string(h.msg);
    m.severity = "CRITICAL";
    tx.verdict.matches.push_back(std::move(m));
    if (tx.mode == EngineMode::kOn) {
      tx.verdict.blocked = true;
      tx.verdict.status = 403;
      tx.verdict.rule_id = h.id;
      return;
    }
  }
}

}  // namespace
}  // namespace detail

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const RuleSet& Engine::rules() const { return impl_->rs; }

Result<std::unique_ptr<Engine>> Engine::build(RuleSet rules, EngineOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->rs = std::move(rules);
  impl->limits = options.limits;
  impl->native = options.native & kNativeAll;
  impl->rules.reserve(impl->rs.rules.size());
  detail::GroupIndex groups;
  for (const auto& r : impl->rs.rules) {
    auto c = detail::compile_rule(r, impl->tnodes, impl->prefilter, groups);
    if (!c) return c.error();
    impl->rules.push_back(std::move(*c));
  }
  for (size_t i = 0; i < impl->rules.size(); ++i) {
    auto& c = impl->rules[i];
    const int phase = c.rule->phase;
    if (phase >= 1 && phase <= 5) impl->phase_rules[phase].push_back(static_cast<uint32_t>(i));
    if (c.rule->skip_after.empty()) continue;
    c.skip_to = SIZE_MAX;
    for (const Marker& m : impl->rs.markers)
      if (m.before_rule > i && m.name == c.rule->skip_after) {
        c.skip_to = m.before_rule;
        break;
      }
  }
  for (char d = '0'; d <= '9'; ++d) impl->tx_names.intern(std::string_view(&d, 1));
  impl->tx_names.intern("anomaly_score");
  for (auto& c : impl->rules) detail::assign_slots(c, impl->tx_names);
  if (!impl->prefilter.build()) {  // every rule runs PCRE2: slower, the same answers
    std::function<void(detail::CompiledRule&)> off = [&](detail::CompiledRule& c) {
      c.slot = -1;
      for (auto& l : c.chain) off(l);
    };
    for (auto& c : impl->rules) off(c);
  }
  // Rules that read only request values and have a prefilter slot can be skipped whole.
  impl->groups.resize(groups.node_of.size());
  for (size_t g = 0; g < groups.node_of.size(); ++g) impl->groups[g].node = groups.node_of[g];
  for (auto& c : impl->rules) {
    if (c.slot < 0 || !impl->prefilter.slots(c.group)) continue;
    bool ok = !c.targets.empty();
    for (const auto& t : c.targets)
      if (!t.t.exclude && (t.t.count || !detail::is_request_value(t.t.collection))) ok = false;
    if (!ok) continue;
    c.skippable = true;
    auto& colls = impl->groups[c.group].colls;
    for (const auto& t : c.targets) {
      if (t.t.exclude) continue;
      auto it = std::find_if(colls.begin(), colls.end(),
                             [&](const Impl::NodeTargets& n) { return n.coll == t.t.collection; });
      if (it == colls.end()) it = colls.insert(colls.end(), Impl::NodeTargets{t.t.collection, {}});
      it->targets.push_back(&t);
    }
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

struct Evaluation::State {
  State(const Engine::Impl& e, Request& r) : tx(e, r) {}
  detail::Transaction tx;
  bool finished = false;
};

Evaluation::Evaluation() = default;
Evaluation::Evaluation(Evaluation&&) noexcept = default;
Evaluation& Evaluation::operator=(Evaluation&&) noexcept = default;
Evaluation::~Evaluation() = default;

bool Evaluation::blocked() const { return s_ && s_->tx.verdict.blocked; }
bool Evaluation::body_access() const {
  return s_ && s_->tx.mode != EngineMode::kOff && s_->tx.body_access;
}
uint64_t Evaluation::body_limit() const {
  if (!s_) return 0;
  const RuleSet& rs = s_->tx.eng.rs;
  return body_access() && rs.body_limit_reject ? rs.request_body_limit : UINT64_MAX;
}
const Verdict& Evaluation::verdict() const {
  static const Verdict none;
  return s_ ? s_->tx.verdict : none;
}

Evaluation Engine::begin(Request& req) const {
  Evaluation ev;
  ev.s_ = std::make_unique<Evaluation::State>(*impl_, req);
  detail::Transaction& tx = ev.s_->tx;
  tx.tx.reset(impl_->tx_names);
  tx.reset_cache();
  tx.mode = impl_->rs.engine;
  tx.body_access = impl_->rs.request_body_access;
  if (tx.mode != EngineMode::kOff) detail::run_phase(*impl_, tx, 1);
  return ev;
}

Verdict Evaluation::finish() {
  if (!s_ || s_->finished) return {};
  s_->finished = true;
  detail::Transaction& tx = s_->tx;
  const Engine::Impl& eng = tx.eng;
  Request& req = tx.req;
  if (tx.mode != EngineMode::kOff) {
    if (!tx.verdict.blocked) {
      if (tx.body_access) {
        const RuleSet& rs = eng.rs;
        if (req.body.size() > rs.request_body_limit && rs.body_limit_reject) {
          tx.verdict.blocked = true;
          tx.verdict.status = 413;
          tx.verdict.parse_error =
              fmt::format("the body ({} bytes) is larger than SecRequestBodyLimit ({} bytes)",
                          req.body.size(), rs.request_body_limit);
        } else {
          req.process_body(eng.limits);
          // The body's values are new: they are numbered after phase 1's, whose transformed
          // values and prefilter answers stay (only REQUEST_BODY and FULL_REQUEST change).
          // A body that added nothing (a GET) changes nothing.
          if ((!req.body.empty() || !req.args_post.empty() || !req.files.empty() ||
               !req.files_sizes.empty() || !req.multipart_part_headers.empty() ||
               !req.xml_text.empty() || !req.xml_attrs.empty()) &&
              !tx.extend_cache())
            tx.reset_cache();
          // SecRequestBodyNoFilesLimit: the body without uploaded files.
          if (req.body.size() - std::min<uint64_t>(req.files_combined_size, req.body.size()) >
                  rs.request_body_no_files_limit &&
              rs.body_limit_reject) {
            tx.verdict.blocked = true;
            tx.verdict.status = 413;
            tx.verdict.parse_error = fmt::format(
                "the body without uploaded files is larger than SecRequestBodyNoFilesLimit ({} "
                "bytes)",
                rs.request_body_no_files_limit);
          }
        }
      }
      if (!tx.verdict.blocked) detail::run_phase(eng, tx, 2);
      if (!tx.verdict.blocked && !tx.allowed && eng.native) detail::run_native(tx);
    }
    tx.allowed = false;
    detail::run_phase(eng, tx, 5);
  }
  if (const std::string* v = tx.tx.get("anomaly_score", -1))
    tx.verdict.anomaly_score = detail::to_number(*v);
  return std::move(tx.verdict);
}

Verdict Engine::evaluate(Request& req) const { return begin(req).finish(); }

Verdict Engine::evaluate_raw(std::string_view raw, const Connection& conn) const {
  // Every request in the input: bytes after the first are the next request on the connection
  // (pipelining) and a server behind Mamori would answer them too. The first that is blocked
  // decides; a tail that is not a request is refused.
  Verdict all;
  for (int n = 0; !raw.empty(); ++n) {
    http::WholeRequest w;
    http::ParseError err;
    if (n >= 100) err = {400, "more than 100 pipelined requests"};
    if (n >= 100 || http::parse_whole(raw, w, err) != http::WholeResult::kOk) {
      all.blocked = true;
      all.status = err.status;
      all.parse_error =
          n ? "pipelined request " + std::to_string(n + 1) + ": " + err.reason : err.reason;
      return all;
    }
    raw.remove_prefix(std::min(w.consumed, raw.size()));
    while (!raw.empty() && (raw.front() == '\r' || raw.front() == '\n')) raw.remove_prefix(1);
    Request req = Request::from_http(w.head, std::move(w.body), conn);
    Verdict v = evaluate(req);
    v.matches.insert(v.matches.begin(), all.matches.begin(), all.matches.end());
    v.limits_hit += all.limits_hit;
    all = std::move(v);
    if (all.blocked) return all;
  }
  return all;
}

}  // namespace mamori::waf
