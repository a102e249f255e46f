// SecLang into the rule model: the grammar on small texts, and OWASP CRS 3.3.4 as Debian ships
// it (package modsecurity-crs, installed by scripts/install-deps.sh --test) loaded whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "support/temp_dir.h"
#include "waf/rules.h"
#include "waf/summary.h"
#include "waf/transform.h"

namespace mamori::waf {
namespace {

namespace fs = std::filesystem;
using testing_support::write_file;

RuleSet parse(const std::string& text) {
  auto rs = parse_rules(text, "t.conf", {});
  EXPECT_TRUE(rs.has_value()) << rs.error().message;
  return rs ? std::move(*rs) : RuleSet{};
}

std::string error_of(const std::string& text) {
  auto rs = parse_rules(text, "t.conf", {});
  EXPECT_FALSE(rs.has_value());
  return rs ? std::string() : rs.error().message;
}

const Rule* by_id(const RuleSet& rs, int64_t id) {
  for (const auto& r : rs.rules)
    if (r.id == id) return &r;
  return nullptr;
}

TEST(SecLang, TargetsOperatorAndActionsOfOneRule) {
  auto rs = parse(
      "SecRule REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|ARGS_NAMES|ARGS:'Id'|&TX:x|XML:/* \\\n"
      "  \"!@rx ^a\\\"b\" \\\n"
      "  \"id:1,phase:request,block,capture,t:none,t:urlDecodeUni,t:LOWERCASE,\\\n"
      "   msg:'it\\'s here',tag:'a',tag:'b',setvar:'tx.score=+%{tx.critical}',\\\n"
      "   setvar:!tx.gone,setvar:tx.flag,ctl:ruleRemoveTargetById=2;ARGS:pw,skipAfter:END\"\n"
      "SecMarker \"END\"\n");
  ASSERT_EQ(rs.rules.size(), 1u);
  const Rule& r = rs.rules[0];
  EXPECT_EQ(r.id, 1);
  EXPECT_EQ(r.phase, 2);
  ASSERT_EQ(r.targets.size(), 6u);
  EXPECT_EQ(r.targets[1].collection, Collection::kRequestCookies);
  EXPECT_TRUE(r.targets[1].exclude && r.targets[1].key_regex);
  EXPECT_EQ(r.targets[1].key, "__utm");
  EXPECT_EQ(r.targets[3].key, "id");  // keys match case-insensitively
  EXPECT_TRUE(r.targets[4].count);
  EXPECT_EQ(r.targets[5].collection, Collection::kXml);
  EXPECT_EQ(r.targets[5].key, "/*");  // an XPath, not a regular expression
  EXPECT_EQ(r.op.kind, OpKind::kRx);
  EXPECT_TRUE(r.op.negated);
  EXPECT_EQ(r.op.param, "^a\"b");
  EXPECT_EQ(r.transforms,
            (std::vector<Transform>{Transform::kUrlDecodeUni, Transform::kLowercase}));
  EXPECT_EQ(r.disruptive, Disruptive::kBlock);
  EXPECT_TRUE(r.capture);
  EXPECT_EQ(r.msg, "it's here");
  EXPECT_EQ(r.tags, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(r.setvars.size(), 3u);
  EXPECT_EQ(r.setvars[0].op, SetVar::Op::kAdd);
  EXPECT_EQ(r.setvars[0].name, "score");
  EXPECT_EQ(r.setvars[0].value, "%{tx.critical}");
  EXPECT_EQ(r.setvars[1].op, SetVar::Op::kDelete);
  EXPECT_EQ(r.setvars[2].value, "1");
  ASSERT_EQ(r.ctls.size(), 1u);
  EXPECT_EQ(r.ctls[0].kind, CtlKind::kRuleRemoveTargetById);
  EXPECT_EQ(r.skip_after, "END");
  ASSERT_EQ(rs.markers.size(), 1u);
  EXPECT_EQ(rs.markers[0].before_rule, 1u);
}

TEST(SecLang, ChainsDefaultActionsAndExceptions) {
  auto rs = parse(
      "SecDefaultAction \"phase:2,log,pass,t:lowercase\"\n"
      "SecRuleRemoveById 5-6\n"
      "SecRule ARGS \"@contains x\" \"id:3,chain,deny,status:403\"\n"
      "  SecRule REQUEST_METHOD \"@streq POST\" \"chain,t:none\"\n"
      "  SecRule ARGS_NAMES \"@beginsWith a\" \"setvar:tx.n=1\"\n"
      "SecRule ARGS \"@eq 1\" \"id:4,phase:2\"\n"
      "SecRule ARGS \"@eq 1\" \"id:5,phase:2\"\n"
      "SecAction \"id:6,phase:1,pass,nolog\"\n"
      "SecRuleUpdateTargetById 4 \"!ARGS:password\"\n");
  ASSERT_EQ(rs.rules.size(), 2u);  // 5 and 6 removed, before or after they were defined
  const Rule* r3 = by_id(rs, 3);
  ASSERT_NE(r3, nullptr);
  ASSERT_EQ(r3->chain.size(), 2u);
  EXPECT_EQ(r3->disruptive, Disruptive::kDeny);
  EXPECT_EQ(r3->status, 403);
  EXPECT_EQ(r3->transforms, (std::vector<Transform>{Transform::kLowercase}));  // the default's
  EXPECT_TRUE(r3->chain[0].transforms.empty());                                // t:none
  EXPECT_EQ(r3->chain[1].phase, 2);
  const Rule* r4 = by_id(rs, 4);
  ASSERT_NE(r4, nullptr);
  EXPECT_EQ(r4->disruptive, Disruptive::kPass);  // the default action's
  ASSERT_EQ(r4->targets.size(), 2u);
  EXPECT_TRUE(r4->targets[1].exclude);
  EXPECT_EQ(r4->targets[1].key, "password");
}

TEST(SecLang, MistakesNameTheFileAndLine) {
  EXPECT_EQ(error_of("\n\nSecRulez ARGS x \"id:1\"\n"), "t.conf:3: unknown directive 'SecRulez'");
  EXPECT_NE(
      error_of("SecRule ARGS \"@nope x\" \"id:1\"").find("t.conf:1: unknown operator '@nope'"),
      std::string::npos);
  EXPECT_NE(error_of("SecRule ARGZ \"x\" \"id:1\"").find("unknown variable 'ARGZ'"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"id:1,t:nope\"").find("unknown transformation"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"id:1,frobnicate\"").find("unknown action"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"id:1\nSecRule").find("not closed"), std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"id:1\"\nSecRule ARGS \"y\" \"id:1\"")
                .find("t.conf:2: id 1 "
                      "is used twice"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"phase:1\"").find("without an id"), std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"id:1,chain\"").find("ends inside a chain"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"@rx (a\" \"id:1\"").find("does not compile at offset 2"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"x\" \"id:1,chain\"\nSecRule ARGS \"y\" \"deny\"")
                .find("only the chain's first rule may disrupt"),
            std::string::npos);
  EXPECT_NE(error_of("SecRule ARGS \"@ipMatch 10.0.0.0/33\" \"id:1\"").find("not an address"),
            std::string::npos);
  EXPECT_NE(error_of("Include /etc/passwd").find("not allowed"), std::string::npos);
}

TEST(SecLang, WhatIsNotDoneIsSaidNotDropped) {
  auto rs = parse(
      "SecResponseBodyAccess On\n"
      "SecAuditEngine RelevantOnly\n"
      "SecRule RESPONSE_BODY \"@rx x\" \"id:1,phase:4,setvar:ip.n=+1\"\n"
      "SecRule REMOTE_ADDR \"@rbl sbl.example\" \"id:2\"\n");
  EXPECT_EQ(rs.rules.size(), 2u);
  // response access, phase 4, RESPONSE_BODY, setvar on IP, @rbl
  EXPECT_EQ(unsupported_count(rs), 5u);
  size_t ignored = 0;
  for (const auto& i : rs.issues) ignored += i.kind == Issue::Kind::kIgnored;
  EXPECT_EQ(ignored, 1u);
  for (const auto& i : rs.issues) {
    if (i.text.find("RESPONSE_BODY") != std::string::npos) {
      EXPECT_EQ(i.rule_id, 1);
    }
  }
}

class Files : public testing_support::TempDirTest {};

TEST_F(Files, IncludesGlobsDataFilesAndLoops) {
  write_file(dir_ / "main.conf", "Include rules/*.conf\n");
  write_file(dir_ / "rules/a.conf",
             "SecRule ARGS \"@pmFromFile words.data\" \"id:1,phase:2,pass\"\n");
  write_file(dir_ / "rules/words.data", "# comment\n\n  select  \nunion\n");
  write_file(dir_ / "rules/b.conf", "SecAction \"id:2,phase:1,pass\"\n");
  auto rs = load_rules({(dir_ / "main.conf").string()}, {});
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  ASSERT_EQ(rs->rules.size(), 2u);
  EXPECT_EQ(rs->rules[0].op.phrases, (std::vector<std::string>{"select", "union"}));
  EXPECT_EQ(rs->files.size(), 3u);
  write_file(dir_ / "loop.conf", "Include loop.conf\n");
  auto loop = load_rules({(dir_ / "loop.conf").string()}, {});
  ASSERT_FALSE(loop.has_value());
  EXPECT_NE(loop.error().message.find("includes itself"), std::string::npos);
  // a FIFO named as a rule file is refused, not opened
  ASSERT_EQ(::mkfifo((dir_ / "fifo.conf").c_str(), 0600), 0);
  auto fifo = load_rules({(dir_ / "fifo.conf").string()}, {});
  ASSERT_FALSE(fifo.has_value());
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
}

// OWASP CRS 3.3.4 from Debian: every rule id written in the files is loaded, and a few rules
// read back as their text says.
TEST(Crs, DebiansRuleSetLoadsWhole) {
  const std::string dir = "/usr/share/modsecurity-crs/rules";
  const std::string setup = "/etc/modsecurity/crs/crs-setup.conf";
  ASSERT_TRUE(fs::exists(dir)) << "install modsecurity-crs (scripts/install-deps.sh --test)";
  auto rs = load_rules({setup, dir}, {});
  ASSERT_TRUE(rs.has_value()) << rs.error().message;
  // the ids in the files, read with a regular expression over the text (comments left out)
  std::set<int64_t> written;
  std::regex id_re(R"(\bid:(\d+))");
  std::vector<std::string> files = {setup};
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".conf") files.push_back(e.path().string());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t") != std::string::npos &&
          line[line.find_first_not_of(" \t")] == '#')
        continue;
      for (std::sregex_iterator it(line.begin(), line.end(), id_re), end; it != end; ++it)
        written.insert(std::stoll((*it)[1]));
    }
  }
  std::set<int64_t> loaded;
  for (const auto& r : rs->rules) loaded.insert(r.id);
  EXPECT_EQ(loaded, written);
  const Rule* sqli = by_id(*rs, 942100);
  ASSERT_NE(sqli, nullptr);
  EXPECT_EQ(sqli->op.kind, OpKind::kDetectSqli);
  EXPECT_EQ(sqli->phase, 2);
  EXPECT_EQ(sqli->disruptive, Disruptive::kBlock);
  bool utm_excluded = false;
  for (const auto& t : sqli->targets) utm_excluded |= t.exclude && t.key == "__utm";
  EXPECT_TRUE(utm_excluded);
  const Rule* eval = by_id(*rs, 949110);
  ASSERT_NE(eval, nullptr);
  EXPECT_EQ(eval->disruptive, Disruptive::kDeny);
  // what CRS asks that Mamori does not do is said, and nothing else is
  EXPECT_GT(unsupported_count(*rs), 0u);
  for (const auto& i : rs->issues) {
    if (i.kind != Issue::Kind::kUnsupported) continue;
    EXPECT_TRUE(i.text.find("persistent") != std::string::npos || i.text.find("IP:") == 0 ||
                i.text.find("GEO:") == 0 || i.text.find("RESPONSE_") == 0 ||
                i.text.find("@rbl") == 0 || i.text.find("@geoLookup") == 0 ||
                i.text.find("(the response)") != std::string::npos)
        << i.file << ":" << i.line << " " << i.text;
  }
}

}  // namespace
}  // namespace mamori::waf

namespace mamori::waf {
namespace {

// The engine keeps a view instead of a transformed copy when unchanged() says so: it must
// never say so of a value the transformation changes.
TEST(Transform, UnchangedNeverHidesAChange) {
  const std::string inputs[] = {
      "plain words", "Mixed Case",  "a%41b",   "a+b",
      "x&amp;y",     "\\u0041",     "a\\62 c", std::string("nul\0byte", 8),
      "tab\there",   "two  spaces", "end ",    " start",
      "caf\xc3\xa9", "\xa0nbsp",    "/*c*/",   "",
      "a",           "%",           "&",       "\\"};
  int kept = 0;
  for (int t = 0; t <= static_cast<int>(Transform::kParityZero7bit); ++t) {
    for (const auto& in : inputs) {
      if (!unchanged(static_cast<Transform>(t), in)) continue;
      ++kept;
      EXPECT_EQ(waf::apply(static_cast<Transform>(t), in), in) << "transform " << t << " on " << in;
    }
  }
  EXPECT_GT(kept, 40) << "the common transformations recognise values they leave alone";
  EXPECT_TRUE(unchanged(Transform::kUrlDecodeUni, "trail running shoes"));
  EXPECT_FALSE(unchanged(Transform::kUrlDecodeUni, "trail+running"));
  EXPECT_FALSE(unchanged(Transform::kLowercase, "Trail"));
}

}  // namespace
}  // namespace mamori::waf
