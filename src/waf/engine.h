#pragma once
// The WAF engine: a loaded rule set compiled once (regular expressions through PCRE2 with JIT,
// phrase lists, address lists), then evaluated on requests, each in its own transaction (TX
// collection, matched variables, ctl changes, skipAfter) as ModSecurity evaluates SecLang:
// phase 1 on the head, the body parsed by the processor phase 1 chose, phase 2, then the
// logging phase. An Engine is immutable after build() and may be shared by threads.
//
// Example:
//   auto eng = Engine::build(std::move(ruleset));
//   Verdict v = (*eng)->evaluate_raw(raw_request_bytes, Connection{});
//   if (v.blocked) respond(v.status);          // v.matches: the rules that fired, logged

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "waf/request.h"
#include "waf/rules.h"

namespace mamori::waf {

// A rule that fired (and logs): the first variable it matched, cut and made printable.
struct Match {
  int64_t rule_id = 0;
  int phase = 0;
  std::string variable;  // "ARGS:q", "REQUEST_HEADERS:User-Agent"
  std::string value;     // the transformed value the operator matched (≤ 200 bytes, sanitised)
  std::string msg;       // the rule's msg, macros expanded
  std::string severity;
};

struct Verdict {
  bool blocked = false;
  int status = 200;     // 403 (or the rule's status) when blocked; 400/413/431/501/505
                        // for requests refused before the rules (parse_error says why)
  int64_t rule_id = 0;  // the rule that blocked
  std::vector<Match> matches;
  int64_t anomaly_score = 0;  // TX:ANOMALY_SCORE (CRS's inbound score) at the end
  std::string parse_error;
  // Regular-expression searches stopped by their backtracking limit (counted as matches).
  int limits_hit = 0;
};

class Engine;

// A request evaluated in two steps, as a proxy needs them: phase 1 as soon as the head has
// arrived (a request it blocks need not send its body), then the body, phase 2 and logging.
// The Request given to Engine::begin must stay where it is until finish() returned; its body
// is set between the two steps. The Engine must outlive the Evaluation.
class Evaluation {
 public:
  Evaluation();
  Evaluation(Evaluation&&) noexcept;
  Evaluation& operator=(Evaluation&&) noexcept;
  ~Evaluation();
  bool blocked() const;      // phase 1 blocked the request: finish() runs only the logging phase
  bool body_access() const;  // the body will be inspected (SecRequestBodyAccess, ctl)
  // The largest body finish() accepts (SecRequestBodyLimit with Reject; larger is 413), or
  // UINT64_MAX when bodies are not inspected or ProcessPartial is set.
  uint64_t body_limit() const;
  const Verdict& verdict() const;  // so far
  Verdict finish();                // once; the request's body must be in place

  struct State;

 private:
  friend class Engine;
  std::unique_ptr<State> s_;
};

struct EngineOptions {
  BodyLimits limits;
  // Mamori's native detectors (native.h) run after phase 2 on requests the rules let through;
  // a bit set of NativeDetector (0: CRS alone, as the oracle comparison needs).
  uint32_t native = 0x1ff;  // kNativeAll
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> build(RuleSet rules, EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Evaluates a parsed request once: its body is parsed here, after phase 1 (the request is
  // changed: body variables are filled in; evaluating it again is not supported).
  Verdict evaluate(Request& req) const;
  // The same in two steps (Evaluation above).
  Evaluation begin(Request& req) const;
  // Parses a complete raw request and evaluates it; a request the HTTP parser refuses is
  // blocked with the parser's status and no rule.
  Verdict evaluate_raw(std::string_view raw, const Connection& conn) const;
  const RuleSet& rules() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mamori::waf
