#pragma once
// The time stamps auth logs write, parsed without the C library's locale or time zone (internal
// to the guard): RFC 3339, Common Log Format, x11vnc's and TigerVNC's, civil time to seconds.

#include <cstdint>
#include <string_view>

namespace mamori::guard::logtime {

inline constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";

int64_t days_from_civil(int y, unsigned m, unsigned d);
bool digits(std::string_view s, size_t pos, size_t n, int& out);
int64_t iso_time(std::string_view l, size_t& pos);
int month_of(std::string_view abbr);
int64_t civil_seconds(int y, int mo, int d, int h, int mi, int s);
int64_t clf_time(std::string_view t);
int64_t dmy_time(std::string_view t);
int64_t ctime_line(std::string_view t);

}  // namespace mamori::guard::logtime
