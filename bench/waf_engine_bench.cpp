// The WAF engine's CPU per request, offline: Debian's CRS at paranoia level 1 on the anchor's
// two benign requests (../shared/bench/waf/get.lua, post.lua: a GET with 7 query arguments and
// a 1 KB urlencoded form). The targets: ≤ 150 µs per GET, ≤ 300 µs per 1 KB POST.
// bench/waf.sh runs it beside the anchor (nginx + ModSecurity + CRS) on the wire.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "waf/engine.h"
#include "waf/setup.h"

namespace {

using namespace mamori::waf;

const std::string kHead =
    " HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; "
    "rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: "
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: "
    "en-US,en;q=0.5\r\n";
const std::string kGet =
    "GET /search?q=trail+running+shoes&category=sports&brand=acme&size=42&page=2&sort=price_asc&"
    "lang=en-US" +
    kHead + "\r\n";
const std::string kForm =
    "name=Jane+Doe&email=jane.doe%40example.com&phone=%2B49+30+1234567&subject=Question+about+my+"
    "order&order_id=48213&newsletter=yes&country=DE&message=Hello+team%2C+I+ordered+the+blue+"
    "trail+running+shoes+last+week%2C+order+number+48213%2C+and+the+left+one+is+half+a+size+"
    "smaller+than+the+right+one.+Could+you+please+send+a+replacement+pair+in+size+42%2C+or+tell+"
    "me+how+to+return+them%3F+I+still+have+the+original+box+and+the+receipt.+I+would+also+like+"
    "to+know+whether+the+waterproof+version+is+back+in+stock%2C+because+my+friend+wants+to+buy+a+"
    "pair+for+the+autumn+season.+She+usually+wears+size+38+and+prefers+the+grey+colour+if+it+is+"
    "available.+Is+there+a+discount+when+two+pairs+are+ordered+together%2C+and+can+both+parcels+"
    "be+shipped+to+the+same+address+in+Berlin%3F+Thanks+a+lot+for+your+help+and+have+a+nice+day."
    "+Best+regards%2C+Jane&csrf_token=f3a9c1e07b2d4e5f8a6b9c0d1e2f3a4b&coupon=AUTUMN24&shipping_"
    "note=Please+leave+the+parcel+with+the+neighbour+on+the+ground+floor";
const std::string kPost = "POST /contact/submit" + kHead +
                          "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                          std::to_string(kForm.size()) + "\r\n\r\n" + kForm;

const Engine& engine() {
  static std::unique_ptr<Engine> e = [] {
    auto rs = load_engine_rules({}, 1);
    if (!rs) std::abort();
    auto eng = Engine::build(std::move(*rs));
    if (!eng) std::abort();
    return std::move(*eng);
  }();
  return *e;
}

void run(benchmark::State& st, const std::string& raw) {
  const Engine& e = engine();
  if (e.evaluate_raw(raw, {}).blocked) st.SkipWithError("a benign request was blocked");
  for (auto _ : st) benchmark::DoNotOptimize(e.evaluate_raw(raw, {}));
}

void BM_CrsPl1Get(benchmark::State& st) { run(st, kGet); }
void BM_CrsPl1Post1K(benchmark::State& st) { run(st, kPost); }
BENCHMARK(BM_CrsPl1Get)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CrsPl1Post1K)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
