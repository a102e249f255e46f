// Virtual patches (src/waf/vpatch.h): the entry points a plugin's PHP registers, what requests
// a shield catches and lets through, and the components read from a real SQLite store — on, then
// lifted by a scan that no longer finds the vulnerable version.
#include "waf/vpatch.h"

#include <gtest/gtest.h>

#include <fstream>

#include "store/store.h"
#include "support/temp_dir.h"
#include "waf/http.h"

namespace mamori::waf {
namespace {

using testing_support::TempDirTest;

TEST(VirtualPatch, EntryPointsALiteralRegisters) {
  std::vector<std::string> ajax, rest;
  php_entry_points(
      "<?php\nadd_action( 'wp_ajax_nopriv_cf_export', 'cf_export' );\n"
      "add_action(\"wp_ajax_cf_admin-save\", [$this, 'save']);\n"
      "add_action( 'wp_ajax_' . $name, 'x' );  // built at run time: not known\n"
      "// wp_ajax_in_a_comment without quotes\n"
      "register_rest_route( 'cf/v1', '/forms/(?P<id>\\d+)', [] );\n"
      "register_rest_route(\n  \"/other/v2/\", '/x');\n"
      "register_rest_route( $ns, '/y' );\n",
      ajax, rest);
  EXPECT_EQ(ajax, (std::vector<std::string>{"cf_export", "cf_admin-save"}));
  EXPECT_EQ(rest, (std::vector<std::string>{"cf/v1", "other/v2"}));
}

class VirtualPatchTree : public TempDirTest {
 protected:
  void put(const std::string& rel, const std::string& text) {
    auto p = dir_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  static std::string get(const std::string& target) {
    return "GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n";
  }
  static std::string post(const std::string& target, const std::string& body) {
    return "POST " + target +
           " HTTP/1.1\r\nHost: h\r\nContent-Type: "
           "application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  static Request req(const std::string& raw) {
    static std::vector<std::unique_ptr<std::string>> keep;
    keep.push_back(std::make_unique<std::string>(raw));
    http::WholeRequest w;
    http::ParseError e;
    EXPECT_EQ(http::parse_whole(*keep.back(), w, e), http::WholeResult::kOk) << e.reason;
    Request r = Request::from_http(w.head, w.body, Connection{});
    r.processor = BodyProcessor::kUrlEncoded;
    r.process_body({});
    return r;
  }
};

TEST_F(VirtualPatchTree, ShieldsThePluginsPhpActionsAndRoutesOnly) {
  const std::string plug = "var/www/shop/wp-content/plugins/cform/";
  put(plug + "cform.php",
      "<?php add_action('wp_ajax_nopriv_cform_export', 'f'); "
      "register_rest_route('cform/v1', '/export');");
  put(plug + "inc/deep/more.php", "<?php add_action('wp_ajax_cform_save', 'g');");
  put(plug + "assets/app.js", "add_action('wp_ajax_not_php', 1)");  // not PHP: not read
  // a link out of the tree is never followed
  std::filesystem::create_directories(dir_ / "elsewhere");
  std::ofstream(dir_ / "elsewhere/x.php") << "<?php add_action('wp_ajax_outside', 'h');";
  std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / (plug + "linked"));
  VulnerableComponent c{
      "plugin",           "cform", "5.3.1", {"/" + plug.substr(0, plug.size() - 1)},
      {"CVE-2020-35489"}, "5.3.2", false};
  VulnerableComponent core{"core",  "wordpress", "6.1", {"/var/www/shop"}, {"CVE-2023-0001"},
                           "6.1.1", false};
  auto vp = VirtualPatches::build({c, core}, Root(dir_));
  ASSERT_EQ(vp->describe().size(), 2u);
  EXPECT_NE(vp->describe()[1].find("2 AJAX actions, 1 REST namespaces"), std::string::npos)
      << vp->describe()[1];

  auto blocked = [&](const std::string& raw) { return vp->check(req(raw)); };
  auto hit = blocked(get("/wp-content/plugins/cform/cform.php"));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->rule_id, kVirtualPatchRule);
  EXPECT_EQ(hit->variable, "REQUEST_FILENAME");
  EXPECT_NE(hit->msg.find("plugin cform 5.3.1 is vulnerable (CVE-2020-35489); fixed in 5.3.2"),
            std::string::npos)
      << hit->msg;
  for (const std::string& raw :
       {get("/blog/wp-content/plugins/cform/inc/deep/more.php"),
        get("/wp-content/plugins/cform/cform.php/extra/path"),
        get("/wp-content/plugins/x/../cform/cform.php"), get("//wp-content//plugins/cform/a.PHP"),
        get("/wp-content/plugins/cform/%2e%2e/cform/cform.phtml"),
        post("/wp-admin/admin-ajax.php", "action=cform_export"),
        get("/wp-admin/admin-ajax.php?action=cform_save"), get("/wp-json/cform/v1/export"),
        get("/?rest_route=/cform/v1/export&x=1"), get("/wp-json/cform/v1"),
        get("/wp-includes/class-wp-query.php")})
    EXPECT_TRUE(blocked(raw)) << raw;
  for (const std::string& raw :
       {get("/wp-content/plugins/cform/assets/app.js"), get("/wp-content/plugins/cformx/a.php"),
        get("/wp-content/plugins/other/cform.php"),
        post("/wp-admin/admin-ajax.php", "action=heartbeat"),
        get("/wp-admin/admin-ajax.php?action=not_php"),
        get("/wp-admin/admin-ajax.php?action=outside"), get("/wp-json/cform/v10/x"),
        get("/wp-json/wp/v2/posts"), get("/index.php?action=cform_export"),
        get("/wp-includes/js/tinymce/wp-tinymce.php"), get("/wp-includes/css/buttons.css"),
        get("/shop/cart")})
    EXPECT_FALSE(blocked(raw)) << raw;

  // A REST prefix the site moved (rest_url_prefix), and the batch endpoint running the
  // plugin's route among others; a plugin asset in a folder named like the version is served.
  auto json = [](const std::string& target, const std::string& body) {
    return "POST " + target + " HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string batch = R"({"requests":[{"method":"GET","path":"/wp/v2/posts"},)"
                            R"({"method":"POST","path":"/cform/v1/export?x=1","body":{"a":1}}]})";
  for (const std::string& raw :
       {get("/api/cform/v1/export"), get("/rest/CFORM/v1"), json("/wp-json/batch/v1", batch),
        json("/?rest_route=/batch/v1", batch), json("/api/batch/v1/", batch)}) {
    auto h = blocked(raw);
    EXPECT_TRUE(h) << raw;
    if (h && raw.find("batch") != std::string::npos) {
      EXPECT_EQ(h->variable, "REQUEST_BODY:requests.path");
    }
  }
  put(plug + "v1/bundle.js", "x");
  for (const std::string& raw :
       {get("/wp-content/plugins/cform/v1/bundle.js"),
        json("/wp-json/batch/v1", R"({"requests":[{"path":"/wp/v2/posts"}]})"),
        json("/wp-json/batch/v1", "not json"), get("/api/cformx/v1/export")})
    EXPECT_FALSE(blocked(raw)) << raw;
}

// What an attack review got past the first version: PHP's own reading of parameter names and
// repeated parameters, WordPress's case-insensitive REST routes, PATH_INFO after admin-ajax.php,
// a body the rules did not parse; and what it got blocked that is not the plugin's.
TEST_F(VirtualPatchTree, PhpAndWordPressReadRequestsAsTheShieldDoes) {
  const std::string plug = "var/www/shop/wp-content/plugins/cform/";
  put(plug + "cform.php",
      "<?php add_action( 'wp_ajax_nopriv_cform_export', 'f' );\n"
      "add_action('admin_post_nopriv_cform_mail', 'g');\n"
      "add_action( 'wp_ajax_heartbeat', 'h' );  // WordPress's own: not the plugin's\n"
      "if ( has_action( 'wp_ajax_other_plugin' ) ) {}\n"
      "class C { protected $namespace = 'cform/v2'; }\n");
  std::string deep = plug + "assets/node_modules";
  for (int i = 0; i < 14; ++i) deep += "/d";
  put(deep + "/x.js", "x");  // deeper than the walk goes: skipped, the rest still read
  put(plug + "zz/late.php", "<?php add_action('wp_ajax_cform_late', 'l');");
  // a single-file plugin next to others: only its own file is read
  put("var/www/shop/wp-content/plugins/hello.php", "<?php add_action('wp_ajax_hello_x', 'x');");
  put("var/www/shop/wp-content/plugins/other/o.php", "<?php add_action('wp_ajax_other_x', 'x');");
  VulnerableComponent c{"plugin",  "cform", "1.0", {"/" + plug.substr(0, plug.size() - 1)},
                        {"CVE-1"}, "",      false};
  VulnerableComponent hello{
      "plugin",  "hello", "1.0", {"/var/www/shop/wp-content/plugins/hello.php"},
      {"CVE-2"}, "",      false};
  auto vp = VirtualPatches::build({c, hello}, Root(dir_));
  for (const std::string& raw :
       {get("/wp-admin/admin-ajax.php?action=x&action=cform_export"),
        post("/wp-admin/admin-ajax.php?action=heartbeat", "action=cform_export"),
        get("/wp-admin/admin-ajax.php?%20action=cform_export"),
        get("/wp-admin/admin-ajax.php?action%00x=cform_export"),
        get("/wp-admin/admin-ajax.php/x?action=cform_export"),
        get("/wp-admin/admin-ajax.php?action=cform_late"),
        post("/wp-admin/admin-post.php", "action=cform_mail"), get("/?rest.route=/cform/v2/x"),
        get("/?rest+route=/cform/v2/x"), get("/?rest%5Broute=/CFORM/v2/x"),
        get("/?rest_route=/wp/v2/posts&rest_route=/cform/v2/x"), get("/wp-json/CFORM/V2/x"),
        get("/wp-admin/admin-ajax.php?action=hello_x"), get("/wp-content/plugins/hello.php"),
        get("/wp-content/plugins/hello.php/info")})
    EXPECT_TRUE(vp->check(req(raw))) << raw;
  for (const std::string& raw :
       {get("/wp-admin/admin-ajax.php?action=heartbeat"),
        get("/wp-admin/admin-ajax.php?action=other_plugin"),
        get("/wp-admin/admin-ajax.php?action=other_x"),
        get("/wp-admin/admin-ajax.php?action[]=cform_export"),
        get("/index.php?action=cform_export"), get("/wp-content/plugins/hello.php.bak"),
        get("/wp-content/plugins/other/o.php")})
    EXPECT_FALSE(vp->check(req(raw))) << raw;
  // A body the rules never parsed (body access off) is read by the shield itself.
  std::string raw = post("/wp-admin/admin-ajax.php", "action=cform_export");
  http::WholeRequest w;
  http::ParseError e;
  ASSERT_EQ(http::parse_whole(raw, w, e), http::WholeResult::kOk);
  Request unparsed = Request::from_http(w.head, w.body, Connection{});
  EXPECT_FALSE(unparsed.body_processed);
  EXPECT_TRUE(vp->check(unparsed));
}

TEST_F(VirtualPatchTree, FromTheStoreThenLiftedWhenTheScanSeesTheFix) {
  auto st = store::Store::open((dir_ / "m.db").string());
  ASSERT_TRUE(st.has_value()) << st.error().message;
  auto scan = [&](bool vulnerable, int64_t t) {
    store::ScanInput in;
    in.host = "web01";
    in.started_at = in.finished_at = t;
    Package p;
    p.ecosystem = kWordPressPlugin;
    p.name = "cform";
    p.version = vulnerable ? "5.3.1" : "5.3.2";
    p.location = "/var/www/shop/wp-content/plugins/cform";
    in.packages.push_back(p);
    if (vulnerable) {
      Finding f;
      f.module = "vuln";
      f.check = "CVE-2020-35489";
      f.asset = "pkg:wordpress/plugin/cform";
      f.severity = Severity::kCritical;
      f.title = "CVE-2020-35489 in cform 5.3.1";
      f.fixed_version = "5.3.2";
      assign_fingerprint(f);
      in.findings.push_back(f);
      Finding other = f;  // not WordPress: no patch
      other.asset = "pkg:npm/lodash?location=/srv/app";
      other.check = "CVE-2099-2002";
      assign_fingerprint(other);
      in.findings.push_back(other);
    }
    auto r = (*st)->record_scan(in);
    ASSERT_TRUE(r.has_value()) << r.error().message;
  };
  // No scan yet: not known, which is not the same as nothing vulnerable.
  auto none = vulnerable_wordpress(**st, "web01");
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("run 'mamori scan'"), std::string::npos);
  scan(true, 1000);
  auto comps = vulnerable_wordpress(**st, "web01");
  ASSERT_TRUE(comps.has_value()) << comps.error().message;
  ASSERT_EQ(comps->size(), 1u);
  EXPECT_EQ((*comps)[0].kind, "plugin");
  EXPECT_EQ((*comps)[0].slug, "cform");
  EXPECT_EQ((*comps)[0].version, "5.3.1");
  EXPECT_EQ((*comps)[0].locations,
            std::vector<std::string>{"/var/www/shop/wp-content/plugins/cform"});
  EXPECT_EQ((*comps)[0].fixed_version, "5.3.2");
  EXPECT_FALSE(vulnerable_wordpress(**st, "other-host").has_value());
  scan(false, 2000);  // updated: the finding is fixed, the shield goes
  comps = vulnerable_wordpress(**st, "web01");
  ASSERT_TRUE(comps.has_value());
  EXPECT_TRUE(comps->empty());
}

}  // namespace
}  // namespace mamori::waf
