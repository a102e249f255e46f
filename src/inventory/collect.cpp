// Collectors: find the package databases, web roots and lockfiles under a root
// and hand their text to the parsers.
#include <dirent.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>

#include "core/text.h"
#include "inventory/inventory.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

namespace fs = std::filesystem;

namespace {

void progress(const InventoryOptions& o, const std::string& s) {
  if (o.on_progress) o.on_progress(s);
}

void problem(Inventory& inv, std::string path, const Error& e, bool package_database) {
  inv.warnings.push_back(e.message);
  inv.problems.push_back(
      {SourceProblem::Kind::kUnreadable, std::move(path), e.message, package_database});
}

// Calls `f` with the text of every dpkg.log under the root, oldest rotation first.
template <typename F>
void for_each_dpkg_log(const Root& root, std::vector<std::string>& warnings, F f) {
  auto logs = root.list("/var/log", "dpkg.log*");
  // oldest first: dateext's dpkg.log-20240506[.gz] by date, then logrotate's dpkg.log.N[.gz]
  // (.3 before .2 before .1), then dpkg.log itself
  auto age = [](const std::string& p) -> std::pair<int, long> {
    std::string ext = p.substr(p.rfind('/') + 1).substr(8);  // "", ".1", ".2.gz", "-20240506"
    if (ext.empty()) return {2, 0};
    long n = std::atol(ext.c_str() + 1);
    return ext[0] == '-' ? std::pair<int, long>{0, n} : std::pair<int, long>{1, -n};
  };
  std::sort(logs.begin(), logs.end(),
            [&](const std::string& a, const std::string& b) { return age(a) < age(b); });
  for (const auto& log : logs) {
    bool gz = log.ends_with(".gz");
    auto t = gz ? root.read_gzip(log) : root.read(log);
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

constexpr const char* kDpkgStatus = "/var/lib/dpkg/status";

void collect_dpkg(const Root& root, Inventory& inv) {
  if (!root.exists(kDpkgStatus)) return;
  auto text = root.read(kDpkgStatus);
  if (!text) return problem(inv, kDpkgStatus, text.error(), true);
  auto pkgs = parse_dpkg_status(*text, kDpkgStatus);
  if (!pkgs) return problem(inv, kDpkgStatus, pkgs.error(), true);
  auto when = dpkg_install_times(root, inv.warnings);
  for (auto& p : *pkgs) {
    auto it = when.find(p.name + ":" + p.arch.value_or("") + " " + p.version);
    if (it != when.end()) p.installed_at = it->second;
    inv.packages.push_back(std::move(p));
  }
}

// rpmdb.sqlite from an image is hostile input for SQLite itself: it is read into memory
// (bounded) and opened from there read-only — no path the database could redirect, no -wal or
// -journal written into the image — in defensive mode, with triggers, views and untrusted
// schema functions off, and with a time and a memory limit on the query.
constexpr uint64_t kMaxRpmdb = 512ull << 20;
constexpr int kRpmdbSeconds = 60;

int rpmdb_deadline(void* p) {
  return std::chrono::steady_clock::now() > *static_cast<std::chrono::steady_clock::time_point*>(p)
             ? 1
             : 0;
}

Status read_rpmdb(const std::string& label, std::string& image, Inventory& inv) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(h);
    return Error::internal("sqlite3_open_v2(:memory:) failed");
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> guard(h, sqlite3_close);
  sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);
  sqlite3_db_config(h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_limit(h, SQLITE_LIMIT_LENGTH, 64 << 20);  // one header blob
  sqlite3_limit(h, SQLITE_LIMIT_ATTACHED, 0);
  // rpm >= 4.16 leaves its database in WAL mode (header bytes 18-19 = 2), which a deserialized
  // database cannot open ("unable to open database file"): read the copy as a rollback-journal
  // database. What the -wal holds is not in the copy (said as a warning by the caller).
  if (image.size() >= 100 && image.compare(0, 16, std::string("SQLite format 3\0", 16)) == 0 &&
      image[18] == 2 && image[19] == 2)
    image[18] = image[19] = 1;
  auto* data = reinterpret_cast<unsigned char*>(image.data());
  if (sqlite3_deserialize(h, "main", data, static_cast<sqlite3_int64>(image.size()),
                          static_cast<sqlite3_int64>(image.size()),
                          SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
    return Error::invalid(
        fmt::format("{}: not a readable rpm database: {}", label, sqlite3_errmsg(h)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kRpmdbSeconds);
  sqlite3_progress_handler(h, 10000, rpmdb_deadline, &deadline);
  sqlite3_exec(h, "PRAGMA cache_size=-16384", nullptr, nullptr, nullptr);  // 16 MB
  sqlite3_int64 heap_before = sqlite3_hard_heap_limit64(-1);
  sqlite3_hard_heap_limit64(256ll << 20);
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(h, "SELECT hnum, blob FROM Packages", -1, &st, nullptr);
  Status result;
  if (rc != SQLITE_OK) {
    result = Error::invalid(
        fmt::format("{}: not a readable rpm database: {}", label, sqlite3_errmsg(h)));
  } else {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const void* b = sqlite3_column_blob(st, 1);
      int n = sqlite3_column_bytes(st, 1);
      std::string where = fmt::format("{} (hnum {})", label, sqlite3_column_int64(st, 0));
      auto p = parse_rpm_header(
          std::string_view(static_cast<const char*>(b), static_cast<size_t>(n)), where);
      if (!p) {
        result = p.error();
        break;
      }
      if (p->name == "gpg-pubkey") continue;  // imported signing keys, not software
      p->location = label;
      inv.packages.push_back(std::move(*p));
    }
    if (result && rc != SQLITE_DONE)
      result = Error::data_loss(
          fmt::format("{}: {}", label,
                      rc == SQLITE_INTERRUPT ? fmt::format("took longer than {} s", kRpmdbSeconds)
                                             : std::string(sqlite3_errmsg(h))));
  }
  sqlite3_finalize(st);
  sqlite3_hard_heap_limit64(heap_before);
  return result;
}

void collect_rpm(const Root& root, Inventory& inv) {
  std::string db;
  for (const char* cand : {"/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"})
    if (root.exists(cand)) {
      db = cand;
      break;
    }
  if (db.empty()) {
    for (const char* old :
         {"/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db", "/usr/lib/sysimage/rpm/Packages.db"})
      if (root.exists(old)) {
        std::string msg = fmt::format(
            "{}: RPM database in Berkeley DB / NDB format is not supported (rpm >= 4.16 with "
            "rpmdb.sqlite is); RPM packages on this system are not inventoried",
            old);
        inv.warnings.push_back(msg);
        inv.problems.push_back({SourceProblem::Kind::kUnsupported, old, msg, true});
      }
    return;
  }
  auto image = root.read(db, kMaxRpmdb);
  if (!image) return problem(inv, db, image.error(), true);
  if (auto wal = root.stat(db + "-wal"); wal && S_ISREG(wal->st_mode) && wal->st_size > 0)
    inv.warnings.push_back(
        fmt::format("{}-wal: {} bytes of changes not yet checkpointed into {} are not read", db,
                    static_cast<int64_t>(wal->st_size), db));
  size_t before = inv.packages.size();
  if (auto s = read_rpmdb(db, *image, inv); !s) {
    inv.packages.resize(before);  // all of this database or none of it
    problem(inv, db, s.error(), true);
  }
}

void collect_apk(const Root& root, Inventory& inv) {
  constexpr const char* kApk = "/lib/apk/db/installed";
  if (!root.exists(kApk)) return;
  auto text = root.read(kApk);
  if (!text) return problem(inv, kApk, text.error(), true);
  auto pkgs = parse_apk_installed(*text, kApk);
  if (!pkgs) return problem(inv, kApk, pkgs.error(), true);
  for (auto& pk : *pkgs) inv.packages.push_back(std::move(pk));
}

std::string base_name(std::string_view p) { return std::string(p.substr(p.rfind('/') + 1)); }

// Below a web root every file is the web user's to write: no symlink is followed there (a
// `composer.lock -> /root/secrets.json` would have root read it for them, a link to /proc/kmsg
// drain the kernel log). The web roots themselves are made canonical first.
constexpr Root::Links kWeb = Root::Links::kRefuse;

// A WordPress install: DIR/wp-includes/version.php.
void collect_wordpress(const Root& root, const std::string& dir, Inventory& inv) {
  auto ver = root.read(dir + "/wp-includes/version.php", 1 << 20, kWeb);
  if (!ver) {
    problem(inv, dir + "/wp-includes/version.php", ver.error(), false);
    return;
  }
  std::string v = parse_wp_version_php(*ver);
  if (v.empty()) {
    // the install is there and its version unknown: its findings must not turn "fixed"
    problem(inv, dir + "/wp-includes/version.php",
            Error::invalid(dir + "/wp-includes/version.php: no $wp_version found"), false);
    return;
  }
  Package core;
  core.ecosystem = kWordPressCore;
  core.name = "wordpress";
  core.version = v;
  core.location = dir;
  inv.packages.push_back(core);

  // A plugin or theme: its header's version, else its readme's "Stable tag".
  auto add = [&](const std::string& at, Ecosystem eco, std::string version, const char* what) {
    if (version.empty()) {
      auto readme = root.read(at + "/readme.txt", 1 << 20, kWeb);
      if (readme) version = parse_wp_readme_stable_tag(*readme);
    }
    if (version.empty()) {
      inv.warnings.push_back(fmt::format("{}: WordPress {} without a version header", at, what));
      return;
    }
    Package p;
    p.ecosystem = eco;
    p.name = base_name(at);
    p.version = std::move(version);
    p.location = at;
    inv.packages.push_back(std::move(p));
  };
  auto real_dir = [&](const std::string& p) {  // a directory, not a link to one
    auto st = root.stat(p, /*follow_last=*/false);
    return st && S_ISDIR(st->st_mode);
  };
  for (const auto& plugin : root.list(dir + "/wp-content/plugins")) {
    if (!real_dir(plugin)) continue;
    std::string version;
    for (const auto& php : root.list(plugin, "*.php")) {
      auto text = root.read(php, 1 << 20, kWeb);
      if (!text) continue;
      auto h = parse_wp_file_header(*text);
      if (h.contains("Plugin Name")) {
        version = h.contains("Version") ? h["Version"] : "";
        break;
      }
    }
    add(plugin, kWordPressPlugin, std::move(version), "plugin");
  }
  for (const auto& theme : root.list(dir + "/wp-content/themes")) {
    if (!real_dir(theme)) continue;
    auto css = root.read(theme + "/style.css", 1 << 20, kWeb);
    if (!css) continue;
    auto h = parse_wp_file_header(*css);
    if (!h.contains("Theme Name")) continue;
    add(theme, kWordPressTheme, h.contains("Version") ? h["Version"] : "", "theme");
  }
}

void collect_site_packages(const Root& root, const std::string& dir, Inventory& inv,
                           Root::Links links) {
  for (const auto& di : root.list(dir, "*.dist-info")) {
    std::string meta = di + "/METADATA";
    auto text = root.read(meta, 4 << 20, links);
    if (!text) continue;
    auto p = parse_python_metadata(*text, meta);
    if (!p) {
      inv.warnings.push_back(p.error().message);
      continue;
    }
    inv.packages.push_back(std::move(*p));
  }
}

void collect_lockfile(const Root& root, const std::string& file, Inventory& inv) {
  auto text = root.read(file, 64 << 20, kWeb);
  if (!text) return problem(inv, file, text.error(), false);
  auto pkgs = file.ends_with("/composer.lock") ? parse_composer_lock(*text, file)
                                               : parse_package_lock(*text, file);
  if (!pkgs) return problem(inv, file, pkgs.error(), false);
  for (auto& p : *pkgs) inv.packages.push_back(std::move(p));
}

// Walk a tree (no symlinks followed, bounded depth and size) for WordPress installs,
// lockfiles and Python site-packages.
void walk_tree(const Root& root, const std::string& top, Inventory& inv,
               std::set<std::string>& seen_wp, const InventoryOptions& opts) {
  constexpr int kMaxDepth = 8;
  constexpr size_t kMaxEntries = 500000;
  size_t visited = 0;
  auto st = root.walk(top, [&](const Root::WalkEntry& e) {
    if (++visited % 4096 == 0)
      progress(opts, fmt::format("searching {} ({} entries)", top, visited));
    if (visited > kMaxEntries) {
      inv.warnings.push_back(fmt::format("{}: stopped after {} entries", top, kMaxEntries));
      return Root::Walk::kStop;
    }
    std::string name = base_name(e.path);
    if (e.type == DT_DIR) {
      if (name == "site-packages" || name == "dist-packages") {
        collect_site_packages(root, e.path, inv, kWeb);
        return Root::Walk::kSkipChildren;
      }
      if (name == "node_modules" || name == ".git" || e.depth > kMaxDepth)
        return Root::Walk::kSkipChildren;
      if (root.is_regular(e.path + "/wp-includes/version.php") && seen_wp.insert(e.path).second)
        collect_wordpress(root, e.path, inv);
      return Root::Walk::kContinue;
    }
    if (e.type == DT_REG && (name == "composer.lock" || name == "package-lock.json"))
      collect_lockfile(root, e.path, inv);
    return Root::Walk::kContinue;
  });
  if (!st) inv.warnings.push_back(st.error().message);
}

// "/srv//shop/" → "/srv/shop"
std::string normal_abs(const std::string& p) {
  std::string s = fs::path("/" + p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Result<OsRelease> read_os_release(const Root& root) {
  for (const char* p : {"/etc/os-release", "/usr/lib/os-release"}) {
    auto text = root.read(p, 1 << 20);
    if (text) return parse_os_release(*text);
    if (text.error().code != ErrorCode::kNotFound) return text.error();
  }
  return OsRelease{};
}

Result<Inventory> collect_inventory(const Root& root, const InventoryOptions& opts) {
  Inventory inv;
  if (!root.is_dir("/"))
    return Error::not_found(root.dir().string() + ": not a readable directory");
  auto os = read_os_release(root);
  if (!os) {
    inv.warnings.push_back(os.error().message);  // an unknown OS: the rest still counts
  } else {
    inv.os = *os;
  }

  progress(opts, "dpkg database");
  collect_dpkg(root, inv);
  progress(opts, "rpm database");
  collect_rpm(root, inv);
  progress(opts, "apk database");
  collect_apk(root, inv);

  // pip-installed packages outside the distribution's package manager.
  for (const char* base : {"/usr/local/lib", "/usr/lib"})
    for (const auto& py : root.list(base, "python3*"))
      for (const char* sub : {"site-packages", "dist-packages"}) {
        if (std::string_view(base) == "/usr/lib" && std::string_view(sub) == "dist-packages")
          continue;  // Debian's own python3-* packages: already in the dpkg inventory
        collect_site_packages(root, py + "/" + sub, inv, Root::Links::kFollow);
      }

  std::vector<std::string> roots;
  for (const auto& w : opts.webroots) {
    if (!root.is_dir(w.string()))
      return Error::not_found(fmt::format("web root {}: no such directory", w.string()));
    roots.push_back(normal_abs(w.string()));
  }
  if (opts.discover_webroots)
    for (const auto& w : discover_webroots(root)) roots.push_back(normal_abs(w));
  for (const auto& pth : opts.paths) {
    if (!root.is_dir(pth.string()))
      return Error::not_found(fmt::format("path {}: no such directory", pth.string()));
    roots.push_back(normal_abs(pth.string()));
  }
  // Made canonical: below them no symlink is followed, and /var/www -> /srv/www is the
  // operator's own (and one tree, not two).
  for (auto& r : roots)
    if (auto c = root.canonical(r)) r = *c;
  std::set<std::string> seen_wp, seen_root;
  for (const auto& r : roots) {
    if (!seen_root.insert(r).second) continue;
    inv.webroots.push_back(r);
    progress(opts, "searching " + r);
    if (root.is_regular(r + "/wp-includes/version.php") && seen_wp.insert(r).second)
      collect_wordpress(root, r, inv);
    walk_tree(root, r, inv, seen_wp, opts);
  }

  for (auto& p : inv.packages) p.purl = make_purl(p, inv.os);
  return inv;
}

}  // namespace mamori::inventory
