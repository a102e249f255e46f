#include "inventory/checks.h"

#include <fmt/format.h>

#include <set>

#include "core/text.h"

namespace mamori::inventory {

const std::vector<SupportWindow>& support_table() {
  // Sources: wiki.debian.org/LTS and debian.org/releases; ubuntu.com/about/release-cycle;
  // access.redhat.com/support/policy/updates/errata (AlmaLinux and Rocky follow RHEL);
  // alpinelinux.org/releases. Dates of releases not yet ended are the announced plans.
  static const std::vector<SupportWindow> kTable = {
      {"debian", "8", "Debian 8 (jessie)", "2018-06-17", "2020-06-30", "Debian LTS"},
      {"debian", "9", "Debian 9 (stretch)", "2020-07-06", "2022-06-30", "Debian LTS"},
      {"debian", "10", "Debian 10 (buster)", "2022-09-10", "2024-06-30", "Debian LTS"},
      {"debian", "11", "Debian 11 (bullseye)", "2024-08-14", "2026-08-31", "Debian LTS"},
      {"debian", "12", "Debian 12 (bookworm)", "2026-06-10", "2028-06-30", "Debian LTS"},
      {"debian", "13", "Debian 13 (trixie)", "2028-08-09", "2030-06-30", "Debian LTS"},
      {"ubuntu", "14.04", "Ubuntu 14.04 LTS", "2019-04-30", "2019-04-30", "Ubuntu release cycle"},
      {"ubuntu", "16.04", "Ubuntu 16.04 LTS", "2021-04-30", "2021-04-30", "Ubuntu release cycle"},
      {"ubuntu", "18.04", "Ubuntu 18.04 LTS", "2023-05-31", "2023-05-31", "Ubuntu release cycle"},
      {"ubuntu", "20.04", "Ubuntu 20.04 LTS", "2025-05-31", "2025-05-31", "Ubuntu release cycle"},
      {"ubuntu", "22.04", "Ubuntu 22.04 LTS", "2027-06-01", "2027-06-01", "Ubuntu release cycle"},
      {"ubuntu", "24.04", "Ubuntu 24.04 LTS", "2029-05-31", "2029-05-31", "Ubuntu release cycle"},
      {"ubuntu", "26.04", "Ubuntu 26.04 LTS", "2031-05-31", "2031-05-31", "Ubuntu release cycle"},
      {"ubuntu", "23.10", "Ubuntu 23.10", "2024-07-11", "2024-07-11", "Ubuntu release cycle"},
      {"ubuntu", "24.10", "Ubuntu 24.10", "2025-07-10", "2025-07-10", "Ubuntu release cycle"},
      {"ubuntu", "25.04", "Ubuntu 25.04", "2026-01-15", "2026-01-15", "Ubuntu release cycle"},
      {"ubuntu", "25.10", "Ubuntu 25.10", "2026-07-09", "2026-07-09", "Ubuntu release cycle"},
      {"rhel", "7", "Red Hat Enterprise Linux 7", "2024-06-30", "2024-06-30", "RHEL life cycle"},
      {"rhel", "8", "Red Hat Enterprise Linux 8", "2029-05-31", "2029-05-31", "RHEL life cycle"},
      {"rhel", "9", "Red Hat Enterprise Linux 9", "2032-05-31", "2032-05-31", "RHEL life cycle"},
      {"rhel", "10", "Red Hat Enterprise Linux 10", "2035-05-31", "2035-05-31", "RHEL life cycle"},
      {"almalinux", "8", "AlmaLinux 8", "2029-05-31", "2029-05-31", "AlmaLinux (RHEL) life cycle"},
      {"almalinux", "9", "AlmaLinux 9", "2032-05-31", "2032-05-31", "AlmaLinux (RHEL) life cycle"},
      {"almalinux", "10", "AlmaLinux 10", "2035-05-31", "2035-05-31",
       "AlmaLinux (RHEL) life cycle"},
      {"rocky", "8", "Rocky Linux 8", "2029-05-31", "2029-05-31", "Rocky (RHEL) life cycle"},
      {"rocky", "9", "Rocky Linux 9", "2032-05-31", "2032-05-31", "Rocky (RHEL) life cycle"},
      {"rocky", "10", "Rocky Linux 10", "2035-05-31", "2035-05-31", "Rocky (RHEL) life cycle"},
      {"centos", "7", "CentOS 7", "2024-06-30", "2024-06-30", "CentOS project"},
      {"centos", "8", "CentOS 8 / Stream 8", "2024-05-31", "2024-05-31", "CentOS project"},
      {"centos", "9", "CentOS Stream 9", "2027-05-31", "2027-05-31", "CentOS project"},
      {"alpine", "3.16", "Alpine 3.16", "2024-05-23", "2024-05-23", "Alpine releases"},
      {"alpine", "3.17", "Alpine 3.17", "2024-11-22", "2024-11-22", "Alpine releases"},
      {"alpine", "3.18", "Alpine 3.18", "2025-05-09", "2025-05-09", "Alpine releases"},
      {"alpine", "3.19", "Alpine 3.19", "2025-11-01", "2025-11-01", "Alpine releases"},
      {"alpine", "3.20", "Alpine 3.20", "2026-04-01", "2026-04-01", "Alpine releases"},
      {"alpine", "3.21", "Alpine 3.21", "2026-11-01", "2026-11-01", "Alpine releases"},
      {"alpine", "3.22", "Alpine 3.22", "2027-05-01", "2027-05-01", "Alpine releases"},
      {"alpine", "3.23", "Alpine 3.23", "2027-11-01", "2027-11-01", "Alpine releases"},
  };
  return kTable;
}

std::optional<SupportWindow> find_support_window(const OsRelease& os) {
  for (const auto& w : support_table()) {
    if (os.id != w.id) continue;
    std::string_view v = os.version_id, want = w.version;
    if (v == want || (v.size() > want.size() && v.starts_with(want) && v[want.size()] == '.'))
      return w;
  }
  return std::nullopt;
}

bool is_remote_access_package(const Package& p) {
  static const std::set<std::string, std::less<>> kNames = {"openssh-server",
                                                            "dropbear",
                                                            "dropbear-bin",
                                                            "telnetd",
                                                            "inetutils-telnetd",
                                                            "telnet-server",
                                                            "openvpn",
                                                            "openvpn-as",
                                                            "strongswan",
                                                            "strongswan-charon",
                                                            "strongswan-starter",
                                                            "libreswan",
                                                            "ocserv",
                                                            "openconnect",
                                                            "wireguard-tools",
                                                            "wireguard",
                                                            "softether-vpnserver",
                                                            "tailscale",
                                                            "zerotier-one",
                                                            "pritunl",
                                                            "xrdp",
                                                            "x11vnc",
                                                            "tigervnc-standalone-server",
                                                            "tigervnc-server",
                                                            "tigervnc-scraping-server",
                                                            "tightvncserver",
                                                            "vnc4server",
                                                            "realvnc-vnc-server",
                                                            "teamviewer",
                                                            "teamviewer-host",
                                                            "anydesk",
                                                            "rustdesk",
                                                            "nomachine",
                                                            "webmin",
                                                            "cockpit",
                                                            "cockpit-ws",
                                                            "guacd"};
  if (p.ecosystem != kDeb && p.ecosystem != kRpm && p.ecosystem != kApk) return false;
  if (p.status != "installed") return false;
  return kNames.contains(p.name);
}

std::string package_asset(const Package& p, const OsRelease& os) {
  if (p.ecosystem == kWordPressCore) return "pkg:wordpress/core/wordpress?location=" + p.location;
  return versionless_purl(p, os);
}

std::vector<Finding> analyze_inventory(const Inventory& inv, const std::vector<OwnerRule>& owners,
                                       int64_t now) {
  std::vector<Finding> out;
  // --- OS support ---
  if (inv.os.found) {
    auto w = find_support_window(inv.os);
    Finding f;
    f.module = "inventory";
    f.check = "os-end-of-support";
    f.asset = "os:" + inv.os.distro();
    std::string name = inv.os.pretty_name.empty() ? inv.os.distro() : inv.os.pretty_name;
    if (w) {
      int64_t regular = parse_date(w->regular_end), final_end = parse_date(w->final_end);
      bool lts_phase = regular != final_end;
      f.references = {"https://endoflife.date/" + inv.os.id};
      if (now >= final_end) {
        f.severity = Severity::kHigh;
        f.title = fmt::format("{} no longer receives security updates", w->name);
        f.evidence = fmt::format("/etc/os-release: {}; security support ended {} ({})", name,
                                 w->final_end, w->source);
        f.remediation = fmt::format(
            "Upgrade to a supported release of {} (or move the service to a supported host). "
            "Until then every new vulnerability in its packages stays unpatched.",
            inv.os.id);
        if (inv.os.id == "ubuntu")
          f.remediation += " Ubuntu Pro (ESM) extends security updates if you subscribe.";
      } else if (lts_phase && now >= regular) {
        f.severity = Severity::kLow;
        f.title =
            fmt::format("{} is in its long-term support phase until {}", w->name, w->final_end);
        f.evidence = fmt::format(
            "/etc/os-release: {}; regular security support ended {}, LTS covers a subset of "
            "packages until {} ({})",
            name, w->regular_end, w->final_end, w->source);
        f.remediation = fmt::format(
            "Plan the upgrade to the next stable release before {}; check that your packages "
            "are covered by LTS (e.g. debian-security-support's check-support-status).",
            w->final_end);
      } else if (final_end - now < 180 * 86400) {
        f.severity = Severity::kMedium;
        f.title = fmt::format("{} loses security support on {}", w->name, w->final_end);
        f.evidence = fmt::format("/etc/os-release: {}; security support ends {} ({})", name,
                                 w->final_end, w->source);
        f.remediation = "Plan and test the upgrade to the next supported release now.";
      }
    } else {
      f.severity = Severity::kInfo;
      f.check = "os-support-unknown";
      f.title = fmt::format("Support dates of {} are not known to Mamori", name);
      f.evidence =
          fmt::format("/etc/os-release: ID={} VERSION_ID={}", inv.os.id, inv.os.version_id);
      f.remediation =
          "Check the vendor's support policy by hand; report the release so it can be added.";
    }
    if (!f.title.empty()) {
      assign_fingerprint(f);
      out.push_back(std::move(f));
    }
  }
  // --- responsibility for remote-access software and CMS installs ---
  std::set<std::string> done;
  for (const auto& p : inv.packages) {
    bool remote = is_remote_access_package(p);
    bool cms = p.ecosystem == kWordPressCore ||
               (p.ecosystem == kDeb && p.name == "wordpress" && p.status == "installed");
    if (!remote && !cms) continue;
    std::string asset = package_asset(p, inv.os);
    if (!done.insert(asset).second) continue;
    if (!resolve_owner(owners, asset).empty()) continue;
    Finding f;
    f.module = "inventory";
    f.check = remote ? "unowned-remote-access" : "unowned-cms";
    f.asset = asset;
    f.severity = Severity::kMedium;
    f.title =
        remote ? fmt::format("Nobody is responsible for patching remote-access software {}", p.name)
               : fmt::format("Nobody is responsible for patching the WordPress install at {}",
                             p.location);
    f.evidence = fmt::format("{} {} ({}) found in {}; no owner pattern matches {}", p.name,
                             p.version, p.ecosystem, p.location, asset);
    f.remediation = fmt::format(
        "Name who patches it: mamori owners set '{}' TEAM. Remote access and CMS software are "
        "the most attacked parts of a server; unpatched, they are how intruders get in.",
        asset);
    f.references = {"CWE-1104"};
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<Finding> source_problem_findings(const Inventory& inv, const std::string& host) {
  std::vector<Finding> out;
  for (const auto& pr : inv.problems) {
    Finding f;
    f.module = "inventory";
    f.evidence = pr.message;
    if (pr.kind == SourceProblem::Kind::kUnsupported) {
      f.check = "inventory-unsupported-database";
      f.asset = "host:" + host;
      f.severity = Severity::kMedium;
      f.title = "Part of the installed software cannot be inventoried";
      f.remediation =
          "Convert the RPM database to SQLite (rpmdb --rebuilddb on rpm >= 4.16) or audit this "
          "system's packages with its own tools; until then its vulnerabilities are not checked.";
    } else {
      f.check = "inventory-source-unreadable";
      f.asset = "file:" + pr.path;
      f.severity = pr.package_database ? Severity::kHigh : Severity::kMedium;
      f.title = pr.package_database ? fmt::format("The package database {} cannot be read", pr.path)
                                    : fmt::format("{} cannot be read", pr.path);
      f.remediation =
          pr.package_database
              ? "Find out why it is damaged (a full disk, an interrupted upgrade, or someone "
                "editing it) and repair it (dpkg: restore /var/lib/dpkg/status from "
                "/var/backups/dpkg.status.*); until then the packages it lists are not checked, "
                "and findings of earlier scans are kept open rather than marked fixed."
              : "Repair or regenerate the file (composer update --lock, npm install); until then "
                "the packages it pins are not checked for vulnerabilities.";
    }
    assign_fingerprint(f);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace mamori::inventory
