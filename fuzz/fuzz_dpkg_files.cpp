// dpkg's own files read by `fim packages` and `fim check`: *.md5sums, /var/lib/dpkg/diversions
// and dpkg.cfg(5) path filters — in an image or on a compromised host, untrusted. The first
// byte picks the parser; no crash, and what comes out keeps its invariants.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fim/internal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace mamori::fim::detail;
  switch (data[0] % 3) {
    case 0: {
      std::unordered_map<std::string, std::pair<std::string, std::string>> files;
      std::set<std::string> conf = {"/etc/a.conf"};
      parse_md5sums(text, "pkg", conf, files);
      for (const auto& [path, v] : files) {
        if (path.empty() || path[0] != '/' || conf.contains(path)) __builtin_trap();
        if (v.second.size() != 32 || v.first != "pkg") __builtin_trap();
      }
      break;
    }
    case 1:
      for (const auto& d : parse_diversions(text))
        for (const auto& f : d)
          if (f.find('\n') != std::string::npos) __builtin_trap();
      break;
    default: {
      std::vector<std::pair<bool, std::string>> out;
      parse_path_filters(text, out);
      for (const auto& [inc, glob] : out)
        if (glob.empty()) __builtin_trap();
      break;
    }
  }
  return 0;
}
