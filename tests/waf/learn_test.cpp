// `mamori waf learn` (src/waf/learn.h): proposals from a decision log, thresholds that keep a
// lone attacker from proposing anything, and SecLang that the engine loads and honours.
#include "waf/learn.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "waf/engine.h"
#include "waf/rules.h"

namespace mamori::waf {
namespace {

std::string line(const std::string& action, const std::string& client, const std::string& method,
                 const std::string& uri, int64_t rule, const std::string& variable,
                 const std::string& value) {
  return fmt::format(
      "{{\"time\":\"2026-12-02T15:18:09.517Z\",\"id\":\"ab\",\"action\":\"{}\",\"status\":403,"
      "\"client\":\"{}\",\"method\":\"{}\",\"host\":\"h\",\"uri\":\"{}\",\"score\":5,\"rules\":["
      "{{\"id\":{},\"phase\":2,\"variable\":\"{}\",\"value\":\"{}\",\"msg\":\"m{}\"}},"
      "{{\"id\":949110,\"phase\":2,\"variable\":\"TX:anomaly_score\",\"value\":\"5\",\"msg\":\"s\"}"
      "}]}}",
      action, client, method, uri, rule, variable, value, rule);
}

TEST(Learn, ManyClientsProposeOneClientDoesNot) {
  Learner l({3, 5});
  for (int i = 0; i < 6; ++i)  // an editor's HTML, from four people
    l.feed_line(line("detected", fmt::format("192.0.2.{}", i % 4 + 1), "POST",
                     "/wp-admin/post.php?action=edit", 942100, "ARGS:content", "select x from y"));
  for (int i = 0; i < 10; ++i)  // one address repeating an attack
    l.feed_line(
        line("blocked", "203.0.113.9", "GET", "/search?q=1", 942100, "ARGS:q", "1' or 1=1"));
  for (int i = 0; i < 6; ++i)  // a REST client's PUT on numbered items
    l.feed_line(line("detected", fmt::format("198.51.100.{}", i), "PUT",
                     fmt::format("/api/v1/items/{}/edit", 40 + i), 911100, "REQUEST_METHOD",
                     "PUT"));
  for (int i = 0; i < 6; ++i) {  // never proposed: a virtual patch; a route that cannot be written
    l.feed_line(line("blocked", fmt::format("192.0.2.{}", i), "GET", "/wp-content/plugins/x/a.php",
                     7701000, "REQUEST_FILENAME", "/x"));
    l.feed_line(
        line("detected", fmt::format("192.0.2.{}", i), "GET", "/a%22b", 942100, "ARGS:x", "v"));
    l.feed_line(
        line("detected", fmt::format("192.0.2.{}", i), "GET", "/ok", 942100, "ARGS:a;b", "v"));
  }
  l.feed_line("not json");
  l.feed_line("{\"action\":\"blocked\"}");
  LearnReport r = l.report();
  EXPECT_EQ(r.malformed, 2u);
  ASSERT_EQ(r.proposals.size(), 2u);
  // Both seen 6 times: most hits first, then by route.
  const Proposal& put = r.proposals[0];
  const Proposal& html = r.proposals[1];
  EXPECT_EQ(html.route, "/wp-admin/post.php");
  EXPECT_FALSE(html.prefix);
  EXPECT_EQ(html.target, "ARGS:content");
  EXPECT_EQ(html.clients, 4u);
  EXPECT_EQ(html.samples.front(), "select x from y");
  EXPECT_EQ(put.route, "/api/v1/items/");
  EXPECT_TRUE(put.prefix);
  EXPECT_EQ(put.target, "PUT");
  EXPECT_EQ(put.clients, 6u);
  ASSERT_EQ(r.too_few.size(), 1u);
  EXPECT_EQ(r.too_few[0].target, "ARGS:q");

  // The SecLang loads, and does what it says: 942100 no longer looks at ARGS:content on that
  // route (it still does elsewhere), and PUT is allowed under the prefix.
  std::string conf = render_learned_seclang(r, 10000);
  // Without a first id, each rule has its own id from its text: the same in a later run, and
  // a later run with one more proposal keeps the ids it shares with this one.
  auto ids = [](const std::string& text) {
    std::vector<std::string> out;
    for (size_t p = text.find("\"id:"); p != std::string::npos; p = text.find("\"id:", p + 1))
      out.push_back(text.substr(p + 4, text.find(',', p) - p - 4));
    return out;
  };
  const auto stable = ids(render_learned_seclang(r, 0));
  ASSERT_EQ(stable.size(), 2u);
  EXPECT_EQ(stable, ids(render_learned_seclang(r, 0)));
  EXPECT_NE(stable[0], stable[1]);
  for (const auto& id : stable) EXPECT_TRUE(id.size() == 5 && id >= "10000") << id;
  LearnReport more = r;
  more.proposals.insert(more.proposals.begin(), r.proposals.front());
  more.proposals.front().route = "/other/";
  const auto later = ids(render_learned_seclang(more, 0));
  ASSERT_EQ(later.size(), 3u);
  for (const auto& id : stable) EXPECT_NE(std::find(later.begin(), later.end(), id), later.end());
  EXPECT_EQ(ids(conf), (std::vector<std::string>{"10000", "10001"}));
  EXPECT_NE(conf.find("ctl:ruleRemoveTargetById=942100;ARGS:content"), std::string::npos) << conf;
  EXPECT_NE(conf.find("setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT'"), std::string::npos);
  // As CRS has them: 901 sets the method list when nothing did, 911100 judges it.
  auto rs = parse_rules("SecRuleEngine On\nSecRequestBodyAccess On\n" + conf +
                            "SecRule &TX:allowed_methods \"@eq 0\" \"id:901,phase:1,pass,nolog,"
                            "setvar:'tx.allowed_methods=GET HEAD POST OPTIONS'\"\n"
                            "SecRule REQUEST_METHOD \"!@within %{tx.allowed_methods}\" "
                            "\"id:911100,phase:1,deny,log\"\n"
                            "SecRule ARGS \"@detectSQLi\" \"id:942100,phase:2,deny,log\"\n",
                        "learned.conf", {});
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  auto e = Engine::build(std::move(*rs));
  ASSERT_TRUE(e.has_value());
  auto on = [&](const std::string& m, const std::string& path, const std::string& body) {
    return (*e)
        ->evaluate_raw(m + " " + path +
                           " HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded"
                           "\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body,
                       Connection{})
        .blocked;
  };
  const std::string sqli = "content=1%27+or+%271%27%3D%271";
  EXPECT_FALSE(on("POST", "/wp-admin/post.php", sqli));
  EXPECT_TRUE(on("POST", "/wp-admin/post.php", "title=1%27+or+%271%27%3D%271"));
  EXPECT_TRUE(on("POST", "/contact", sqli));
  EXPECT_FALSE(on("PUT", "/api/v1/items/5", "a=1"));
  EXPECT_TRUE(on("PUT", "/contact", "a=1"));
}

TEST(Learn, RoutesCutAtTheFirstId) {
  bool prefix = false;
  EXPECT_EQ(learn_route("/api/v1/items/42/edit", prefix), "/api/v1/items/");
  EXPECT_TRUE(prefix);
  EXPECT_EQ(learn_route("/orders/3f2b9c1e-7a4d-4e3a-9b1c-2d3e4f5a6b7c", prefix), "/orders/");
  EXPECT_EQ(learn_route("/wp-admin/post.php", prefix), "/wp-admin/post.php");
  EXPECT_FALSE(prefix);
  EXPECT_EQ(learn_route("/blog/2024-recap", prefix), "/blog/2024-recap");
}

}  // namespace
}  // namespace mamori::waf
