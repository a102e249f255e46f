#pragma once
// Package: one installed piece of software as the inventory found it. It lives in
// core because the store keeps packages per scan and several modules (vuln,
// audit) read them.
//
// Example:
//   Package p;
//   p.ecosystem = kDeb; p.name = "libcap2"; p.version = "1:2.66-4+deb12u2+b2";
//   p.source_name = "libcap2"; p.source_version = "1:2.66-4+deb12u2";

#include <fmt/core.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mamori {

// Where a package comes from; decides how its version compares, where its advisories are
// and how it is upgraded. Written as its name ("deb", "wordpress-plugin", ...) in the JSON
// contract, the store and every report.
enum class Ecosystem : uint8_t {
  kDeb,
  kRpm,
  kApk,
  kWordPressCore,
  kWordPressPlugin,
  kWordPressTheme,
  kComposer,
  kNpm,
  kPypi
};
inline constexpr Ecosystem kDeb = Ecosystem::kDeb;
inline constexpr Ecosystem kRpm = Ecosystem::kRpm;
inline constexpr Ecosystem kApk = Ecosystem::kApk;
inline constexpr Ecosystem kWordPressCore = Ecosystem::kWordPressCore;
inline constexpr Ecosystem kWordPressPlugin = Ecosystem::kWordPressPlugin;
inline constexpr Ecosystem kWordPressTheme = Ecosystem::kWordPressTheme;
inline constexpr Ecosystem kComposer = Ecosystem::kComposer;
inline constexpr Ecosystem kNpm = Ecosystem::kNpm;
inline constexpr Ecosystem kPypi = Ecosystem::kPypi;

std::string_view ecosystem_name(Ecosystem e);
std::optional<Ecosystem> parse_ecosystem(std::string_view name);
// A distribution's package database (dpkg, rpm, apk): what the OS vendor patches.
inline bool is_os_package(Ecosystem e) { return e == kDeb || e == kRpm || e == kApk; }
// WordPress itself, a plugin or a theme.
inline bool is_wordpress(Ecosystem e) {
  return e == kWordPressCore || e == kWordPressPlugin || e == kWordPressTheme;
}

struct Package {
  Ecosystem ecosystem = kDeb;
  std::string name;
  std::string version;
  std::optional<std::string> arch;
  std::optional<std::string> source_name;     // dpkg Source / rpm SOURCERPM / apk origin
  std::optional<std::string> source_version;  // without binNMU suffix for dpkg
  std::string purl;
  std::string location;  // the file or directory it was read from (path inside the root)
  std::optional<int64_t> installed_at;  // unix seconds, when known
  std::string status = "installed";     // dpkg: the package state (installed, config-files, ...)
};

}  // namespace mamori

// fmt prints an ecosystem as its name.
template <>
struct fmt::formatter<mamori::Ecosystem> : fmt::formatter<std::string_view> {
  auto format(mamori::Ecosystem e, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(mamori::ecosystem_name(e), ctx);
  }
};
