#pragma once
// `mamori waf run`'s arguments, shared by cmd_waf.cpp (the options) and cmd_waf_run.cpp (the
// service).

#include <optional>
#include <string>
#include <vector>

#include "cli.h"

namespace mamori::cli {

struct RunArgs {
  std::string config;
  std::optional<std::string> listen, upstream, mode, tls_cert, tls_key, log, native, metrics;
  std::optional<int> paranoia;
  std::optional<unsigned> workers;
  std::vector<std::string> rules, trusted;
  bool check = false;
};

int cmd_waf_run(const Options& o, const RunArgs& a);

}  // namespace mamori::cli
