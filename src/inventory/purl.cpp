// Package URLs (purl-spec): pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS.
// WordPress has no registered purl type; Mamori writes pkg:wordpress/{core,plugin,theme}/SLUG.
#include <fmt/format.h>

#include <map>

#include "inventory/inventory.h"

namespace mamori::inventory {

namespace {

std::string pct(std::string_view s) {
  std::string out;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-' || c == '_' || c == '~')
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

struct Parts {
  std::string type, ns, name, version;
  std::map<std::string, std::string> qualifiers;
};

Parts parts_of(const Package& p, const OsRelease& os) {
  Parts r;
  r.name = p.name;
  r.version = p.version;
  Ecosystem e = p.ecosystem;
  if (is_os_package(e)) {
    r.type = ecosystem_name(e);
    r.ns = os.id.empty() ? (e == kDeb ? "debian" : e == kApk ? "alpine" : "unknown") : os.id;
    if (p.arch) r.qualifiers["arch"] = *p.arch;
    if (!os.distro().empty()) r.qualifiers["distro"] = os.distro();
    if (e == kRpm) {
      // purl-spec: the RPM epoch goes into a qualifier, the version is VERSION-RELEASE.
      size_t colon = r.version.find(':');
      if (colon != std::string::npos) {
        r.qualifiers["epoch"] = r.version.substr(0, colon);
        r.version = r.version.substr(colon + 1);
      }
    }
  } else if (is_wordpress(e)) {
    r.type = "wordpress";
    r.ns = e == kWordPressCore ? "core" : e == kWordPressPlugin ? "plugin" : "theme";
  } else if (e == kComposer || e == kNpm) {
    r.type = ecosystem_name(e);
    size_t slash = p.name.find('/');
    if (slash != std::string::npos) {  // "vendor/name", "@scope/name"
      r.ns = p.name.substr(0, slash);
      r.name = p.name.substr(slash + 1);
    }
  } else {
    r.type = ecosystem_name(e);
  }
  return r;
}

std::string render(const Parts& r, bool with_version) {
  std::string out = "pkg:" + r.type + "/";
  if (!r.ns.empty()) out += pct(r.ns) + "/";
  out += pct(r.name);
  if (with_version && !r.version.empty()) out += "@" + pct(r.version);
  char sep = '?';
  for (const auto& [k, v] : r.qualifiers) {
    if (!with_version && k == "epoch") continue;
    out += sep + k + "=" + pct(v);
    sep = '&';
  }
  return out;
}

}  // namespace

std::string make_purl(const Package& p, const OsRelease& os) {
  return render(parts_of(p, os), true);
}

std::string versionless_purl(const Package& p, const OsRelease& os) {
  return render(parts_of(p, os), false);
}

}  // namespace mamori::inventory
