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
  r.relation = relate_ ? relate_(r) : std::string("any");
  if (r.relation.empty()) return true;
  r.source = fmt::format("{}:{}", source, lineno);
  keep(std::move(r));
  return true;
}

void RequestLog::keep(IncidentRequest r) {
  kept_.push_back(std::move(r));
  if (kept_.size() < 2 * cap_ + 16) return;
  // Over the cap: the nearest to the change stay (stable: equal distances keep log order).
  auto dist = [this](const IncidentRequest& x) { return std::llabs(x.time - center_); };
  std::stable_sort(kept_.begin(), kept_.end(),
                   [&](const auto& a, const auto& b) { return dist(a) < dist(b); });
  left_out_ += kept_.size() - cap_;
  kept_.resize(cap_);
}

std::vector<IncidentRequest> RequestLog::take() {
  if (kept_.size() > cap_) {
    auto dist = [this](const IncidentRequest& x) { return std::llabs(x.time - center_); };
    std::stable_sort(kept_.begin(), kept_.end(),
                     [&](const auto& a, const auto& b) { return dist(a) < dist(b); });
    left_out_ += kept_.size() - cap_;
    kept_.resize(cap_);
  }
  std::stable_sort(kept_.begin(), kept_.end(),
                   [](const auto& a, const auto& b) { return a.time < b.time; });
  return std::move(kept_);
}

// ---- reading the files ----

std::vector<std::string> default_logs(const Root& root) {
  // The usual places of Debian's nginx and Apache, Red Hat's httpd, the auth logs, Mamori's
  // WAF decision log; each with its rotations (.1, .2.gz …).
  static const char* kDirs[][2] = {
      {"/var/log/nginx", "*access*log*"},
      {"/var/log/apache2", "*access*log*"},
      {"/var/log/httpd", "*access*log*"},
      {"/var/log", "auth.log*"},
      {"/var/log", "secure*"},
      {"/var/log/mamori", "waf*.jsonl*"},
      {"/var/log/xrdp", "xrdp*.log*"},
  };
  std::vector<std::string> out;
  for (const auto& d : kDirs)
    for (const auto& p : root.list(d[0], d[1]))  // full in-root paths
      if (root.is_regular(p)) out.push_back(p);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void read_logs(const Root& root, const LogPlan& plan, RequestLog& requests,
               guard::AuthLogParser& auth, std::vector<std::string>& sources,
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
      auth.line(l);                  // access lines also carry WordPress logins
      if ((lineno & 0xffff) == 0) {  // what is outside the window is not kept
        auth.drop_before(plan.from);
        auth.drop_after(plan.to);
      }
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
    if (!st) notes.push_back(st.error().message + ": what was read before is kept");
    sources.push_back(fmt::format("{} ({} lines)", label, lineno));
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
      ++n;
      auth.message(ts, pid, ident, m);
    });
    if (!r) notes.push_back("the journal: " + r.error().message);
    sources.push_back(fmt::format("this machine's journal ({} entries)", n));
  }
}

std::vector<IncidentLogin> logins_of(const guard::AuthLogParser& auth, int64_t from, int64_t to) {
  // Each success, and the failures folded per address and service (a guessing run is one line).
  std::vector<IncidentLogin> out;
  std::map<std::pair<std::string, guard::Service>, size_t> failures;
  for (const auto& e : auth.events()) {
    if (e.ts < from || e.ts > to) continue;
    std::string addr = e.ip.str();
    if (e.kind == guard::AuthKind::kSuccess) {
      out.push_back({e.ts, std::string(guard::service_name(e.service)),
                     valid_utf8(auth.user(e.user)), addr, true, 0});
      continue;
    }
    auto [it, fresh] = failures.try_emplace({addr, e.service}, out.size());
    if (fresh) {
      out.push_back({e.ts, std::string(guard::service_name(e.service)),
                     valid_utf8(auth.user(e.user)), addr, false, 0});
    }
    ++out[it->second].failures;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.time < b.time; });
  if (out.size() > 200) out.resize(200);
  return out;
}

}  // namespace mamori::web
