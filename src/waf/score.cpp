// Scoring a corpus offline (see score.h): records evaluated in parallel, one engine shared.
#include "waf/score.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace mamori::waf {

CorpusScore score_corpus(const Engine& engine, const std::vector<CorpusRecord>& recs,
                         const ScoreOptions& opt) {
  CorpusScore s;
  s.options = opt;
  auto t0 = std::chrono::steady_clock::now();
  std::set<std::string> ids;
  for (const auto& r : recs) {
    if (!ids.insert(r.id).second) ++s.duplicate_ids;
    if (opt.max_pl >= 0 && r.crs_pl > opt.max_pl) {
      ++s.skipped_by_pl;
      continue;
    }
    RecordResult rr;
    rr.rec = &r;
    s.results.push_back(std::move(rr));
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < s.results.size(); i = next++) {
      RecordResult& out = s.results[i];
      Verdict v = engine.evaluate_raw(out.rec->raw, Connection{});
      out.status = v.status;
      out.reason = v.parse_error;
      const auto& acc = out.rec->accept_status;
      out.blocked = std::find(acc.begin(), acc.end(), v.status) != acc.end();
      for (const auto& m : v.matches) out.rules.push_back(m.rule_id);
      std::sort(out.rules.begin(), out.rules.end());
      out.rules.erase(std::unique(out.rules.begin(), out.rules.end()), out.rules.end());
      out.anomaly_score = v.anomaly_score;
    }
  };
  unsigned n = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < n; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (const auto& r : s.results) {
    auto& c = s.categories[{r.rec->expect_block, r.rec->category}];
    ++c.n;
    c.blocked += r.blocked;
    c.refused += !r.blocked && r.status >= 400;
    if (r.rec->expect_block) {
      ++s.attacks;
      s.detected += r.blocked;
    } else {
      ++s.benign;
      s.false_positives += r.blocked;
    }
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

namespace {
std::string pct(size_t a, size_t b) {
  return b ? fmt::format("{:6.2f} %", 100.0 * static_cast<double>(a) / static_cast<double>(b))
           : "     -  ";
}
}  // namespace

std::string render_score_text(const CorpusScore& s) {
  std::string o = fmt::format("paranoia level {}; rules: {}\n", s.options.paranoia,
                              fmt::join(s.options.rules, ", "));
  if (!s.options.policy.empty()) o += "site policy: " + s.options.policy + "\n";
  o += fmt::format("{} requests scored in {:.1f} s", s.results.size(), s.seconds);
  if (s.options.max_pl >= 0)
    o += fmt::format(" ({} CRS tests of rules above level {} left out)", s.skipped_by_pl,
                     s.options.max_pl);
  if (s.duplicate_ids) o += fmt::format("; {} ids appear more than once", s.duplicate_ids);
  o += "\n\nblocked: answered with the record's status (default 403); refused: another 4xx/5xx\n";
  o += fmt::format("{:<8} {:<18} {:>6} {:>8} {:>9} {:>8}\n", "expect", "category", "n", "blocked",
                   "rate", "refused");
  for (const auto& [k, c] : s.categories)
    o += fmt::format("{:<8} {:<18} {:>6} {:>8} {:>9} {:>8}\n", k.first ? "block" : "allow",
                     k.second, c.n, c.blocked, pct(c.blocked, c.n), c.refused);
  o += fmt::format("\nattacks blocked      {} ({} of {})\n", pct(s.detected, s.attacks), s.detected,
                   s.attacks);
  o += fmt::format("legitimate blocked   {} ({} of {})\n", pct(s.false_positives, s.benign),
                   s.false_positives, s.benign);
  if (auto it = s.categories.find({false, "crs-negative"}); it != s.categories.end())
    o += fmt::format(
        "  of which crs-negative {} of {}: CRS tests that one rule does not fire (others may: "
        "soft false positives)\n",
        it->second.blocked, it->second.n);
  return o;
}

std::string render_score_json(const CorpusScore& s) {
  nlohmann::ordered_json j;
  j["paranoia"] = s.options.paranoia;
  j["max_pl"] = s.options.max_pl;
  j["rules"] = s.options.rules;
  if (!s.options.policy.empty()) j["policy"] = s.options.policy;
  j["records"] = s.results.size();
  j["duplicate_ids"] = s.duplicate_ids;
  j["skipped_by_paranoia"] = s.skipped_by_pl;
  j["seconds"] = s.seconds;
  j["attacks"] = s.attacks;
  j["detected"] = s.detected;
  j["detection_rate"] =
      s.attacks ? static_cast<double>(s.detected) / static_cast<double>(s.attacks) : 0.0;
  j["benign"] = s.benign;
  j["false_positives"] = s.false_positives;
  j["false_positive_rate"] =
      s.benign ? static_cast<double>(s.false_positives) / static_cast<double>(s.benign) : 0.0;
  auto& cats = j["categories"] = nlohmann::ordered_json::array();
  for (const auto& [k, c] : s.categories)
    cats.push_back({{"expect", k.first ? "block" : "allow"},
                    {"category", k.second},
                    {"n", c.n},
                    {"blocked", c.blocked},
                    {"refused", c.refused}});
  return j.dump(2) + "\n";
}

std::string render_records_jsonl(const CorpusScore& s) {
  std::string o;
  for (const auto& r : s.results) {
    nlohmann::ordered_json j;
    j["id"] = r.rec->id;
    j["rules"] = r.rules;
    j["status"] = r.status;
    j["blocked"] = r.blocked;
    j["score"] = r.anomaly_score;
    if (!r.reason.empty()) j["reason"] = r.reason;
    o += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return o;
}

}  // namespace mamori::waf
