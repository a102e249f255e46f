// The inventory as a module of `mamori scan`: collects the packages (the facts every later
// module reads) and reports what it can say from them alone.
#include "core/module.h"

#include <memory>

#include "core/progress.h"
#include "inventory/checks.h"
#include "inventory/inventory.h"

namespace mamori::inventory {
namespace {

class InventoryModule final : public Module {
 public:
  std::string_view name() const override { return "inventory"; }
  std::string_view title() const override { return "inventory"; }
  std::string_view summary() const override {
    return "installed software (dpkg, rpm, apk, CMS, lockfiles): systems past end of support, "
           "remote-access and CMS software nobody owns, package databases that cannot be read";
  }
  std::string_view scope() const override { return "scan"; }
  bool required() const override { return true; }

  Result<ModuleResult> run(const ScanContext& ctx) override {
    InventoryOptions io;
    for (const auto& w : ctx.options.webroots) io.webroots.emplace_back(w);
    for (const auto& p : ctx.options.paths) io.paths.emplace_back(p);
    io.discover_webroots = ctx.options.discover_webroots;
    if (ctx.progress) io.on_progress = [p = ctx.progress](const std::string& s) { p->update(s); };
    auto inv = collect_inventory(ctx.root, io);
    if (!inv) return inv.error();
    ModuleResult r;
    r.findings = analyze_inventory(*inv, ctx.owners, ctx.now);
    for (auto& f : source_problem_findings(*inv, ctx.host)) r.findings.push_back(std::move(f));
    r.warnings = inv->warnings;
    for (const auto& pr : inv->problems) r.notices.push_back(pr.message);
    // An inventory with unreadable parts must not make software look removed.
    r.partial = !inv->problems.empty();
    r.inventory = std::make_shared<const Inventory>(std::move(*inv));
    return r;
  }
};

}  // namespace

std::unique_ptr<Module> make_module() { return std::make_unique<InventoryModule>(); }

}  // namespace mamori::inventory
