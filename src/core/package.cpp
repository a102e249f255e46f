#include "core/package.h"

#include "core/enum_names.h"

namespace mamori {

namespace {

constexpr Named<Ecosystem> kEcosystemNames[] = {{kDeb, "deb"},
                                                {kRpm, "rpm"},
                                                {kApk, "apk"},
                                                {kWordPressCore, "wordpress-core"},
                                                {kWordPressPlugin, "wordpress-plugin"},
                                                {kWordPressTheme, "wordpress-theme"},
                                                {kComposer, "composer"},
                                                {kNpm, "npm"},
                                                {kPypi, "pypi"}};
static_assert(names_cover(kEcosystemNames, kPypi));

}  // namespace

std::string_view ecosystem_name(Ecosystem e) { return name_in(kEcosystemNames, e, "?"); }

std::optional<Ecosystem> parse_ecosystem(std::string_view name) {
  return parse_in(kEcosystemNames, name);
}

}  // namespace mamori
