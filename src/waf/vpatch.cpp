// Virtual patches from the inventory (vpatch.h).
#include "waf/vpatch.h"

#include <dirent.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

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
  slug = url_decode(name, false);  // the purl's percent-encoding ("foo%20bar")
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

bool has_ci(std::string_view h, std::string_view n) {
  return to_lower(h).find(n) != std::string::npos;
}

// A parameter name as PHP stores it in $_GET/$_POST: leading spaces gone, cut at a NUL,
// ' ' and '.' (and the '[' of an unclosed bracket) turned into '_'; "" for an array
// ("action[]"), which WordPress does not take as the action.
std::string php_key(std::string_view k) {
  while (!k.empty() && k.front() == ' ') k.remove_prefix(1);
  k = k.substr(0, k.find('\0'));
  size_t br = k.find('[');
  if (br != std::string_view::npos && k.find(']', br) != std::string_view::npos) return {};
  std::string o(k);
  for (char& c : o)
    if (c == ' ' || c == '.' || c == '[') c = '_';
  return o;
}

// Every value PHP could hand WordPress for `name` (WordPress reads $_REQUEST, POST over GET,
// the last of repeated names): all of them, from the query and the body, are judged.
std::vector<std::string_view> php_args(const Request& r, const std::vector<KV>& body_args,
                                       std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto* coll : {&r.args_get, &r.args_post, &body_args})
    for (const KV& a : *coll)
      if (a.key == name || php_key(a.key) == name) out.push_back(a.value);
  return out;
}

// Is `seg` a segment of the path (PHP runs admin-ajax.php with PATH_INFO after it)?
bool has_segment(std::string_view path, std::string_view seg) {
  for (size_t p = 0; (p = path.find(seg, p)) != std::string_view::npos; ++p) {
    bool start = p == 0 || path[p - 1] == '/';
    bool end = p + seg.size() == path.size() || path[p + seg.size()] == '/';
    if (start && end) return true;
  }
  return false;
}

}  // namespace

namespace {

// WordPress's own AJAX actions (wp-admin/admin-ajax.php): a plugin that hooks one of them is
// not its owner, and shielding it would break the dashboard for everyone.
bool core_action(std::string_view a) {
  static const std::set<std::string_view> core = {"heartbeat",
                                                  "fetch-list",
                                                  "ajax-tag-search",
                                                  "wp-compression-test",
                                                  "imgedit-preview",
                                                  "oembed-cache",
                                                  "autocomplete-user",
                                                  "dashboard-widgets",
                                                  "logged-in",
                                                  "rest-nonce",
                                                  "add-category",
                                                  "add-link-category",
                                                  "add-tag",
                                                  "get-tagcloud",
                                                  "get-comments",
                                                  "replyto-comment",
                                                  "edit-comment",
                                                  "add-menu-item",
                                                  "add-meta",
                                                  "add-user",
                                                  "closed-postboxes",
                                                  "hidden-columns",
                                                  "update-welcome-panel",
                                                  "menu-get-metabox",
                                                  "wp-link-ajax",
                                                  "menu-locations-save",
                                                  "menu-quick-search",
                                                  "meta-box-order",
                                                  "get-permalink",
                                                  "sample-permalink",
                                                  "inline-save",
                                                  "inline-save-tax",
                                                  "find_posts",
                                                  "widgets-order",
                                                  "save-widget",
                                                  "delete-inactive-widgets",
                                                  "set-post-thumbnail",
                                                  "date_format",
                                                  "time_format",
                                                  "wp-remove-post-lock",
                                                  "dismiss-wp-pointer",
                                                  "upload-attachment",
                                                  "get-attachment",
                                                  "query-attachments",
                                                  "save-attachment",
                                                  "save-attachment-compat",
                                                  "send-link-to-editor",
                                                  "send-attachment-to-editor",
                                                  "save-attachment-order",
                                                  "media-create-image-subsizes",
                                                  "get-revision-diffs",
                                                  "save-user-color-scheme",
                                                  "update-widget",
                                                  "query-themes",
                                                  "parse-embed",
                                                  "set-attachment-thumbnail",
                                                  "parse-media-shortcode",
                                                  "destroy-sessions",
                                                  "install-plugin",
                                                  "update-plugin",
                                                  "crop-image",
                                                  "generate-password",
                                                  "save-wporg-username",
                                                  "delete-plugin",
                                                  "search-plugins",
                                                  "search-install-plugins",
                                                  "activate-plugin",
                                                  "update-theme",
                                                  "delete-theme",
                                                  "install-theme",
                                                  "get-post-thumbnail-html",
                                                  "get-community-events",
                                                  "edit-theme-plugin-file",
                                                  "wp-privacy-export-personal-data",
                                                  "wp-privacy-erase-personal-data",
                                                  "health-check-site-status-result",
                                                  "health-check-dotorg-communication",
                                                  "health-check-is-in-debug-mode",
                                                  "health-check-background-updates",
                                                  "health-check-loopback-requests",
                                                  "health-check-get-sizes",
                                                  "toggle-auto-updates",
                                                  "send-password-reset",
                                                  "delete-comment",
                                                  "delete-tag",
                                                  "delete-link",
                                                  "delete-meta",
                                                  "delete-post",
                                                  "trash-post",
                                                  "untrash-post",
                                                  "delete-page",
                                                  "dim-comment"};
  return core.count(a) > 0;
}

bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Is the literal starting at quote index q the first argument of add_action( … )?
bool add_action_arg(std::string_view php, size_t q) {
  size_t i = q;
  while (i > 0 && ws(php[i - 1])) --i;
  if (i == 0 || php[i - 1] != '(') return false;
  --i;
  while (i > 0 && ws(php[i - 1])) --i;
  return i >= 10 && php.substr(i - 10, 10) == "add_action";
}

// The quoted literal at i (after white space): its text, i moved past it; nullopt otherwise.
std::optional<std::string_view> literal_at(std::string_view php, size_t& i) {
  while (i < php.size() && ws(php[i])) ++i;
  if (i >= php.size() || (php[i] != '\'' && php[i] != '"')) return std::nullopt;
  size_t e = php.find(php[i], i + 1);
  if (e == std::string_view::npos || e - i - 1 > 128) return std::nullopt;
  std::string_view v = php.substr(i + 1, e - i - 1);
  i = e + 1;
  return v;
}

void add_namespace(std::string ns, std::vector<std::string>& rest) {
  while (!ns.empty() && ns.front() == '/') ns.erase(0, 1);
  while (!ns.empty() && ns.back() == '/') ns.pop_back();
  bool ok = !ns.empty() && std::all_of(ns.begin(), ns.end(),
                                       [](char c) { return name_char(c) || c == '/' || c == '.'; });
  if (ok && rest.size() < kMaxEntryPoints) rest.push_back(to_lower(ns));
}

}  // namespace

void php_entry_points(std::string_view php, std::vector<std::string>& ajax,
                      std::vector<std::string>& rest) {
  // add_action( 'wp_ajax_NAME' | 'wp_ajax_nopriv_NAME' | 'admin_post_NAME' |
  // 'admin_post_nopriv_NAME', … ) with a literal (a name built at run time is not known here:
  // the plugin's PHP files stay shielded all the same).
  for (std::string_view hook : {"wp_ajax_", "admin_post_"}) {
    for (size_t p = 0; (p = php.find(hook, p)) != std::string_view::npos;) {
      size_t s = p + hook.size();
      if (php.substr(s).starts_with("nopriv_")) s += 7;
      size_t e = s;
      while (e < php.size() &&
             (name_char(php[e]) || php[e] == '.' || php[e] == '/' || php[e] == ':'))
        ++e;
      if (e > s && e < php.size() && (php[e] == '\'' || php[e] == '"') && p > 0 &&
          php[p - 1] == php[e] && add_action_arg(php, p - 1) && ajax.size() < kMaxEntryPoints &&
          !core_action(php.substr(s, e - s)))
        ajax.emplace_back(php.substr(s, e - s));
      p = e > p ? e : p + hook.size();
    }
  }
  // Namespaces: register_rest_route( 'ns/v1', … ), or register_rest_route( $this->namespace,
  // … ) with the property set from a literal ("protected $namespace = 'ns/v1';").
  for (auto [word, punct] : {std::pair<std::string_view, char>{"register_rest_route", '('},
                             std::pair<std::string_view, char>{"$namespace", '='}}) {
    for (size_t p = 0; (p = php.find(word, p)) != std::string_view::npos;) {
      size_t i = p + word.size();
      while (i < php.size() && ws(php[i])) ++i;
      if (i < php.size() && php[i] == punct) {
        ++i;
        if (auto lit = literal_at(php, i)) add_namespace(std::string(*lit), rest);
      }
      p = std::max(i, p + word.size());
    }
  }
}

Result<std::vector<VulnerableComponent>> vulnerable_wordpress(store::Store& st,
                                                              const std::string& host) {
  // No scan of this host: nothing is known, which is not "nothing is vulnerable".
  auto last = st.last_scan(host, "scan");
  if (!last) return last.error();
  if (!*last)
    return Error::not_found(fmt::format(
        "no scan of host '{}' in the store: run 'mamori scan' (virtual patches follow its "
        "findings)",
        host));
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
  {
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
        // The location is the plugin's directory, or its one file (a single-file plugin: never
        // the folder around it, which holds the other plugins).
        if (!root.is_dir(loc)) {
          if (root.is_regular(loc) && php_name(loc)) {
            s.files.push_back((c.kind == "theme" ? "/wp-content/themes/" : "/wp-content/plugins/") +
                              loc.substr(loc.rfind('/') + 1));
            if (auto text = root.read(loc, kMaxPhp))
              php_entry_points(*text, s.ajax_actions, s.rest_namespaces);
          }
          continue;
        }
        (void)root.walk(loc, [&](const Root::WalkEntry& e) {
          if (files >= kMaxFiles) return Root::Walk::kStop;
          if (e.depth > 12) return Root::Walk::kSkipChildren;
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
  // A body the rules did not parse (body access off, the engine off by a ctl) is read here:
  // the shield does not depend on the rules' configuration.
  std::vector<KV> body_args;
  if (!req.body_processed && !req.body.empty() && req.body.size() <= (1u << 20)) {
    const std::string* ct = req.header("content-type");
    if (!ct || has_ci(*ct, "x-www-form-urlencoded")) {
      int invalid = 0;
      parse_urlencoded(req.body, '&', 1000, body_args, &invalid);
    } else if (has_ci(*ct, "multipart/form-data")) {
      Request copy;
      copy.headers = req.headers;
      copy.body = req.body;
      copy.processor = BodyProcessor::kMultipart;
      copy.process_body({});
      body_args = std::move(copy.args_post);
    }
  }
  std::vector<std::string_view> actions;
  if (has_segment(path, "admin-ajax.php") || has_segment(path, "admin-post.php"))
    actions = php_args(req, body_args, "action");
  std::vector<std::string_view> routes = php_args(req, body_args, "rest_route");
  std::string lpath = to_lower(path);  // WordPress matches REST routes without case
  // The REST API answers under /wp-json/ unless the site's rest_url_prefix filter moved it: a
  // plugin's namespace is looked for as whole segments anywhere in the path, outside the
  // directories that hold files (a plugin's assets under …/v2/ stay served).
  const bool file_dir = lpath.find("/wp-content/") != std::string::npos ||
                        lpath.find("/wp-includes/") != std::string::npos ||
                        lpath.find("/wp-admin/") != std::string::npos;
  // The batch endpoint (/wp-json/batch/v1, ?rest_route=/batch/v1) runs the routes its JSON
  // body lists: {"requests": [{"path": "/ns/v1/…", …}, …]}.
  std::vector<std::string> batch;
  auto is_batch = [](std::string_view r) {
    while (r.starts_with('/')) r.remove_prefix(1);
    while (r.ends_with('/')) r.remove_suffix(1);
    return iequals(r, "batch/v1");
  };
  bool batch_call = (lpath.ends_with("/batch/v1") || lpath.ends_with("/batch/v1/")) && !file_dir;
  for (std::string_view r : routes) batch_call = batch_call || is_batch(r);
  if (batch_call && !req.body.empty() && req.body.size() <= (1u << 20)) {
    auto doc = nlohmann::json::parse(req.body, nullptr, false);
    if (doc.is_object() && doc.contains("requests") && doc["requests"].is_array())
      for (const auto& one : doc["requests"])
        if (one.is_object() && one.contains("path") && one["path"].is_string() &&
            batch.size() < 1000) {
          std::string p = one["path"].get<std::string>();
          batch.push_back(p.substr(0, p.find('?')));
        }
  }
  for (const Shield& s : shields_) {
    auto hit = [&](std::string variable, std::string_view value) {
      return VirtualPatchHit{kVirtualPatchRule, std::move(variable), std::string(value), s.msg};
    };
    if (size_t at = path.find(s.path_prefix);
        at != std::string::npos && runs_php(path.substr(at))) {
      std::string_view file = std::string_view(path).substr(at + s.path_prefix.size());
      if (s.c.kind == "core" &&
          (file.starts_with("js/tinymce/wp-tinymce.php") || file == "ms-files.php"))
        continue;
      return hit("REQUEST_FILENAME", path);
    }
    for (const std::string& f : s.files)
      if (size_t at = path.find(f);
          at != std::string::npos && (at + f.size() == path.size() || path[at + f.size()] == '/'))
        return hit("REQUEST_FILENAME", path);
    for (std::string_view a : actions)
      if (std::binary_search(s.ajax_actions.begin(), s.ajax_actions.end(), a))
        return hit("ARGS:action", a);
    for (const std::string& ns : s.rest_namespaces) {
      auto under = [&](std::string_view route) {
        return route.starts_with(ns) && (route.size() == ns.size() || route[ns.size()] == '/');
      };
      if (!file_dir)
        for (size_t at = lpath.find(ns); at != std::string::npos; at = lpath.find(ns, at + 1))
          if (at > 0 && lpath[at - 1] == '/' && under(std::string_view(lpath).substr(at)))
            return hit("REQUEST_FILENAME", path);
      auto route_under = [&](std::string_view r0) {
        std::string r = to_lower(r0);
        std::string_view rv = r;
        while (rv.starts_with('/')) rv.remove_prefix(1);
        return under(rv);
      };
      for (std::string_view r0 : routes)
        if (route_under(r0)) return hit("ARGS:rest_route", r0);
      for (const std::string& b0 : batch)
        if (route_under(b0)) return hit("REQUEST_BODY:requests.path", b0);
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
