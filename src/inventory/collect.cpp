// Collectors: find the package databases, web roots and lockfiles under a root
// and hand their text to the parsers.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <set>

#include "core/text.h"
#include "inventory/inventory.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

namespace fs = std::filesystem;

namespace {

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

void progress(const InventoryOptions& o, const std::string& s) {
  if (o.on_progress) o.on_progress(s);
}

}  // namespace

namespace {

// Calls `f` with the text of every dpkg.log under the root, oldest rotation first.
template <typename F>
void for_each_dpkg_log(const Root& root, std::vector<std::string>& warnings, F f) {
  auto logs = list_dir(root.path("/var/log"), "dpkg.log*");
  auto rank = [](const fs::path& p) {
    std::string ext = p.filename().string().substr(8);  // "", ".1", ".2.gz"
    return ext.empty() ? 0 : std::atoi(ext.c_str() + 1);
  };
  std::sort(logs.begin(), logs.end(),
            [&](const fs::path& a, const fs::path& b) { return rank(a) > rank(b); });
  for (const auto& log : logs) {
    bool gz = log.extension() == ".gz";
    auto t = gz ? read_gzip_file(log) : read_file(log);
    if (!t) {
      warnings.push_back(fmt::format("install times: {}", t.error().message));
      continue;
    }
    f(*t);
  }
}

}  // namespace

std::map<std::string, int64_t> dpkg_install_times(const Root& root,
                                                  std::vector<std::string>& warnings) {
  std::map<std::string, int64_t> when;  // newer entries win
  for_each_dpkg_log(root, warnings, [&](const std::string& text) { parse_dpkg_log(text, when); });
  return when;
}

std::vector<DpkgRecord> dpkg_history(const Root& root, std::vector<std::string>& warnings) {
  std::vector<DpkgRecord> out;
  for_each_dpkg_log(root, warnings,
                    [&](const std::string& text) { parse_dpkg_history(text, out); });
  std::stable_sort(out.begin(), out.end(),
                   [](const DpkgRecord& a, const DpkgRecord& b) { return a.t < b.t; });
  return out;
}

namespace {

Status collect_dpkg(const Root& root, Inventory& inv) {
  fs::path status = root.path("/var/lib/dpkg/status");
  if (!path_exists(status)) return ok();
  auto text = read_file(status);
  if (!text) return text.error();
  auto pkgs = parse_dpkg_status(*text, "/var/lib/dpkg/status");
  if (!pkgs) return pkgs.error();
  auto when = dpkg_install_times(root, inv.warnings);
  for (auto& p : *pkgs) {
    auto it = when.find(p.name + ":" + p.arch.value_or("") + " " + p.version);
    if (it != when.end()) p.installed_at = it->second;
    inv.packages.push_back(std::move(p));
  }
  return ok();
}

Status collect_rpm(const Root& root, Inventory& inv) {
  fs::path db;
  for (const char* cand : {"/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"})
    if (path_exists(root.path(cand))) {
      db = root.path(cand);
      break;
    }
  if (db.empty()) {
    for (const char* old :
         {"/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db", "/usr/lib/sysimage/rpm/Packages.db"})
      if (path_exists(root.path(old)))
        inv.warnings.push_back(fmt::format(
            "{}: RPM database in Berkeley DB / NDB format is not supported (rpm >= 4.16 with "
            "rpmdb.sqlite is); RPM packages on this system are not inventoried",
            old));
    return ok();
  }
  std::string label = root.display(db);
  sqlite3* h = nullptr;
  // Read-only; on read-only media fall back to immutable (no -shm/-wal needed).
  std::string uri = "file:" + db.string() + "?mode=ro";
  int rc = sqlite3_open_v2(uri.c_str(), &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  sqlite3_stmt* st = nullptr;
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(h, "SELECT hnum, blob FROM Packages", -1, &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(h);
    h = nullptr;
    uri = "file:" + db.string() + "?immutable=1";
    rc = sqlite3_open_v2(uri.c_str(), &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    if (rc == SQLITE_OK)
      rc = sqlite3_prepare_v2(h, "SELECT hnum, blob FROM Packages", -1, &st, nullptr);
  }
  if (rc != SQLITE_OK) {
    std::string msg = h ? sqlite3_errmsg(h) : "cannot open";
    sqlite3_close(h);
    return Error::invalid(fmt::format("{}: not a readable rpm database: {}", label, msg));
  }
  Status result;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const void* b = sqlite3_column_blob(st, 1);
    int n = sqlite3_column_bytes(st, 1);
    std::string where = fmt::format("{} (hnum {})", label, sqlite3_column_int64(st, 0));
    auto p = parse_rpm_header(std::string_view(static_cast<const char*>(b), static_cast<size_t>(n)),
                              where);
    if (!p) {
      result = p.error();
      break;
    }
    if (p->name == "gpg-pubkey") continue;  // imported signing keys, not software
    p->location = label;
    inv.packages.push_back(std::move(*p));
  }
  if (result && rc != SQLITE_DONE)
    result = Error::data_loss(fmt::format("{}: {}", label, sqlite3_errmsg(h)));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return result;
}

Status collect_apk(const Root& root, Inventory& inv) {
  fs::path p = root.path("/lib/apk/db/installed");
  if (!path_exists(p)) return ok();
  auto text = read_file(p);
  if (!text) return text.error();
  auto pkgs = parse_apk_installed(*text, "/lib/apk/db/installed");
  if (!pkgs) return pkgs.error();
  for (auto& pk : *pkgs) inv.packages.push_back(std::move(pk));
  return ok();
}

// A WordPress install: DIR/wp-includes/version.php.
void collect_wordpress(const Root& root, const fs::path& dir, Inventory& inv) {
  std::string where = root.display(dir);
  auto ver = read_file(dir / "wp-includes/version.php", 1 << 20);
  if (!ver) {
    inv.warnings.push_back(ver.error().message);
    return;
  }
  std::string v = parse_wp_version_php(*ver);
  if (v.empty()) {
    inv.warnings.push_back(where + "/wp-includes/version.php: no $wp_version found");
    return;
  }
  Package core;
  core.ecosystem = kWordPressCore;
  core.name = "wordpress";
  core.version = v;
  core.location = where;
  inv.packages.push_back(core);

  for (const auto& plugin : list_dir(dir / "wp-content/plugins")) {
    if (!is_dir(plugin)) continue;
    std::string slug = plugin.filename().string();
    std::string version;
    for (const auto& php : list_dir(plugin, "*.php")) {
      auto text = read_file(php, 1 << 20);
      if (!text) continue;
      auto h = parse_wp_file_header(*text);
      if (h.contains("Plugin Name")) {
        version = h.contains("Version") ? h["Version"] : "";
        break;
      }
    }
    if (version.empty()) {
      auto readme = read_file(plugin / "readme.txt", 1 << 20);
      if (readme) version = parse_wp_readme_stable_tag(*readme);
    }
    if (version.empty()) {
      inv.warnings.push_back(root.display(plugin) + ": WordPress plugin without a version header");
      continue;
    }
    Package p;
    p.ecosystem = kWordPressPlugin;
    p.name = slug;
    p.version = version;
    p.location = root.display(plugin);
    inv.packages.push_back(std::move(p));
  }
  for (const auto& theme : list_dir(dir / "wp-content/themes")) {
    if (!is_dir(theme)) continue;
    auto css = read_file(theme / "style.css", 1 << 20);
    if (!css) continue;
    auto h = parse_wp_file_header(*css);
    if (!h.contains("Theme Name")) continue;
    std::string version = h.contains("Version") ? h["Version"] : "";
    if (version.empty()) {
      auto readme = read_file(theme / "readme.txt", 1 << 20);
      if (readme) version = parse_wp_readme_stable_tag(*readme);
    }
    if (version.empty()) {
      inv.warnings.push_back(root.display(theme) + ": WordPress theme without a version header");
      continue;
    }
    Package p;
    p.ecosystem = kWordPressTheme;
    p.name = theme.filename().string();
    p.version = version;
    p.location = root.display(theme);
    inv.packages.push_back(std::move(p));
  }
}

void collect_site_packages(const Root& root, const fs::path& dir, Inventory& inv) {
  for (const auto& di : list_dir(dir, "*.dist-info")) {
    fs::path meta = di / "METADATA";
    auto text = read_file(meta, 4 << 20);
    if (!text) continue;
    auto p = parse_python_metadata(*text, root.display(meta));
    if (!p) {
      inv.warnings.push_back(p.error().message);
      continue;
    }
    inv.packages.push_back(std::move(*p));
  }
}

Status collect_lockfile(const Root& root, const fs::path& file, Inventory& inv) {
  auto text = read_file(file, 64 << 20);
  if (!text) return text.error();
  std::string label = root.display(file);
  auto pkgs = file.filename() == "composer.lock" ? parse_composer_lock(*text, label)
                                                 : parse_package_lock(*text, label);
  if (!pkgs) return pkgs.error();
  for (auto& p : *pkgs) inv.packages.push_back(std::move(p));
  return ok();
}

// Walk a tree (no symlinks followed, bounded depth and size) for WordPress installs,
// lockfiles and Python site-packages.
Status walk_tree(const Root& root, const fs::path& top, Inventory& inv, std::set<fs::path>& seen_wp,
                 const InventoryOptions& opts) {
  constexpr int kMaxDepth = 8;
  constexpr size_t kMaxEntries = 500000;
  std::error_code ec;
  fs::recursive_directory_iterator it(top, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return ok();
  size_t visited = 0;
  for (; it != end; it.increment(ec)) {
    if (ec) {
      ec.clear();
      continue;
    }
    if (++visited % 4096 == 0)
      progress(opts, fmt::format("searching {} ({} entries)", root.display(top), visited));
    if (visited > kMaxEntries) {
      inv.warnings.push_back(
          fmt::format("{}: stopped after {} entries", root.display(top), kMaxEntries));
      break;
    }
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    bool dir = it->is_directory(ec) && !it->is_symlink(ec);
    if (dir) {
      if (name == "node_modules" || name == ".git" || name == "site-packages" ||
          name == "dist-packages" || it.depth() >= kMaxDepth) {
        if (name == "site-packages" || name == "dist-packages") collect_site_packages(root, p, inv);
        it.disable_recursion_pending();
        continue;
      }
      if (path_exists(p / "wp-includes/version.php") && !seen_wp.contains(p)) {
        seen_wp.insert(p);
        collect_wordpress(root, p, inv);
      }
      continue;
    }
    if (name == "composer.lock" || name == "package-lock.json") {
      auto st = collect_lockfile(root, p, inv);
      if (!st) return st;
    }
  }
  return ok();
}

}  // namespace

Result<OsRelease> read_os_release(const Root& root) {
  for (const char* p : {"/etc/os-release", "/usr/lib/os-release"}) {
    auto text = read_file(root.path(p), 1 << 20);
    if (text) return parse_os_release(*text);
    if (text.error().code != ErrorCode::kNotFound) return text.error();
  }
  return OsRelease{};
}

Result<Inventory> collect_inventory(const Root& root, const InventoryOptions& opts) {
  Inventory inv;
  auto os = read_os_release(root);
  if (!os) return os.error();
  inv.os = *os;

  progress(opts, "dpkg database");
  MAMORI_TRY(collect_dpkg(root, inv), "inventory");
  progress(opts, "rpm database");
  MAMORI_TRY(collect_rpm(root, inv), "inventory");
  progress(opts, "apk database");
  MAMORI_TRY(collect_apk(root, inv), "inventory");

  // pip-installed packages outside the distribution's package manager.
  for (const char* base : {"/usr/local/lib", "/usr/lib"})
    for (const auto& py : list_dir(root.path(base), "python3*"))
      for (const char* sub : {"site-packages", "dist-packages"}) {
        if (std::string_view(base) == "/usr/lib" && std::string_view(sub) == "dist-packages")
          continue;  // Debian's own python3-* packages: already in the dpkg inventory
        collect_site_packages(root, py / sub, inv);
      }

  std::vector<fs::path> roots;
  for (const auto& w : opts.webroots) {
    if (!is_dir(root.path(w.string())))
      return Error::not_found(fmt::format("web root {}: no such directory", w.string()));
    roots.push_back(root.path(w.string()));
  }
  if (opts.discover_webroots)
    for (const auto& w : discover_webroots(root)) roots.push_back(root.path(w));
  for (const auto& pth : opts.paths) {
    if (!is_dir(root.path(pth.string())))
      return Error::not_found(fmt::format("path {}: no such directory", pth.string()));
    roots.push_back(root.path(pth.string()));
  }
  std::set<fs::path> seen_wp, seen_root;
  for (const auto& r : roots) {
    fs::path canon = r.lexically_normal();
    if (!seen_root.insert(canon).second) continue;
    inv.webroots.push_back(root.display(canon));
    progress(opts, "searching " + root.display(canon));
    if (path_exists(canon / "wp-includes/version.php") && seen_wp.insert(canon).second)
      collect_wordpress(root, canon, inv);
    MAMORI_TRY(walk_tree(root, canon, inv, seen_wp, opts), "inventory");
  }

  for (auto& p : inv.packages) p.purl = make_purl(p, inv.os);
  return inv;
}

}  // namespace mamori::inventory
