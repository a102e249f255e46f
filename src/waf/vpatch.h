#pragma once
// Virtual patches from the inventory: a WordPress plugin, theme or core that `mamori scan`
// recorded as vulnerable (open `vuln` findings in the store) is shielded by `mamori waf run`
// until a scan sees the fixed version, then the shield lifts by itself.
//
// What is shielded, per vulnerable component:
//  - plugin / theme: every direct request to one of its PHP files (…/wp-content/plugins/SLUG/
//    …/x.php, with PATH_INFO after it too), the AJAX actions it registers (admin-ajax.php
//    ?action=A for add_action('wp_ajax_A' / 'wp_ajax_nopriv_A', …) in its PHP files) and the
//    REST namespaces it registers (register_rest_route('ns/v1', …): /wp-json/ns/v1/… and
//    ?rest_route=/ns/v1/…). Its scripts, styles and images stay served.
//  - core: direct requests to PHP files under wp-includes/ (never an entry point, save the
//    editor's wp-tinymce.php and multisite's ms-files.php).
// The cost is that the component stops working from outside while it is vulnerable — the
// point of the shield; detect mode logs instead (`virtual_patches = "detect"`).
//
// Example:
//   auto comps = vulnerable_wordpress(store, "web01");     // open findings + the scan's packages
//   auto vp = VirtualPatches::build(*comps, Root("/"));    // reads the components' PHP files
//   if (auto hit = vp->check(req)) block(hit->rule_id, hit->msg);

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fs.h"
#include "core/result.h"
#include "waf/request.h"

namespace mamori::store {
class Store;
}

namespace mamori::waf {

inline constexpr int64_t kVirtualPatchRule = 7701000;  // the rule id the decision log names

struct VulnerableComponent {
  std::string kind;  // "plugin", "theme", "core"
  std::string slug;  // directory name; "wordpress" for core
  std::string version;
  std::vector<std::string> locations;   // in-root directories the scan found it in
  std::vector<std::string> advisories;  // CVE-… / advisory ids, sorted
  std::string fixed_version;            // "" when none is known
  bool known_exploited = false;
};

// The WordPress components of `host`'s last scan with open vulnerability findings.
Result<std::vector<VulnerableComponent>> vulnerable_wordpress(store::Store& st,
                                                              const std::string& host);

struct VirtualPatchHit {
  int64_t rule_id = kVirtualPatchRule;
  std::string variable;  // "REQUEST_FILENAME", "ARGS:action", "ARGS:rest_route"
  std::string value;
  std::string msg;  // "Virtual patch: plugin x 1.2 is vulnerable (CVE-…); fixed in 1.3"
};

class VirtualPatches {
 public:
  // Reads each component's PHP files under `root` (at most 5,000 files of at most 2 MiB per
  // component, regular files only, never following a link) for the entry points it registers.
  static std::shared_ptr<const VirtualPatches> build(
      const std::vector<VulnerableComponent>& components, const Root& root);
  std::optional<VirtualPatchHit> check(const Request& req) const;
  bool empty() const { return shields_.empty(); }
  // One line per shielded component ("plugin contact-form-7 5.3.1: 12 PHP files' paths, 2 AJAX
  // actions, 1 REST namespace; CVE-…"), sorted: compared to tell what changed on a refresh.
  std::vector<std::string> describe() const;

  struct Shield {
    VulnerableComponent c;
    std::string path_prefix;         // "/wp-content/plugins/slug/", "/wp-includes/"
    std::vector<std::string> files;  // a single-file plugin: "/wp-content/plugins/hello.php"
    std::vector<std::string> ajax_actions, rest_namespaces;
    std::string msg;
  };

 private:
  std::vector<Shield> shields_;
};

// The entry points a PHP file registers (exposed for tests and fuzzing): AJAX action names and
// REST namespaces, appended.
void php_entry_points(std::string_view php, std::vector<std::string>& ajax,
                      std::vector<std::string>& rest);

}  // namespace mamori::waf
