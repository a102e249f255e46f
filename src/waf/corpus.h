#pragma once
// A WAF test corpus: JSON lines, one HTTP request each, with what a WAF should do with it
// (format: ../shared/corpus/waf/README.md). The request is rebuilt byte for byte as the
// corpus's replayer sends it, so that offline results and results on a socket agree.
//
// Example:
//   auto recs = read_corpus("dev.jsonl", 1 << 30);
//   for (const CorpusRecord& r : *recs) evaluate(r.raw) ...

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mamori::waf {

struct CorpusRecord {
  std::string id;
  std::string raw;  // the complete request as sent
  bool expect_block = false;
  std::string category;
  std::vector<int> accept_status;  // statuses that count as blocked (default 403; 0 = closed)
  int64_t crs_rule = 0;
  int crs_pl = 0;  // 0: not a CRS regression test
  size_t line = 0;
};

// One record from its JSON text; an error names what is wrong.
Result<CorpusRecord> parse_corpus_line(std::string_view json);
// The whole file (a regular file, at most max_bytes); a bad line is an error with its number.
Result<std::vector<CorpusRecord>> read_corpus(const std::string& path, uint64_t max_bytes);

}  // namespace mamori::waf
