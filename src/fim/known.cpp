// A trusted FIM baseline's content hashes as known good (for `mamori web scan`).
#include <fmt/format.h>

#include "fim/baseline_io.h"
#include "fim/trusted.h"

namespace mamori::fim {

Result<KnownHashes> trusted_hashes_below(const KeyFiles& k, const std::vector<std::string>& dirs) {
  std::string base = k.baseline_path();
  auto snap = snapshot_file(base);
  if (!snap) return snap.error();
  if (Status v = verify_baseline(k, base, snap->path); !v)
    return Error::permission(
        fmt::format("{}: its signature does not verify ({}): not used", base, v.error().message));
  detail::BaselineReader rd;
  if (auto st = rd.open(snap->path); !st) return st.error();
  KnownHashes out;
  out.algo = rd.info().hash;
  auto below = [&](const std::string& p) {
    for (const auto& d : dirs) {
      std::string dd = d.size() > 1 && d.back() == '/' ? d.substr(0, d.size() - 1) : d;
      if (dd == "/" || p == dd ||
          (p.starts_with(dd) && p.size() > dd.size() && p[dd.size()] == '/'))
        return true;
    }
    return false;
  };
  for (;;) {
    auto e = rd.next();
    if (!e) return e.error();
    if (!*e) break;
    const Entry& en = **e;
    if (!below(en.path)) continue;
    out.paths.insert(en.path);
    if (en.type == 'f' && !en.hash.empty()) out.by_path[en.path] = en.hash;
  }
  return out;
}

}  // namespace mamori::fim
