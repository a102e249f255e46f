// web incident: the facts around one changed file (incident.h) — the target, when it changed,
// its component and that component's vulnerabilities then, the writer; the logs are read in
// incident_logs.cpp and the cause judged in incident_cause.cpp.
#include "web/incident.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <optional>
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
#include "web/url.h"

namespace mamori::web {

namespace {

constexpr uint64_t kMaxHashed = 256ull << 20;  // a file larger than this is not hashed

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

// What owns the path, and what else could have let it in.
struct Owners {
  inventory::OsRelease os;
  std::vector<Package> wp;     // the components of the WordPress install above it
  std::optional<Package> deb;  // the package that ships it (as the inventory read it)
};

void find_component(const Root& root, Incident& inc, Owners& own) {
  IncidentComponent& c = inc.component;
  c.install = wordpress_install(root, inc.path);
  std::vector<Package> pkgs;
  inventory::InventoryOptions io;
  io.discover_webroots = false;
  if (!c.install.empty()) io.webroots = {c.install};
  if (auto inv = inventory::collect_inventory(root, io)) {
    own.os = inv->os;
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
      if (is_wordpress(p.ecosystem)) own.wp.push_back(p);
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
      c.kind = "wordpress-mu-plugin", c.name = "mu-plugins";
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
    if (const Package* p = pkg(kDeb, c.name.substr(0, c.name.find(':')))) {
      c.version_now = p->version;
      own.deb = *p;  // with its source package: what the vulnerability data is keyed on
    }
  }
}

// The versions when the file changed: the last scan of the host at or before then, if the
// store has one; else the versions on disk now.
void version_then(store::Store* st, const std::string& host, Incident& inc, Owners& own) {
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
  for (const auto& q : *then) {
    for (auto& p : own.wp)
      if (same(p, q)) p.version = q.version;
    if (own.deb && same(*own.deb, q)) {
      own.deb->version = q.version;
      own.deb->source_version = q.source_version;
    }
    bool mine =
        (c.kind == "deb" && own.deb && same(*own.deb, q)) ||
        (c.kind == "wordpress-plugin" && q.ecosystem == kWordPressPlugin &&
         q.location == c.location) ||
        (c.kind == "wordpress-theme" && q.ecosystem == kWordPressTheme &&
         q.location == c.location) ||
        (c.kind == "wordpress-core" && q.ecosystem == kWordPressCore && q.location == c.install);
    if (mine) {
      c.version = q.version;
      c.version_source = when;
    }
  }
  if (c.orphan()) c.version_source = "the install's components as of " + when;
}

std::string component_words(const Package& p) {
  if (p.ecosystem == kWordPressCore) return fmt::format("WordPress {}", p.version);
  const char* k = p.ecosystem == kWordPressPlugin  ? "plugin"
                  : p.ecosystem == kWordPressTheme ? "theme"
                                                   : "package";
  return fmt::format("{} {} {}", k, p.name, p.version);
}

// The components whose vulnerabilities could explain the file: its owner; for a path no
// component owns (uploads), every component of the install.
std::vector<Package> candidates_of(Incident& inc, const Owners& own) {
  const auto& c = inc.component;
  std::vector<Package> out;
  for (const auto& p : own.wp) {
    bool mine =
        (c.kind == "wordpress-plugin" && p.ecosystem == kWordPressPlugin && p.name == c.name) ||
        (c.kind == "wordpress-theme" && p.ecosystem == kWordPressTheme && p.name == c.name) ||
        (c.kind == "wordpress-core" && p.ecosystem == kWordPressCore);
    if (mine || c.orphan()) out.push_back(p);
  }
  if (c.kind == "deb" && own.deb) out.push_back(*own.deb);
  for (const auto& p : out) inc.candidates.push_back(component_words(p));
  return out;
}

void find_vulnerabilities(const vuln::VulnDb& db, const inventory::OsRelease& os, Incident& inc,
                          const std::vector<Package>& candidates) {
  vuln::MatchStats stats;
  auto matches = vuln::match_inventory(db, os, candidates, &stats);
  std::set<std::pair<std::string, size_t>> seen;
  for (const auto& m : matches) {
    vuln::VulnRef ref = db.vuln(m.vuln);
    std::string primary = ref.id;
    for (const auto& a : ref.aliases)
      if (a.starts_with("CVE-") && (!primary.starts_with("CVE-") || a < primary)) primary = a;
    if (!seen.insert({primary, m.package}).second) continue;
    IncidentVuln v;
    v.id = primary;
    for (const auto& a : ref.aliases)
      if (a != primary) v.aliases.push_back(a);
    if (ref.id != primary) v.aliases.insert(v.aliases.begin(), ref.id);
    v.candidate = m.package;
    v.component = inc.candidates[m.package];
    auto d = db.description(m.vuln);
    v.summary = valid_utf8(d.summary.substr(0, 300));
    v.fixed = m.fixed;
    v.cvss = ref.cvss;
    v.known_exploited = db.kev(ref.id).has_value();
    for (const auto& a : ref.aliases) v.known_exploited = v.known_exploited || db.kev(a);
    std::string text = d.summary + "\n" + d.details.substr(0, 4000);
    v.kind = vuln_kind(text);
    v.unauthenticated = says_unauthenticated(text);
    inc.vulnerabilities.push_back(std::move(v));
  }
  if (stats.version_errors > 0)
    inc.notes.push_back(fmt::format("{} version(s) did not parse", stats.version_errors));
}

int year_of(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);  // syslog stamps are local time
  return tm.tm_year + 1900;
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

// The addresses a crawl finding names in its evidence ("served as …", a script's URL).
std::vector<std::string> urls_in(std::string_view e) {
  std::vector<std::string> out;
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

// "https://shop.example/a%20b.js?v=1" → "/a b.js" (curl's parser, as the crawl reads URLs).
std::string url_path(std::string_view u) {
  auto url = Url::parse(u);
  return url ? percent_decode(url->path()) : std::string();
}

std::string origin_of(std::string_view u) {
  auto url = Url::parse(u);
  return url ? url->origin() : std::string();
}

// ---- the steps of an investigation ----

// The file in question: a path, or what a finding names.
Status resolve_target(const Root& root, const IncidentQuery& q, store::Store* st, Incident& inc,
                      std::optional<Finding>& finding) {
  if (q.target.find('/') != std::string::npos) {
    if (!q.target.starts_with('/'))
      return Error::invalid("'" + sanitize(q.target) + "': give an absolute path (inside --root)");
    inc.path = q.target;
    return {};
  }
  std::string fp = to_lower(q.target);
  if (!looks_like_fingerprint(fp))
    return Error::invalid(fmt::format(
        "'{}' is neither a path (it has no '/') nor a finding's fingerprint (4 to 16 hex "
        "digits, as 'mamori findings' shows it)",
        sanitize(q.target)));
  if (!st) return Error::invalid("a finding needs the store");
  auto f = st->find(q.host, fp);
  if (!f) return f.error();
  finding = *f;
  inc.finding = f->fingerprint;
  if (f->module == "fim") {
    inc.path = f->asset;
  } else if (f->module == "web" && f->asset.starts_with("file:")) {
    inc.path = f->asset.substr(5);
  } else if (f->module == "web") {
    // A crawl finding: the same-origin addresses it names (a changed script), then the page;
    // the first that is a file under a web root is the file in question.
    inc.url = f->asset;
    std::vector<std::string> roots = q.webroots;
    if (roots.empty()) roots = inventory::discover_webroots(root);
    std::vector<std::string> urls;
    for (auto& u : urls_in(f->evidence))
      if (origin_of(u) == origin_of(f->asset)) urls.push_back(u);
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
      inc.notes.push_back(
          fmt::format("no file under the web roots ({}) serves {}: give the file's "
                      "path, or the web root with --webroot",
                      fmt::join(roots, ", "), f->asset));
  } else {
    return Error::invalid(fmt::format(
        "finding {} is of module '{}': web incident follows changed files (fim, web scan, "
        "web check --webroot) and pages (web check)",
        f->fingerprint, f->module));
  }
  return {};
}

// What fim watch recorded about the file: its latest finding on the path, and who wrote it.
void fim_view(store::Store* st, const std::string& host, Incident& inc,
              std::optional<Finding>& finding) {
  if (st && !inc.path.empty() && (!finding || finding->module != "fim")) {
    if (auto all = st->current_findings(host, /*include_fixed=*/true)) {
      std::optional<Finding> latest;
      for (const auto& f : *all)
        if (f.module == "fim" && f.asset == inc.path &&
            (!latest || f.first_seen > latest->first_seen))
          latest = f;
      if (latest) {
        if (inc.finding.empty()) inc.finding = latest->fingerprint;
        // the web finding stays the one started from; its time is the change's if fim's isn't
        if (!finding || finding->module == "web") finding = latest;
      }
    }
  }
  if (finding && finding->module == "fim") {
    inc.writer = writer_from_facts(finding->facts);
    if (inc.writer.known) inc.writer.seen_by = "fim watch at " + iso8601(finding->first_seen);
  }
}

// The file now, as the kernel says: it is there, its times, its content's hash.
void file_now(const Root& root, Incident& inc) {
  if (inc.path.empty()) return;
  auto s = root.stat(inc.path, /*follow_last=*/false);
  if (!s) {
    inc.notes.push_back(inc.path + ": not there now (" + s.error().message + ")");
    return;
  }
  inc.exists = true;
  inc.mtime = s->st_mtim.tv_sec;
  inc.ctime = s->st_ctim.tv_sec;
  if (!S_ISREG(s->st_mode)) {
    inc.notes.push_back(S_ISLNK(s->st_mode) ? "the path is a symbolic link"
                                            : "the path is not a regular file");
  } else if (s->st_size <= static_cast<off_t>(kMaxHashed)) {
    if (auto text = root.read(inc.path, kMaxHashed, Root::Links::kRefuse))
      inc.sha256 = sha256_hex(*text);
  }
}

Status when_changed(const IncidentQuery& q, const std::optional<Finding>& finding, Incident& inc) {
  if (q.at > 0) {
    inc.changed_at = q.at, inc.changed_at_source = "at";
  } else if (inc.writer.known) {
    inc.changed_at = finding->first_seen, inc.changed_at_source = "fim-watch";
  } else if (inc.exists &&
             (!finding || finding->first_seen == 0 || inc.ctime <= finding->first_seen)) {
    inc.changed_at = inc.ctime, inc.changed_at_source = "ctime";
  } else if (finding) {
    inc.changed_at = finding->first_seen, inc.changed_at_source = "first-seen";
  } else {
    return Error::not_found(
        fmt::format("{}: not there and no finding names it: give the time it changed with --at",
                    sanitize(inc.path)));
  }
  if (inc.exists && inc.mtime + 86400 < inc.ctime && inc.changed_at_source == "ctime")
    inc.notes.push_back(fmt::format(
        "the file's modification time ({}) is older than its ctime ({}): the time it shows was "
        "set back, or it was unpacked from an archive",
        iso8601(inc.mtime), iso8601(inc.ctime)));
  return {};
}

// Where the file is served: its path below each web root (and the install), and the address
// a finding gives ("served as …").
void where_served(const Root& root, const IncidentQuery& q, const std::optional<Finding>& finding,
                  const std::string& given, Incident& inc) {
  std::set<std::string> paths;
  if (!inc.path.empty()) {
    std::vector<std::string> roots = q.webroots;
    if (roots.empty()) roots = inventory::discover_webroots(root);
    if (!inc.component.install.empty()) roots.push_back(inc.component.install);
    for (const auto& w : roots)
      for (const std::string& p : {inc.path, given})
        if (p.starts_with(w + "/")) paths.insert(p.substr(w.size()));
  }
  if (!inc.url.empty()) paths.insert(url_path(inc.url));
  if (finding && finding->module == "web" && finding->check == "unlinked-new-file")
    for (const auto& u : urls_in(finding->evidence)) paths.insert(url_path(u));
  paths.erase("");
  inc.url_paths.assign(paths.begin(), paths.end());
  if (inc.url_paths.empty() && !inc.path.empty())
    inc.notes.push_back(
        "no web root holds the file: requests to it cannot be told (give the "
        "web root with --webroot)");
}

// A request's path as the server resolves it: decoded, "//" and "/./" gone, ".." applied.
std::string normal_path(std::string_view uri) {
  std::string decoded = percent_decode(uri.substr(0, uri.find('?')));
  std::vector<std::string_view> segs;
  for (std::string_view seg : split(decoded, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string out;
  for (auto seg : segs) out += "/" + std::string(seg);
  if (out.empty() || decoded.ends_with('/')) out += "/";
  return out;
}

// Is a request for the file? Its path exactly, a directory for its index, or the file with
// PATH_INFO after it (/x.php/anything runs x.php).
bool serves(const std::vector<std::string>& url_paths, std::string_view uri) {
  std::string path = normal_path(uri);
  for (const auto& u : url_paths) {
    if (path == u || (path.starts_with(u + "/") && u.find(".ph") != std::string::npos)) return true;
    if (path.ends_with('/') &&
        (u == path + "index.php" || u == path + "index.html" || u == path + "index.htm"))
      return true;
  }
  return false;
}

}  // namespace

bool looks_like_fingerprint(std::string_view s) {
  return s.size() >= 4 && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

IncidentWriter writer_from_facts(const std::map<std::string, std::string>& facts) {
  IncidentWriter w;
  auto get = [&](const char* k) {
    auto it = facts.find(k);
    return it == facts.end() ? std::string() : it->second;
  };
  std::string pid = get("writer_pid"), uid = get("writer_uid");
  auto number = [](const std::string& s) {
    return !s.empty() && s.size() <= 10 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!number(pid)) {
    w.why_unknown =
        "the fim finding does not name its writer (fim check, inotify, or a change "
        "fim watch found in a rescan)";
    return w;
  }
  w.pid = std::atoi(pid.c_str());
  if (number(uid)) w.uid = std::atoll(uid.c_str());
  w.exe = get("writer_exe").substr(0, 4096);
  w.comm = get("writer_comm").substr(0, 64);
  if (w.exe.empty() && w.comm.empty() && w.uid < 0) {
    w.why_unknown = fmt::format(
        "the writing process (pid {}) exited before fim watch could identify it", w.pid);
    return w;
  }
  w.known = true;
  return w;
}

Result<Incident> investigate(const Root& root, const IncidentQuery& q, store::Store* st,
                             const vuln::VulnDb* db, int64_t now) {
  Incident inc;
  std::optional<Finding> finding;
  if (auto s = resolve_target(root, q, st, inc, finding); !s) return s.error();
  const std::string given = inc.path;  // through the links an administrator made (a shared
                                       // uploads directory): where WordPress sees the file
  if (!inc.path.empty()) inc.path = canonical_path(root, inc.path);
  fim_view(st, q.host, inc, finding);
  file_now(root, inc);
  if (auto s = when_changed(q, finding, inc); !s) return s.error();
  if (inc.changed_at > now + 3600)
    inc.notes.push_back("the time of the change is in the future of this machine's clock");

  // The component, its version then, the vulnerabilities of what could have let it in.
  Owners own;
  if (!inc.path.empty()) find_component(root, inc, own);
  if (inc.component.kind.empty() && !given.empty() && given != inc.path) {
    Incident seen;
    seen.path = given;
    find_component(root, seen, own);
    if (!seen.component.kind.empty())
      inc.notes.push_back(
          fmt::format("{} is {} through a symbolic link: its component is the "
                      "one of the path given",
                      given, inc.path));
    inc.component = seen.component;
  }
  version_then(st, q.host, inc, own);
  std::vector<Package> candidates = candidates_of(inc, own);
  if (!db)
    inc.notes.push_back("no vulnerability database: run 'mamori db update'");
  else if (!candidates.empty())
    find_vulnerabilities(*db, own.os, inc, candidates);
  where_served(root, q, finding, given, inc);

  // The vulnerable components' entry points (their PHP files, AJAX actions, REST routes): the
  // map `waf run`'s virtual patches use.
  std::vector<std::shared_ptr<const waf::VirtualPatches>> shields(candidates.size());
  for (const auto& v : inc.vulnerabilities) {
    const Package& p = candidates[v.candidate];
    if (shields[v.candidate] || !is_wordpress(p.ecosystem)) continue;
    waf::VulnerableComponent vc;
    vc.kind = p.ecosystem == kWordPressPlugin  ? "plugin"
              : p.ecosystem == kWordPressTheme ? "theme"
                                               : "core";
    vc.slug = p.ecosystem == kWordPressCore ? "wordpress" : p.name;
    vc.version = p.version;
    vc.locations = {p.location};
    shields[v.candidate] = waf::VirtualPatches::build({vc}, root);
  }
  const int64_t t = inc.changed_at;
  auto relate = [&](IncidentRequest& r) {
    if (serves(inc.url_paths, r.uri)) return r.relation = "file", true;
    if (r.time > t + 60) return false;  // after the change, only the file itself matters
    if (!r.method.empty()) {
      std::string raw = r.method + " " + r.uri + " HTTP/1.1\r\nHost: h\r\n\r\n";
      waf::http::WholeRequest w;
      waf::http::ParseError e;
      if (waf::http::parse_whole(raw, w, e) == waf::http::WholeResult::kOk) {
        waf::Request req = waf::Request::from_http(w.head, w.body, waf::Connection{});
        for (size_t k = 0; k < shields.size(); ++k)
          if (shields[k] && shields[k]->check(req)) {
            r.relation = "component";
            r.candidate = static_cast<int>(k);
            return true;
          }
      }
    }
    if (write_method(r.method) && r.time >= t - 600) return r.relation = "write", true;
    return false;
  };

  // The logs: requests and logins around the change.
  RequestLog requests(t - q.before, t + q.after, t, 200, relate);
  guard::AuthLogParser auth(year_of(t));
  LogPlan plan;
  plan.from = t - q.before;
  plan.to = t + q.after;
  plan.in_root = q.logs.empty();
  plan.journal = q.logs.empty() && q.journal && root.is_host();
  plan.files = q.logs.empty() ? default_logs(root, !plan.journal) : q.logs;
  if (plan.files.empty() && !plan.journal)
    inc.notes.push_back(
        "no logs found (access logs under /var/log/nginx, /var/log/apache2, "
        "/var/log/httpd; auth logs): give them with --log");
  LoginFold logins(plan.from, plan.to, t);
  read_logs(root, plan, requests, auth, logins, inc.sources, inc.notes);
  inc.requests = requests.take();
  inc.requests_left_out = requests.left_out();
  inc.logins = logins.take(inc.logins_left_out);
  if (st) {
    if (auto bans = st->all_bans(q.host)) {
      for (const auto& b : *bans)
        if (b.banned_at >= plan.from && b.banned_at <= plan.to)
          inc.bans.push_back({b.address, b.reason, b.banned_at, b.expires_at});
    }
  }
  if (inc.writer.known && inc.writer.uid >= 0) inc.writer.user = user_of(root, inc.writer.uid);
  if (!inc.writer.known && inc.writer.why_unknown.empty())
    inc.writer.why_unknown =
        "no fim watch finding names who wrote it (run 'mamori fim watch' to "
        "record the writer of every change)";
  judge_cause(inc);
  return inc;
}

}  // namespace mamori::web
