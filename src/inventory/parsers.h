#pragma once
// Parsers behind the inventory collectors. Each takes the text of one file and a
// label (the file name used in errors) and never touches the filesystem, so the
// fuzz targets and unit tests drive them directly.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "inventory/inventory.h"

namespace mamori::inventory {

// Limits on untrusted input.
inline constexpr size_t kMaxFieldBytes = 1 << 20;  // one dpkg/apk field value

// /var/lib/dpkg/status (deb-control(5) stanzas). Strict: a malformed line or a stanza
// without Package/Version is an error naming the line. Packages in state not-installed
// are left out (as dpkg-query -W does).
Result<std::vector<Package>> parse_dpkg_status(std::string_view text, std::string_view label);

// dpkg.log lines "YYYY-MM-DD HH:MM:SS status installed NAME:ARCH VERSION" → last time
// each (name:arch, version) reached "installed". Tolerant: other lines are skipped.
void parse_dpkg_log(std::string_view text, std::map<std::string, int64_t>& installed_at);

// dpkg.log lines → the package versions known to have been installed, in log order: each
// "status installed NAME:ARCH VERSION" (installed from `t`) and the old version of each
// "upgrade NAME:ARCH OLD NEW" (installed until `t`). Tolerant: other lines are skipped.
void parse_dpkg_history(std::string_view text, std::vector<DpkgRecord>& out);

// lib/apk/db/installed (apk's "P:name" / "V:version" records).
Result<std::vector<Package>> parse_apk_installed(std::string_view text, std::string_view label);

// One header blob from rpmdb.sqlite's Packages table (rpm's header format: index entries
// + data store, big-endian).
Result<Package> parse_rpm_header(std::string_view blob, std::string_view label);

// /etc/os-release (os-release(5)).
OsRelease parse_os_release(std::string_view text);

// WordPress: wp-includes/version.php's $wp_version; plugin/theme file headers
// ("Plugin Name:", "Version:", ...) in the first 8 KiB; readme.txt "Stable tag:".
std::string parse_wp_version_php(std::string_view text);
std::map<std::string, std::string> parse_wp_file_header(std::string_view text);
std::string parse_wp_readme_stable_tag(std::string_view text);

// Lockfiles. Each returns the packages with location set to `label`.
Result<std::vector<Package>> parse_composer_lock(std::string_view text, std::string_view label);
Result<std::vector<Package>> parse_package_lock(std::string_view text, std::string_view label);
// Python *.dist-info/METADATA (core metadata, RFC 822 style headers).
Result<Package> parse_python_metadata(std::string_view text, std::string_view label);

// The absolute, variable-free document roots a web server configuration names: nginx `root
// /srv/shop;`, Apache `DocumentRoot "/srv/shop"` (one directive per line, comments skipped).
std::vector<std::string> document_roots_in_config(std::string_view text, bool nginx);

// Strip a binNMU suffix: "2.66-4+deb12u2+b2" → "2.66-4+deb12u2".
std::string strip_binnmu(std::string_view version);

}  // namespace mamori::inventory
