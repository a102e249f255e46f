// What reading one page costs `mamori web baseline|check` (src/web/html.h): gumbo's parse plus
// the facts (scripts, inline-script tokens, forms, iframes, text shingles), on a synthetic
// shop page of about 120 KB (a WordPress theme's size: 40 scripts, 6 inline scripts, a long
// product list), and on the hostile pages the crawl must survive. Figures in bytes/s.
#include <benchmark/benchmark.h>

#include <string>

#include "web/html.h"
#include "web/url.h"

namespace {

using namespace mamori::web;

std::string shop_page() {
  std::string h = "<!doctype html><html><head><title>Shop</title>";
  for (int i = 0; i < 40; ++i)
    h += "<script src='/wp-content/plugins/p" + std::to_string(i) + "/x.js?ver=6.1'></script>";
  for (int i = 0; i < 6; ++i)
    h += "<script>var wpApiSettings = {\"root\": \"/wp-json/\", \"nonce\": \"a8f3k29dk" +
         std::to_string(i) + "\", \"versionString\": \"wp/v2/\"}; window.dataLayer = [];</script>";
  h += "</head><body><form action='/cart' method=post><input name=q></form><ul>";
  for (int i = 0; i < 600; ++i)
    h += "<li class='product'><a href='/p/" + std::to_string(i) +
         "'><img src='/i.jpg' alt=''>Fine green tea number " + std::to_string(i) +
         ", picked by hand in the hills</a> <span class=price>12.50</span></li>";
  h += "</ul></body></html>";
  return h;
}

void run(benchmark::State& state, const std::string& page) {
  Url base = *Url::parse("https://shop.example/");
  for (auto _ : state) benchmark::DoNotOptimize(parse_page(page, base));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
}

void BM_ShopPage(benchmark::State& s) { run(s, shop_page()); }
void BM_DeepNesting(benchmark::State& s) {
  std::string h;
  for (int i = 0; i < 200000; ++i) h += "<div>";
  run(s, h);
}
void BM_ManyAttributes(benchmark::State& s) {
  std::string h = "<p";
  for (int i = 0; i < 100000; ++i) h += " a" + std::to_string(i) + "=1";
  run(s, h + ">");
}

}  // namespace

BENCHMARK(BM_ShopPage)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DeepNesting)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ManyAttributes)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
