// guard run's memory over a long life: LINES sshd failure lines (10 M by default), every user
// name new and the addresses walking through 10.0.0.0/8, one line every half second of log
// time (10 M lines ≈ 58 days), fed to the service with a fake clock and a firewall that only
// counts. Every million lines: resident memory, events in the window, user names kept, bans
// still tracked. What must hold: flat memory once the window (25 h) is full.
//   guard_service_bench [LINES] [STORE_DIR]
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/text.h"
#include "guard/service.h"
#include "store/store.h"

namespace {

using namespace mamori;

class BenchClock : public guard::Clock {
 public:
  int64_t t = 0;
  int64_t now() const override { return t; }
};

class CountingFirewall : public guard::Firewall {
 public:
  uint64_t elements = 0;
  Status ensure() override { return {}; }
  Result<std::vector<std::string>> ban(
      const std::vector<std::pair<std::string, int64_t>>& bans) override {
    elements += bans.size();
    return std::vector<std::string>{};
  }
  Result<std::vector<std::pair<std::string, int64_t>>> list() override {
    return std::vector<std::pair<std::string, int64_t>>{};
  }
  Status unban(const std::string&) override { return {}; }
};

long rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t lines = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000;
  std::string dir = argc > 2 ? argv[2]
                             : std::filesystem::temp_directory_path().string() +
                                   "/mamori-guard-bench-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto st = store::Store::open(dir + "/bench.db");
  if (!st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  BenchClock clock;
  const int64_t t0 = 1800000000;
  clock.t = t0;
  CountingFirewall fw;
  guard::ServiceOptions o;
  o.host = "bench";
  std::vector<std::string> notes;
  guard::GuardService svc(o, **st, fw, clock, guard::Allowlist::loopback(), nullptr);
  if (auto s = svc.start(notes); !s) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  std::printf("%10s %10s %10s %10s %10s %10s %9s\n", "lines", "log days", "RSS KiB", "events",
              "users", "bans kept", "bans");
  std::string chunk;
  constexpr uint64_t kChunk = 50000;  // one poll per chunk (~7 hours of log time)
  for (uint64_t n = 0; n < lines;) {
    chunk.clear();
    for (uint64_t i = 0; i < kChunk && n < lines; ++i, ++n) {
      int64_t t = t0 + static_cast<int64_t>(n / 2);
      uint32_t a = static_cast<uint32_t>(n % (1u << 24));
      chunk += fmt::format(
          "{} srv sshd[{}]: Failed password for invalid user u{:x} from 10.{}.{}.{} port {} ssh2\n",
          iso8601(t), n % 100000, n, (a >> 16) & 255, (a >> 8) & 255, a & 255, 1024 + n % 60000);
    }
    clock.t = t0 + static_cast<int64_t>(n / 2);
    svc.feed(chunk);
    svc.poll(notes);
    notes.clear();
    if (n % 1000000 == 0 || n == lines) {
      auto s = svc.stats();
      std::printf("%10llu %10.1f %10ld %10zu %10zu %10zu %9llu\n",
                  static_cast<unsigned long long>(n), static_cast<double>(n / 2) / 86400.0,
                  rss_kib(), s.events, s.users, s.bans_tracked,
                  static_cast<unsigned long long>(s.bans_total));
      std::fflush(stdout);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
