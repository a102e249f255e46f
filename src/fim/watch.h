#pragma once
// Real-time file integrity: kernel events on the baseline's trees are compared with the signed
// baseline as they happen and become findings within a second, naming the process that made
// the change when the kernel says (fanotify does; inotify does not).
//
// Example:
//   WatchOptions w;
//   w.on_findings = [](std::vector<Finding> fs) { for (auto& f : fs) print(f); };
//   w.stop = [] { return g_signalled; };
//   Status st = watch(Root("/"), "/var/lib/mamori/fim.baseline", w);

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.h"
#include "core/fs.h"
#include "core/result.h"

namespace mamori::fim {

enum class WatchBackend { kAuto, kFanotify, kInotify };
Result<WatchBackend> parse_backend(std::string_view s);

struct WatchOptions {
  WatchBackend backend = WatchBackend::kAuto;
  int quiet_ms = 200;      // a path is examined once it has had no event for this long...
  int max_delay_ms = 700;  // ...or this long after its first event (an editor's save storm)
  std::function<void(const std::string&)> on_notice;      // ready, overflow, limits
  std::function<void(std::vector<Finding>)> on_findings;  // one batch at a time
  std::function<bool()> stop;                             // polled about ten times a second
};

// Who changed a file, as a finding's evidence says it after "; changed by " (always last):
// "pid 812 /usr/sbin/php-fpm8.2 (php-fpm8.2), uid 33". The pid and uid are the kernel's; the
// executable and name are the process's own. `web incident` reads it back (parse_writer).
std::string writer_text(int pid, std::string_view exe, std::string_view comm, int64_t uid);

// Runs until stop() returns true. Fails when no backend can watch the baseline's paths.
Status watch(const Root& root, const std::string& baseline, const WatchOptions& opts);

}  // namespace mamori::fim
