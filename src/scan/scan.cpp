// The list of built-in modules, and running and recording them (scan.h).
#include "scan/scan.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "audit/audit.h"
#include "core/progress.h"
#include "fim/trusted.h"
#include "guard/offline.h"
#include "inventory/inventory.h"
#include "vuln/vuln.h"

namespace mamori::scan {

std::vector<std::unique_ptr<Module>> builtin_modules() {
  std::vector<std::unique_ptr<Module>> m;
  m.push_back(inventory::make_module());
  m.push_back(vuln::make_module());
  m.push_back(fim::make_module());
  m.push_back(audit::make_module());
  m.push_back(guard::make_module());
  return m;
}

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string names(const std::vector<std::unique_ptr<Module>>& modules) {
  std::vector<std::string_view> n;
  for (const auto& m : modules) n.push_back(m->name());
  return fmt::format("{}", fmt::join(n, ", "));
}

}  // namespace

Result<std::vector<Step>> plan(const std::vector<std::unique_ptr<Module>>& modules,
                               const std::vector<std::string>& skip,
                               const std::vector<std::string>& only) {
  auto find = [&](std::string_view name) -> const Module* {
    for (const auto& m : modules)
      if (m->name() == name) return m.get();
    return nullptr;
  };
  for (const auto* list : {&skip, &only})
    for (const auto& n : *list)
      if (!find(n))
        return Error::invalid(fmt::format("{} {}: no such module (modules: {})",
                                          list == &skip ? "--skip" : "--only", n, names(modules)));
  if (!skip.empty() && !only.empty()) return Error::invalid("--skip and --only exclude each other");
  std::vector<Step> steps;
  for (const auto& m : modules) {
    Step s{m.get(), Step::Mode::kReport};
    if (!only.empty() && !contains(only, m->name())) s.mode = Step::Mode::kSkip;
    if (contains(skip, m->name())) s.mode = Step::Mode::kSkip;
    steps.push_back(s);
  }
  // What a module to run needs runs before it: pulled in as facts under --only, an error
  // under --skip (leaving out the inventory cannot quietly leave out the vulnerabilities).
  for (size_t i = steps.size(); i-- > 0;) {
    if (steps[i].mode == Step::Mode::kSkip) continue;
    for (auto need : steps[i].module->needs()) {
      auto it = std::find_if(steps.begin(), steps.begin() + static_cast<std::ptrdiff_t>(i),
                             [&](const Step& s) { return s.module->name() == need; });
      if (it == steps.begin() + static_cast<std::ptrdiff_t>(i))
        return Error::internal(fmt::format("module {} needs {}, which is not listed before it",
                                           steps[i].module->name(), need));
      if (it->mode != Step::Mode::kSkip) continue;
      if (contains(skip, need))
        return Error::invalid(fmt::format("--skip {}: {} needs it (skip {} too)", need,
                                          steps[i].module->name(), steps[i].module->name()));
      it->mode = Step::Mode::kFacts;
    }
  }
  return steps;
}

Result<ScanRun> run(const std::vector<Step>& steps, const ScanContext& base, bool progress) {
  ScanRun out;
  ScanContext ctx = base;
  std::shared_ptr<const vuln::VulnDb> db;
  std::set<std::string> partial_facts;  // modules whose facts are incomplete
  auto scope_of = [&](std::string_view scope) -> ScopeRun& {
    for (auto& s : out.scopes)
      if (s.input.scope == scope) return s;
    out.scopes.emplace_back();
    out.scopes.back().input.scope = std::string(scope);
    out.scopes.back().input.host = base.host;
    out.scopes.back().input.started_at = base.now;
    return out.scopes.back();
  };
  for (const auto& step : steps) {
    if (step.mode == Step::Mode::kSkip) continue;
    Module& m = *step.module;
    if (auto why = m.not_applicable(ctx); !why.empty()) {
      out.details.push_back(fmt::format("{}: not run: {}", m.name(), why));
      continue;
    }
    Result<ModuleResult> r = Error::internal("not run");
    {
      Progress p(progress, std::string(m.title()));
      ctx.progress = &p;
      r = m.run(ctx);
      ctx.progress = nullptr;
    }
    if (!r) {
      if (m.required()) return r.error();
      out.warnings.push_back(fmt::format("{} skipped: {}", m.title(), r.error().message));
      continue;
    }
    // Facts for the modules after it.
    if (r->inventory) {
      out.inventory = r->inventory;
      ctx.inventory = out.inventory.get();
    }
    if (r->vuln_db) {
      db = r->vuln_db;
      ctx.vuln_db = db.get();
    }
    for (auto& d : r->details) out.details.push_back(std::move(d));
    for (auto& n : r->notices) out.notices.push_back(std::move(n));  // said in any mode
    if (r->partial) partial_facts.insert(std::string(m.name()));
    if (step.mode != Step::Mode::kReport) continue;
    ScopeRun& s = scope_of(m.scope());
    s.modules.emplace_back(m.name());
    // Findings made from incomplete facts (an inventory missing a package database) must not
    // make anything look fixed: the scope is partial whoever collected the facts.
    bool from_partial = r->partial;
    for (auto need : m.needs())
      from_partial = from_partial || partial_facts.count(std::string(need));
    s.input.partial = s.input.partial || from_partial;
    for (auto& f : r->findings) {
      // The store keys findings by fingerprint: one left empty would make every finding of
      // that module one and the same (the rest silently lost).
      if (f.fingerprint.empty()) assign_fingerprint(f);
      s.input.findings.push_back(std::move(f));
    }
    for (auto& c : r->checks_undecided) s.input.checks_not_run.emplace_back(m.name(), c);
    for (auto& w : r->warnings) out.warnings.push_back(std::move(w));
  }
  // Modules of a scope that did not report into it keep their findings' states.
  for (auto& s : out.scopes)
    for (const auto& step : steps)
      if (step.module->scope() == s.input.scope && !contains(s.modules, step.module->name()))
        s.input.modules_not_run.emplace_back(step.module->name());
  // The main record carries what was inventoried.
  for (auto& s : out.scopes)
    if (s.input.scope == "scan" && out.inventory) {
      const auto& os = out.inventory->os;
      s.input.os = os.pretty_name.empty() ? os.distro() : os.pretty_name;
      s.input.packages = out.inventory->packages;
    }
  return out;
}

Result<Recorded> record(store::Store& st, ScanRun& run, const std::string& tool_version,
                        const Clock& clock) {
  Recorded out;
  std::vector<Finding> others;
  std::optional<store::ScanOutcome> main;
  // The other scopes first, the main record last (as when each command ran alone).
  std::stable_partition(run.scopes.begin(), run.scopes.end(),
                        [](const ScopeRun& s) { return s.input.scope != "scan"; });
  for (auto& s : run.scopes) {
    s.input.tool_version = tool_version;
    s.input.finished_at = clock.now();
    auto o = st.record_scan(s.input);
    if (!o) return o.error();
    if (s.input.scope == "scan") {
      main = std::move(*o);
    } else {
      if (out.scan.id == 0) out.scan = o->scan;  // replaced by the main record, if there is one
      for (auto& f : o->findings) others.push_back(std::move(f));
    }
  }
  if (main) {
    out.scan = main->scan;
    out.findings = std::move(main->findings);
  }
  for (auto& f : others) out.findings.push_back(std::move(f));
  return out;
}

}  // namespace mamori::scan
