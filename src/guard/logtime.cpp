// The time stamps auth logs write (logtime.h).
#include "guard/logtime.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace mamori::guard::logtime {

int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

// "2024-05-06T00:00:01.123456+00:00" / "…+0000" / "…Z": unix seconds; pos = after it.
int64_t iso_time(std::string_view l, size_t& pos) {
  int y, mo, d, h, mi, s;
  if (l.size() < 19 || l[4] != '-' || l[7] != '-' || (l[10] != 'T' && l[10] != ' ') ||
      !digits(l, 0, 4, y) || !digits(l, 5, 2, mo) || !digits(l, 8, 2, d) || !digits(l, 11, 2, h) ||
      !digits(l, 14, 2, mi) || !digits(l, 17, 2, s) || mo < 1 || mo > 12 || d < 1 || d > 31)
    return -1;
  size_t i = 19;
  if (i < l.size() && l[i] == '.')
    for (++i; i < l.size() && l[i] >= '0' && l[i] <= '9';) ++i;
  int64_t off = 0;
  if (i < l.size() && (l[i] == '+' || l[i] == '-')) {
    int oh, om;
    bool colon = i + 3 < l.size() && l[i + 3] == ':';
    if (!digits(l, i + 1, 2, oh) || !digits(l, i + (colon ? 4 : 3), 2, om)) return -1;
    off = (oh * 3600 + om * 60) * (l[i] == '+' ? 1 : -1);
    i += colon ? 6 : 5;
  } else if (i < l.size() && l[i] == 'Z') {
    ++i;
  }
  pos = i;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + s - off;
}

int month_of(std::string_view abbr) {
  size_t m = kMonths.find(abbr);
  return abbr.size() == 3 && m != std::string_view::npos && m % 3 == 0 ? static_cast<int>(m / 3) + 1
                                                                       : 0;
}

int64_t civil_seconds(int y, int mo, int d, int h, int mi, int s) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return -1;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + s;
}

// Access log "06/May/2024:00:00:01 +0200" → unix seconds.
int64_t clf_time(std::string_view t) {
  int d, y, h, mi, s, oh, om;
  if (t.size() < 26 || t[2] != '/' || t[6] != '/' || t[11] != ':' || t[20] != ' ' ||
      !digits(t, 0, 2, d) || !digits(t, 7, 4, y) || !digits(t, 12, 2, h) || !digits(t, 15, 2, mi) ||
      !digits(t, 18, 2, s) || (t[21] != '+' && t[21] != '-') || !digits(t, 22, 2, oh) ||
      !digits(t, 24, 2, om))
    return -1;
  int64_t base = civil_seconds(y, month_of(t.substr(3, 3)), d, h, mi, s);
  if (base < 0) return -1;
  return base - (oh * 3600 + om * 60) * (t[21] == '+' ? 1 : -1);
}

// x11vnc/libvncserver "06/05/2024 00:00:01 " → civil seconds (the server's local time).
int64_t dmy_time(std::string_view t) {
  int d, mo, y, h, mi, s;
  if (t.size() < 20 || t[2] != '/' || t[5] != '/' || t[10] != ' ' || t[13] != ':' || t[16] != ':' ||
      t[19] != ' ' || !digits(t, 0, 2, d) || !digits(t, 3, 2, mo) || !digits(t, 6, 4, y) ||
      !digits(t, 11, 2, h) || !digits(t, 14, 2, mi) || !digits(t, 17, 2, s))
    return -1;
  return civil_seconds(y, mo, d, h, mi, s);
}

// TigerVNC's time line "Mon May  6 00:00:01 2024" (ctime, local time) → civil seconds.
int64_t ctime_line(std::string_view t) {
  int d, h, mi, s, y;
  if (t.size() != 24 || t[3] != ' ' || t[7] != ' ' || t[10] != ' ' || t[13] != ':' ||
      t[16] != ':' || t[19] != ' ' || !digits(t, 11, 2, h) || !digits(t, 14, 2, mi) ||
      !digits(t, 17, 2, s) || !digits(t, 20, 4, y))
    return -1;
  if (t[8] == ' ') {
    if (!digits(t, 9, 1, d)) return -1;
  } else if (!digits(t, 8, 2, d)) {
    return -1;
  }
  return civil_seconds(y, month_of(t.substr(4, 3)), d, h, mi, s);
}

}  // namespace mamori::guard::logtime
