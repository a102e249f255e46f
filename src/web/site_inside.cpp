// web check --webroot: files that appeared in the web root (not in the FIM baseline) and that
// nothing the crawl saw reaches (site.h, unreached_new_files).
#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cctype>
#include <set>

#include "core/text.h"
#include "web/site.h"
#include "web/url.h"

namespace mamori::web {

namespace {

std::string extension(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? "" : to_lower(name.substr(dot + 1));
}

// 2: code the server runs; 1: code a browser runs; 0: neither. A ".php" anywhere in the name
// counts: Apache's AddHandler runs x.php.jpg as PHP.
int code_kind(std::string_view path) {
  std::string_view name = path.substr(path.rfind('/') + 1);
  if (name == ".htaccess" || name == ".user.ini") return 2;
  std::string lname = to_lower(name);
  for (std::string_view inner : {".php.", ".phtml.", ".phar.", ".pht."})
    if (lname.find(inner) != std::string::npos) return 2;
  std::string e = extension(name);
  static const std::set<std::string> server = {
      "php", "php3", "php4", "php5", "php7", "php8", "phtml", "phar", "pht",  "phps",
      "inc", "cgi",  "pl",   "py",   "sh",   "asp",  "aspx",  "jsp",  "shtml"};
  static const std::set<std::string> browser = {"js", "mjs", "html", "htm", "xhtml", "svg"};
  if (server.contains(e)) return 2;
  if (browser.contains(e)) return 1;
  return 0;
}

// "/a b/x?.php" → "/a%20b/x%3F.php": a path as a URL writes it (unreserved characters and '/'
// stay).
std::string url_encode_path(std::string_view p) {
  std::string out;
  for (unsigned char c : p) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

InsideResult unreached_new_files(const Root& root, const InsideOptions& o, const Crawl& now,
                                 const std::vector<std::string>& starts) {
  InsideResult r;
  std::set<std::string> origins;
  for (const auto& s : starts)
    if (auto u = Url::parse(s)) origins.insert(u->origin());
  // Every path of the site's origins the crawl fetched or a browser would load by itself:
  // pages (and where they redirect), scripts, frames, form targets; a directory stands for its
  // index files. A link alone does not count: anyone may leave one in a comment.
  std::set<std::string> reached;
  auto add = [&](std::string_view url) {
    auto u = Url::parse(url);
    if (!u || !origins.contains(u->origin())) return;
    std::string p = percent_decode(u->path());
    if (p.ends_with('/'))
      for (const char* idx : {"index.php", "index.html", "index.htm"}) reached.insert(p + idx);
    reached.insert(std::move(p));
  };
  for (const auto& pg : now.pages) {
    add(pg.url);
    add(pg.redirect);
    add(pg.facts.refresh);
    for (const auto& s : pg.facts.scripts) add(s.src);
    for (const auto& f : pg.facts.iframes) add(f.src);
    for (const auto& f : pg.facts.forms) add(f.action);
  }
  for (const auto& [url, body] : now.scripts) add(url);
  std::string origin = origins.empty() ? "" : *origins.begin();

  for (const auto& top : o.webroots) {
    if (o.known && !o.known->contains(top)) {
      r.complete = false;
      r.warnings.push_back(
          fmt::format("{}: the FIM baseline does not cover it (fim init with a "
                      "policy that watches it): not compared",
                      top));
      continue;
    }
    size_t seen = 0, unopened = 0;
    auto st = root.walk(
        top,
        [&](const Root::WalkEntry& e) {
          if (++seen > o.max_files) {
            r.complete = false;
            r.warnings.push_back(
                fmt::format("{}: more than {} entries; the rest was not compared "
                            "with the FIM baseline",
                            top, o.max_files));
            return Root::Walk::kStop;
          }
          if (e.type != DT_REG && e.type != DT_LNK) return Root::Walk::kContinue;
          ++r.files;
          if (o.known && o.known->contains(e.path)) return Root::Walk::kContinue;
          ++r.appeared;
          std::string rel = e.path.substr(top.size());  // "/wp-content/uploads/x.php"
          if (reached.contains(rel)) {
            ++r.reached;
            return Root::Walk::kContinue;
          }
          int kind = code_kind(e.path);
          if (kind == 0 && e.type != DT_LNK) {
            ++r.other;
            return Root::Walk::kContinue;
          }
          Finding f;
          f.module = "web";
          f.check = "unlinked-new-file";
          f.asset = "file:" + e.path;
          f.severity = kind == 2 || e.type == DT_LNK ? Severity::kHigh : Severity::kMedium;
          f.title = fmt::format("{} appeared in the web root and no page of the site reaches it",
                                sanitize(e.path));
          std::string what = e.type == DT_LNK ? "a symbolic link"
                             : kind == 2      ? "code the web server runs"
                                              : "code a browser runs";
          std::string facts;
          if (auto s = root.stat(e.path, false))
            facts = fmt::format("; {} bytes, modified {}", s->st_size, iso8601(s->st_mtim.tv_sec));
          f.evidence = fmt::format(
              "{}, not in the FIM baseline (it appeared since); served as {}{}; no page, "
              "script, frame, form or redirect the crawl fetched reaches it{}",
              what, sanitize(origin), url_encode_path(rel), facts);
          // The path is the attacker's to name: quoted for the shell it may be pasted into.
          f.remediation = fmt::format(
              "If nobody on your team put it there, it is probably a web shell, a backdoor or a "
              "phishing kit: find how it arrived with `mamori web incident {}`, judge the tree "
              "with `mamori web scan {}`, remove it, then close the way in (update the "
              "component, rotate credentials). If it is yours, accept it into the FIM baseline "
              "(`mamori fim update`).",
              shell_quote(e.path), shell_quote(top));
          f.references = {"CWE-506"};
          assign_fingerprint(f);
          r.findings.push_back(std::move(f));
          return Root::Walk::kContinue;
        },
        &unopened);
    if (!st) {
      r.complete = false;
      r.warnings.push_back(st.error().message);
    } else if (unopened > 0) {
      r.complete = false;
      r.warnings.push_back(fmt::format("{}: {} directories could not be opened", top, unopened));
    }
  }
  return r;
}

}  // namespace mamori::web
