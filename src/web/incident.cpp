// web incident: the facts around one changed file (incident.h) — the target, when it changed,
// its component and that component's vulnerabilities then, the writer; the logs are read in
// incident_logs.cpp and the cause judged in incident_cause.cpp.
#include "web/incident.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "core/hash.h"
#include "core/text.h"
#include "fim/packages.h"
#include "guard/authlog.h"
#include "inventory/inventory.h"
#include "store/store.h"
#include "vuln/vuln.h"
#include "waf/http.h"
#include "waf/request.h"
#include "waf/vpatch.h"
#include "web/incident_impl.h"

namespace mamori::web {

namespace {

constexpr uint64_t kMaxHashed = 256ull << 20;  // a file larger than this is not hashed

bool is_fingerprint(std::string_view s) {
  return s.size() >= 4 && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string parent_of(std::string_view p) {
  size_t s = p.rfind('/');
  return s == 0 || s == std::string_view::npos ? "/" : std::string(p.substr(0, s));
}

// The path with its directory made canonical inside the root (the last name is not followed:
// a dropped symlink is the file in question, not what it points to).
std::string canonical_path(const Root& root, const std::string& p) {
  auto dir = root.canonical(parent_of(p));
  if (!dir) return p;
  std::string base = p.substr(p.rfind('/') + 1);
  return *dir == "/" ? "/" + base : *dir + "/" + base;
}

// The WordPress install holding a path: the nearest directory above it with
// wp-includes/version.php.
std::string wordpress_install(const Root& root, const std::string& path) {
  for (std::string d = parent_of(path);; d = parent_of(d)) {
    if (root.is_regular(d + "/wp-includes/version.php")) return d;
    if (d == "/") return "";
  }
}

// "plugins/SLUG/…" → SLUG (a single-file plugin: its file name without .php).
std::string slug_after(std::string_view rel, std::string_view dir) {
  if (!rel.starts_with(dir)) return "";
  rel.remove_prefix(dir.size());
  size_t s = rel.find('/');
  if (s != std::string_view::npos) return std::string(rel.substr(0, s));
  return rel.ends_with(".php") ? std::string(rel.substr(0, rel.size() - 4)) : "";
}

void find_component(const Root& root, Incident& inc, std::vector<Package>& wp_packages,
                    inventory::OsRelease& os) {
  IncidentComponent& c = inc.component;
  c.install = wordpress_install(root, inc.path);
  std::vector<Package> pkgs;
  inventory::InventoryOptions io;
  io.discover_webroots = false;
  if (!c.install.empty()) io.webroots = {c.install};
  if (auto inv = inventory::collect_inventory(root, io)) {
    os = inv->os;
    pkgs = std::move(inv->packages);
  } else {
    inc.notes.push_back("the inventory: " + inv.error().message);
  }
  auto pkg = [&](Ecosystem e, const std::string& name) -> const Package* {
    for (const auto& p : pkgs)
      if (p.ecosystem == e && p.name == name) return &p;
    return nullptr;
  };
  if (!c.install.empty()) {
    for (const auto& p : pkgs)
      if (is_wordpress(p.ecosystem)) wp_packages.push_back(p);
    std::string rel = inc.path.substr(c.install.size() + 1);
    const Package* p = nullptr;
    if (std::string s = slug_after(rel, "wp-content/plugins/"); !s.empty()) {
      c.kind = "wordpress-plugin", c.name = s;
      c.location = c.install + "/wp-content/plugins/" + s;
      p = pkg(kWordPressPlugin, s);
    } else if (std::string t = slug_after(rel, "wp-content/themes/"); !t.empty()) {
      c.kind = "wordpress-theme", c.name = t;
      c.location = c.install + "/wp-content/themes/" + t;
      p = pkg(kWordPressTheme, t);
    } else if (rel.starts_with("wp-content/uploads/")) {
      c.kind = "wordpress-uploads", c.name = "uploads";
      c.location = c.install + "/wp-content/uploads";
    } else if (rel.starts_with("wp-content/mu-plugins/")) {
      c.kind = "wordpress-mu-plugin", c.name = slug_after(rel, "wp-content/mu-plugins/");
      c.location = c.install + "/wp-content/mu-plugins";
    } else if (rel.starts_with("wp-content/")) {
      c.kind = "wordpress-content", c.name = "wp-content";
      c.location = c.install + "/wp-content";
    } else {
      c.kind = "wordpress-core", c.name = "wordpress";
      c.location = c.install;
      p = pkg(kWordPressCore, "wordpress");
    }
    if (p) c.version_now = p->version;
    return;
  }
  fim::PackageIndex idx;
  idx.load(root);
  if (const auto* e = idx.find(inc.path)) {
    c.kind = "deb";
    c.name = e->first;
    c.location = inc.path;
    std::string bin = c.name.substr(0, c.name.find(':'));
    if (const Package* p = pkg(kDeb, bin)) c.version_now = p->version;
  }
}

// The version of the component when the file changed: the last scan of the host at or before
// then, if the store has one; else the version on disk now.
void version_then(store::Store* st, const std::string& host, Incident& inc,
                  std::vector<Package>& wp_packages) {
  IncidentComponent& c = inc.component;
  c.version = c.version_now;
  c.version_source = "on disk now";
  if (!st) return;
  auto scans = st->scans(host, 1000);
  if (!scans) return inc.notes.push_back("earlier scans: " + scans.error().message);
  const store::ScanRecord* best = nullptr;
  for (const auto& s : *scans)
    if (s.scope == "scan" && s.started_at <= inc.changed_at &&
        (!best || s.started_at > best->started_at))
      best = &s;
  if (!best) {
    inc.notes.push_back("no scan of this host before the change: the versions are today's");
    return;
  }
  auto then = st->scan_packages(best->id);
  if (!then) return inc.notes.push_back("earlier scans: " + then.error().message);
  std::string when = fmt::format("scan #{} at {}", best->id, iso8601(best->started_at));
  auto same = [](const Package& a, const Package& b) {
    return a.ecosystem == b.ecosystem && a.name == b.name &&
           (!is_wordpress(a.ecosystem) || a.location == b.location);
  };
  for (auto& p : wp_packages)
    for (const auto& q : *then)
      if (same(p, q)) p.version = q.version;
  if (c.kind == "wordpress-uploads" || c.kind == "wordpress-content" ||
      c.kind == "wordpress-mu-plugin")
    c.version_source = "the install's components as of " + when;
  for (const auto& q : *then) {
    bool match =
        (c.kind == "deb" && q.ecosystem == kDeb && q.name == c.name.substr(0, c.name.find(':'))) ||
        (c.kind == "wordpress-plugin" && q.ecosystem == kWordPressPlugin &&
         q.location == c.location) ||
        (c.kind == "wordpress-theme" && q.ecosystem == kWordPressTheme &&
         q.location == c.location) ||
        (c.kind == "wordpress-core" && q.ecosystem == kWordPressCore && q.location == c.install);
    if (!match) continue;
    c.version = q.version;
    c.version_source = when;
    return;
  }
}

int year_of(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);  // syslog stamps are local time
  return tm.tm_year + 1900;
}

std::string component_words(const Package& p) {
  const char* k = p.ecosystem == kWordPressPlugin  ? "plugin"
                  : p.ecosystem == kWordPressTheme ? "theme"
                  : p.ecosystem == kWordPressCore  ? "WordPress"
                                                   : "package";
  if (p.ecosystem == kWordPressCore) return fmt::format("WordPress {}", p.version);
  return fmt::format("{} {} {}", k, p.name, p.version);
}

void find_vulnerabilities(const vuln::VulnDb& db, const inventory::OsRelease& os, Incident& inc,
                          const std::vector<Package>& candidates) {
  vuln::MatchStats stats;
  auto matches = vuln::match_inventory(db, os, candidates, &stats);
  std::map<std::string, size_t> by_id;
  for (const auto& m : matches) {
    vuln::VulnRef ref = db.vuln(m.vuln);
    std::string primary = ref.id;
    for (const auto& a : ref.aliases)
      if (a.starts_with("CVE-") && (!primary.starts_with("CVE-") || a < primary)) primary = a;
    const Package& p = candidates[m.package];
    std::string key = primary + "|" + p.name;
    if (by_id.contains(key)) continue;
    by_id[key] = inc.vulnerabilities.size();
    IncidentVuln v;
    v.id = primary;
    v.aliases.push_back(ref.id);
    for (const auto& a : ref.aliases)
      if (a != primary) v.aliases.push_back(a);
    std::erase(v.aliases, primary);
    v.component = component_words(p);
    auto d = db.description(m.vuln);
    v.summary = valid_utf8(d.summary.substr(0, 300));
    v.fixed = m.fixed;
    v.cvss = ref.cvss;
    for (const auto& a : ref.aliases)
      if (db.kev(a)) v.known_exploited = true;
    if (db.kev(ref.id)) v.known_exploited = true;
    std::string text = d.summary + "\n" + d.details.substr(0, 4000);
    v.kind = vuln_kind(text);
    v.unauthenticated = says_unauthenticated(text);
    inc.vulnerabilities.push_back(std::move(v));
  }
  if (stats.version_errors > 0)
    inc.notes.push_back(fmt::format("{} version(s) did not parse", stats.version_errors));
}

// uid → name from the root's /etc/passwd.
std::string user_of(const Root& root, int64_t uid) {
  auto text = root.read("/etc/passwd", 4 << 20);
  if (!text || uid < 0) return "";
  for (std::string_view line : split(*text, '\n')) {
    auto f = split(line, ':');
    if (f.size() >= 3 && f[2] == std::to_string(uid)) return valid_utf8(f[0].substr(0, 64));
  }
  return "";
}

// The URLs a crawl finding names (its asset and the addresses in its evidence), same origin.
std::vector<std::string> urls_in(const Finding& f) {
  std::vector<std::string> out;
  std::string_view e = f.evidence;
  for (size_t i = e.find("http"); i != std::string_view::npos; i = e.find("http", i + 4)) {
    if (!e.substr(i).starts_with("http://") && !e.substr(i).starts_with("https://")) continue;
    size_t end = e.find_first_of(" \t\"'<>;,()", i);
    std::string u(e.substr(i, end == std::string_view::npos ? e.size() - i : end - i));
    while (!u.empty() && (u.back() == '.' || u.back() == ':')) u.pop_back();
    out.push_back(u);
    if (out.size() >= 16) break;
  }
  return out;
}

// "https://shop.example/a/b.js?v=1" → "/a/b.js".
std::string url_path(std::string_view u) {
  size_t s = u.find("://");
  if (s == std::string_view::npos) return "";
  size_t p = u.find('/', s + 3);
  if (p == std::string_view::npos) return "/";
  std::string_view path = u.substr(p);
  path = path.substr(0, path.find_first_of("?#"));
  return std::string(path);
}

std::string origin_of(std::string_view u) {
  size_t s = u.find("://");
  if (s == std::string_view::npos) return "";
  size_t p = u.find('/', s + 3);
  return std::string(u.substr(0, p));
}

}  // namespace

IncidentWriter parse_writer(std::string_view e) {
  // "…; changed by pid N EXE (COMM), uid U" — written last by fim watch. EXE and COMM are the
  // process's own (a path and a name it chose); the pid and uid are the kernel's.
  IncidentWriter w;
  size_t at = e.rfind("; changed by pid ");
  if (at == std::string_view::npos) {
    if (e.find("inotify does not tell") != std::string_view::npos)
      w.why_unknown = "fim watch ran on inotify, which does not say who changed a file";
    return w;
  }
  std::string_view r = e.substr(at + 17);
  size_t i = 0;
  while (i < r.size() && i < 10 && r[i] >= '0' && r[i] <= '9') ++i;
  if (i == 0) return w;
  w.pid = std::atoi(std::string(r.substr(0, i)).c_str());
  r.remove_prefix(i);
  if (size_t u = r.rfind(", uid "); u != std::string_view::npos) {
    std::string_view num = r.substr(u + 6);
    if (!num.empty() && num.size() <= 10 &&
        std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      w.uid = std::atoll(std::string(num).c_str());
      r = r.substr(0, u);
    }
  }
  if (r.starts_with(' ')) r.remove_prefix(1);
  // "EXE (COMM)": COMM is at most 15 characters (the kernel's TASK_COMM_LEN).
  if (r.ends_with(')')) {
    size_t open = r.rfind(" (");
    if (open == std::string_view::npos && r.starts_with('('))
      open = 0;
    else if (open != std::string_view::npos)
      ++open;
    if (open != std::string_view::npos && r.size() - open - 2 <= 40) {
      w.comm = std::string(r.substr(open + 1, r.size() - open - 2));
      r = r.substr(0, open == 0 ? 0 : open - 1);
    }
  }
  if (r.starts_with('/')) w.exe = std::string(r.substr(0, 4096));
  if (w.exe.empty() && w.uid < 0 && (w.comm.empty() || w.comm.starts_with("exited"))) {
    // "pid N (exited before it could be identified)": a pid alone names nobody
    w.why_unknown = fmt::format(
        "the writing process (pid {}) exited before fim watch could "
        "identify it",
        w.pid);
    w.comm.clear();
    return w;
  }
  w.known = true;
  return w;
}

Result<Incident> investigate(const Root& root, const IncidentQuery& q, store::Store* st,
                             const vuln::VulnDb* db, int64_t now) {
  Incident inc;
  std::optional<Finding> finding;
  if (q.target.find('/') == std::string::npos) {
    if (!is_fingerprint(q.target))
      return Error::invalid(fmt::format(
          "'{}' is neither a path (it has no '/') nor a finding's fingerprint (4 to 16 hex "
          "digits, as 'mamori findings' shows it)",
          sanitize(q.target)));
    if (!st) return Error::invalid("a finding needs the store");
    auto f = st->find(q.host, q.target);
    if (!f) return f.error();
    finding = *f;
    inc.finding = f->fingerprint;
    if (f->module == "fim") {
      inc.path = f->asset;
    } else if (f->module == "web" && f->asset.starts_with("file:")) {
      inc.path = f->asset.substr(5);
    } else if (f->module == "web") {
      inc.url = f->asset;
      // The same-origin addresses it names (a changed script), then the page: the first one
      // that is a file under a web root is the file in question.
      std::vector<std::string> roots = q.webroots;
      if (roots.empty()) roots = inventory::discover_webroots(root);
      std::string origin = origin_of(f->asset);
      std::vector<std::string> urls;
      for (auto& u : urls_in(*f))
        if (origin_of(u) == origin) urls.push_back(u);
      urls.push_back(f->asset);
      for (const auto& u : urls) {
        std::string p = url_path(u);
        if (p.empty() || p == "/" || p.find("..") != std::string::npos) continue;
        for (const auto& w : roots)
          if (inc.path.empty() && root.is_regular(w + p)) {
            inc.path = w + p;
            inc.url = u;
          }
      }
      if (inc.path.empty())
        inc.notes.push_back("no file under the web roots (" +
                            fmt::format("{}", fmt::join(roots, ", ")) + ") serves " +
                            sanitize(f->asset) + ": give the file's path instead");
    } else {
      return Error::invalid(fmt::format(
          "finding {} is of module '{}': web incident follows changed files (fim, web scan) "
          "and pages (web check)",
          f->fingerprint, f->module));
    }
  } else {
    if (!q.target.starts_with('/'))
      return Error::invalid("'" + sanitize(q.target) + "': give an absolute path (inside --root)");
    inc.path = q.target;
  }
  if (!inc.path.empty()) inc.path = canonical_path(root, inc.path);

  // FIM's word on the file: the latest fim finding on it, and who changed it.
  if (st && !inc.path.empty()) {
    auto all = st->current_findings(q.host, /*include_fixed=*/true);
    if (all) {
      std::optional<Finding> latest;
      for (const auto& f : *all)
        if (f.module == "fim" && f.asset == inc.path &&
            (!latest || f.first_seen > latest->first_seen))
          latest = f;
      if (latest && (!finding || finding->module != "fim")) finding = latest;
    }
  }
  if (finding && finding->module == "fim") {
    inc.writer = parse_writer(finding->evidence);
    if (inc.writer.known) inc.writer.seen_by = "fim watch at " + iso8601(finding->first_seen);
    if (inc.finding.empty()) inc.finding = finding->fingerprint;
  }

  // The file now: what the kernel says of it.
  if (!inc.path.empty()) {
    auto s = root.stat(inc.path, /*follow_last=*/false);
    if (s) {
      inc.exists = true;
      inc.mtime = s->st_mtim.tv_sec;
      inc.ctime = s->st_ctim.tv_sec;
      if (S_ISREG(s->st_mode)) {
        if (s->st_size <= static_cast<off_t>(kMaxHashed)) {
          if (auto text = root.read(inc.path, kMaxHashed, Root::Links::kRefuse))
            inc.sha256 = sha256_hex(*text);
        }
      } else {
        inc.notes.push_back(S_ISLNK(s->st_mode) ? "the path is a symbolic link"
                                                : "the path is not a regular file");
      }
    } else {
      inc.notes.push_back(inc.path + ": not there now (" + s.error().message + ")");
    }
  }

  // When it changed.
  if (q.at > 0) {
    inc.changed_at = q.at, inc.changed_at_source = "given (--at)";
  } else if (inc.writer.known) {
    inc.changed_at = finding->first_seen, inc.changed_at_source = "fim watch saw it";
  } else if (inc.exists &&
             (!finding || inc.ctime <= finding->first_seen || finding->first_seen == 0)) {
    inc.changed_at = inc.ctime;
    inc.changed_at_source = "the file's ctime (the kernel's: content, mode or owner last changed)";
  } else if (finding) {
    inc.changed_at = finding->first_seen;
    inc.changed_at_source =
        fmt::format("first seen by {} (the change happened at or before)", finding->module);
  } else {
    return Error::not_found(
        fmt::format("{}: not there and no finding names it: give the time it changed with --at",
                    sanitize(inc.path)));
  }
  if (inc.exists && inc.mtime + 86400 < inc.ctime && inc.changed_at_source.starts_with("the file"))
    inc.notes.push_back(fmt::format(
        "the file's modification time ({}) is older than its ctime ({}): the time it shows was "
        "set back, or it was unpacked from an archive",
        iso8601(inc.mtime), iso8601(inc.ctime)));

  // The component, its version then, its vulnerabilities.
  std::vector<Package> wp_packages;
  inventory::OsRelease os;
  if (!inc.path.empty()) find_component(root, inc, wp_packages, os);
  version_then(st, q.host, inc, wp_packages);
  std::vector<Package> candidates;
  const auto& c = inc.component;
  for (const auto& p : wp_packages) {
    bool own =
        (c.kind == "wordpress-plugin" && p.ecosystem == kWordPressPlugin && p.name == c.name) ||
        (c.kind == "wordpress-theme" && p.ecosystem == kWordPressTheme && p.name == c.name) ||
        (c.kind == "wordpress-core" && p.ecosystem == kWordPressCore);
    // A file no component owns (uploads, wp-content): every component of the install is a
    // way it may have come in.
    bool orphan = c.kind == "wordpress-uploads" || c.kind == "wordpress-content" ||
                  c.kind == "wordpress-mu-plugin";
    if (own || orphan) candidates.push_back(p);
  }
  if (c.kind == "deb") {
    Package p;
    p.ecosystem = kDeb;
    p.name = c.name.substr(0, c.name.find(':'));
    p.version = c.version;
    p.source_name = p.name;
    p.source_version = p.version;
    if (!p.version.empty()) candidates.push_back(p);
  }
  if (db && !candidates.empty())
    find_vulnerabilities(*db, os, inc, candidates);
  else if (!db)
    inc.notes.push_back("no vulnerability database: run 'mamori db update'");

  // What reaches the file from outside, and the vulnerable components' entry points.
  std::vector<std::string> url_paths;
  if (!inc.path.empty()) {
    std::vector<std::string> roots = q.webroots;
    if (roots.empty()) roots = inventory::discover_webroots(root);
    if (!c.install.empty()) roots.push_back(c.install);
    for (const auto& w : roots)
      if (inc.path.starts_with(w + "/")) url_paths.push_back(inc.path.substr(w.size()));
  } else if (!inc.url.empty()) {
    url_paths.push_back(url_path(inc.url));
  }
  std::vector<std::pair<std::string, std::shared_ptr<const waf::VirtualPatches>>> shields;
  std::set<std::string> vulnerable;
  for (const auto& v : inc.vulnerabilities) vulnerable.insert(v.component);
  for (const auto& p : candidates) {
    if (!is_wordpress(p.ecosystem) || !vulnerable.contains(component_words(p))) continue;
    waf::VulnerableComponent vc;
    vc.kind = p.ecosystem == kWordPressPlugin  ? "plugin"
              : p.ecosystem == kWordPressTheme ? "theme"
                                               : "core";
    vc.slug = p.ecosystem == kWordPressCore ? "wordpress" : p.name;
    vc.version = p.version;
    vc.locations = {p.location};
    shields.emplace_back(component_words(p), waf::VirtualPatches::build({vc}, root));
  }
  const int64_t t = inc.changed_at;
  auto relate = [&](const IncidentRequest& r) -> std::string {
    std::string path(std::string_view(r.uri).substr(0, r.uri.find('?')));
    for (const auto& u : url_paths)
      if (!u.empty() && path.ends_with(u)) return "the file";
    if (r.time > t + 60) return "";  // after the change, only the file itself matters
    if (!shields.empty() && !r.method.empty()) {
      std::string raw = r.method + " " + r.uri + " HTTP/1.1\r\nHost: h\r\n\r\n";
      waf::http::WholeRequest w;
      waf::http::ParseError e;
      if (waf::http::parse_whole(raw, w, e) == waf::http::WholeResult::kOk) {
        waf::Request req = waf::Request::from_http(w.head, w.body, waf::Connection{});
        for (const auto& [name, vp] : shields)
          if (vp->check(req)) return "component " + name;
      }
    }
    bool write =
        !r.method.empty() && r.method != "GET" && r.method != "HEAD" && r.method != "OPTIONS";
    if (write && r.time >= t - 600) return "write";
    return "";
  };
  RequestLog requests(t - q.before, t + q.after, t, 200, relate);
  guard::AuthLogParser auth(year_of(t));
  LogPlan plan;
  plan.from = t - q.before;
  plan.to = t + q.after;
  plan.in_root = q.logs.empty();
  plan.files = q.logs.empty() ? default_logs(root) : q.logs;
  plan.journal = q.logs.empty() && q.journal && root.is_host();
  if (plan.files.empty() && !plan.journal)
    inc.notes.push_back(
        "no logs found (access logs under /var/log/nginx, /var/log/apache2, "
        "/var/log/httpd; auth logs): give them with --log");
  read_logs(root, plan, requests, auth, inc.sources, inc.notes);
  inc.requests = requests.take();
  inc.requests_left_out = requests.left_out();
  inc.logins = logins_of(auth, t - q.before, t + q.after);

  if (st) {
    if (auto bans = st->all_bans(q.host)) {
      for (const auto& b : *bans)
        if (b.banned_at >= t - q.before && b.banned_at <= t + q.after)
          inc.bans.push_back({b.address, b.reason, b.banned_at, b.expires_at});
    }
  }
  if (inc.writer.known && inc.writer.uid >= 0) inc.writer.user = user_of(root, inc.writer.uid);
  if (!inc.writer.known && inc.writer.why_unknown.empty())
    inc.writer.why_unknown =
        "no fim watch finding names who wrote it (run 'mamori fim watch' to "
        "record the writer of every change)";
  if (inc.changed_at > now + 3600)
    inc.notes.push_back("the time of the change is in the future of this machine's clock");
  judge_cause(inc);
  return inc;
}

}  // namespace mamori::web
