#include "guard/authlog.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "core/enum_names.h"
#include "core/text.h"
#include "guard/logtime.h"

namespace mamori::guard {

using namespace logtime;

namespace {

// The address before the last " port N" and where it starts; false when there is none.
// Only the LAST " port N" is sshd's: anything before it may be the client's user name. When
// what precedes it is not an address (UseDNS logs a host name) there is nothing to blame —
// looking further left would find "x from 198.51.100.9 port 22" inside the user name.
bool last_addr(std::string_view msg, Ip& ip, size_t& ip_start) {
  size_t p = msg.rfind(" port ");
  if (p == std::string_view::npos || p == 0) return false;
  size_t sp = msg.rfind(' ', p - 1);
  size_t start = sp == std::string_view::npos ? 0 : sp + 1;
  if (!parse_ip(msg.substr(start, p - start), ip)) return false;
  ip_start = start;
  return true;
}

// An address as a log writes it ("::ffff:192.0.2.7", as xrdp and sshd write IPv4 clients of a
// dual-stack socket, is the IPv4 address: parse_ip sees to that).
bool log_ip(std::string_view s, Ip& ip) { return parse_ip(s, ip); }

}  // namespace

constexpr Named<Service> kServiceNames[] = {{Service::kSsh, "ssh"},
                                            {Service::kPam, "pam"},
                                            {Service::kXrdp, "xrdp"},
                                            {Service::kVnc, "vnc"},
                                            {Service::kWordPress, "wordpress"},
                                            {Service::kWaf, "waf"}};
static_assert(names_cover(kServiceNames, Service::kWaf));

std::string_view service_name(Service s) { return name_in(kServiceNames, s, "?"); }

namespace {

std::string_view base_name(std::string_view p) { return p.substr(p.rfind('/') + 1); }

bool is_vnc_name(std::string_view s) {
  return s.find("vnc") != std::string_view::npos || s.find("VNC") != std::string_view::npos;
}

// A unit of the system manager (not a user's own manager, not a login session's scope).
bool system_unit(std::string_view u) {
  return !u.empty() && !u.starts_with("user@") && !u.starts_with("user-") &&
         !u.starts_with("session-") && u.ends_with(".service");
}

}  // namespace

Origin judge_origin(std::string_view ident, std::string_view msg, const JournalOrigin& o) {
  // journald adds _UID to every record it receives; a record without it comes from an export
  // file, and then the other fields must speak for it
  bool uid0 = o.uid.empty() || o.uid == "0";
  bool sshd = ident == "sshd" || ident == "sshd-session";
  if (sshd) {
    auto is_sshd = [](std::string_view n) { return n == "sshd" || n == "sshd-session"; };
    bool program = is_sshd(o.comm) || is_sshd(base_name(o.exe)) || o.unit == "ssh.service" ||
                   o.unit == "sshd.service" || o.unit.starts_with("ssh@") ||
                   o.unit.starts_with("sshd@");
    return uid0 && program ? Origin::kTrusted : Origin::kUntrusted;
  }
  if (msg.starts_with("pam_")) {
    // PAM runs inside the service, as root (su and the like through their setuid bit): a user
    // can run a PAM application of their own, never as uid 0
    bool any = !o.uid.empty() || !o.comm.empty() || !o.exe.empty() || !o.unit.empty();
    return any && uid0 ? Origin::kTrusted : Origin::kUntrusted;
  }
  if (ident.starts_with("xrdp")) {  // xrdp itself runs as user xrdp: its unit speaks for it
    bool unit = o.unit == "xrdp.service" || o.unit == "xrdp-sesman.service";
    bool root_xrdp = uid0 && !o.comm.empty() && o.comm.starts_with("xrdp");
    return unit || root_xrdp ? Origin::kTrusted : Origin::kUntrusted;
  }
  if (is_vnc_name(ident)) {
    bool unit = system_unit(o.unit) && is_vnc_name(o.unit);
    bool root_vnc = uid0 && !o.comm.empty() && is_vnc_name(o.comm);
    return unit || root_vnc ? Origin::kTrusted : Origin::kUntrusted;
  }
  return Origin::kIrrelevant;
}

int64_t AuthLogParser::local_to_utc(int64_t civil) {
  // the zone's offset at the instant that civil time names: first guess with the offset of
  // that instant read as UTC, then correct with the offset at the guess (DST transitions)
  auto offset_at = [](int64_t t) -> int64_t {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    if (!localtime_r(&tt, &tm)) return 0;
    return tm.tm_gmtoff;
  };
  int64_t guess = civil - offset_at(civil);
  return civil - offset_at(guess);
}

int64_t AuthLogParser::local(int64_t civil) {
  if (civil < 0) return civil;
  // zones change their offset on quarter hours at the finest: one lookup per quarter hour of
  // log time keeps a log of millions of lines from calling localtime_r for each
  int64_t quarter = civil / 900;
  if (quarter != zone_quarter_) {
    zone_quarter_ = quarter;
    zone_offset_ = civil - local_to_utc(civil);
  }
  return civil - zone_offset_;
}

AuthLogParser::AuthLogParser(int year) : year_(year) {}

void AuthLogParser::push(int64_t ts, AuthKind k, const Ip& ip, std::string_view user, bool valid,
                         Service s) {
  if (k == AuthKind::kSuccess) ++successes_;
  events_.push_back({ts, k, ip, intern(user), valid, s});
}

void AuthLogParser::drop_before(int64_t ts) {
  std::erase_if(events_, [ts](const AuthEvent& e) { return e.ts < ts; });
  std::erase_if(wp_pending_, [ts](const auto& kv) { return kv.second < ts; });
  compact_users();
}

void AuthLogParser::drop_after(int64_t ts) {
  std::erase_if(events_, [ts](const AuthEvent& e) { return e.ts > ts; });
}

void AuthLogParser::compact_users() {
  // A name no event refers to any more is dropped once they outnumber the events: a service
  // fed millions of unique names keeps a table the size of its window, at amortised O(1).
  if (users_.size() <= 2 * events_.size() + 4096) return;
  std::vector<uint32_t> remap(users_.size(), UINT32_MAX);
  std::vector<std::string> kept;
  for (auto& e : events_) {
    uint32_t& r = remap[e.user];
    if (r == UINT32_MAX) {
      r = static_cast<uint32_t>(kept.size());
      kept.push_back(std::move(users_[e.user]));
    }
    e.user = r;
  }
  users_ = std::move(kept);
  std::unordered_map<std::string, uint32_t> ids;
  ids.reserve(users_.size());
  for (uint32_t i = 0; i < users_.size(); ++i) ids.emplace(users_[i], i);
  user_ids_ = std::move(ids);
}

uint32_t AuthLogParser::intern(std::string_view u) {
  constexpr size_t kMaxUser = 256;
  std::string key(u.substr(0, kMaxUser));
  if (u.size() > kMaxUser) key += "…";
  if (users_.size() >= kMaxUserNames) {  // a flood of unique names: memory stays bounded
    compact_users();
    auto it = user_ids_.find(key);
    if (it != user_ids_.end()) return it->second;
    if (users_.size() >= kMaxUserNames) key = "(more user names than Mamori keeps)";
  }
  auto [it, fresh] = user_ids_.emplace(std::move(key), static_cast<uint32_t>(users_.size()));
  if (fresh) users_.push_back(it->first);
  return it->second;
}

int64_t AuthLogParser::syslog_time(std::string_view l, size_t& pos) {
  // "May  6 00:00:01 "
  if (l.size() < 16 || l[3] != ' ' || l[6] != ' ' || l[9] != ':' || l[12] != ':') return -1;
  int month = month_of(l.substr(0, 3)), d, h, mi, s;
  if (month == 0) return -1;
  int d1 = l[4] == ' ' ? 0 : l[4] - '0';
  if (d1 < 0 || d1 > 3 || l[5] < '0' || l[5] > '9') return -1;
  d = d1 * 10 + (l[5] - '0');
  if (!digits(l, 7, 2, h) || !digits(l, 10, 2, mi) || !digits(l, 13, 2, s) || d < 1) return -1;
  if (last_month_ > 0 && month < last_month_ && last_month_ - month > 6) ++year_;  // Dec → Jan
  last_month_ = month;
  pos = 15;
  auto at = [&] {
    return local(days_from_civil(year_, static_cast<unsigned>(month), static_cast<unsigned>(d)) *
                     86400 +
                 h * 3600 + mi * 60 + s);
  };
  int64_t t = at();
  // Read in January, December's lines are last year's: a syslog time more than a day ahead of
  // the clock belongs to the year before (when the year was not given).
  if (now_ > 0 && t > now_ + 86400) {
    --year_;
    t = at();
  }
  return t;
}

void AuthLogParser::feed(std::string_view bytes) {
  std::string_view buf = bytes;
  if (!carry_.empty()) {
    carry_.append(bytes);
    buf = carry_;
  }
  size_t pos = 0;
  while (pos < buf.size()) {
    if (skipping_) {  // the rest of a line that was too long: never parsed as lines of its own
      const char* nl =
          static_cast<const char*>(std::memchr(buf.data() + pos, '\n', buf.size() - pos));
      if (!nl) {
        pos = buf.size();
        break;
      }
      pos = static_cast<size_t>(nl - buf.data()) + 1;
      skipping_ = false;
      continue;
    }
    if (ex_binary_left_ > 0) {  // skipping a binary export field (size then data then '\n')
      if (ex_binary_left_ == UINT64_MAX) {
        if (buf.size() - pos < 8) break;
        uint64_t n;
        std::memcpy(&n, buf.data() + pos, 8);
        pos += 8;
        ex_binary_left_ = n > (1ull << 40) ? (1ull << 40) : n + 1;
        continue;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(ex_binary_left_, buf.size() - pos));
      pos += take;
      ex_binary_left_ -= take;
      continue;
    }
    const char* nl =
        static_cast<const char*>(std::memchr(buf.data() + pos, '\n', buf.size() - pos));
    if (!nl) break;
    size_t end = static_cast<size_t>(nl - buf.data());
    line(buf.substr(pos, end - pos));
    pos = end + 1;
  }
  std::string rest(buf.substr(pos));
  if (rest.size() > (1u << 20)) {  // a line over 1 MiB is not a log line: dropped, to its end
    rest.clear();
    skipping_ = true;
  }
  carry_ = std::move(rest);
}

void AuthLogParser::finish() {
  if (!carry_.empty()) {
    std::string last = std::move(carry_);
    carry_.clear();
    line(last);
  }
  if (export_) export_field("");  // a final record without its blank line
  // The next file starts afresh: its own format, no overlong line or binary field of this one
  // running into it, no TigerVNC clock of another log.
  skipping_ = false;
  ex_binary_left_ = 0;
  export_ = decided_ = false;
  vnc_clock_ = -1;
}

void AuthLogParser::message(int64_t ts, uint32_t pid, std::string_view ident,
                            std::string_view msg) {
  ++lines_;
  msg = msg.substr(0, 1 << 16);
  if (ident == "sshd" || ident == "sshd-session") {
    sshd(ts, pid, msg);
  } else {
    other(ts, ident, msg);
  }
}

void AuthLogParser::export_field(std::string_view l) {
  if (l.empty()) {  // end of a record
    if (!ex_msg_.empty()) {
      Origin o = judge_origin(ex_ident_, ex_msg_, {ex_uid_, ex_comm_, ex_exe_, ex_unit_});
      if (o == Origin::kUntrusted) {
        ++untrusted_;
      } else if (ex_ident_ == "sshd" || ex_ident_ == "sshd-session") {
        sshd(ex_ts_, ex_pid_, ex_msg_);
      } else {
        other(ex_ts_, ex_ident_, ex_msg_);
      }
    }
    ex_ts_ = 0;
    ex_pid_ = 0;
    ex_pid_trusted_ = false;
    for (std::string* f : {&ex_ident_, &ex_msg_, &ex_uid_, &ex_comm_, &ex_exe_, &ex_unit_})
      f->clear();
    return;
  }
  size_t eq = l.find('=');
  if (eq == std::string_view::npos) {  // binary field: 64-bit little-endian size follows
    ex_binary_left_ = UINT64_MAX;
    return;
  }
  std::string_view k = l.substr(0, eq), v = l.substr(eq + 1);
  if (k == "__REALTIME_TIMESTAMP") {
    int64_t us = 0;
    for (char c : v) {
      if (c < '0' || c > '9' || us > INT64_MAX / 10) return;
      us = us * 10 + (c - '0');
    }
    ex_ts_ = us / 1000000;
  } else if (k == "SYSLOG_IDENTIFIER") {
    ex_ident_ = std::string(v.substr(0, 64));
  } else if (k == "_PID" || (k == "SYSLOG_PID" && !ex_pid_trusted_)) {
    // journald's _PID (the kernel's) over SYSLOG_PID (the sender's word)
    uint32_t p = 0;
    for (char c : v.substr(0, 10))
      if (c >= '0' && c <= '9') p = p * 10 + static_cast<uint32_t>(c - '0');
    ex_pid_ = p;
    if (k == "_PID") ex_pid_trusted_ = true;
  } else if (k == "MESSAGE") {
    ex_msg_ = std::string(v.substr(0, 1 << 16));
  } else if (k == "_UID") {
    ex_uid_ = std::string(v.substr(0, 16));
  } else if (k == "_COMM") {
    ex_comm_ = std::string(v.substr(0, 64));
  } else if (k == "_EXE") {
    ex_exe_ = std::string(v.substr(0, 4096));
  } else if (k == "_SYSTEMD_UNIT") {
    ex_unit_ = std::string(v.substr(0, 256));
  }
}

void AuthLogParser::line(std::string_view l) {
  ++lines_;
  if (!decided_ && !l.empty()) {
    decided_ = true;
    export_ = l.starts_with("__CURSOR=") || l.starts_with("__REALTIME_TIMESTAMP=");
  }
  if (export_) {
    export_field(l);
    return;
  }
  if (l.size() < 20) {
    if (l.starts_with(" Connections: closed: ")) headerless(l);
    return;
  }
  size_t pos = 0;
  int64_t ts;
  if (l[0] >= '0' && l[0] <= '9') {
    ts = iso_time(l, pos);
  } else {
    ts = syslog_time(l, pos);
  }
  if (ts < 0 || pos >= l.size() || l[pos] != ' ') {
    headerless(l);
    return;
  }
  // host, then "ident[pid]: "
  size_t host_end = l.find(' ', pos + 1);
  if (host_end == std::string_view::npos) return;
  size_t id = host_end + 1;
  size_t br = l.find_first_of("[:", id);
  if (br == std::string_view::npos) return;
  std::string_view ident = l.substr(id, br - id);
  bool ssh = ident == "sshd" || ident == "sshd-session";
  uint32_t pid = 0;
  size_t m = br;
  if (l[br] == '[') {
    size_t close = l.find(']', br);
    if (close == std::string_view::npos) return;
    for (size_t i = br + 1; i < close && i < br + 11; ++i)
      if (l[i] >= '0' && l[i] <= '9') pid = pid * 10 + static_cast<uint32_t>(l[i] - '0');
    m = close + 1;
  }
  if (m + 2 > l.size() || l[m] != ':' || l[m + 1] != ' ') return;
  if (ssh) {
    sshd(ts, pid, l.substr(m + 2));
  } else {
    other(ts, ident, l.substr(m + 2));
  }
}

void AuthLogParser::other(int64_t ts, std::string_view ident, std::string_view msg) {
  if (msg.starts_with("pam_")) {
    pam(ts, msg);
  } else if (ident.starts_with("xrdp")) {
    xrdp(ts, msg);
  } else if (ident.find("vnc") != std::string_view::npos ||
             ident.find("VNC") != std::string_view::npos) {
    vnc(ts, msg);
  }
}

void AuthLogParser::pam(int64_t ts, std::string_view msg) {
  // "pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=
  //  rhost=192.0.2.7  user=bob" (rhost is the service's, the user name the client's)
  size_t open = msg.find('(');
  constexpr std::string_view kFail = ":auth): authentication failure;";
  size_t close = msg.find(kFail);
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return;
  std::string_view service = msg.substr(open + 1, close - open - 1);
  // sshd's "Failed password" and xrdp's AUTHFAIL lines count these tries themselves
  if (service == "sshd" || service.starts_with("xrdp")) return;
  size_t r = msg.find(" rhost=", close);
  if (r == std::string_view::npos) return;
  size_t vs = r + 7, ve = msg.find(' ', vs);
  if (ve == std::string_view::npos) ve = msg.size();
  Ip ip;
  if (!log_ip(msg.substr(vs, ve - vs), ip)) return;  // local (tty), or a host name
  std::string_view user;
  if (size_t u = msg.find("  user=", ve); u == ve) user = msg.substr(u + 7);
  push(ts, AuthKind::kFailure, ip, user, true, Service::kPam);
}

void AuthLogParser::xrdp(int64_t ts, std::string_view msg) {
  // "AUTHFAIL: user=U ip=::ffff:192.0.2.7 time=1715000000" — U is the client's: the address
  // is after the last " ip=", the time (the same clock as the line's) after it
  constexpr std::string_view kAuthFail = "AUTHFAIL: user=";
  size_t a = msg.find(kAuthFail);
  if (a == std::string_view::npos) return;
  size_t u = a + kAuthFail.size();
  size_t i = msg.rfind(" ip=");
  if (i == std::string_view::npos || i < u) return;
  size_t t = msg.find(" time=", i);
  std::string_view addr =
      msg.substr(i + 4, t == std::string_view::npos ? std::string_view::npos : t - i - 4);
  Ip ip;
  if (!log_ip(addr, ip)) {
    // "192.0.2.7:50000"
    size_t colon = addr.rfind(':');
    if (colon == std::string_view::npos || addr.find(':') != colon ||
        !log_ip(addr.substr(0, colon), ip))
      return;
  }
  if (t != std::string_view::npos) {
    int64_t v = 0;
    std::string_view d = msg.substr(t + 6);
    size_t n = 0;
    while (n < d.size() && n < 12 && d[n] >= '0' && d[n] <= '9') v = v * 10 + (d[n++] - '0');
    // xrdp's own log has no other time; in syslog the line's stamp wins over a "time=" a day
    // or more away from it (the field follows the client's user name: it may be forged)
    if (n > 0 && n < 12 && (ts < 0 || std::abs(v - ts) < 86400)) ts = v;
  }
  if (ts < 0) return;
  push(ts, AuthKind::kFailure, ip, msg.substr(u, i - u), true, Service::kXrdp);
}

void AuthLogParser::vnc(int64_t ts, std::string_view msg) {
  while (!msg.empty() && msg.front() == ' ') msg.remove_prefix(1);
  Ip ip;
  constexpr std::string_view kClosed = "Connections: closed: ";
  if (msg.starts_with(kClosed)) {
    // TigerVNC: "Connections: closed: 192.0.2.7::50000 (Authentication failure)"
    std::string_view rest = msg.substr(kClosed.size());
    size_t paren = rest.find(" (");
    if (paren == std::string_view::npos ||
        !rest.substr(paren + 2).starts_with("Authentication fail"))
      return;
    size_t sep = rest.substr(0, paren).rfind("::");
    if (sep == std::string_view::npos || !log_ip(rest.substr(0, sep), ip)) return;
  } else {
    // libvncserver (x11vnc…): "rfbVncAuthProcessResponse: authentication failed from 192.0.2.7"
    constexpr std::string_view kFrom = "authentication failed from ";
    size_t f = msg.rfind(kFrom);
    if (f == std::string_view::npos) return;
    std::string_view addr = msg.substr(f + kFrom.size());
    while (!addr.empty() && (addr.back() == ' ' || addr.back() == '\r')) addr.remove_suffix(1);
    if (!log_ip(addr, ip)) return;
  }
  if (ts < 0) return;
  push(ts, AuthKind::kFailure, ip, "", false, Service::kVnc);
}

void AuthLogParser::headerless(std::string_view l) {
  if (l.starts_with("{\"time\":\"")) {
    waf(l);
    return;
  }
  if (web(l)) return;
  if (l.starts_with("[")) {  // xrdp's own log: the line's time is in its "time=" field
    if (l.find("AUTHFAIL: ") != std::string_view::npos) xrdp(-1, l);
    return;
  }
  if (int64_t t = local(dmy_time(l)); t >= 0) {  // x11vnc's own log (local time)
    vnc(t, l.substr(20));
    return;
  }
  if (int64_t t = local(ctime_line(l)); t >= 0) {  // TigerVNC: a time line, then its messages
    vnc_clock_ = t;
    return;
  }
  if (l.starts_with(" Connections: closed: ")) vnc(vnc_clock_, l);
}

namespace {

// Index of the first '"' at or after `from` not escaped by a backslash (Apache writes \" and
// \\ inside quoted fields; nginx writes \x22), or npos.
size_t unescaped_quote(std::string_view s, size_t from) {
  for (size_t q = s.find('"', from); q != std::string_view::npos; q = s.find('"', q + 1)) {
    size_t bs = 0;
    while (bs < q && s[q - 1 - bs] == '\\') ++bs;
    if (bs % 2 == 0) return q;
  }
  return std::string_view::npos;
}

constexpr int64_t kDashboardWindow = 300;  // a login's redirect, then its dashboard

}  // namespace

bool AuthLogParser::waf(std::string_view l) {
  // {"time":"2026-12-02T15:18:09.517Z","id":"<hex>","action":"blocked","status":403,
  //  "client":"203.0.113.7",… — every field up to the client is Mamori's own.
  size_t p = 9;
  auto take = [&](std::string_view lit) {
    if (l.substr(p, lit.size()) != lit) return false;
    p += lit.size();
    return true;
  };
  auto until_quote = [&](size_t most) -> std::string_view {
    size_t q = l.find('"', p);
    if (q == std::string_view::npos || q - p > most) return {};
    std::string_view v = l.substr(p, q - p);
    p = q;
    return v;
  };
  std::string_view t = until_quote(32);
  if (t.size() < 20 || t[10] != 'T' || t.back() != 'Z') return false;
  std::string stamp(t.substr(0, 19));
  stamp[10] = ' ';
  int64_t ts = parse_datetime(stamp);
  if (ts < 0 || !take("\",\"id\":\"")) return false;
  std::string_view id = until_quote(40);
  if (id.empty() || !std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      }))
    return false;
  if (!take("\",\"action\":\"blocked\",\"status\":")) return false;  // only what it blocked
  while (p < l.size() && l[p] >= '0' && l[p] <= '9') ++p;
  if (!take(",\"client\":\"")) return false;
  std::string_view addr = until_quote(64);
  Ip ip;
  if (addr.empty() || !take("\"") || !parse_ip(addr, ip)) return false;
  push(ts, AuthKind::kFailure, ip, "", false, Service::kWaf);
  return true;
}

bool parse_access_line(std::string_view l, AccessLine& out) {
  // combined: 'IP - USER [06/May/2024:00:00:01 +0000] "POST /wp-login.php HTTP/1.1" 200 …',
  // optionally after "vhost:port " (Apache's vhost_combined). USER is the client's (Basic
  // auth) and may hold " [" or "] ": the line is anchored on its first unescaped quote, which
  // starts the request (a quote in USER is escaped by the server), with the time just before.
  out = AccessLine{};
  size_t sp = l.find(' ');
  if (sp == std::string_view::npos || sp > 300) return false;
  size_t after = sp;
  if (!log_ip(l.substr(0, sp), out.ip)) {
    size_t sp2 = l.find(' ', sp + 1);
    if (sp2 == std::string_view::npos || !log_ip(l.substr(sp + 1, sp2 - sp - 1), out.ip))
      return false;
    after = sp2;
  }
  size_t open = unescaped_quote(l, after);
  // "… [06/May/2024:00:00:01 +0000] \"": the 26 characters of the time end 2 before the quote
  if (open == std::string_view::npos || open < after + 30 || l[open - 1] != ' ' ||
      l[open - 2] != ']' || l[open - 29] != '[' || l[open - 30] != ' ')
    return false;
  out.ts = clf_time(l.substr(open - 28, 26));
  if (out.ts < 0) return true;  // an access log line with a broken time
  size_t close = unescaped_quote(l, open + 1);
  if (close == std::string_view::npos) return true;
  out.request = l.substr(open + 1, close - open - 1);
  int status = 0;
  if (close + 5 > l.size() || l[close + 1] != ' ' || !digits(l, close + 2, 3, status)) return true;
  out.status = status;
  return true;
}

bool AuthLogParser::web(std::string_view l) {
  AccessLine line;
  if (!parse_access_line(l, line)) return false;
  if (line.ts < 0 || line.status == 0) return true;  // nothing to count
  const int64_t ts = line.ts;
  const Ip ip = line.ip;
  const int status = line.status;
  std::string_view req = line.request;
  bool post = req.starts_with("POST "), get = req.starts_with("GET ");
  if (!post && !get) return true;
  std::string_view target = req.substr(post ? 5 : 4);
  target = target.substr(0, target.find(' '));
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query =
      path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view{};
  if (get) {
    // the dashboard, which WordPress serves (200) only to a logged-in user (admin-ajax.php and
    // the static files answer anyone, so they do not count)
    if (status == 200 && (path.ends_with("/wp-admin/") || path.ends_with("/wp-admin/index.php") ||
                          path.ends_with("/wp-admin/profile.php")))
      web_dashboard(ts, ip);
    return true;
  }
  if (path.ends_with("/wp-login.php")) {
    // other forms of the page (lost password, post password) are not logins
    for (size_t a = query.find("action="); a != std::string_view::npos;
         a = query.find("action=", a + 1))
      if ((a == 0 || query[a - 1] == '&') && !query.substr(a + 7).starts_with("login")) return true;
    if (status == 302) {
      // a login redirects to the dashboard — so does an http→https redirect of the POST: only
      // the dashboard that follows tells them apart
      if (wp_pending_.size() > (1u << 16))
        std::erase_if(wp_pending_,
                      [ts](const auto& kv) { return kv.second < ts - kDashboardWindow; });
      if (wp_pending_.size() <= (1u << 16)) wp_pending_[ip] = ts;
    } else if (status == 200 || status == 401 || status == 403 || status == 429) {
      push(ts, AuthKind::kFailure, ip, "", false, Service::kWordPress);
    }
  } else if (path.ends_with("/xmlrpc.php")) {
    push(ts, AuthKind::kFailure, ip, "", false, Service::kWordPress);
  }
  return true;
}

void AuthLogParser::web_dashboard(int64_t ts, const Ip& ip) {
  auto it = wp_pending_.find(ip);
  if (it == wp_pending_.end()) return;
  int64_t login = it->second;
  wp_pending_.erase(it);
  if (ts >= login && ts - login <= kDashboardWindow)
    push(login, AuthKind::kSuccess, ip, "", false, Service::kWordPress);
}

void AuthLogParser::sshd(int64_t ts, uint32_t pid, std::string_view msg) {
  auto starts = [&](std::string_view p) { return msg.starts_with(p); };
  Ip ip;
  size_t ip_start = 0;
  auto failure = [&](std::string_view user, bool valid) {
    events_.push_back({ts, AuthKind::kFailure, ip, intern(user), valid, Service::kSsh});
  };
  if (starts("Failed ")) {
    // "Failed password for [invalid user ]U from IP port N ssh2" (also keyboard-interactive/pam,
    // publickey, none)
    size_t f = msg.find(" for ", 7);
    if (f == std::string_view::npos || !last_addr(msg, ip, ip_start) || ip_start < f + 11) return;
    std::string_view who = msg.substr(f + 5, ip_start - 6 - (f + 5));
    if (msg.substr(ip_start - 6, 6) != " from ") return;
    bool invalid = who.starts_with("invalid user ");
    if (invalid) who.remove_prefix(13);
    auto it = conns_.find(pid);
    if (invalid && it != conns_.end() && it->second.invalid_pending && it->second.ip == ip) {
      it->second.invalid_pending = false;  // this try was counted with its "Invalid user" line
      return;
    }
    failure(who, !invalid);
    Conn& c = conns_[pid];
    c.ip = ip;
    c.failed = true;
    c.invalid_pending = false;
    return;
  }
  if (starts("Invalid user ")) {
    // "Invalid user U from IP port N"
    if (!last_addr(msg, ip, ip_start) || ip_start < 19 || msg.substr(ip_start - 6, 6) != " from ")
      return;
    failure(msg.substr(13, ip_start - 6 - 13), false);
    conns_[pid] = Conn{ip, true, true};
    return;
  }
  if (starts("Accepted ")) {
    size_t f = msg.find(" for ", 9);
    if (f == std::string_view::npos || !last_addr(msg, ip, ip_start) || ip_start < f + 11 ||
        msg.substr(ip_start - 6, 6) != " from ")
      return;
    push(ts, AuthKind::kSuccess, ip, msg.substr(f + 5, ip_start - 6 - (f + 5)), true,
         Service::kSsh);
    conns_.erase(pid);
    return;
  }
  constexpr std::string_view kClosedAuth = "Connection closed by authenticating user ";
  constexpr std::string_view kDiscAuth = "Disconnected from authenticating user ";
  if (starts(kClosedAuth) || starts(kDiscAuth)) {
    // "… authenticating user U IP port N [preauth]": a key/none probe unless a password
    // failure was already counted on this connection
    size_t pre = starts(kClosedAuth) ? kClosedAuth.size() : kDiscAuth.size();
    auto it = conns_.find(pid);
    bool counted = it != conns_.end() && it->second.failed;
    if (it != conns_.end()) conns_.erase(it);
    if (counted || !last_addr(msg, ip, ip_start) || ip_start < pre + 2) return;
    failure(msg.substr(pre, ip_start - 1 - pre), true);
    return;
  }
  if (starts("Connection closed by ") || starts("Disconnected from ") ||
      starts("Received disconnect from "))
    if (starts("Connection closed by invalid user ") || starts("Disconnected from invalid user ") ||
        starts("Disconnected from user "))
      conns_.erase(pid);
  if (starts("Disconnecting ")) conns_.erase(pid);  // "… Too many authentication failures"
  if (conns_.size() > (1u << 16)) conns_.clear();   // connections never closed in this log
}

}  // namespace mamori::guard
