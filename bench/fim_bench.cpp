// FIM baseline loading: how many entries per second the reader parses (the issue asks for at
// least one million). A synthetic 200,000-entry baseline in the real format is written first,
// by the real writer (a tree of empty files would measure the disk instead).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "fim/fim.h"
#include "fim/internal.h"

namespace {

using namespace mamori;

// One realistic line per entry (paths of typical depth, a sha256, an xattr now and then).
const std::string& sample_baseline() {
  static const std::string path = [] {
    auto p = (std::filesystem::temp_directory_path() / "mamori-fim-bench.baseline").string();
    fim::Policy pol;
    pol.rules.push_back(fim::Rule{"/srv", fim::kAttrAll, Severity::kMedium, {}, ""});
    std::ofstream out(p, std::ios::trunc);
    out << "#mamori-fim-baseline v1 hash=sha256 created=1 path=/srv\n";
    const int n = 200000;
    for (int i = 0; i < n; ++i) {
      char name[64];
      std::snprintf(name, sizeof name, "/srv/d%04d/sub%02d/file-%07d.php", i / 1000, (i / 50) % 20,
                    i);
      out << name << "\tf\t644\t33\t33\t" << 1000 + i
          << "\t1795648676189004959\t1795648676189004959\t" << 100000 + i << "\t1\t65024\t-\t"
          << (i % 97 == 0 ? "user.x=31" : "-")
          << "\t4355a46b19d348dc2f57c046f8ef63d4538ebb936000f3c9ee954a27460dd865\n";
    }
    out << "#end " << n << "\n";
    return p;
  }();
  return path;
}

void BM_LoadBaseline(benchmark::State& state) {
  const std::string& path = sample_baseline();
  uint64_t entries = 0;
  for (auto _ : state) {
    fim::BaselineInfo info;
    uint64_t n = 0;
    auto st = fim::detail::for_each_entry(path, info, [&n](fim::Entry&&) { ++n; });
    if (!st) return state.SkipWithError(st.error().message.c_str());
    entries += n;
  }
  state.counters["entries/s"] =
      benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LoadBaseline)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
