// The module list of `mamori scan`: which modules run (--skip / --only and their needs), how a
// failure is taken, and what each scope records (a module left out keeps its findings).
#include "scan/scan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/module.h"
#include "core/text.h"
#include "inventory/inventory.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace mamori::scan {
namespace {

std::string modes(const std::vector<Step>& steps) {
  std::string out;
  for (const auto& s : steps)
    out += std::string(s.module->name()) + "=" +
           (s.mode == Step::Mode::kReport  ? "report"
            : s.mode == Step::Mode::kFacts ? "facts"
                                           : "skip") +
           " ";
  return out;
}

TEST(Plan, BuiltInListRunsEverythingInItsOrder) {
  auto modules = builtin_modules();
  auto p = plan(modules, {}, {});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(modes(*p), "inventory=report vuln=report fim=report audit=report guard=report ");
  for (const auto& m : modules) EXPECT_FALSE(m->summary().empty()) << m->name();
}

TEST(Plan, OnlyPullsInWhatAModuleNeedsAsFacts) {
  auto modules = builtin_modules();
  auto p = plan(modules, {}, {"vuln"});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(modes(*p), "inventory=facts vuln=report fim=skip audit=skip guard=skip ");
  p = plan(modules, {}, {"audit", "inventory"});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(modes(*p), "inventory=report vuln=skip fim=skip audit=report guard=skip ");
  p = plan(modules, {"fim", "audit"}, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(modes(*p), "inventory=report vuln=report fim=skip audit=skip guard=report ");
}

TEST(Plan, UnknownNamesAndSkippingWhatIsNeededAreRefused) {
  auto modules = builtin_modules();
  auto p = plan(modules, {"waf"}, {});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message,
            "--skip waf: no such module (modules: inventory, vuln, fim, audit, guard)");
  p = plan(modules, {"inventory"}, {});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message, "--skip inventory: vuln needs it (skip vuln too)");
  EXPECT_TRUE(plan(modules, {"inventory", "vuln"}, {}).has_value());
  EXPECT_FALSE(plan(modules, {"fim"}, {"audit"}).has_value());
}

// A module made of parts for the tests.
class Fake final : public Module {
 public:
  Fake(std::string name, std::string scope, bool required = false)
      : name_(std::move(name)), scope_(std::move(scope)), required_(required) {}
  std::string_view name() const override { return name_; }
  std::string_view title() const override { return title_; }
  std::string_view summary() const override { return "a fake"; }
  std::string_view scope() const override { return scope_; }
  bool required() const override { return required_; }
  std::vector<std::string_view> needs() const override {
    return std::vector<std::string_view>(needs_.begin(), needs_.end());
  }
  std::string not_applicable(const ScanContext&) const override { return not_here_; }
  Result<ModuleResult> run(const ScanContext& ctx) override {
    ++runs;
    seen_inventory = ctx.inventory != nullptr;
    if (!error_.empty()) return Error::invalid(error_);
    ModuleResult r;
    for (const auto& a : assets_) {
      Finding f;
      f.module = name_;
      f.check = "c";
      f.asset = a;
      f.title = a;
      if (fingerprints_) assign_fingerprint(f);
      r.findings.push_back(f);
    }
    r.warnings = {name_ + " warned"};
    if (provides_inventory_) r.inventory = std::make_shared<inventory::Inventory>();
    r.partial = partial_;
    r.checks_undecided = undecided_;
    if (partial_) r.notices = {name_ + " could not read everything"};
    return r;
  }
  std::string name_, scope_, title_ = "fake check", error_, not_here_;
  bool required_ = false, provides_inventory_ = false, seen_inventory = false;
  std::vector<std::string> assets_, needs_;
  bool partial_ = false, fingerprints_ = true;
  std::vector<std::string> undecided_;
  int runs = 0;
};

class RunTest : public testing_support::TempStoreTest {
 protected:
  Result<ScanRun> go(const std::vector<Step>& steps) {
    ScanContext ctx{root_, "h1", 1800000000, clock_, options_, owners_, store_.get()};
    return run(steps, ctx, /*progress=*/false);
  }
  Root root_{"/nonexistent-root"};
  SystemClock clock_;
  ScanOptions options_;
  std::vector<OwnerRule> owners_;
};

TEST_F(RunTest, OptionalFailuresAreWarningsRequiredOnesFailTheScan) {
  Fake a("a", "scan", /*required=*/true), b("b", "b"), c("c", "c");
  a.provides_inventory_ = true;
  a.assets_ = {"x"};
  b.error_ = "cannot read /etc/b";
  b.title_ = "b check";
  c.not_here_ = "nothing to do here";
  auto r = go({{&a}, {&b}, {&c}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->warnings,
            (std::vector<std::string>{"a warned", "b check skipped: cannot read /etc/b"}));
  EXPECT_EQ(r->details, (std::vector<std::string>{"c: not run: nothing to do here"}));
  EXPECT_EQ(c.runs, 0);
  ASSERT_EQ(r->scopes.size(), 1u);  // b failed, c had nothing to do: neither is recorded
  EXPECT_EQ(r->scopes[0].input.scope, "scan");
  EXPECT_TRUE(r->inventory);
  a.error_ = "dpkg status unreadable";
  r = go({{&a}, {&b}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "dpkg status unreadable");
}

TEST_F(RunTest, FactsOnlyModulesFeedTheOthersButReportNothing) {
  Fake inv("inv", "scan"), user("user", "user");
  inv.provides_inventory_ = true;
  inv.assets_ = {"pkg"};
  user.assets_ = {"u"};
  auto r = go({{&inv, Step::Mode::kFacts}, {&user}});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(user.seen_inventory);
  ASSERT_EQ(r->scopes.size(), 1u);
  EXPECT_EQ(r->scopes[0].input.scope, "user");
  EXPECT_EQ(r->warnings, (std::vector<std::string>{"user warned"}));
}

// Two modules share the scope "scan": leaving one out must not mark its findings fixed.
TEST_F(RunTest, AModuleLeftOutKeepsItsFindingsInASharedScope) {
  Fake inv("inv", "scan"), vul("vul", "scan"), other("other", "other");
  inv.assets_ = {"i1", "i2"};
  vul.assets_ = {"v1"};
  other.assets_ = {"o1"};
  auto r = go({{&inv}, {&vul}, {&other}});
  ASSERT_TRUE(r.has_value());
  auto rec = record(*store_, *r, "test", clock_);
  ASSERT_TRUE(rec.has_value()) << rec.error().message;
  EXPECT_EQ(rec->scan.scope, "scan");
  ASSERT_EQ(rec->findings.size(), 4u);  // the main scope first, then the others
  EXPECT_EQ(rec->findings[0].asset, "i1");
  EXPECT_EQ(rec->findings[3].asset, "o1");

  inv.assets_ = {"i1"};  // i2 is gone: fixed; v1 was not looked at: as it was
  r = go({{&inv}, {&vul, Step::Mode::kSkip}, {&other, Step::Mode::kSkip}});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->scopes.size(), 1u);
  EXPECT_EQ(r->scopes[0].input.modules_not_run, (std::vector<std::string>{"vul"}));
  rec = record(*store_, *r, "test", clock_);
  ASSERT_TRUE(rec.has_value());
  std::map<std::string, FindingState> states;
  for (const auto& f : rec->findings) states[f.asset] = f.state;
  EXPECT_EQ(states["i1"], FindingState::kOpen);
  EXPECT_EQ(states["i2"], FindingState::kFixed);
  EXPECT_EQ(states.count("v1"), 0u);
  auto all = store_->current_findings("h1", false);
  ASSERT_TRUE(all.has_value());
  std::map<std::string, FindingState> now;
  for (const auto& f : *all) now[f.asset] = f.state;
  EXPECT_EQ(now["v1"], FindingState::kNew);  // untouched: neither fixed nor seen again
  EXPECT_EQ(now["o1"], FindingState::kNew);
  EXPECT_EQ(now.count("i2"), 0u);
}

// Facts collected only for another module (--only vuln) that are incomplete (an unreadable
// package database) still make that module's record partial: nothing looks fixed for it, and
// the notice is said.
TEST_F(RunTest, IncompleteFactsMakeTheirUsersRecordsPartial) {
  Fake inv("inv", "scan"), vul("vul", "scan");
  inv.partial_ = true;
  vul.needs_ = {"inv"};
  vul.assets_ = {"v1"};
  auto r = go({{&inv, Step::Mode::kFacts}, {&vul}});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->scopes.size(), 1u);
  EXPECT_TRUE(r->scopes[0].input.partial);
  EXPECT_EQ(r->notices, (std::vector<std::string>{"inv could not read everything"}));
  inv.partial_ = false;
  r = go({{&inv, Step::Mode::kFacts}, {&vul}});
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->scopes[0].input.partial);
}

// A module that leaves fingerprints empty does not lose findings: each one gets
// fingerprint(module, check, asset) before it is recorded.
TEST_F(RunTest, FindingsWithoutAFingerprintGetOne) {
  Fake m("m", "m");
  m.fingerprints_ = false;
  m.assets_ = {"a1", "a2"};
  auto r = go({{&m}});
  ASSERT_TRUE(r.has_value());
  auto rec = record(*store_, *r, "test", clock_);
  ASSERT_TRUE(rec.has_value()) << rec.error().message;
  ASSERT_EQ(rec->findings.size(), 2u);
  EXPECT_EQ(rec->findings[0].fingerprint, fingerprint("m", "c", "a1"));
  EXPECT_EQ(rec->findings[1].fingerprint, fingerprint("m", "c", "a2"));
}

// A check that could not be decided this time (its input missing) keeps its findings; the
// module's other checks still mark theirs fixed.
TEST_F(RunTest, UndecidedChecksKeepTheirFindings) {
  Fake m("m", "m");
  m.assets_ = {"a1", "a2"};
  auto first = go({{&m}});
  ASSERT_TRUE(first.has_value() && record(*store_, *first, "test", clock_).has_value());
  m.assets_ = {};
  m.undecided_ = {"c"};
  auto second = go({{&m}});
  ASSERT_TRUE(second.has_value());
  auto rec = record(*store_, *second, "test", clock_);
  ASSERT_TRUE(rec.has_value());
  EXPECT_TRUE(rec->findings.empty());  // nothing fixed
  m.undecided_ = {};
  auto third = go({{&m}});
  ASSERT_TRUE(third.has_value());
  rec = record(*store_, *third, "test", clock_);
  ASSERT_TRUE(rec.has_value());
  ASSERT_EQ(rec->findings.size(), 2u);
  EXPECT_EQ(rec->findings[0].state, FindingState::kFixed);
  // "*": every check of the module
  m.assets_ = {"b1"};
  auto fourth = go({{&m}});
  ASSERT_TRUE(fourth.has_value() && record(*store_, *fourth, "test", clock_).has_value());
  m.assets_ = {};
  m.undecided_ = {"*"};
  auto fifth = go({{&m}});
  ASSERT_TRUE(fifth.has_value());
  rec = record(*store_, *fifth, "test", clock_);
  ASSERT_TRUE(rec.has_value());
  EXPECT_TRUE(rec->findings.empty());
}

// The module tables of docs/scan.md and docs/architecture.md are the list, in its order.
TEST(Docs, ModuleTablesAreTheBuiltInList) {
  std::vector<std::string> names;
  std::vector<std::string> scopes;
  for (const auto& m : builtin_modules()) {
    names.emplace_back(m->name());
    scopes.emplace_back(m->scope());
  }
  for (const char* page : {"docs/scan.md", "docs/architecture.md"}) {
    std::ifstream in(std::string(MAMORI_SOURCE_DIR) + "/" + page);
    ASSERT_TRUE(in.good()) << page;
    std::vector<std::string> rows, row_scopes;
    std::string line;
    bool in_table = false;
    while (std::getline(in, line)) {
      if (line.starts_with("| module |")) {
        in_table = true;
        continue;
      }
      if (!in_table) continue;
      if (!line.starts_with("|")) break;
      auto cells = split(line, '|');
      std::string first(trim(cells[1]));
      if (first.starts_with("---")) continue;
      rows.push_back(first.substr(1, first.size() - 2));  // `name`
      std::string scope(trim(cells[line.find("`src/") != std::string::npos ? 3 : 2]));
      row_scopes.push_back(scope.substr(1, scope.size() - 2));
    }
    EXPECT_EQ(rows, names) << page;
    EXPECT_EQ(row_scopes, scopes) << page;
  }
}

}  // namespace
}  // namespace mamori::scan
