#include "report/report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mamori::report {
namespace {

Report sample() {
  Report r;
  r.host = "web01";
  r.tool_version = "0.1.0";
  r.scan = ScanInfo{7, "scan", 1000, 1001, "Debian GNU/Linux 10 (buster)", 3};
  r.packages = {{"deb", 2}, {"npm", 1}};
  Finding a;
  a.module = "inventory";
  a.check = "os-end-of-support";
  a.asset = "os:debian-10";
  a.severity = Severity::kHigh;
  a.state = FindingState::kNew;
  a.title = "Debian 10 no longer receives security updates";
  a.evidence = "ended 2024-06-30";
  a.remediation = "upgrade";
  a.references = {"https://endoflife.date/debian"};
  assign_fingerprint(a);
  Finding b = a;
  b.check = "unowned-remote-access";
  b.asset = "pkg:deb/debian/xrdp";
  b.severity = Severity::kMedium;
  b.state = FindingState::kAccepted;
  b.accepted_reason = "lab only";
  b.owner = "vendor-x";
  b.title = "<script>alert(1)</script> \x1b[31m";
  assign_fingerprint(b);
  Finding c = a;
  c.check = "unowned-cms";
  c.asset = "pkg:wordpress/core/wordpress?location=/var/www";
  c.severity = Severity::kMedium;
  c.state = FindingState::kFixed;
  c.fixed_at = 1001;
  assign_fingerprint(c);
  r.findings = {a, b, c};
  return r;
}

TEST(JsonReport, FollowsTheDocumentedContract) {
  auto j = nlohmann::json::parse(render_json(sample()));
  EXPECT_EQ(j["host"], "web01");
  EXPECT_EQ(j["scan"]["id"], 7);
  ASSERT_EQ(j["findings"].size(), 3u);
  for (const auto& f : j["findings"]) {
    for (const char* k : {"fingerprint", "module", "check", "severity", "state", "asset", "title",
                          "evidence", "remediation", "references", "owner"})
      EXPECT_TRUE(f.contains(k)) << k;
    EXPECT_TRUE(f["references"].is_array());
  }
  EXPECT_EQ(j["findings"][0]["severity"], "high");
  EXPECT_EQ(j["findings"][0]["state"], "new");
  EXPECT_EQ(j["findings"][0]["owner"], "unassigned");
  EXPECT_EQ(j["findings"][1]["owner"], "vendor-x");
  EXPECT_EQ(j["findings"][1]["state"], "accepted");
  EXPECT_EQ(j["findings"][2]["fixed_at"], "1970-01-01T00:16:41Z");
  EXPECT_EQ(j["summary"]["by_severity"]["high"], 1);
  EXPECT_EQ(j["summary"]["by_severity"]["medium"], 1);  // the fixed one does not count
  EXPECT_EQ(j["summary"]["by_state"]["fixed"], 1);
  EXPECT_EQ(j["summary"]["unassigned_assets"], nlohmann::json::array({"os:debian-10"}));
  EXPECT_EQ(j["summary"]["packages"]["total"], 3);
}

TEST(TextReport, GroupsBySeverityAndEndsWithSummary) {
  std::string t = render_text(sample(), false);
  size_t high = t.find("HIGH"), medium = t.find("MEDIUM"), fixed = t.find("FIXED");
  ASSERT_NE(high, std::string::npos);
  ASSERT_NE(medium, std::string::npos);
  EXPECT_LT(high, medium);
  EXPECT_LT(medium, fixed);
  EXPECT_EQ(t.find('\x1b'), std::string::npos);  // no colour and no injected escapes
  EXPECT_NE(t.find("owner: unassigned"), std::string::npos);
  EXPECT_NE(t.find("Unassigned assets"), std::string::npos);
  EXPECT_NE(
      t.find(
          "2 findings: 0 critical, 1 high, 1 medium, 0 low, 0 info — 1 new, 1 fixed, 1 accepted"),
      std::string::npos)
      << t;
  std::string colored = render_text(sample(), true);
  EXPECT_NE(colored.find("\x1b[1;31m"), std::string::npos);
  EXPECT_EQ(colored.find("\x1b[31m"), std::string::npos);  // the title's escape stays neutralised
}

TEST(HtmlReport, SelfContainedAndEscaped) {
  std::string h = render_html(sample());
  EXPECT_EQ(h.find("<script>alert(1)"), std::string::npos);
  EXPECT_NE(h.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(h.find("src=\"http"), std::string::npos);
  EXPECT_EQ(h.find("href=\"http"), std::string::npos);
  EXPECT_NE(h.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(h.find("data-owner=\"unassigned\""), std::string::npos);
  EXPECT_NE(h.find("id=\"f-severity\""), std::string::npos);
}

TEST(SarifReport, CarriesLifecycleAndSuppressions) {
  auto j = nlohmann::json::parse(render_sarif(sample()));
  EXPECT_EQ(j["version"], "2.1.0");
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["rules"].size(), 3u);
  const auto& res = run["results"];
  ASSERT_EQ(res.size(), 3u);
  EXPECT_EQ(res[0]["level"], "error");
  EXPECT_EQ(res[0]["baselineState"], "new");
  EXPECT_EQ(res[1]["suppressions"][0]["justification"], "lab only");
  EXPECT_EQ(res[2]["baselineState"], "absent");
  EXPECT_EQ(res[0]["partialFingerprints"]["mamoriFingerprint/v1"],
            sample().findings[0].fingerprint);
}

TEST(InventoryReport, CycloneDxHasUniqueBomRefs) {
  InventoryView v;
  v.host = "h";
  Package p;
  p.ecosystem = kNpm;
  p.name = "lodash";
  p.version = "4.17.20";
  p.purl = "pkg:npm/lodash@4.17.20";
  v.packages = {p, p};
  auto j = nlohmann::json::parse(render_cyclonedx(v, "urn:uuid:x", "2026-01-01T00:00:00Z"));
  EXPECT_EQ(j["specVersion"], "1.5");
  ASSERT_EQ(j["components"].size(), 2u);
  EXPECT_NE(j["components"][0]["bom-ref"], j["components"][1]["bom-ref"]);
  auto inv = nlohmann::json::parse(render_inventory_json(v));
  EXPECT_TRUE(inv["packages"][0]["arch"].is_null());
  EXPECT_TRUE(inv["packages"][0]["source_name"].is_null());
}

}  // namespace
}  // namespace mamori::report
