#pragma once
// Version comparators, one per ecosystem, written to agree exactly with the
// ecosystems' own implementations (the tests check >= 100,000 generated pairs
// each against them as oracles):
//   dpkg     deb-version(7)            oracle: libapt-pkg debVS.CmpVersion, dpkg --compare-versions
//   rpm      EPOCH:VERSION-RELEASE     oracle: librpm rpmverCmp (rpmvercmp with ~ and ^)
//   semver   SemVer 2.0.0 (npm, Go)    oracle: npm's semver.compare
//   pep440   PEP 440 (PyPI)            oracle: Python's packaging.version
//   composer Composer's normalisation + PHP version_compare   oracle: composer/semver + PHP
//   php      PHP version_compare (WordPress core, plugins, themes)
//
// Example:
//   dpkg_compare("1:2.66-4+deb12u2", "1:2.66-4+deb12u3");   // < 0
//   auto c = compare_versions(Scheme::kPep440, "1.0.dev1", "1.0a1");  // Result<int>, < 0

#include <string>
#include <string_view>

#include "core/result.h"

namespace mamori::vuln {

enum class Scheme { kDpkg, kRpm, kSemver, kPep440, kComposer, kPhp };

std::string_view scheme_name(Scheme s);

// Total orders on any input (like the originals, they never fail).
int dpkg_compare(std::string_view a, std::string_view b);
int rpm_compare(std::string_view a, std::string_view b);  // full EVR strings
int rpmvercmp(std::string_view a, std::string_view b);    // one segment (rpm's rpmvercmp)
int php_version_compare(std::string_view a, std::string_view b);

// Comparators that parse first: an invalid version is an InvalidArgument error.
Result<int> semver_compare(std::string_view a, std::string_view b);
Result<int> pep440_compare(std::string_view a, std::string_view b);
Result<int> composer_compare(std::string_view a, std::string_view b);
// Composer's VersionParser::normalize for classic versions ("v1.2" → "1.2.0.0",
// "1.0-b2" → "1.0.0.0-beta2"); dev branches and date versions are errors.
Result<std::string> composer_normalize(std::string_view v);

// Dispatch; the sign of the result is what counts (<0, 0, >0).
Result<int> compare_versions(Scheme s, std::string_view a, std::string_view b);

}  // namespace mamori::vuln
