// The test oracle for Mamori's WAF engine: libmodsecurity 3 (Debian's libmodsecurity3, the
// engine the anchor's nginx runs) evaluates the same corpus with the same rule set. For each
// record it prints one JSON line: {"id", "rules": [ids that logged], "status"} — exactly what
// `mamori waf test --format jsonl` prints, so that tests/waf/compare.py can diff the two.
//
//   mamori_modsec_oracle --paranoia N CORPUS.jsonl [--every K] [--rules FILE...] [--no-setup]
//
// The request goes through Mamori's HTTP parser first (as it would through nginx's): a request
// it refuses is reported with its status and no rules, on both sides.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "modsec_glue.h"
#include "waf/corpus.h"
#include "waf/http.h"
#include "waf/setup.h"

namespace {

int usage() {
  std::cerr << "usage: mamori_modsec_oracle --paranoia N [--every K] [--rules FILE]... "
               "[--no-setup] CORPUS.jsonl\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int paranoia = 1, every = 1;
  bool setup = true;
  std::string corpus;
  std::vector<std::string> rules;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--paranoia" && i + 1 < argc)
      paranoia = std::atoi(argv[++i]);
    else if (a == "--every" && i + 1 < argc)
      every = std::max(1, std::atoi(argv[++i]));
    else if (a == "--rules" && i + 1 < argc)
      rules.push_back(argv[++i]);
    else if (a == "--no-setup")
      setup = false;
    else if (a.starts_with("--"))
      return usage();
    else
      corpus = a;
  }
  if (corpus.empty()) return usage();
  // The same setup text Mamori loads, then the CRS files, in one configuration file.
  char conf[] = "/tmp/mamori-oracle-XXXXXX";
  int fd = mkstemp(conf);
  if (fd < 0) return 3;
  close(fd);
  {
    std::ofstream f(conf);
    if (setup)
      f << mamori::waf::default_setup(paranoia,
                                      !rules.empty() || !mamori::waf::local_crs_setup().empty());
    for (const auto& p : rules.empty() ? mamori::waf::default_crs_paths() : rules)
      f << "Include " << p << (p.ends_with(".conf") ? "" : "/*.conf") << "\n";
  }
  const char* err = nullptr;
  void* g = glue_open(conf, &err);
  unlink(conf);
  if (!g) {
    std::cerr << "oracle: rules: " << (err ? err : "?") << "\n";
    return 3;
  }
  auto recs = mamori::waf::read_corpus(corpus, 1ull << 30);
  if (!recs) {
    std::cerr << "oracle: " << recs.error().message << "\n";
    return 3;
  }
  size_t n = 0;
  for (const auto& r : *recs) {
    if (n++ % every) continue;
    mamori::waf::http::WholeRequest req;
    mamori::waf::http::ParseError perr;
    int status = 200;
    long fires[4096];
    size_t nf = 0;
    if (mamori::waf::http::parse_whole(r.raw, req, perr) != mamori::waf::http::WholeResult::kOk) {
      status = perr.status;
    } else {
      std::string uri(req.head.target), method(req.head.method);
      std::string ver = req.head.version == "HTTP/1.0" ? "1.0" : "1.1";
      std::vector<GlueHeader> hs;
      for (const auto& h : req.head.headers)
        hs.push_back({h.name.data(), h.name.size(), h.value.data(), h.value.size()});
      GlueRequest gr{method.c_str(), uri.c_str(),     ver.c_str(),    hs.data(),
                     hs.size(),      req.body.data(), req.body.size()};
      status = glue_eval(g, &gr, fires, 4096, &nf);
    }
    std::string ids;
    for (size_t k = 0; k < nf; ++k) ids += (ids.empty() ? "" : ",") + std::to_string(fires[k]);
    std::string id_json;
    for (char c : r.id) {
      if (c == '"' || c == '\\') id_json += '\\';
      id_json += c;
    }
    std::printf("{\"id\":\"%s\",\"rules\":[%s],\"status\":%d}\n", id_json.c_str(), ids.c_str(),
                status);
  }
  glue_close(g);
  return 0;
}
