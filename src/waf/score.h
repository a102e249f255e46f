#pragma once
// `mamori waf test`: the engine on a request corpus, offline (no sockets), scored as the
// corpus's replayer scores a WAF on the wire: a record is blocked when the status the engine
// answers is one of the record's accept_status (default 403); attacks should be blocked,
// legitimate requests not.
//
// Example:
//   auto s = score_corpus(engine, records, {.max_pl = 1});
//   std::cout << render_score_text(s);

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "waf/corpus.h"
#include "waf/engine.h"

namespace mamori::waf {

struct RecordResult {
  const CorpusRecord* rec = nullptr;
  int status = 200;
  bool blocked = false;        // status in accept_status
  std::vector<int64_t> rules;  // rule ids that fired (and log), ascending
  int64_t anomaly_score = 0;
  std::string reason;  // why it was refused before the rules (HTTP parsing), if it was
};

struct CategoryScore {
  size_t n = 0, blocked = 0;
  size_t refused = 0;  // answered with a status that is not theirs (400, 413 …): not blocked
};

struct ScoreOptions {
  int max_pl = -1;       // >= 0: leave out CRS regression tests of rules above this level
  unsigned threads = 0;  // 0: one per core
  int paranoia = 0;      // reported with the score
  std::vector<std::string> rules;
  std::string policy;  // the site policy in words ("4 routes, applications: wordpress"), shown
};

struct CorpusScore {
  ScoreOptions options;
  std::vector<RecordResult> results;  // in corpus order, filtered records left out
  size_t skipped_by_pl = 0;
  size_t duplicate_ids = 0;
  std::map<std::pair<bool, std::string>, CategoryScore> categories;  // (expect_block, category)
  size_t attacks = 0, detected = 0, benign = 0, false_positives = 0;
  double seconds = 0;
};

CorpusScore score_corpus(const Engine& engine, const std::vector<CorpusRecord>& recs,
                         const ScoreOptions& opt);
std::string render_score_text(const CorpusScore& s);
std::string render_score_json(const CorpusScore& s);
// One JSON line per record: {"id","rules","status","blocked","score","reason"} (the oracle
// prints id, rules and status too).
std::string render_records_jsonl(const CorpusScore& s);

}  // namespace mamori::waf
