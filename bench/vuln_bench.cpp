// Vulnerability matching benchmarks. Needs a database built from all of ../shared/data/vuln
// and the synthetic inventory of ../shared/bench/vuln/make_inputs.py (bench/vuln.sh prepares
// both and passes them in MAMORI_BENCH_DB and MAMORI_BENCH_SYNTH).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/fs.h"
#include "inventory/inventory.h"
#include "vuln/vuln.h"

namespace {

using namespace mamori;

const char* env(const char* k) {
  const char* v = std::getenv(k);
  return v && *v ? v : nullptr;
}

void BM_OpenDatabase(benchmark::State& state) {
  const char* path = env("MAMORI_BENCH_DB");
  if (!path) return state.SkipWithError("MAMORI_BENCH_DB not set (use bench/vuln.sh)");
  for (auto _ : state) {
    auto db = vuln::VulnDb::open(path);  // mmap + SHA-256 of the whole file
    if (!db) return state.SkipWithError(db.error().message.c_str());
    benchmark::DoNotOptimize(db);
  }
}
BENCHMARK(BM_OpenDatabase)->Unit(benchmark::kMillisecond);

void BM_MatchThisHost(benchmark::State& state) {
  const char* path = env("MAMORI_BENCH_DB");
  if (!path) return state.SkipWithError("MAMORI_BENCH_DB not set");
  auto inv = inventory::collect_inventory(Root("/"), {});
  if (!inv) return state.SkipWithError(inv.error().message.c_str());
  size_t findings = 0;
  for (auto _ : state) {  // open + match + findings: the vulnerability part of `mamori scan`
    auto db = vuln::VulnDb::open(path);
    auto m = vuln::match_inventory(**db, inv->os, inv->packages, nullptr);
    auto f = vuln::vulnerability_findings(**db, inv->os, inv->packages, m, {});
    findings = f.size();
  }
  state.counters["packages"] = static_cast<double>(inv->packages.size());
  state.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_MatchThisHost)->Unit(benchmark::kMillisecond);

void BM_MatchSynthetic(benchmark::State& state) {
  const char* path = env("MAMORI_BENCH_DB");
  const char* synth = env("MAMORI_BENCH_SYNTH");
  if (!path || !synth) return state.SkipWithError("MAMORI_BENCH_DB / MAMORI_BENCH_SYNTH not set");
  std::vector<vuln::EcosystemKey> keys;
  std::ifstream in(synth);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    std::string eco = j.value("ecosystem", "");
    auto scheme = vuln::scheme_of_ecosystem(eco);
    if (!scheme) continue;
    keys.push_back(
        {eco, *scheme, vuln::normalize_name(eco, j.value("name", "")), j.value("version", "")});
  }
  size_t hits = 0;
  for (auto _ : state) {  // open + match every entry (including 20 % unknown names)
    auto db = vuln::VulnDb::open(path);
    hits = 0;
    for (const auto& k : keys) {
      bool err = false;
      hits += vuln::match_key(**db, k, err).size();
    }
  }
  state.counters["entries"] = static_cast<double>(keys.size());
  state.counters["hits"] = static_cast<double>(hits);
  // MAMORI_BENCH_DUMP=FILE: one "ecosystem TAB name TAB version TAB id" line per hit, to
  // compare hit by hit with the reference matcher's --out (docs/db.md explains the difference)
  if (const char* dump = env("MAMORI_BENCH_DUMP")) {
    auto db = vuln::VulnDb::open(path);
    std::ofstream out(dump);
    for (const auto& k : keys) {
      bool err = false;
      for (const auto& m : vuln::match_key(**db, k, err))
        out << k.key << '\t' << k.name << '\t' << k.version << '\t' << (*db)->vuln(m.first).id
            << '\n';
    }
  }
}
BENCHMARK(BM_MatchSynthetic)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
