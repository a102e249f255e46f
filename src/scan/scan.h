#pragma once
// `mamori scan`: the one explicit list of built-in modules, which of them a scan runs
// (--skip / --only), running them in order, and recording each scope's findings in the store.
// The CLI only parses options, prints and renders.
//
// Example:
//   auto modules = scan::builtin_modules();
//   auto steps = scan::plan(modules, /*skip=*/{"audit"}, /*only=*/{});
//   auto run = scan::run(*steps, ctx, /*progress=*/true);
//   auto rec = scan::record(store, *run, MAMORI_VERSION, clock);
//   report.findings = rec->findings;

#include <memory>
#include <string>
#include <vector>

#include "core/module.h"
#include "store/store.h"

namespace mamori::scan {

// Every module `mamori scan` knows, in the order it runs them. Add a module here.
std::vector<std::unique_ptr<Module>> builtin_modules();

struct Step {
  enum class Mode {
    kReport,  // run, and its findings recorded and reported
    kFacts,   // run only because a reported module needs its facts; its findings dropped
    kSkip,    // not run: its findings in the store keep their states
  };
  Module* module = nullptr;
  Mode mode = Mode::kReport;
};

// Every module in list order with what to do with it: those --only names and what they need
// (as facts), else all but those --skip names. Unknown names, and skipping a module another
// one needs, are errors.
Result<std::vector<Step>> plan(const std::vector<std::unique_ptr<Module>>& modules,
                               const std::vector<std::string>& skip,
                               const std::vector<std::string>& only);

// One scope's record: a scan's findings of the modules that share it.
struct ScopeRun {
  store::ScanInput input;
  std::vector<std::string> modules;  // those that reported into it
};

struct ScanRun {
  std::vector<ScopeRun> scopes;  // in the order their first module ran
  std::vector<std::string> warnings, notices, details;
  std::shared_ptr<const inventory::Inventory> inventory;  // when the inventory ran
};

// Runs the steps in order. A required module's failure fails the run; another's is a warning
// ("TITLE skipped: why") and the rest go on. A module with nothing to do here is left out (a
// detail says why).
Result<ScanRun> run(const std::vector<Step>& steps, const ScanContext& ctx, bool progress);

struct Recorded {
  store::ScanRecord scan;         // the "scan" scope's record, else the first one recorded
  std::vector<Finding> findings;  // every scope's outcome, "scan" first
};

// Records each scope in its own transaction ("scan" last, as the main record): a scope's
// findings that did not come back are fixed, except those of its modules that did not report.
Result<Recorded> record(store::Store& st, ScanRun& run, const std::string& tool_version,
                        const Clock& clock);

}  // namespace mamori::scan
