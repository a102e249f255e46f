// The WAF engine on small rule texts and requests: transformations (expected values read off
// libmodsecurity 3.0.9 with the same inputs), the request model, and SecLang's evaluation
// semantics one by one. The whole of CRS against libmodsecurity is tests/waf/oracle.sh.
#include "waf/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "waf/detect.h"
#include "waf/engine_impl.h"
#include "waf/setup.h"
#include "waf/transform.h"

namespace mamori::waf {
namespace {

using T = Transform;

TEST(Transform, DecodersAgreeWithModSecurity) {
  EXPECT_EQ(waf::apply(T::kUrlDecodeUni, "%u0041%uff21%u004%41+%"), "AA%u004A %");
  EXPECT_EQ(waf::apply(T::kUrlDecode, "%u0041%4"), "%u0041%4");
  EXPECT_EQ(waf::apply(T::kHtmlEntityDecode, "&#x41;&lt&quot;&#X&#66&foo;&nbsp"),
            "A<\"&#XB&foo;\xa0");
  EXPECT_EQ(waf::apply(T::kJsDecode, "\\x41\\u0042\\101\\477\\n\\"), "ABA'7\n\\");
  EXPECT_EQ(waf::apply(T::kJsDecode, "\\41 x\\00004 y\\\\"), std::string("! x\0"
                                                                         "04 y\\",
                                                                         9));
  EXPECT_EQ(waf::apply(T::kCssDecode, "\\x41\\u0042\\101\\477\\n\\"), "x41u0042\x01wn");
  EXPECT_EQ(waf::apply(T::kCssDecode, "\\41 x\\00004 y\\\\"), "Ax\x04y\\");
  // cssDecode's result ends at its first NUL (ModSecurity returns it as a C string) …
  EXPECT_EQ(waf::apply(T::kCssDecode, std::string("c\0d", 3)), "c");
  // … and utf8toUnicode drops NULs.
  EXPECT_EQ(waf::apply(T::kUtf8ToUnicode, std::string("a\0b", 3)), "ab");
  EXPECT_EQ(waf::apply(T::kUtf8ToUnicode,
                       "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                       "a\xc3"),
            "%u00e9%u20ac%u1f600a\xc3");
  EXPECT_EQ(waf::apply(T::kNormalisePath, "/a/./b/../../../c//d/"), "/c/d/");
  EXPECT_EQ(waf::apply(T::kNormalisePathWin, "a\\b\\..\\c"), "a/c");
  EXPECT_EQ(waf::apply(T::kCmdLine, "C:^\\\"Windows\",  /s(x"), "c:windows/s(x");
  EXPECT_EQ(waf::apply(T::kRemoveCommentsChar, "a/*b*/c--d#e<!--f-->"), "abcdef");
  EXPECT_EQ(waf::apply(T::kCompressWhitespace, "a  \tb\n\nc"), "a b c");
  EXPECT_EQ(waf::apply(T::kRemoveComments, "a/*x*/b-- c"), "ab");
  EXPECT_EQ(waf::apply(T::kReplaceComments, "a/*x*/b/*"), "a b ");
  EXPECT_EQ(waf::apply(T::kBase64Decode, "aGVsbG8=x"), "hello");
  EXPECT_EQ(waf::apply(T::kHexEncode, waf::apply(T::kSha1, "abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(waf::apply(T::kLength, "abcd"), "4");
  EXPECT_EQ(waf::apply(T::kSqlHexDecode, "0x414243 x"), "ABC x");
}

Request request(const std::string& raw) {
  static std::vector<std::unique_ptr<std::string>> keep;  // the head's views point into it
  keep.push_back(std::make_unique<std::string>(raw));
  http::WholeRequest w;
  http::ParseError e;
  EXPECT_EQ(http::parse_whole(*keep.back(), w, e), http::WholeResult::kOk) << e.reason;
  return Request::from_http(w.head, w.body, Connection{});
}

TEST(RequestModel, HeadVariablesFollowModSecurity) {
  Request r = request(
      "GET /a%20b/c.php?x=%41+1&y&=z HTTP/1.1\r\nHost: h\r\nCookie:  a=1; ;b; =c; d=x=y \r\n\r\n");
  EXPECT_EQ(r.uri, "/a b/c.php?x=A+1&y&=z");  // decoded, '+' kept
  EXPECT_EQ(r.filename, "/a b/c.php");
  EXPECT_EQ(r.basename, "c.php");
  EXPECT_EQ(r.query_string, "x=%41+1&y&=z");
  ASSERT_EQ(r.args_get.size(), 3u);
  EXPECT_EQ(r.args_get[0].value, "A 1");
  EXPECT_EQ(r.args_get[1].key, "y");
  EXPECT_EQ(r.args_get[2].key, "");
  ASSERT_EQ(r.cookies.size(), 3u);  // empty names are skipped
  EXPECT_EQ(r.cookies[1].key, "b");
  EXPECT_EQ(r.cookies[2].value, "x=y");
  Request c = request("CONNECT www.example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_FALSE(c.has_basename);  // a target without '/' has no basename
}

TEST(RequestModel, BodiesBecomeArgumentsByTheirProcessor) {
  const std::string mp =
      "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.php\"\r\n\r\n<?php\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\nhi\r\n--b--\r\n";
  Request m = request(
      "POST / HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=\"b\"\r\n"
      "Content-Length: " +
      std::to_string(mp.size()) + "\r\n\r\n" + mp);
  m.process_body({});
  ASSERT_EQ(m.files.size(), 1u);
  EXPECT_EQ(m.files[0].value, "x.php");
  EXPECT_EQ(m.files_sizes[0].value, "5");
  ASSERT_EQ(m.args_post.size(), 1u);
  EXPECT_EQ(m.args_post[0].value, "hi");
  EXPECT_EQ(m.multipart_boundary_quoted, 1);
  EXPECT_EQ(m.multipart_strict_error, 1);  // a quoted boundary is not strict
  EXPECT_EQ(m.reqbody_error, 0);

  const std::string js = "{\"a\":[1,{\"b\":\"c\"}],\"d\":null}  ";
  Request j = request("POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(js.size()) + "\r\n\r\n" + js);
  j.processor = BodyProcessor::kJson;
  j.process_body({});
  ASSERT_EQ(j.args_post.size(), 3u);
  EXPECT_EQ(j.args_post[0].key, "json.a.array_0");
  EXPECT_EQ(j.args_post[1].key, "json.a.array_1.b");
  EXPECT_EQ(j.args_post[2].key, "json.d");

  Request deep = request("POST / HTTP/1.1\r\nContent-Length: 200\r\n\r\n" + std::string(200, '['));
  deep.processor = BodyProcessor::kJson;
  deep.process_body({});
  EXPECT_EQ(deep.reqbody_error, 1);  // nested deeper than the limit
}

TEST(RequestModel, XmlEntitiesAreNeverLoaded) {
  std::string secret = testing::TempDir() + "/mamori-xxe-secret";
  {
    std::FILE* f = std::fopen(secret.c_str(), "w");
    std::fputs("TOPSECRET", f);
    std::fclose(f);
  }
  std::string body = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://" + secret +
                     "\">]><r a=\"v\">t&x;u</r>";
  Request x = request("POST / HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body);
  x.processor = BodyProcessor::kXml;
  x.process_body({});
  ASSERT_EQ(x.xml_text.size(), 1u);
  EXPECT_EQ(x.xml_text[0].find("TOPSECRET"), std::string::npos);
  EXPECT_NE(x.xml_text[0].find('t'), std::string::npos);
  ASSERT_EQ(x.xml_attrs.size(), 1u);
  EXPECT_EQ(x.xml_attrs[0], "v");
  std::filesystem::remove(secret);
}

// An engine from rule text, and the rule ids that fire on a raw request.
struct Rules {
  std::unique_ptr<Engine> eng;
  explicit Rules(const std::string& rules) {
    auto rs = parse_rules("SecRuleEngine On\nSecDefaultAction \"phase:2,log,pass\"\n" + rules,
                          "t.conf", {});
    EXPECT_TRUE(rs.has_value()) << (rs ? "" : rs.error().message);
    auto e = Engine::build(std::move(*rs));
    EXPECT_TRUE(e.has_value());
    eng = std::move(*e);
  }
  Verdict on(const std::string& raw) const { return eng->evaluate_raw(raw, Connection{}); }
  std::vector<int64_t> ids(const std::string& raw) const {
    std::vector<int64_t> out;
    for (const auto& m : on(raw).matches) out.push_back(m.rule_id);
    return out;
  }
};

const char* kGet = "GET /p?a=1&b=two&c=3 HTTP/1.1\r\nHost: h\r\nUser-Agent: UA\r\n\r\n";

TEST(Engine, SetvarRunsForEveryMatchAndChainsNeedEveryLink) {
  Rules r(
      "SecRule ARGS \"@rx ^\\d$\" \"id:1,phase:1,pass,nolog,setvar:tx.n=+1\"\n"
      "SecRule TX:n \"@eq 2\" \"id:2,phase:1,pass,log\"\n"
      "SecRule ARGS:b \"@streq two\" \"id:3,phase:1,pass,log,chain\"\n"
      "  SecRule REQUEST_HEADERS:user-agent \"@streq UA\" \"chain\"\n"
      "  SecRule REQUEST_METHOD \"@streq POST\"\n"
      "SecRule ARGS:B \"@streq two\" \"id:4,phase:1,pass,log,chain\"\n"
      "  SecRule REQUEST_HEADERS:User-Agent \"@streq UA\"\n");
  EXPECT_EQ(r.ids(kGet), (std::vector<int64_t>{2, 4}));  // keys match in any case
}

TEST(Engine, SkipAfterStopsAtTheMarkerInEachPhase) {
  Rules r(
      "SecAction \"id:1,phase:1,pass,nolog,skipAfter:M\"\n"
      "SecAction \"id:2,phase:1,pass,log\"\n"
      "SecAction \"id:3,phase:2,pass,log\"\n"
      "SecMarker M\n"
      "SecAction \"id:4,phase:1,pass,log\"\n");
  EXPECT_EQ(r.ids(kGet), (std::vector<int64_t>{4, 3}));
}

TEST(Engine, CtlRemovesTargetsAndRulesForThisRequestOnly) {
  Rules r(
      "SecRule REQUEST_FILENAME \"@streq /p\" "
      "\"id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=10;ARGS:b,ctl:ruleRemoveById=11\"\n"
      "SecRule ARGS \"@rx ^two$\" \"id:10,phase:2,pass,log\"\n"
      "SecRule ARGS \"@rx ^two$\" \"id:11,phase:2,pass,log\"\n"
      "SecRule ARGS|!ARGS:a \"@rx ^1$\" \"id:12,phase:2,pass,log\"\n");
  EXPECT_TRUE(r.ids(kGet).empty());
  EXPECT_EQ(r.ids("GET /q?b=two HTTP/1.1\r\n\r\n"), (std::vector<int64_t>{10, 11}));
}

TEST(Engine, DenyStopsThePhaseBlockFollowsTheDefaultAndLoggingStillRuns) {
  Rules r(
      "SecRule ARGS:a \"@eq 1\" \"id:1,phase:2,block,log\"\n"
      "SecRule ARGS:b \"@pm xx TW\" "
      "\"id:2,phase:2,deny,status:406,log,capture,setvar:tx.m=%{tx.0}\"\n"
      "SecAction \"id:3,phase:2,pass,log\"\n"
      "SecRule TX:m \"@streq tw\" \"id:4,phase:5,pass,log\"\n");
  Verdict v = r.on(kGet);
  EXPECT_TRUE(v.blocked);
  EXPECT_EQ(v.status, 406);
  EXPECT_EQ(v.rule_id, 2);
  std::vector<int64_t> ids;
  for (const auto& m : v.matches) ids.push_back(m.rule_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 4}));  // @pm ignores case; TX:0 is the phrase
  EXPECT_EQ(v.matches[0].variable, "ARGS:a");
}

TEST(Engine, OperatorsAndMacros) {
  Rules r(
      "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.allowed=|GET| |HEAD|\"\n"
      "SecRule REQUEST_METHOD \"!@within %{tx.allowed}\" \"id:2,phase:1,pass,log\"\n"
      "SecRule &ARGS \"@ge 3\" \"id:3,phase:1,pass,log\"\n"
      "SecRule ARGS:c \"@validateByteRange 48-50\" \"id:4,phase:1,pass,log\"\n"
      "SecRule REMOTE_ADDR \"@ipMatch 127.0.0.0/8,::1\" \"id:5,phase:1,pass,log\"\n"
      "SecRule QUERY_STRING \"@validateUrlEncoding\" \"id:6,phase:1,pass,log\"\n"
      "SecRule ARGS:b \"@rx W\" "
      "\"id:7,phase:1,pass,log,t:none,t:uppercase,msg:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'\"\n");
  Verdict v = r.on(kGet);
  std::vector<int64_t> ids;
  for (const auto& m : v.matches) ids.push_back(m.rule_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{3, 4, 5, 7}));
  EXPECT_EQ(v.matches.back().msg, "ARGS:b=TWO");
  EXPECT_EQ(r.ids("PUT /p?x=%zz HTTP/1.1\r\n\r\n"), (std::vector<int64_t>{2, 5, 6}));
}

TEST(Engine, RequestsTheParserRefusesAreBlockedWithItsStatus) {
  Rules r("SecAction \"id:1,phase:1,pass,log\"\n");
  Verdict v = r.on("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(v.blocked);
  EXPECT_EQ(v.status, 400);
  EXPECT_TRUE(v.matches.empty());
  EXPECT_FALSE(v.parse_error.empty());
}

TEST(Engine, BodyProcessorChosenInPhaseOne) {
  Rules r(
      "SecRule REQUEST_HEADERS:Content-Type \"^application/json\" "
      "\"id:1,phase:1,pass,nolog,t:lowercase,ctl:requestBodyProcessor=JSON\"\n"
      "SecRule ARGS:json.user.name \"@streq x\" \"id:2,phase:2,pass,log\"\n"
      "SecRule REQBODY_ERROR \"!@eq 0\" \"id:3,phase:2,deny,log\"\n");
  std::string body = "{\"user\":{\"name\":\"x\"}}";
  std::string head = "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ";
  EXPECT_EQ(r.ids(head + std::to_string(body.size()) + "\r\n\r\n" + body),
            (std::vector<int64_t>{2}));
  EXPECT_EQ(r.ids(head + "3\r\n\r\n{\"a"), (std::vector<int64_t>{3}));
  EXPECT_TRUE(r.ids(head + "0\r\n\r\n").empty());  // an empty JSON body is not an error
}

// Debian's CRS at paranoia level 1 as `waf test` loads it, built once for the CRS tests
// (nullptr, with a failure recorded, when it does not load).
const Engine* crs_pl1() {
  static std::unique_ptr<Engine> eng = []() -> std::unique_ptr<Engine> {
    auto rs = load_engine_rules({}, 1);
    if (!rs) {
      ADD_FAILURE() << rs.error().message;
      return nullptr;
    }
    auto e = Engine::build(std::move(*rs));
    if (!e) {
      ADD_FAILURE() << e.error().message;
      return nullptr;
    }
    return std::move(*e);
  }();
  return eng.get();
}

// Debian's CRS at paranoia level 1, whole, on a few requests an operator would try first.
TEST(Crs, ParanoiaLevelOneBlocksTheClassicsAndPassesAPlainForm) {
  const Engine* eng = crs_pl1();
  ASSERT_NE(eng, nullptr);
  auto blocked = [&](const std::string& raw) { return eng->evaluate_raw(raw, {}).blocked; };
  const std::string h = " HTTP/1.1\r\nHost: shop\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n";
  EXPECT_TRUE(blocked("GET /item?id=1%27%20or%20%271%27%3D%271" + h + "\r\n"));
  EXPECT_TRUE(blocked("GET /s?q=%3Cscript%3Ealert(1)%3C/script%3E" + h + "\r\n"));
  EXPECT_TRUE(blocked("GET /dl?f=../../../../etc/passwd" + h + "\r\n"));
  EXPECT_TRUE(blocked("GET /x?c=;cat%20/etc/passwd" + h + "\r\n"));
  // The second sentence once tripped Mamori's HTML tokenizer ("one" read as an on… handler).
  std::string form =
      "name=Anna+Schmidt&email=anna%40example.com&message=Where+is+my+order%3F+The+left+one+is+"
      "half+a+size+smaller+than+the+right+one.+Please+leave+it+on+the+ground+floor";
  EXPECT_FALSE(blocked("POST /contact" + h +
                       "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                       std::to_string(form.size()) + "\r\n\r\n" + form));
  EXPECT_FALSE(blocked("GET /blog/2026/12/hello-world?utm_source=news&page=2" + h + "\r\n"));
}

// What an attack review of the engine got through, each blocked now (CRS PL1 as shipped).
TEST(Crs, EvasionsFromTheAttackReviewAreBlocked) {
  const Engine* eng = crs_pl1();
  ASSERT_NE(eng, nullptr);
  const std::string h = " HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n";
  const std::string sqli = "1' union select password from users--";
  auto post = [&](const std::string& ct, const std::string& body) {
    return "POST /" + h + "Content-Type: " + ct +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  auto part = [&](const std::string& head) {
    return post("multipart/form-data; boundary=xyz",
                "--xyz\r\n" + head + "\r\n\r\n" + sqli + "\r\n--xyz--\r\n");
  };
  std::string many_args;
  for (int i = 0; i < 1000; ++i) many_args += "a=1&";
  std::string nested;  // a shell command in 1000 nested subshells (a JIT stack error before)
  for (int i = 0; i < 1000; ++i) nested += "(+";
  nested += "uname+-a";
  for (int i = 0; i < 1000; ++i) nested += "+)";
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += "<a>";
  deep += sqli;
  for (int i = 0; i < 70; ++i) deep += "</a>";
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"nested subshells", "GET /?cmd=" + nested + h + "\r\n"},
      {"1000 empty pairs first",
       "GET /?" + std::string(1000, '&') + "q=1'+union+select+1--" + h + "\r\n"},
      {"1000 arguments first", post("application/x-www-form-urlencoded", many_args + "q=" + sqli)},
      {"filename*", part("Content-Disposition: form-data; name=\"q\"; filename*=a.txt")},
      {"filename =", part("Content-Disposition: form-data; name=\"q\"; filename =\"a.txt\"")},
      {"two dispositions", part("Content-Disposition: form-data; name=\"q\"\r\n"
                                "Content-Disposition: form-data; name=\"f\"; filename=\"a\"")},
      {"NUL in a name",
       part(std::string("Content-Disposition: form-data; name=\"q\0\"; filename=\"a\"", 55))},
      {"XML entity",
       post("application/xml", "<!DOCTYPE x [<!ENTITY e \"" + sqli + "\">]><x>&e;</x>")},
      {"XML 70 deep", post("application/xml", deep)},
      {"JSON after JSON", post("application/json", "{\"a\":1}{\"q\":\"" + sqli + "\"}")},
      {"pipelined",
       "POST /" + h + "Content-Length: 0\r\n\r\nGET /?q=1'+union+select+1--" + h + "\r\n"},
  };
  for (const auto& [what, raw] : cases) EXPECT_TRUE(eng->evaluate_raw(raw, {}).blocked) << what;
}

TEST(Engine, ARegexStoppedByItsLimitCountsAsAMatch) {
  // (a+)+$ on a run of a's and a b backtracks exponentially: the search stops at its limit,
  // and the rule fires rather than letting the padding switch it off. (The pattern is built
  // per request so that PCRE2 runs it: the prefilter would know there is no match.)
  Rules r(
      "SecAction \"id:1,phase:1,pass,nolog,setvar:tx.end=$\"\n"
      "SecRule ARGS \"@rx (a+)+%{tx.end}\" \"id:2,phase:1,pass,log\"\n");
  Verdict v = r.on("GET /?x=" + std::string(40, 'a') + "b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(v.matches.size(), 1u);
  EXPECT_GE(v.limits_hit, 1);
  EXPECT_TRUE(r.ids("GET /?x=" + std::string(40, 'b') + " HTTP/1.1\r\n\r\n").empty());
}

TEST(Detect, SqlInjectionShapes) {
  for (const char* a :
       {"1' or '1'='1", "' OR 1=1--", "admin'--", "1 union select 1,2,3",
        "' union all select null--", "1; drop table users--", "-1 or 1=1", "1) or (1=1",
        "x' and sleep(5)#", "1')) or 5634=4044--", "-6616) order by 1--", "1' rlike sleep(5)#",
        "select sleep(5)", "' if(benchmark(3000000,md5(1)),null,null)--", "email='||true"}) {
    std::string fp;
    EXPECT_TRUE(detect_sqli(a, &fp)) << a;
    EXPECT_FALSE(fp.empty()) << a;
  }
  for (const char* b :
       {"O'Reilly", "it's here or there", "select the best option from the list", "1-2",
        "2026-12-02", "anna@example.com", "this or that", "Tom & Jerry", "100% (sure)",
        "rock 'n' roll", "Where is my order?", "union station", "941140-2"}) {
    EXPECT_FALSE(detect_sqli(b, nullptr)) << b;
  }
}

TEST(Detect, ScriptInMarkupAttributesAndUrls) {
  for (const char* a :
       {"<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg/onload=alert(1)>",
        "\" onmouseover=\"alert(1)", "<a href=\"javascript:alert(1)\">x</a>", "javascript:alert(1)",
        "<iframe src=//evil>", "<div style=\"x:expression(alert(1))\">"}) {
    EXPECT_TRUE(detect_xss(a)) << a;
  }
  for (const char* b : {"<b>bold</b> and <i>italic</i>", "a < b and c > d", "x=\"quoted\" text",
                        "I <3 this", "see https://example.com/page?x=1", "onion rings"}) {
    EXPECT_FALSE(detect_xss(b)) << b;
  }
}

// The attack review of the engine's speed work (transaction buffers kept per thread, views of
// TX and MATCHED_VARS, the body's values numbered after the head's).
TEST(EngineState, SpareBuffersDoNotKeepALargeValue) {
  detail::TxNames names;
  const int slot = names.intern("0");
  auto b = detail::TxBuffers::acquire();
  b->tx.reset(names);
  b->tx.put("0", slot).assign(size_t{4} << 20, 'a');  // a 4 MB capture in tx.0
  b->scratch.emplace_back(size_t{1} << 20, 'b');
  detail::TxBuffers* kept = b.get();
  detail::TxBuffers::release(std::move(b));
  auto again = detail::TxBuffers::acquire();  // the same set, as the next request gets it
  ASSERT_EQ(again.get(), kept);
  again->tx.reset(names);
  EXPECT_EQ(again->tx.get("0", slot), nullptr);
  EXPECT_LE(again->tx.put("0", slot).capacity(), 4096u);
  EXPECT_TRUE(again->scratch.empty());
  detail::TxBuffers::release(std::move(again));
}

TEST(EngineState, MatchedVarsOfAChainLinkSurviveItsOwnMatches) {
  // The link reads MATCHED_VARS while each of its matches adds to them (40 > any small
  // capacity, so the vector moves): names and values must still be right (ASan in CI).
  Rules r(
      "SecRule ARGS \"@rx ^v\" \"id:1,phase:1,pass,log,chain\"\n"
      "  SecRule MATCHED_VARS \"@rx ^v\" \"setvar:tx.n=+1\"\n"
      "SecRule TX:n \"@eq 40\" \"id:2,phase:1,pass,log\"\n");
  std::string q;
  for (int i = 0; i < 40; ++i)
    q += (i ? "&" : "") + std::string("argument_name_") + std::to_string(i) + "=v" +
         std::to_string(i);
  Verdict v = r.on("GET /?" + q + " HTTP/1.1\r\n\r\n");
  std::vector<int64_t> ids;
  for (const auto& m : v.matches) ids.push_back(m.rule_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2}));
  ASSERT_FALSE(v.matches.empty());
  EXPECT_EQ(v.matches[0].variable, "ARGS:argument_name_0");
}

TEST(EngineState, ATxVariableErasedByAMatchIsNotReadAfterwards) {
  // Names built per request live in the map; a match that erases another one must not leave
  // the rule reading a freed name.
  Rules r(
      "SecRule ARGS \"@rx (.+)\" \"id:1,phase:1,pass,nolog,capture,setvar:'tx.dyn_%{tx.1}=x'\"\n"
      "SecRule TX:/^dyn_/ \"@rx x\" "
      "\"id:2,phase:1,pass,log,setvar:!tx.dyn_bbbbbbbbbbbbbbbbbbbbbb\"\n");
  Verdict v = r.on("GET /?a=aaaaaaaaaaaaaaaaaaaaaa&b=bbbbbbbbbbbbbbbbbbbbbb HTTP/1.1\r\n\r\n");
  ASSERT_EQ(v.matches.size(), 1u);
  EXPECT_EQ(v.matches[0].variable, "TX:dyn_aaaaaaaaaaaaaaaaaaaaaa");
}

TEST(EngineState, BodyValuesAreJudgedWhenTheBodyStoresWereFilledBefore) {
  // The body's values are numbered after the head's; a caller that filled a body store
  // before the body arrived must not make a new value reuse an old value's cached answer.
  Rules r(
      "SecRule ARGS_POST|ARGS_POST_NAMES \"@streq never\" \"id:2,phase:1,pass\"\n"  // caches phase
                                                                                    // 1
      "SecRule ARGS_POST \"@streq evil\" \"id:1,phase:2,deny,status:403\"\n");
  Request req = request(
      "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 6\r\n\r\nb=evil");
  req.args_post.push_back({"a", "fine"});
  Evaluation ev = r.eng->begin(req);
  EXPECT_TRUE(ev.finish().blocked);
}

TEST(EngineState, RulesOfOneChainWithOtherTargetsEachGetTheirOwnPrefilterAnswer) {
  // Rules of one transformation chain that read different targets have prefilter databases of
  // their own (slot 0 of one is not slot 0 of the other). A long value (its own scan, cached)
  // asked about by the first must not lend that answer to the second.
  Rules r(
      "SecRule ARGS \"@rx alpha\" \"id:1,phase:1,pass,log,t:none,t:lowercase\"\n"
      "SecRule ARGS|REQUEST_HEADERS \"@rx bravo\" \"id:2,phase:1,pass,log,t:none,t:lowercase\"\n"
      "SecRule ARGS \"@rx charlie\" \"id:3,phase:1,pass,log,t:none,t:lowercase\"\n");
  const std::string filler(3000, 'x');  // beyond the short values given to PCRE2 directly
  Verdict v = r.on("GET /?a=" + filler + "BRAVO&b=" + filler +
                   "ALPHA HTTP/1.1\r\n"
                   "X-Note: charlie\r\n\r\n");
  std::vector<int64_t> ids;
  for (const auto& m : v.matches) ids.push_back(m.rule_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2}));  // 3 reads ARGS only: the header is not its
}

}  // namespace
}  // namespace mamori::waf
