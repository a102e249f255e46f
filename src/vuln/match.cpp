// Matching installed packages against the database, and turning matches into findings
// with a fix priority.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "core/enum_names.h"
#include "core/text.h"
#include "inventory/checks.h"
#include "vuln/importers.h"
#include "vuln/vuln.h"

namespace mamori::vuln {

constexpr Named<Tier> kTierNames[] = {{Tier::kPatchNow, "patch-now"},
                                      {Tier::kPatchThisWeek, "patch-this-week"},
                                      {Tier::kRoutine, "routine"}};
static_assert(names_cover(kTierNames, Tier::kRoutine));

std::string_view tier_name(Tier t) { return name_in(kTierNames, t, "routine"); }

bool ubuntu_lts(std::string_view version_id) {
  // Long-term support releases are the April releases of even years (8.04, …, 24.04, 26.04);
  // every other release (23.10, 24.10, 25.04) is an interim one with nine months of support.
  size_t dot = version_id.find('.');
  if (dot == std::string_view::npos || version_id.substr(dot) != ".04") return false;
  int major = 0;
  for (char c : version_id.substr(0, dot)) {
    if (c < '0' || c > '9') return false;
    major = major * 10 + (c - '0');
  }
  return major >= 6 && major % 2 == 0;
}

std::optional<EcosystemKey> ecosystem_key(const Package& p, const inventory::OsRelease& os) {
  std::string major = os.version_id.substr(0, os.version_id.find('.'));
  if (p.ecosystem == kDeb) {
    if (p.status != "installed" && p.status != "half-configured" && p.status != "unpacked" &&
        p.status != "triggers-awaited" && p.status != "triggers-pending")
      return std::nullopt;  // config-files only: no code left to be vulnerable
    // Debian security data is keyed on the source package and its version.
    std::string name = p.source_name.value_or(p.name),
                version = p.source_version.value_or(p.version);
    if (os.id == "debian") return EcosystemKey{"Debian:" + major, Scheme::kDpkg, name, version};
    if (os.id == "ubuntu")  // OSV: "Ubuntu:24.04:LTS", but an interim release is "Ubuntu:24.10"
      return EcosystemKey{"Ubuntu:" + os.version_id + (ubuntu_lts(os.version_id) ? ":LTS" : ""),
                          Scheme::kDpkg, name, version};
    return std::nullopt;
  }
  if (p.ecosystem == kRpm) {
    // AlmaLinux/Rocky OSV data names binary packages, with full EVR versions.
    if (os.id == "almalinux")
      return EcosystemKey{"AlmaLinux:" + major, Scheme::kRpm, p.name, p.version};
    if (os.id == "rocky")
      return EcosystemKey{"Rocky Linux:" + major, Scheme::kRpm, p.name, p.version};
    return std::nullopt;
  }
  if (p.ecosystem == kPypi)
    return EcosystemKey{"PyPI", Scheme::kPep440, normalize_name("PyPI", p.name), p.version};
  if (p.ecosystem == kNpm) return EcosystemKey{"npm", Scheme::kSemver, p.name, p.version};
  if (p.ecosystem == kComposer)
    return EcosystemKey{"Packagist", Scheme::kComposer, to_lower(p.name), p.version};
  if (p.ecosystem == kWordPressPlugin)
    return EcosystemKey{"WordPress:plugin", Scheme::kPhp, to_lower(p.name), p.version};
  if (p.ecosystem == kWordPressTheme)
    return EcosystemKey{"WordPress:theme", Scheme::kPhp, to_lower(p.name), p.version};
  if (p.ecosystem == kWordPressCore)
    return EcosystemKey{"WordPress:core", Scheme::kPhp, "wordpress", p.version};
  return std::nullopt;
}

namespace {

// Is v inside the interval? Errors (unparsable versions) count as "not inside".
bool inside(Scheme s, std::string_view v, const VulnDb::Interval& iv, bool& error) {
  if (!iv.lower.empty()) {
    auto c = compare_versions(s, v, iv.lower);
    if (!c) {
      error = true;
      return false;
    }
    if (*c < 0 || (*c == 0 && !iv.lower_inclusive)) return false;
  }
  if (!iv.upper.empty()) {
    auto c = compare_versions(s, v, iv.upper);
    if (!c) {
      error = true;
      return false;
    }
    if (*c > 0 || (*c == 0 && !iv.upper_inclusive)) return false;
  }
  return true;
}

}  // namespace

std::optional<Scheme> scheme_of_ecosystem(std::string_view ecosystem) {
  Scheme s;
  if (scheme_for_ecosystem(ecosystem, s)) return s;
  return std::nullopt;
}

std::vector<std::pair<uint32_t, std::string>> match_key(const VulnDb& db, const EcosystemKey& key,
                                                        bool& error) {
  std::vector<std::pair<uint32_t, std::string>> out;
  for (const auto& aff : db.lookup(key.key, key.name)) {
    bool hit = false;
    std::string fixed;
    for (const auto& iv : aff.intervals) {
      if (inside(key.scheme, key.version, iv, error)) {
        hit = true;
        if (!iv.upper_inclusive) fixed = std::string(iv.upper);  // "fixed" bound; else none known
        break;
      }
    }
    if (!hit)
      for (auto v : aff.versions) {
        // the list names affected versions as published: the same string is the same version
        // even when it is not one the ecosystem's order can parse (PyPI's old "0.7.11p2")
        if (v == key.version) {
          hit = true;
          break;
        }
        auto c = compare_versions(key.scheme, key.version, v);
        if (c && *c == 0) {
          hit = true;
          break;
        }
      }
    if (hit) out.emplace_back(aff.vuln, std::move(fixed));
  }
  return out;
}

std::vector<Match> match_inventory(const VulnDb& db, const inventory::OsRelease& os,
                                   const std::vector<Package>& packages, MatchStats* stats) {
  std::vector<Match> out;
  MatchStats local;
  MatchStats& s = stats ? *stats : local;
  // Debian: several binaries share one source package; look each source up once.
  std::map<std::tuple<std::string, std::string, std::string>,
           std::pair<std::vector<std::pair<uint32_t, std::string>>, bool>>
      cache;
  for (size_t i = 0; i < packages.size(); ++i) {
    auto key = ecosystem_key(packages[i], os);
    if (!key) {
      const auto& e = packages[i].ecosystem;
      if (e == kApk || ((e == kDeb || e == kRpm) && packages[i].status == "installed")) {
        ++s.packages_unsupported;
        if (s.unsupported_examples.size() < 3)
          s.unsupported_examples.push_back(fmt::format("{} on {}", e, os.distro()));
      }
      continue;
    }
    ++s.packages_checked;
    auto ck = std::make_tuple(key->key, key->name, key->version);
    auto it = cache.find(ck);
    if (it == cache.end()) {
      bool err = false;
      auto hits = match_key(db, *key, err);
      it = cache.emplace(std::move(ck), std::make_pair(std::move(hits), err)).first;
    }
    for (const auto& [vuln, fixed] : it->second.first) out.push_back({i, vuln, fixed});
    if (it->second.second) ++s.version_errors;
  }
  return out;
}

std::vector<FixedExploit> fixed_exploited(const VulnDb& db, const inventory::OsRelease& os,
                                          const std::vector<Package>& packages) {
  std::vector<FixedExploit> out;
  std::set<std::tuple<std::string, std::string, uint32_t>> seen;  // (key, name, advisory)
  for (size_t i = 0; i < packages.size(); ++i) {
    auto key = ecosystem_key(packages[i], os);
    if (!key) continue;
    for (const auto& aff : db.lookup(key->key, key->name)) {
      bool error = false, affected = false;
      std::string fixed;  // the highest fixing bound at or below the installed version
      for (const auto& iv : aff.intervals) {
        if (inside(key->scheme, key->version, iv, error)) affected = true;
        if (iv.upper.empty() || iv.upper_inclusive) continue;
        auto c = compare_versions(key->scheme, key->version, iv.upper);
        if (!c || *c < 0) continue;
        if (fixed.empty()) {
          fixed = std::string(iv.upper);
        } else if (auto d = compare_versions(key->scheme, iv.upper, fixed); d && *d > 0) {
          fixed = std::string(iv.upper);
        }
      }
      for (auto v : aff.versions) {
        auto c = compare_versions(key->scheme, key->version, v);
        if (c && *c == 0) affected = true;
      }
      if (affected || error || fixed.empty()) continue;
      if (!seen.emplace(key->key, key->name, aff.vuln).second) continue;
      VulnRef ref = db.vuln(aff.vuln);
      std::vector<std::string> ids = ref.aliases;
      ids.insert(ids.begin(), ref.id);
      for (const auto& id : ids) {
        std::string cve = id.starts_with("DEBIAN-CVE-") ? id.substr(7) : id;
        if (!cve.starts_with("CVE-")) continue;
        if (auto k = db.kev(cve)) {
          out.push_back({i, aff.vuln, cve, fixed, *k});
          break;
        }
      }
    }
  }
  return out;
}

namespace {

// Natural order of CVE ids ("CVE-2023-4911" < "CVE-2023-38545").
bool cve_less(const std::string& a, const std::string& b) {
  auto num = [](const std::string& s, size_t from) {
    size_t dash = s.find('-', from);
    return std::pair(std::atol(s.substr(from, dash - from).c_str()),
                     dash == std::string::npos ? 0L : std::atol(s.substr(dash + 1).c_str()));
  };
  return num(a, 4) < num(b, 4);
}

struct Group {
  size_t package;
  std::vector<uint32_t> vulns;
  std::set<std::string> ids;  // advisory ids and aliases
  std::vector<std::string> fixes;
};

int find_root(std::vector<int>& parent, int x) {
  while (parent[static_cast<size_t>(x)] != x)
    x = parent[static_cast<size_t>(x)] =
        parent[static_cast<size_t>(parent[static_cast<size_t>(x)])];
  return x;
}

std::string fix_command(const Package& p, const std::vector<Package>& all) {
  if (p.ecosystem == kDeb) {
    // Upgrade every installed binary built from the same source.
    std::set<std::string> bins;
    std::string src = p.source_name.value_or(p.name);
    for (const auto& q : all)
      if (q.ecosystem == kDeb && q.status == "installed" && q.source_name.value_or(q.name) == src)
        bins.insert(q.name);
    std::string cmd = "apt-get install --only-upgrade";
    for (const auto& b : bins) cmd += " " + b;
    return cmd;
  }
  if (p.ecosystem == kRpm) return "dnf upgrade " + p.name;
  if (p.ecosystem == kPypi) return "pip install --upgrade " + p.name;
  if (p.ecosystem == kNpm)
    return "npm install " + p.name + "@latest (in the project of " + p.location + ")";
  if (p.ecosystem == kComposer)
    return "composer update " + p.name + " (in the project of " + p.location + ")";
  if (p.ecosystem == kWordPressPlugin || p.ecosystem == kWordPressTheme) {
    // wp-cli wants the WordPress root, which holds wp-content/.
    size_t wc = p.location.find("/wp-content/");
    std::string root = wc == std::string::npos ? p.location : p.location.substr(0, wc);
    return fmt::format("wp {} update {} --path={}",
                       p.ecosystem == kWordPressPlugin ? "plugin" : "theme", p.name, root);
  }
  if (p.ecosystem == kWordPressCore) return "wp core update --path=" + p.location;
  return "upgrade " + p.name;
}

Severity severity_of(double cvss, int vendor, bool kev) {
  if (kev) return Severity::kCritical;
  if (cvss >= 9.0) return Severity::kCritical;
  if (cvss >= 7.0) return Severity::kHigh;
  if (cvss >= 4.0) return Severity::kMedium;
  if (cvss >= 0.1) return Severity::kLow;
  switch (vendor) {
    case 3:
      return Severity::kCritical;
    case 2:
      return Severity::kHigh;
    case 1:
      return Severity::kMedium;
    case 0:
      return Severity::kLow;
    default:
      return Severity::kMedium;  // unknown: do not hide it, do not shout either
  }
}

}  // namespace

std::string finding_asset(const Package& p, const inventory::OsRelease& os) {
  if (p.ecosystem == kDeb)  // the source package: the advisory and the fix are about it
    return fmt::format("pkg:deb/{}/{}?arch=source&distro={}", os.id.empty() ? "debian" : os.id,
                       p.source_name.value_or(p.name), os.distro());
  std::string a = inventory::package_asset(p, os);
  if (p.ecosystem == kNpm || p.ecosystem == kComposer || p.ecosystem == kPypi)
    a += (a.find('?') == std::string::npos ? "?" : "&") + std::string("location=") + p.location;
  return a;
}

std::vector<Finding> vulnerability_findings(const VulnDb& db, const inventory::OsRelease& os,
                                            const std::vector<Package>& packages,
                                            const std::vector<Match>& matches,
                                            const FindingContext& ctx) {
  // Group matches per package, then merge advisories that share an id or alias.
  std::map<size_t, std::vector<const Match*>> per_pkg;
  for (const auto& m : matches) per_pkg[m.package].push_back(&m);
  // Debian: one finding per source package (binaries of one source share the fix).
  std::map<std::string, size_t> seen_source;
  std::vector<Finding> out;
  for (const auto& [pi, ms] : per_pkg) {
    const Package& p = packages[pi];
    if (p.ecosystem == kDeb) {
      std::string src = p.source_name.value_or(p.name);
      if (!seen_source.emplace(src, pi).second) continue;
    }
    std::vector<VulnRef> refs;
    for (const Match* m : ms) refs.push_back(db.vuln(m->vuln));
    std::vector<int> parent(ms.size());
    std::iota(parent.begin(), parent.end(), 0);
    std::map<std::string, int> owner_of_id;
    for (size_t k = 0; k < refs.size(); ++k) {
      std::vector<std::string> ids = refs[k].aliases;
      ids.push_back(refs[k].id);
      for (const auto& id : ids) {
        auto [it, fresh] = owner_of_id.emplace(id, static_cast<int>(k));
        if (!fresh)
          parent[static_cast<size_t>(find_root(parent, static_cast<int>(k)))] =
              find_root(parent, it->second);
      }
    }
    std::map<int, std::vector<size_t>> comps;
    for (size_t k = 0; k < refs.size(); ++k)
      comps[find_root(parent, static_cast<int>(k))].push_back(k);

    for (const auto& [root, members] : comps) {
      std::set<std::string> cves, others;
      std::vector<std::string> fixes;
      double cvss = -1;
      int vendor = -1;
      bool no_fix = false;
      for (size_t k : members) {
        const VulnRef& r = refs[k];
        (r.id.starts_with("CVE-") ? cves : others).insert(r.id);
        for (const auto& a : r.aliases) (a.starts_with("CVE-") ? cves : others).insert(a);
        cvss = std::max(cvss, r.cvss);
        vendor = std::max(vendor, r.vendor_severity);
        if (ms[k]->fixed.empty())
          no_fix = true;
        else
          fixes.push_back(ms[k]->fixed);
      }
      std::vector<std::string> cve_list(cves.begin(), cves.end());
      std::sort(cve_list.begin(), cve_list.end(), cve_less);
      // Priority inputs.
      std::optional<KevInfo> kev;
      double epss = -1, pct = 0;
      for (const auto& c : cve_list) {
        if (!kev) kev = db.kev(c);
        if (auto e = db.epss(c)) {
          if (e->epss > epss) {
            epss = e->epss;
            pct = e->percentile;
          }
          if (e->cvss3 > cvss) cvss = e->cvss3;
        }
      }
      bool exposed = pi < ctx.exposure.size() && !ctx.exposure[pi].empty();
      // Remote-access software (an SSH or VPN server, remote desktop…) is the maintenance
      // path intruders walk in through: its holes go first, exposed ones at once.
      bool remote = inventory::is_remote_access_package(p);
      if (p.ecosystem == kDeb && !remote) {
        std::string src = p.source_name.value_or(p.name);
        for (const auto& q : packages)
          if (q.ecosystem == kDeb && q.source_name.value_or(q.name) == src &&
              inventory::is_remote_access_package(q))
            remote = true;
      }
      Tier tier = Tier::kRoutine;
      if (kev || epss >= 0.5 || (exposed && (epss >= 0.1 || cvss >= 9.0)) || (remote && exposed))
        tier = Tier::kPatchNow;
      else if (epss >= 0.1 || cvss >= 7.0 || vendor >= 2 || exposed || remote)
        tier = Tier::kPatchThisWeek;
      std::vector<std::string> reasons;
      if (kev)
        reasons.push_back(fmt::format("known exploited (CISA KEV since {}, due {}{})",
                                      kev->date_added, kev->due_date,
                                      kev->ransomware ? ", used by ransomware" : ""));
      if (epss >= 0)
        reasons.push_back(fmt::format("EPSS {:.1f}% (percentile {:.0f})", epss * 100, pct * 100));
      if (cvss >= 0)
        reasons.push_back(fmt::format("CVSS {:.1f}", cvss));
      else if (vendor >= 0)
        reasons.push_back(fmt::format("vendor severity {}", vendor == 3   ? "critical"
                                                            : vendor == 2 ? "high"
                                                            : vendor == 1 ? "medium"
                                                                          : "low"));
      if (remote) reasons.push_back("remote-access software (the maintenance path)");
      if (exposed)
        reasons.push_back(fmt::format("listening on {} ({})", ctx.exposure[pi][0].address,
                                      ctx.exposure[pi][0].process));
      if (reasons.empty()) reasons.push_back("no exploitation or severity data");

      // The fixed version that fixes every merged advisory: the highest of them.
      auto ek = ecosystem_key(p, os);
      std::string fixed;
      if (!no_fix && ek)
        for (const auto& f : fixes) {
          auto c = compare_versions(ek->scheme, f, fixed.empty() ? f : fixed);
          if (fixed.empty() || (c && *c > 0)) fixed = f;
        }

      Finding f;
      f.module = "vuln";
      f.check = !cve_list.empty() ? cve_list.front() : *others.begin();
      f.asset = finding_asset(p, os);
      f.severity = severity_of(cvss, vendor, kev.has_value());
      Description d = db.description(ms[members.front()]->vuln);
      std::string what = !d.summary.empty() ? d.summary : f.check;
      f.title = fmt::format("{} in {} {}", f.check,
                            p.ecosystem == kDeb ? p.source_name.value_or(p.name) : p.name,
                            p.ecosystem == kDeb ? p.source_version.value_or(p.version) : p.version);
      if (!what.starts_with(f.check)) f.title += ": " + what.substr(0, 120);
      std::string pkgdesc =
          p.ecosystem == kDeb
              ? fmt::format("source package {} {} (binary {} {})", p.source_name.value_or(p.name),
                            p.source_version.value_or(p.version), p.name, p.version)
              : fmt::format("{} {} {}", p.ecosystem, p.name, p.version);
      f.evidence = fmt::format("{} from {}; {}; {}", pkgdesc, p.location,
                               fixed.empty() ? "no fixed version yet" : "fixed in " + fixed,
                               fmt::join(reasons, "; "));
      std::string cmd = fix_command(p, packages);
      f.remediation = fixed.empty()
                          ? fmt::format(
                                "No fixed version is published yet. Limit exposure (firewall, "
                                "disable the feature) and watch for the update: {}",
                                cmd)
                          : fmt::format("Upgrade to {} or later: {}", fixed, cmd);
      f.references = cve_list;
      for (const auto& o : others) f.references.push_back(o);
      for (const auto& r : d.references)
        if (f.references.size() < 12) f.references.push_back(r);
      f.tier = std::string(tier_name(tier));
      f.tier_reason = fmt::format("{}", fmt::join(reasons, "; "));
      f.priority = (tier == Tier::kPatchNow        ? 300
                    : tier == Tier::kPatchThisWeek ? 200
                                                   : 100) +
                   std::max(0.0, epss) * 50 + std::max(0.0, cvss) + (remote ? 25 : 0);
      f.fixed_version = fixed;
      f.cvss = cvss;
      f.known_exploited = kev.has_value();
      assign_fingerprint(f);
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace mamori::vuln
