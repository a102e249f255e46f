#pragma once
// Internal to `web incident` (incident.cpp, incident_logs.cpp, incident_cause.cpp).

#include <cstdint>
#include <string>
#include <vector>

#include "core/fs.h"
#include "web/incident.h"

namespace mamori::guard {
class AuthLogParser;
}

namespace mamori::web {

struct LogPlan {
  std::vector<std::string> files;
  bool in_root = true;   // files are in-root paths (discovered), else host paths (--log)
  bool journal = false;  // this machine's journal too
  int64_t from = 0, to = 0;
  uint64_t max_bytes = 4ull << 30;  // per file, uncompressed
};

// Access, auth and WAF logs in their usual places under the root, with their rotations.
std::vector<std::string> default_logs(const Root& root);
void read_logs(const Root& root, const LogPlan& plan, RequestLog& requests,
               guard::AuthLogParser& auth, std::vector<std::string>& sources,
               std::vector<std::string>& notes);
std::vector<IncidentLogin> logins_of(const guard::AuthLogParser& auth, int64_t from, int64_t to);

// The probable cause and its evidence, from the facts gathered (incident_cause.cpp).
void judge_cause(Incident& inc);

// "2 seconds", "3 minutes", "1 hour 5 minutes".
std::string span_words(int64_t seconds);

}  // namespace mamori::web
