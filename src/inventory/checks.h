#pragma once
// The inventory module's own findings (pure functions of an Inventory):
//  - os-end-of-support: the OS release no longer gets security updates;
//  - unowned-remote-access / unowned-cms: remote-access software or a CMS install
//    nobody is responsible for patching.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/finding.h"
#include "core/owners.h"
#include "inventory/inventory.h"

namespace mamori::inventory {

struct SupportWindow {
  const char* id;       // os-release ID
  const char* version;  // VERSION_ID prefix ("12", "22.04", "9", "3.19")
  const char* name;
  const char* regular_end;  // end of regular security support (YYYY-MM-DD)
  const char* final_end;    // end of any free security support (LTS) (YYYY-MM-DD)
  const char* source;       // where the dates come from
};

// The documented table (docs/os-support.md mirrors it).
const std::vector<SupportWindow>& support_table();
std::optional<SupportWindow> find_support_window(const OsRelease& os);

// Remote-access software by package name (VPN, remote desktop, VNC, SSH server).
bool is_remote_access_package(const Package& p);

// The asset string a package finding is keyed on (version-less purl; WordPress core with
// its location, since one host can run several installs).
std::string package_asset(const Package& p, const OsRelease& os);

std::vector<Finding> analyze_inventory(const Inventory& inv, const std::vector<OwnerRule>& owners,
                                       int64_t now);

// Sources the inventory could not read, as findings: inventory-unsupported-database (an RPM
// database format Mamori cannot read; asset host:HOST) and inventory-source-unreadable (a
// package database or lockfile that is damaged or unreadable; asset file:PATH) — their
// software goes unchecked until they are fixed.
std::vector<Finding> source_problem_findings(const Inventory& inv, const std::string& host);

}  // namespace mamori::inventory
