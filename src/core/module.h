#pragma once
// The shape every module has (docs/architecture.md): a name, what it needs from the modules
// that run before it, and run() = collect the facts it reads (all I/O) + a pure analysis that
// turns them into Findings. `mamori scan` runs the one explicit list of built-in modules
// (src/scan/scan.h); a new module is its folder plus one line in that list (and the lists of
// modules the tests and docs keep: docs/architecture.md, "Adding a module").
//
// Example (a module of its own folder, src/example/module.cpp):
//   class ExampleModule final : public Module {
//    public:
//     std::string_view name() const override { return "example"; }
//     std::string_view title() const override { return "example check"; }
//     std::string_view summary() const override { return "what it finds, in one line"; }
//     Result<ModuleResult> run(const ScanContext& ctx) override {
//       auto facts = collect_example(ctx.root);            // reads, through the Root only
//       if (!facts) return facts.error();
//       ModuleResult r;
//       r.findings = analyze_example(*facts, ctx.now);  // pure: the unit tests go here
//       return r;  // findings without a fingerprint get one from (module, check, asset)
//     }
//   };

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/finding.h"
#include "core/fs.h"
#include "core/owners.h"
#include "core/result.h"

namespace mamori {

class Progress;
namespace inventory {
struct Inventory;
}
namespace vuln {
class VulnDb;
}
namespace store {
class Store;
}

// What the operator asked of a scan, shared by the modules (each reads its own part).
struct ScanOptions {
  std::vector<std::string> webroots;  // inventory, fim: web roots named on the command line
  std::vector<std::string> paths;     // inventory: more trees to search for lockfiles
  bool discover_webroots = true;
  std::string db_path;       // vuln: the vulnerability database
  bool db_explicit = false;  // --db named it: its absence is an error, not a finding
  int verbose = 0;
};

// What a module may read. It writes only its result.
struct ScanContext {
  const Root& root;  // every read confined inside it
  std::string host;
  int64_t now = 0;  // when the scan started
  const Clock& clock;
  const ScanOptions& options;
  const std::vector<OwnerRule>& owners;
  store::Store* store = nullptr;  // fim: the key its baselines are pinned to; guard: bans
  Progress* progress = nullptr;   // may be null
  // Facts of the modules that ran before it in the list (whether or not needs() names them;
  // needs() makes sure they run). Null when the module that provides them did not run:
  const inventory::Inventory* inventory = nullptr;
  const vuln::VulnDb* vuln_db = nullptr;  // null when there is none (vuln says so as a finding)
};

struct ModuleResult {
  std::vector<Finding> findings;
  std::vector<std::string> warnings;  // in the report, and on stderr with -v
  std::vector<std::string> notices;   // always said on stderr (a source that could not be read)
  std::vector<std::string> details;   // said on stderr with -v (counts, what was skipped)
  // Some input could not be read: findings it did not produce are kept open, not marked fixed.
  bool partial = false;
  // The same for single checks of this module that an input they need was missing for (the
  // audit's CRED-NOT-ROTATED without a vulnerability database): their earlier findings stay.
  // "*": every check of the module (vuln without a database) — unlike `partial`, the other
  // modules of a shared scope still see their fixed findings marked fixed.
  std::vector<std::string> checks_undecided;
  // Facts for the modules that come after (inventory, vuln):
  std::shared_ptr<const inventory::Inventory> inventory;
  std::shared_ptr<const vuln::VulnDb> vuln_db;
};

class Module {
 public:
  virtual ~Module() = default;
  // --skip / --only, and the `module` of its findings.
  virtual std::string_view name() const = 0;
  // What progress lines and messages call it ("remote-maintenance audit").
  virtual std::string_view title() const = 0;
  // One line for `mamori scan --help` and docs/architecture.md.
  virtual std::string_view summary() const = 0;
  // The store scope its findings are recorded in: a scope's findings that do not come back are
  // fixed. The inventory and vuln share "scan"; the others are their own (as their commands).
  virtual std::string_view scope() const { return name(); }
  // Modules whose facts it reads; they run first (pulled in by --only, refused by --skip).
  virtual std::vector<std::string_view> needs() const { return {}; }
  // A failure fails the scan (the inventory, a --db that is missing); else it is a warning
  // ("TITLE skipped: why") and the other modules go on.
  virtual bool required() const { return false; }
  // Whether there is anything to do here: fim runs only on a host with a baseline. "" = yes,
  // else why not (said with -v).
  virtual std::string not_applicable(const ScanContext&) const { return {}; }
  virtual Result<ModuleResult> run(const ScanContext& ctx) = 0;
};

}  // namespace mamori
