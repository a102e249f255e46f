// Benchmarks of the scan path: dpkg parsing, the whole inventory of this host, and
// recording a scan in SQLite. Run: build/release/bench/inventory_bench
// (bench/scan.sh times `mamori scan` end to end with hyperfine).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "core/fs.h"
#include "inventory/checks.h"
#include "inventory/inventory.h"
#include "inventory/parsers.h"
#include "store/store.h"

namespace {

using namespace mamori;

void BM_ParseDebian12Status(benchmark::State& state) {
  auto text = read_file(MAMORI_SHARED "/data/vuln/inventory/debian12-dpkg-status.txt");
  if (!text) {
    state.SkipWithError("shared data missing");
    return;
  }
  for (auto _ : state) {
    auto r = inventory::parse_dpkg_status(*text, "status");
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text->size()));
}
BENCHMARK(BM_ParseDebian12Status)->Unit(benchmark::kMicrosecond);

void BM_InventoryThisHost(benchmark::State& state) {
  inventory::InventoryOptions o;
  size_t n = 0;
  for (auto _ : state) {
    auto r = inventory::collect_inventory(Root("/"), o);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    n = r->packages.size();
  }
  state.counters["packages"] = static_cast<double>(n);
}
BENCHMARK(BM_InventoryThisHost)->Unit(benchmark::kMillisecond);

void BM_RecordScanSqlite(benchmark::State& state) {
  auto inv = inventory::collect_inventory(Root("/"), {});
  if (!inv) {
    state.SkipWithError(inv.error().message.c_str());
    return;
  }
  auto dir =
      std::filesystem::temp_directory_path() / ("mamori-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto st = store::Store::open((dir / "b.db").string());
  if (!st) {
    state.SkipWithError(st.error().message.c_str());
    return;
  }
  int64_t t = 1;
  for (auto _ : state) {
    store::ScanInput in;
    in.host = "bench";
    in.started_at = t;
    in.finished_at = ++t;
    in.findings = inventory::analyze_inventory(*inv, {}, t);
    in.packages = inv->packages;
    auto r = (*st)->record_scan(in);
    benchmark::DoNotOptimize(r);
  }
  st->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RecordScanSqlite)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
