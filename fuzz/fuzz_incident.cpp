// web incident's readers of untrusted text: access-log and WAF decision-log lines (RequestLog),
// the writer in fim watch's evidence (a process chooses its own name), a vulnerability's
// summary. Input: lines; each is fed to every reader.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "web/incident.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mamori::web::RequestLog log(0, INT64_MAX / 2, 1'790'000'000, 4,
                              [](const mamori::web::IncidentRequest& r) {
                                return r.method.empty() ? std::string() : std::string("any");
                              });
  uint64_t n = 0;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    log.line(line, "fuzz", ++n);
    auto w = mamori::web::parse_writer(line);
    if (w.known && w.pid < 0) __builtin_trap();
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
