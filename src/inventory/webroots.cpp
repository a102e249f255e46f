// Where the web roots of a host are: the usual directories, and the document roots the web
// servers' own configuration names (nginx `root`, Apache `DocumentRoot`).
#include <algorithm>
#include <set>

#include "core/text.h"
#include "inventory/inventory.h"
#include "inventory/parsers.h"

namespace mamori::inventory {

namespace {

// The value of a directive (`root /srv/shop;`, `DocumentRoot "/srv/shop"`) on a config line.
std::string directive_value(std::string_view line, std::string_view name, bool nginx) {
  line = trim(line);
  if (line.size() <= name.size() || to_lower(line.substr(0, name.size())) != to_lower(name))
    return "";
  char sep = line[name.size()];
  if (sep != ' ' && sep != '\t') return "";
  std::string_view v = trim(line.substr(name.size()));
  if (nginx) {
    size_t semi = v.find(';');
    if (semi == std::string_view::npos) return "";
    v = trim(v.substr(0, semi));
  }
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    v = v.substr(1, v.size() - 2);
  // Variables ($document_root, ${APACHE_ROOT}) cannot be resolved here.
  if (v.empty() || v[0] != '/' || v.find('$') != std::string_view::npos) return "";
  std::string s(v);
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

void scan_config(const Root& root, const std::string& file, bool nginx,
                 std::set<std::string>& out) {
  auto text = root.read(file, 4 << 20);
  if (!text) return;
  for (auto& v : document_roots_in_config(*text, nginx))
    if (root.is_dir(v)) out.insert(std::move(v));
}

}  // namespace

std::vector<std::string> document_roots_in_config(std::string_view text, bool nginx) {
  std::vector<std::string> out;
  std::string_view directive = nginx ? "root" : "DocumentRoot";
  size_t pos = 0;
  std::string_view line;
  while (next_line(text, pos, line)) {
    auto t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::string v = directive_value(t, directive, nginx);
    if (!v.empty()) out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> discover_webroots(const Root& root) {
  std::set<std::string> out;
  for (const char* cand : {"/var/www", "/srv/www", "/srv/http", "/usr/share/nginx/html",
                           "/usr/share/wordpress", "/opt/bitnami"})
    if (root.is_dir(cand)) out.insert(cand);
  for (const char* dir : {"/etc/nginx/sites-enabled", "/etc/nginx/conf.d", "/etc/nginx"})
    for (const auto& f : root.list(dir))
      if (root.is_regular(f)) scan_config(root, f, true, out);
  for (const char* dir :
       {"/etc/apache2/sites-enabled", "/etc/apache2", "/etc/httpd/conf", "/etc/httpd/conf.d"})
    for (const auto& f : root.list(dir))
      if (root.is_regular(f)) scan_config(root, f, false, out);
  // A document root inside another one is already covered by it.
  std::vector<std::string> v(out.begin(), out.end());
  std::vector<std::string> kept;
  for (const auto& p : v) {
    bool nested = std::any_of(kept.begin(), kept.end(), [&p](const std::string& k) {
      return p.starts_with(k) && (k == "/" || p[k.size()] == '/');
    });
    if (!nested) kept.push_back(p);
  }
  return kept;
}

}  // namespace mamori::inventory
