// web incident's readers of untrusted text: access-log and WAF decision-log lines (RequestLog)
// and a vulnerability's summary. Input: lines; each is fed to every reader.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "web/incident.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mamori::web::RequestLog log(0, INT64_MAX / 2, 1'790'000'000, 4,
                              [](mamori::web::IncidentRequest& r) {
                                r.relation = "write";
                                return !r.method.empty();
                              });
  uint64_t n = 0;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    log.line(line, "fuzz", ++n);
    (void)mamori::web::vuln_kind(line);
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  auto kept = log.take();
  if (kept.size() > 4) __builtin_trap();
  for (const auto& r : kept)
    if (r.uri.size() > 2048 * 4) __builtin_trap();
  return 0;
}
