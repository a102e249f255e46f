#pragma once
// Package: one installed piece of software as the inventory found it. It lives in
// core because the store keeps packages per scan and several modules (vuln,
// audit) read them.
//
// Example:
//   Package p;
//   p.ecosystem = kDeb; p.name = "libcap2"; p.version = "1:2.66-4+deb12u2+b2";
//   p.source_name = "libcap2"; p.source_version = "1:2.66-4+deb12u2";

#include <cstdint>
#include <optional>
#include <string>

namespace mamori {

// Ecosystem names used in Package::ecosystem (and in the JSON contract).
inline constexpr const char* kDeb = "deb";
inline constexpr const char* kRpm = "rpm";
inline constexpr const char* kApk = "apk";
inline constexpr const char* kWordPressCore = "wordpress-core";
inline constexpr const char* kWordPressPlugin = "wordpress-plugin";
inline constexpr const char* kWordPressTheme = "wordpress-theme";
inline constexpr const char* kComposer = "composer";
inline constexpr const char* kNpm = "npm";
inline constexpr const char* kPypi = "pypi";

struct Package {
  std::string ecosystem;
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
