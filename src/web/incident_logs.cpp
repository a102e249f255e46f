// web incident: what the logs say around the change — requests (access logs, the WAF's
// decision log) and logins (auth logs, the journal) — read line by line, memory bounded by what
// is kept, never by the size of the logs.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "guard/authlog.h"
#include "guard/journal.h"
#include "web/incident.h"
#include "web/incident_impl.h"

namespace mamori::web {

namespace {

constexpr size_t kMaxUri = 2048;
constexpr size_t kMaxLine = 64 << 10;  // longer lines are nobody's log format: skipped

bool method_word(std::string_view m) {
  if (m.empty() || m.size() > 16) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string bounded(std::string_view s) { return valid_utf8(s.substr(0, kMaxUri)); }

}  // namespace

RequestLog::RequestLog(int64_t from, int64_t to, int64_t center, size_t cap, Relate relate)
    : from_(from), to_(to), center_(center), cap_(cap), relate_(std::move(relate)) {}

bool RequestLog::access(std::string_view l, IncidentRequest& r) {
  guard::AccessLine a;
  if (!guard::parse_access_line(l, a) || a.ts < 0 || a.status == 0) return false;
  std::string_view req = a.request;
  size_t sp = req.find(' ');
  if (sp == std::string_view::npos || !method_word(req.substr(0, sp))) return false;
  std::string_view target = req.substr(sp + 1);
  if (size_t e = target.rfind(" HTTP/"); e != std::string_view::npos) target = target.substr(0, e);
  r.address = a.ip.str();
  r.time = a.ts;
  r.method = std::string(req.substr(0, sp));
  r.uri = bounded(target);
  r.status = a.status;
  return true;
}

bool RequestLog::waf(std::string_view l, IncidentRequest& r) {
  // Mamori's own decision log: {"time":"…Z","id":"…","action":"blocked","status":403,
  // "client":"…",…,"method":"POST","uri":"/…"}
  if (!l.starts_with("{\"time\":\"")) return false;
  auto j = nlohmann::json::parse(l, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto str = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string ts = str("time"), action = str("action"), client = str("client");
  if (ts.size() < 19 || action.empty() || client.empty()) return false;
  ts[10] = ' ';
  r.time = parse_datetime(std::string_view(ts).substr(0, 19));
  if (r.time < 0) return false;
  Ip ip;
  r.address = parse_ip(client, ip) ? ip.str() : bounded(client.substr(0, 64));
  r.method = str("method");
  if (!method_word(r.method)) r.method.clear();
  r.uri = bounded(str("uri"));
  r.waf = bounded(action.substr(0, 16));
  for (const char* k : {"status", "would_status"})
    if (auto it = j.find(k); it != j.end() && it->is_number_integer()) r.status = it->get<int>();
  return true;
}

bool RequestLog::line(std::string_view l, const std::string& source, uint64_t lineno) {
  if (l.size() > kMaxLine) return false;
  IncidentRequest r;
  if (!access(l, r) && !waf(l, r)) return false;
  ++requests_;
  if (r.time < from_ || r.time > to_) return true;
  ++in_window_;
  if (relate_ && !relate_(r)) return true;
  r.source = fmt::format("{}:{}", source, lineno);
  auto& bucket = r.relation == "write" ? writes_ : kept_;
  bucket.push_back(std::move(r));
  if (bucket.size() >= 2 * cap_ + 16) trim(bucket, cap_, center_, left_out_);
  return true;
}

// Over the cap: the nearest to the change stay (stable: equal distances keep log order).
void RequestLog::trim(std::vector<IncidentRequest>& v, size_t cap, int64_t center,
                      size_t& left_out) {
  if (v.size() <= cap) return;
  auto dist = [center](const IncidentRequest& x) { return std::llabs(x.time - center); };
  std::stable_sort(v.begin(), v.end(),
                   [&](const auto& a, const auto& b) { return dist(a) < dist(b); });
  left_out += v.size() - cap;
  v.resize(cap);
}

std::vector<IncidentRequest> RequestLog::take() {
  trim(kept_, cap_, center_, left_out_);
  trim(writes_, cap_, center_, left_out_);
  std::vector<IncidentRequest> all = std::move(kept_);
  for (auto& w : writes_) all.push_back(std::move(w));
  writes_.clear();
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.time < b.time; });
  return all;
}

// ---- reading the files ----

std::vector<std::string> default_logs(const Root& root, bool auth_logs) {
  // The usual places of Debian's nginx and Apache, Red Hat's httpd, Mamori's WAF decision log
  // and (without the journal) the auth logs; each with its rotations (.1, .2.gz …).
  struct Place {
    const char *dir, *glob;
    bool auth;
  };
  static const Place kPlaces[] = {
      {"/var/log/nginx", "*access*log*", false}, {"/var/log/apache2", "*access*log*", false},
      {"/var/log/httpd", "*access*log*", false}, {"/var/log/mamori", "waf*.jsonl*", false},
      {"/var/log", "auth.log*", true},           {"/var/log", "secure*", true},
      {"/var/log/xrdp", "xrdp*.log*", true},
  };
  std::vector<std::string> out;
  for (const auto& d : kPlaces) {
    if (d.auth && !auth_logs) continue;
    for (const auto& p : root.list(d.dir, d.glob))  // full in-root paths
      if (root.is_regular(p)) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void read_logs(const Root& root, const LogPlan& plan, RequestLog& requests,
               guard::AuthLogParser& auth, LoginFold& logins, std::vector<std::string>& sources,
               std::vector<std::string>& notes) {
  for (const auto& f : plan.files) {
    auto fd = plan.in_root ? root.open_file(f) : open_regular(f);
    if (!fd) {
      notes.push_back(fd.error().message + ": not read");
      continue;
    }
    std::string label = plan.in_root ? root.display(root.path(f)) : f;
    std::string carry;
    uint64_t lineno = 0;
    bool skipping = false;
    auto one = [&](std::string_view l) {
      ++lineno;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      requests.line(l, label, lineno);
      auth.line(l);  // access lines also carry WordPress logins
      if ((lineno & 0xffff) == 0) logins.absorb(auth, false);  // memory: what is kept
    };
    auto sink = [&](std::string_view b) {
      while (!b.empty()) {
        size_t nl = b.find('\n');
        if (nl == std::string_view::npos) {
          if (!skipping && carry.size() + b.size() <= kMaxLine)
            carry.append(b);
          else
            skipping = true, carry.clear();
          return;
        }
        if (skipping) {
          ++lineno;
          skipping = false;
        } else if (carry.empty()) {
          one(b.substr(0, nl));
        } else {
          carry.append(b.substr(0, nl));
          one(carry);
          carry.clear();
        }
        b.remove_prefix(nl + 1);
      }
    };
    auto st = read_gzip_fd(std::move(*fd), label, plan.max_bytes, sink, /*plain_ok=*/true);
    if (!carry.empty() && !skipping) one(carry);
    auth.finish();
    logins.absorb(auth, false);
    if (!st) notes.push_back(st.error().message + ": what was read before is kept");
    sources.push_back(fmt::format("{} ({} line{})", label, lineno, lineno == 1 ? "" : "s"));
  }
  if (plan.journal) {
    auto j = guard::Journal::open_local();
    if (!j) {
      notes.push_back("the journal: " + j.error().message);
      return;
    }
    if (auto s = (*j)->seek_time(plan.from); !s) {
      notes.push_back("the journal: " + s.error().message);
      return;
    }
    uint64_t n = 0;
    auto r = (*j)->read([&](int64_t ts, uint32_t pid, std::string_view ident, std::string_view m) {
      if (ts > plan.to) return;
      if ((++n & 0xffff) == 0) logins.absorb(auth, true);
      auth.message(ts, pid, ident, m);
    });
    logins.absorb(auth, true);
    if (!r) notes.push_back("the journal: " + r.error().message);
    sources.push_back(fmt::format("this machine's journal ({} entries)", n));
  }
}

LoginFold::LoginFold(int64_t from, int64_t to, int64_t center)
    : from_(from), to_(to), center_(center) {}

void LoginFold::absorb(guard::AuthLogParser& auth, bool journal) {
  for (const auto& e : auth.events()) {
    if (e.ts < from_ || e.ts > to_) continue;
    if (e.kind == guard::AuthKind::kSuccess) {
      successes_.push_back({e.ts, std::string(guard::service_name(e.service)),
                            valid_utf8(auth.user(e.user).substr(0, 64)), e.ip.str(), true, 0,
                            journal});
      if (successes_.size() >= 2 * kCap) trim_successes();
      continue;
    }
    // a guessing run is one line per address (IPv6: per /64, where one host has them all)
    std::string where = e.ip.v4 ? e.ip.str() : masked(e.ip, 64).str() + "/64";
    auto key = std::make_pair(where, static_cast<int>(e.service));
    auto it = failures_.find(key);
    if (it == failures_.end()) {
      if (failures_.size() >= kMaxFailureKeys) {
        ++failures_dropped_;
        continue;
      }
      it = failures_
               .emplace(key, IncidentLogin{e.ts, std::string(guard::service_name(e.service)),
                                           valid_utf8(auth.user(e.user).substr(0, 64)), where,
                                           false, 0, journal})
               .first;
    }
    ++it->second.failures;
  }
  auth.drop_after(INT64_MIN);  // absorbed: the parser keeps nothing
}

void LoginFold::trim_successes() {
  if (successes_.size() <= kCap) return;
  auto dist = [this](const IncidentLogin& l) { return std::llabs(l.time - center_); };
  std::stable_sort(successes_.begin(), successes_.end(),
                   [&](const auto& a, const auto& b) { return dist(a) < dist(b); });
  left_out_ += successes_.size() - kCap;
  successes_.resize(kCap);
}

std::vector<IncidentLogin> LoginFold::take(size_t& left_out) {
  // Every success near the change (up to the cap), then the heaviest guessing runs.
  trim_successes();
  std::vector<IncidentLogin> out = std::move(successes_);
  std::vector<IncidentLogin> fails;
  for (auto& [k, l] : failures_) fails.push_back(std::move(l));
  std::stable_sort(fails.begin(), fails.end(),
                   [](const auto& a, const auto& b) { return a.failures > b.failures; });
  if (fails.size() > kCap) {
    left_out_ += fails.size() - kCap;
    fails.resize(kCap);
  }
  for (auto& f : fails) out.push_back(std::move(f));
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.time < b.time; });
  left_out = left_out_ + failures_dropped_;
  return out;
}

}  // namespace mamori::web
