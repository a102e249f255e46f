#pragma once
// `mamori waf learn`: exclusions proposed from the decision log of a site's legitimate traffic
// (best: a week in detect mode). A rule that keeps firing on the same route and field for many
// different clients is far more likely a false alarm than an attack; each such (route, rule,
// field) becomes one proposed exclusion, in CRS's own format (SecRule … ctl:ruleRemoveTarget
// ById), for REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf; a method refused on a route (rule
// 911100) becomes that route's allowed methods. Nothing is applied: the operator reads the
// proposals, with the values that fired, and copies what is right.
//
// What is never proposed: Mamori's virtual patches (their point is to block), the scores that
// follow from other rules (949110, 980130 …), and anything seen from fewer than min_clients
// addresses or fewer than min_hits times (an attacker repeating one payload from one address
// proposes nothing).
//
// Example:
//   Learner l({.min_clients = 3, .min_hits = 5});
//   l.feed_line(line);  // every line of the decision log
//   auto p = l.proposals();
//   std::string conf = render_learned_seclang(p, 10000);

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mamori::waf {

struct LearnOptions {
  size_t min_clients = 3;
  size_t min_hits = 5;
};

struct Proposal {
  std::string route;  // "/wp-admin/post.php" (exact) or "/api/v1/items/" (prefix: ids cut)
  bool prefix = false;
  int64_t rule_id = 0;  // 911100: a method proposal
  std::string target;   // "ARGS:content"; for 911100 the method ("PUT")
  std::string msg;
  uint64_t hits = 0;
  size_t clients = 0;
  std::vector<std::string> samples;  // values that fired (at most 3, as the log has them)
};

struct LearnReport {
  std::vector<Proposal> proposals;  // enough evidence, most hits first
  std::vector<Proposal> too_few;    // seen, below the thresholds
  uint64_t lines = 0, used = 0, malformed = 0;
};

class Learner {
 public:
  explicit Learner(LearnOptions o) : o_(o) {}
  void feed_line(std::string_view line);  // one JSON line of the decision log
  LearnReport report() const;

 private:
  struct Key {
    std::string route;
    bool prefix;
    int64_t rule;
    std::string target;
    auto operator<=>(const Key&) const = default;
  };
  struct Seen {
    uint64_t hits = 0;
    std::set<std::string> clients;  // at most 64 kept
    std::vector<std::string> samples;
    std::string msg;
  };
  LearnOptions o_;
  std::map<Key, Seen> seen_;
  uint64_t lines_ = 0, used_ = 0, malformed_ = 0;
};

// The route a path is learned under: the path, or — when a segment is an id (digits, a UUID,
// 16+ hex digits) — the prefix before it ("/api/v1/items/42/edit" → "/api/v1/items/").
std::string learn_route(std::string_view path, bool& prefix);

// SecLang for REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf (ids from first_id), with the
// evidence as comments.
std::string render_learned_seclang(const LearnReport& r, int64_t first_id);
std::string render_learned_text(const LearnReport& r, const LearnOptions& o, int64_t first_id);
std::string render_learned_json(const LearnReport& r);

}  // namespace mamori::waf
