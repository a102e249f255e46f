// Virtual patches from the inventory (vpatch.h).
#include "waf/vpatch.h"

#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/package.h"
#include "core/text.h"
#include "store/store.h"
#include "waf/transform.h"

namespace mamori::waf {

namespace {

constexpr size_t kMaxFiles = 5000;
constexpr uint64_t kMaxPhp = 2ull << 20;
constexpr size_t kMaxEntryPoints = 512;  // per component

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// "pkg:wordpress/plugin/contact-form-7" → ("plugin", "contact-form-7"); core assets carry
// "?location=…" after the name.
bool parse_wp_asset(std::string_view asset, std::string& kind, std::string& slug) {
  constexpr std::string_view pre = "pkg:wordpress/";
  if (!asset.starts_with(pre)) return false;
  asset.remove_prefix(pre.size());
  size_t slash = asset.find('/');
  if (slash == std::string_view::npos) return false;
  kind = std::string(asset.substr(0, slash));
  std::string_view name = asset.substr(slash + 1);
  name = name.substr(0, name.find('?'));
  slug = std::string(name);
  return (kind == "plugin" || kind == "theme" || kind == "core") && !slug.empty() &&
         slug.find('/') == std::string::npos && slug != "." && slug != "..";
}

bool php_name(std::string_view p) {
  for (std::string_view ext : {".php", ".phtml", ".phar", ".php5", ".php7", ".pht"})
    if (p.size() > ext.size() && iequals(p.substr(p.size() - ext.size()), ext)) return true;
  return false;
}

// A path whose segments include a PHP file name: PHP runs it (PATH_INFO may follow).
bool runs_php(std::string_view path) {
  size_t s = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    if (php_name(path.substr(s, i - s))) return true;
    s = i + 1;
  }
  return false;
}

const std::string* arg(const Request& r, std::string_view name) {
  for (const auto* coll : {&r.args_get, &r.args_post})
    for (const KV& a : *coll)
      if (a.key == name) return &a.value;
  return nullptr;
}

}  // namespace

void php_entry_points(std::string_view php, std::vector<std::string>& ajax,
                      std::vector<std::string>& rest) {
  // 'wp_ajax_NAME' / "wp_ajax_nopriv_NAME" as a literal (a name built at run time is not
  // known here: the plugin's PHP files stay shielded all the same).
  for (size_t p = 0; (p = php.find("wp_ajax_", p)) != std::string_view::npos;) {
    size_t s = p + 8;
    if (php.substr(s).starts_with("nopriv_")) s += 7;
    size_t e = s;
    while (e < php.size() && name_char(php[e])) ++e;
    if (e > s && e < php.size() && (php[e] == '\'' || php[e] == '"') && p > 0 &&
        (php[p - 1] == '\'' || php[p - 1] == '"') && ajax.size() < kMaxEntryPoints)
      ajax.emplace_back(php.substr(s, e - s));
    p = e > p ? e : p + 8;
  }
  // register_rest_route( 'ns/v1', … ): the namespace literal.
  for (size_t p = 0; (p = php.find("register_rest_route", p)) != std::string_view::npos;) {
    size_t i = p + 19;
    while (i < php.size() && (php[i] == ' ' || php[i] == '\t' || php[i] == '\n' || php[i] == '\r'))
      ++i;
    if (i < php.size() && php[i] == '(') {
      ++i;
      while (i < php.size() &&
             (php[i] == ' ' || php[i] == '\t' || php[i] == '\n' || php[i] == '\r'))
        ++i;
      if (i < php.size() && (php[i] == '\'' || php[i] == '"')) {
        char q = php[i];
        size_t e = php.find(q, i + 1);
        if (e != std::string_view::npos && e - i - 1 <= 128) {
          std::string ns(php.substr(i + 1, e - i - 1));
          while (!ns.empty() && ns.front() == '/') ns.erase(0, 1);
          while (!ns.empty() && ns.back() == '/') ns.pop_back();
          bool ok = !ns.empty() && std::all_of(ns.begin(), ns.end(), [](char c) {
            return name_char(c) || c == '/' || c == '.';
          });
          if (ok && rest.size() < kMaxEntryPoints) rest.push_back(ns);
        }
      }
    }
    p = i;
  }
}

Result<std::vector<VulnerableComponent>> vulnerable_wordpress(store::Store& st,
                                                              const std::string& host) {
  auto findings = st.current_findings(host, false);
  if (!findings) return findings.error();
  std::map<std::pair<std::string, std::string>, VulnerableComponent> by;
  for (const Finding& f : *findings) {
    if (f.module != "vuln" || f.state == FindingState::kFixed) continue;
    std::string kind, slug;
    if (!parse_wp_asset(f.asset, kind, slug)) continue;
    VulnerableComponent& c = by[{kind, slug}];
    c.kind = kind;
    c.slug = slug;
    c.advisories.push_back(f.check);
    if (!f.fixed_version.empty() && f.fixed_version > c.fixed_version)
      c.fixed_version = f.fixed_version;
    if (f.tier == "patch-now") c.known_exploited = c.known_exploited || f.known_exploited;
    if (kind == "core") {  // the location is in the asset
      size_t q = f.asset.find("location=");
      if (q != std::string::npos) c.locations.push_back(f.asset.substr(q + 9));
    }
  }
  if (by.empty()) return std::vector<VulnerableComponent>{};
  // Where the last scan found each one, and its version.
  auto last = st.last_scan(host, "scan");
  if (!last) return last.error();
  if (*last) {
    auto pkgs = st.scan_packages((*last)->id);
    if (!pkgs) return pkgs.error();
    for (const Package& p : *pkgs) {
      const char* kind = p.ecosystem == kWordPressPlugin  ? "plugin"
                         : p.ecosystem == kWordPressTheme ? "theme"
                         : p.ecosystem == kWordPressCore  ? "core"
                                                          : nullptr;
      if (!kind) continue;
      auto it = by.find({kind, p.ecosystem == kWordPressCore ? "wordpress" : p.name});
      if (it == by.end()) continue;
      it->second.version = p.version;
      if (p.ecosystem != kWordPressCore) it->second.locations.push_back(p.location);
    }
  }
  std::vector<VulnerableComponent> out;
  for (auto& [k, c] : by) {
    std::sort(c.advisories.begin(), c.advisories.end());
    c.advisories.erase(std::unique(c.advisories.begin(), c.advisories.end()), c.advisories.end());
    std::sort(c.locations.begin(), c.locations.end());
    c.locations.erase(std::unique(c.locations.begin(), c.locations.end()), c.locations.end());
    out.push_back(std::move(c));
  }
  return out;
}

std::shared_ptr<const VirtualPatches> VirtualPatches::build(
    const std::vector<VulnerableComponent>& components, const Root& root) {
  auto vp = std::make_shared<VirtualPatches>();
  for (const auto& c : components) {
    Shield s;
    s.c = c;
    s.path_prefix = c.kind == "core"    ? "/wp-includes/"
                    : c.kind == "theme" ? "/wp-content/themes/" + c.slug + "/"
                                        : "/wp-content/plugins/" + c.slug + "/";
    if (c.kind != "core") {
      size_t files = 0;
      for (const auto& loc : c.locations) {
        // The location is the plugin's directory (or its main file for a single-file plugin).
        std::string dir = root.is_dir(loc) ? loc : loc.substr(0, loc.rfind('/'));
        (void)root.walk(dir, [&](const Root::WalkEntry& e) {
          if (e.depth > 12 || files >= kMaxFiles) return Root::Walk::kStop;
          if (e.type != DT_REG || !php_name(e.path)) return Root::Walk::kContinue;
          ++files;
          if (auto text = root.read(e.path, kMaxPhp))
            php_entry_points(*text, s.ajax_actions, s.rest_namespaces);
          return Root::Walk::kContinue;
        });
      }
      for (auto* v : {&s.ajax_actions, &s.rest_namespaces}) {
        std::sort(v->begin(), v->end());
        v->erase(std::unique(v->begin(), v->end()), v->end());
      }
      // WordPress's own namespaces are never a plugin's to shield.
      std::erase_if(s.rest_namespaces, [](const std::string& n) {
        return n == "wp" || n.starts_with("wp/") || n.starts_with("oembed/") ||
               n.starts_with("wp-site-health/") || n.starts_with("wp-block-editor/");
      });
    }
    std::string advisories;
    for (size_t i = 0; i < c.advisories.size() && i < 5; ++i)
      advisories += (i ? ", " : "") + c.advisories[i];
    if (c.advisories.size() > 5) advisories += fmt::format(" and {} more", c.advisories.size() - 5);
    s.msg = fmt::format(
        "Virtual patch: WordPress {} {} {} is vulnerable ({}){}",
        c.kind == "core" ? "core" : c.kind, c.slug, c.version, advisories,
        c.fixed_version.empty() ? "; no fixed version yet" : "; fixed in " + c.fixed_version);
    vp->shields_.push_back(std::move(s));
  }
  return vp;
}

std::optional<VirtualPatchHit> VirtualPatches::check(const Request& req) const {
  if (shields_.empty()) return std::nullopt;
  // The path as PHP-FPM would resolve it: decoded, dot segments and doubled slashes gone.
  std::string path = normalise_path(req.filename, false);
  const std::string* action = nullptr;
  const std::string* rest_route = nullptr;
  bool ajax = path.ends_with("/wp-admin/admin-ajax.php");
  if (ajax) action = arg(req, "action");
  rest_route = arg(req, "rest_route");
  size_t wpjson = path.find("/wp-json/");
  for (const Shield& s : shields_) {
    auto hit = [&](std::string variable, std::string value) {
      return VirtualPatchHit{kVirtualPatchRule, std::move(variable), std::move(value), s.msg};
    };
    if (size_t at = path.find(s.path_prefix);
        at != std::string::npos && runs_php(path.substr(at))) {
      std::string_view file = std::string_view(path).substr(at + s.path_prefix.size());
      if (s.c.kind == "core" &&
          (file.starts_with("js/tinymce/wp-tinymce.php") || file == "ms-files.php"))
        continue;
      return hit("REQUEST_FILENAME", path);
    }
    if (action && std::binary_search(s.ajax_actions.begin(), s.ajax_actions.end(), *action))
      return hit("ARGS:action", *action);
    for (const std::string& ns : s.rest_namespaces) {
      auto under = [&](std::string_view route) {
        return route.starts_with(ns) && (route.size() == ns.size() || route[ns.size()] == '/');
      };
      if (wpjson != std::string::npos && under(std::string_view(path).substr(wpjson + 9)))
        return hit("REQUEST_FILENAME", path);
      if (rest_route) {
        std::string_view r = *rest_route;
        while (r.starts_with('/')) r.remove_prefix(1);
        if (under(r)) return hit("ARGS:rest_route", *rest_route);
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> VirtualPatches::describe() const {
  std::vector<std::string> out;
  for (const Shield& s : shields_)
    out.push_back(
        fmt::format("{} {} {}: PHP files under {}, {} AJAX actions, {} REST namespaces; {}",
                    s.c.kind, s.c.slug, s.c.version, s.path_prefix, s.ajax_actions.size(),
                    s.rest_namespaces.size(), fmt::join(s.c.advisories, ", ")));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mamori::waf
