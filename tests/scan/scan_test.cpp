// The module list of `mamori scan`: which modules run (--skip / --only and their needs), how a
// failure is taken, and what each scope records (a module left out keeps its findings).
#include "scan/scan.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/module.h"
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
      assign_fingerprint(f);
      r.findings.push_back(f);
    }
    r.warnings = {name_ + " warned"};
    if (provides_inventory_) r.inventory = std::make_shared<inventory::Inventory>();
    r.partial = partial_;
    if (partial_) r.notices = {name_ + " could not read everything"};
    return r;
  }
  std::string name_, scope_, title_ = "fake check", error_, not_here_;
  bool required_ = false, provides_inventory_ = false, seen_inventory = false;
  std::vector<std::string> assets_, needs_;
  bool partial_ = false;
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

}  // namespace
}  // namespace mamori::scan
