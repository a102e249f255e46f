// The site's policy (src/waf/policy.h): routes with methods and field types as SecLang before
// Debian's CRS, judged by the engine with CRS itself loaded.
#include "waf/policy.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "waf/engine.h"
#include "waf/setup.h"

namespace mamori::waf {
namespace {

TEST(Policy, RoutesBecomeRulesAndMistakesAreRefused) {
  std::vector<Route> routes = {
      {"=/wp-admin/post.php", "", {}, {{"content", FieldType::kRichText}}},
      {"/api/", "application/json", {"GET", "PUT"}, {}},
  };
  std::string t = policy_seclang(routes);
  EXPECT_NE(t.find("SecRule REQUEST_FILENAME \"@streq /wp-admin/post.php\" \"id:190000,"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("ctl:ruleRemoveTargetByTag=attack-xss;ARGS:content"), std::string::npos);
  EXPECT_NE(t.find("@beginsWith application/json"), std::string::npos);
  EXPECT_NE(t.find("setvar:'tx.allowed_methods=GET PUT'"), std::string::npos);
  // What goes into SecLang text cannot break out of it.
  EXPECT_FALSE(check_route({"/a\" \"id:1,phase:1,deny", "", {}, {}}));
  EXPECT_FALSE(check_route({"relative", "", {}, {}}));
  EXPECT_FALSE(check_route({"/x", "", {"GET,deny"}, {}}));
  EXPECT_FALSE(check_route({"/x", "", {}, {{"a;ARGS", FieldType::kCode}}}));
  EXPECT_FALSE(check_route({"/x", "text/\"x", {}, {}}));
  EXPECT_TRUE(
      check_route({"/x", "application/vnd.api+json", {"DELETE"}, {{"a[b].c", FieldType::kUrl}}}));
  EXPECT_FALSE(parse_field_type("html"));
}

// With Debian's CRS: REST methods where the policy allows them (and the CRS test that DELETE
// on "/" is refused still holds), field types on their route only.
TEST(Policy, CrsHonoursMethodsAndFieldTypesPerRoute) {
  if (!std::filesystem::exists(kCrsRulesDir)) GTEST_FAIL() << "Debian's modsecurity-crs is needed";
  std::vector<Route> routes = default_routes();
  routes.push_back({"/forum/reply", "", {}, {{"message", FieldType::kCode}}});
  auto rs = load_engine_rules({}, 1, policy_seclang(routes));
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  EngineOptions eo;
  auto e = Engine::build(std::move(*rs), eo);
  ASSERT_TRUE(e.has_value());
  auto on = [&](const std::string& raw) { return (*e)->evaluate_raw(raw, Connection{}); };
  auto req = [](const std::string& m, const std::string& path, const std::string& ctype,
                const std::string& body) {
    return m + " " + path + " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0\r\n" +
           "Accept: */*\r\n" + (ctype.empty() ? "" : "Content-Type: " + ctype + "\r\n") +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  EXPECT_FALSE(
      on(req("PUT", "/wp-json/wp/v2/posts/7", "application/json", "{\"title\":\"x\"}")).blocked);
  EXPECT_FALSE(on(req("DELETE", "/api/v1/items/42", "", "")).blocked);
  EXPECT_FALSE(on(req("PATCH", "/users/42", "application/json", "{\"name\":\"x\"}")).blocked);
  Verdict del = on(req("DELETE", "/users/42", "", ""));
  EXPECT_TRUE(del.blocked);
  EXPECT_EQ(del.matches.front().rule_id, 911100);
  std::string code = "message=Try+this%3A+for+f+in+%2A.log%3B+do+grep+-i+error+%22%24f%22%3B+done";
  EXPECT_FALSE(on(req("POST", "/forum/reply", "application/x-www-form-urlencoded", code)).blocked);
  EXPECT_TRUE(on(req("POST", "/forum/other", "application/x-www-form-urlencoded", code)).blocked);
  // The type covers its field only: an attack in another field of the route is blocked.
  EXPECT_TRUE(on(req("POST", "/forum/reply", "application/x-www-form-urlencoded",
                     code + "&topic=1%27+UNION+SELECT+password+FROM+users--"))
                  .blocked);
  // GraphQL at /graphql (a default route): the query language is not read as SQL or code, its
  // string arguments are judged (7700800).
  EXPECT_FALSE(on(req("POST", "/graphql", "application/json",
                      "{\"query\":\"query { user(id: 1) { name email } }\"}"))
                   .blocked);
  Verdict gq = on(req("POST", "/graphql", "application/json",
                      "{\"query\":\"query { user(name: \\\"x' OR '1'='1\\\") { id } }\"}"));
  EXPECT_TRUE(gq.blocked);
  EXPECT_EQ(gq.rule_id, 7700800);
  // Native detectors honour the field type too (code holds template syntax).
  EXPECT_FALSE(on(req("POST", "/forum/reply", "application/x-www-form-urlencoded",
                      "message=%7B%7B+config.items%28%29+%7D%7D"))
                   .blocked);
  EXPECT_TRUE(on(req("POST", "/forum/other", "application/x-www-form-urlencoded",
                     "message=%7B%7B+config.items%28%29+%7D%7D"))
                  .blocked);
}

}  // namespace
}  // namespace mamori::waf
