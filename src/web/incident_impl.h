#pragma once
// Internal to `web incident` (incident.cpp, incident_logs.cpp, incident_cause.cpp).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
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

// Access and WAF logs in their usual places under the root, with their rotations; the auth
// logs too unless the journal is read instead (the same logins would count twice).
std::vector<std::string> default_logs(const Root& root, bool auth_logs);
// Logins around the change, folded as the logs are read (memory: what is kept, not the logs):
// every success (the 200 nearest the change), failures counted per address — per /64 for
// IPv6 — and service (the 200 heaviest runs).
class LoginFold {
 public:
  LoginFold(int64_t from, int64_t to, int64_t center);
  // Takes the parser's events and clears them; `journal`: journald vouched for them.
  void absorb(guard::AuthLogParser& auth, bool journal);
  std::vector<IncidentLogin> take(size_t& left_out);

 private:
  void trim_successes();
  static constexpr size_t kCap = 200, kMaxFailureKeys = 100000;
  int64_t from_, to_, center_;
  std::vector<IncidentLogin> successes_;
  std::map<std::pair<std::string, int>, IncidentLogin> failures_;
  size_t left_out_ = 0, failures_dropped_ = 0;
};

void read_logs(const Root& root, const LogPlan& plan, RequestLog& requests,
               guard::AuthLogParser& auth, LoginFold& logins, std::vector<std::string>& sources,
               std::vector<std::string>& notes);

// The probable cause and its evidence, from the facts gathered (incident_cause.cpp).
void judge_cause(Incident& inc);

// A method that sends something to be stored (WebDAV's MOVE and COPY too).
inline bool write_method(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE" || m == "MOVE" || m == "COPY";
}

// "2 seconds", "3 minutes", "1 hour 5 minutes".
std::string span_words(int64_t seconds);

}  // namespace mamori::web
