#include "guard/service.h"

#include <fmt/format.h>
#include <malloc.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "core/fs.h"
#include "core/text.h"
#include "guard/offline.h"

namespace mamori::guard {

void SystemdNotifier::notify(const std::string& state) { sd_notify(0, state.c_str()); }

uint64_t SystemdNotifier::watchdog_usec() const {
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

Result<int64_t> parse_duration(const std::string& s) {
  if (s.empty()) return Error::invalid("empty duration");
  size_t i = 0;
  int64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v < 100000000) v = v * 10 + (s[i++] - '0');
  if (i == 0) return Error::invalid("not a duration (e.g. 3600, 10m, 1h, 2d)");
  std::string unit = s.substr(i);
  int64_t mult = unit.empty() || unit == "s" ? 1
                 : unit == "m"               ? 60
                 : unit == "h"               ? 3600
                 : unit == "d"               ? 86400
                                             : 0;
  if (mult == 0 || v == 0) return Error::invalid("not a duration (e.g. 3600, 10m, 1h, 2d)");
  return v * mult;
}

Result<int64_t> parse_since(const std::string& s, int64_t now) {
  if (s.empty()) return int64_t{0};
  if (auto d = parse_duration(s)) return now - *d;
  std::string t = s;
  if (t.size() == 19 && t[10] == 'T') t[10] = ' ';
  if (t.size() == 20 && t[10] == 'T' && t[19] == 'Z') t = t.substr(0, 10) + " " + t.substr(11, 8);
  int64_t v = t.size() == 10 ? parse_date(t) : parse_datetime(t);
  if (v < 0)
    return Error::invalid(
        "not a duration (3600, 2h, 3d) or a UTC date (2024-05-06, 2024-05-06T12:00:00[Z])");
  return v;
}

Status read_log_file(const std::string& path, AuthLogParser& parser) {
  auto fd = open_regular(path);
  if (!fd) return fd.error();
  return read_gzip_fd(
      std::move(*fd), path, UINT64_MAX, [&parser](std::string_view b) { parser.feed(b); },
      /*plain_ok=*/true);
}

namespace {

int this_year() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);  // syslog stamps are local time
  return tm.tm_year + 1900;
}

}  // namespace

GuardService::GuardService(ServiceOptions o, store::Store& store, Firewall& fw, const Clock& clock,
                           Allowlist allow, Sessions sessions, Addresses local)
    : opts_(std::move(o)),
      store_(store),
      fw_(fw),
      clock_(clock),
      sessions_(std::move(sessions)),
      local_(std::move(local)),
      parser_(opts_.syslog_year ? opts_.syslog_year : this_year()) {
  opts_.detect.allow = std::move(allow);
  if (!opts_.syslog_year) parser_.set_clock(clock_.now());
}

GuardService::~GuardService() = default;

void GuardService::allow_all(const std::vector<std::string>& addresses, const char* source,
                             const char* why, std::vector<std::string>& notes) {
  for (const auto& a : addresses) {
    Ip ip;
    if (parse_ip(a, ip) && opts_.detect.allow.add_address(ip, source))
      notes.push_back("allowlisted " + ip.str() + " (" + why + ")");
  }
}

void GuardService::refresh_sessions(std::vector<std::string>& notes) {
  last_sessions_ = clock_.now();
  if (sessions_) allow_all(sessions_(), "SSH session", "an SSH session is open from it", notes);
}

void GuardService::refresh_local(std::vector<std::string>& notes) {
  if (local_) allow_all(local_(), "this host", "an address of this host", notes);
}

Status GuardService::start(std::vector<std::string>& notes) {
  MAMORI_TRY(fw_.ensure(), "firewall");
  refresh_sessions(notes);
  refresh_local(notes);
  auto restored = restore_bans(fw_, store_, opts_.host, opts_.detect.allow, clock_.now(), notes);
  if (!restored) return restored.error();
  for (auto& b : restored->bans) active_[b.address] = std::move(b);
  restored_ = restored->in_firewall;
  // --since: the rotations that may hold lines of that period first (oldest first), then the
  // logs from their start; older events are dropped.
  for (const auto& l : opts_.logs) {
    if (opts_.since > 0)
      for (const auto& r : rotated_logs(l, opts_.since)) {
        auto s = read_log_file(r, parser_);
        parser_
            .finish();  // its last line ends with the file, read or not: never joined to the next
        if (!s) {
          notes.push_back("warning: " + s.error().message);
          continue;
        }
        notes.push_back("read " + r);
      }
    followers_.push_back(std::make_unique<FileFollower>(l, opts_.from_start || opts_.since > 0));
  }
  if (opts_.journal_local || !opts_.journal_files.empty()) {
    auto j = opts_.journal_files.empty() ? Journal::open_local()
                                         : Journal::open_files(opts_.journal_files);
    if (!j) return j.error();
    journal_ = std::move(*j);
    if (opts_.since > 0) {
      MAMORI_TRY(journal_->seek_time(opts_.since), "journal");
    } else if (!opts_.from_start) {
      MAMORI_TRY(journal_->seek_tail(), "journal");
    }
  }
  return ok();
}

std::vector<BanNotice> record_bans(const std::vector<Attacker>& found, const Allowlist& allow,
                                   store::Store& store, const std::string& host, int64_t now,
                                   int64_t ban_seconds, std::map<std::string, store::Ban>& known,
                                   std::vector<std::pair<std::string, int64_t>>& elements,
                                   std::vector<std::string>& notes) {
  std::vector<BanNotice> out;
  for (const auto& x : found) {
    for (const auto& tg : ban_targets(x, allow)) {
      auto it = known.find(tg);
      // running: nothing to do; ended: only failures after that ban make a new offence
      if (it != known.end() && (it->second.expires_at > now || x.last_seen <= it->second.banned_at))
        continue;
      auto b = store.record_ban(host, tg, std::string(x.kind.name()),
                                fmt::format("{} failures ({})", x.failures, x.kind.name()), now,
                                ban_seconds);
      if (!b) {
        notes.push_back("warning: " + b.error().message);
        continue;
      }
      known[tg] = *b;
      elements.push_back({tg, b->expires_at - now});
      out.push_back({tg, x.kind, x.failures, b->offences, b->expires_at});
    }
  }
  return out;
}

int64_t GuardService::window_span() const {
  const DetectOptions& d = opts_.detect;
  return std::max<int64_t>({d.slow_window, d.burst_window, d.guessed_window}) + 3600;
}

void GuardService::trim_window() {
  // An event from the future is a forged or broken time (a "time=" field of 10^11): anchoring
  // the window on it would drop every real event. Such events are dropped themselves.
  int64_t future = clock_.now() + 3600;
  size_t before = parser_.events().size();
  parser_.drop_after(future);
  if (parser_.events().size() != before && !future_warned_) {
    future_warned_ = true;
    notes_.push_back(
        fmt::format("warning: {} events dated after {} ignored (a forged or broken "
                    "time)",
                    before - parser_.events().size(), iso8601(future)));
  }
  // The longest window back from the newest event (log time: a log may lag the wall clock).
  int64_t newest = 0;
  for (const auto& ev : parser_.events()) newest = std::max(newest, ev.ts);
  window_start_ = std::max(newest - window_span(), opts_.since);
  parser_.drop_before(window_start_);
  const auto& ev = parser_.events();
  if (ev.size() > opts_.max_events) {
    // a flood: the oldest go first (the window's cap bounds memory whatever the input)
    std::vector<int64_t> ts;
    ts.reserve(ev.size());
    for (const auto& e : ev) ts.push_back(e.ts);
    auto nth = ts.begin() + static_cast<long>(ev.size() - opts_.max_events);
    std::nth_element(ts.begin(), nth, ts.end());
    parser_.drop_before(*nth + 1);
  }
}

std::vector<BanNotice> GuardService::poll(std::vector<std::string>& notes) {
  std::vector<BanNotice> out;
  for (auto& f : followers_) f->poll([&](std::string_view b) { parser_.feed(b); });
  if (journal_) {
    auto n = journal_->read([&](int64_t ts, uint32_t pid, std::string_view ident,
                                std::string_view m) { parser_.message(ts, pid, ident, m); });
    if (!n) notes.push_back("warning: journal: " + n.error().message);
  }
  int64_t now = clock_.now();
  // A login (or the time): who has an SSH session open now is never banned.
  if (parser_.successes() != seen_successes_ || now - last_sessions_ >= opts_.session_refresh) {
    seen_successes_ = parser_.successes();
    refresh_sessions(notes);
  }
  if (parser_.events().size() == seen_events_) return out;
  refresh_local(notes);
  trim_window();
  for (auto& n : notes_) notes.push_back(std::move(n));
  notes_.clear();
  seen_events_ = parser_.events().size();
  auto found = detect(parser_.events(), opts_.detect, [&](uint32_t u) { return parser_.user(u); });
  // detection's working set (per-address tables of the whole window) is freed now: hand it
  // back now and then, so that the resident size of a long-running service is what it keeps,
  // not its peak (malloc_trim walks the heap: not at every round)
  auto steady = std::chrono::steady_clock::now();
  if (steady - last_trim_ > std::chrono::seconds(30)) {
    ::malloc_trim(0);
    last_trim_ = steady;
  }
  std::vector<std::pair<std::string, int64_t>> elements;
  out = record_bans(found, opts_.detect.allow, store_, opts_.host, now, opts_.ban_seconds, active_,
                    elements, notes);
  if (!elements.empty()) {
    auto w = fw_.ban(elements);
    if (!w) {
      notes.push_back("warning: firewall: " + w.error().message);
    } else {
      for (const auto& x : *w) notes.push_back("warning: " + sanitize(x));
      bans_total_ += elements.size() - w->size();
    }
  }
  if (!out.empty()) record_findings(found, out, now, notes);
  // Bans that ended before the window began can decide nothing any more: forgotten, so that
  // memory follows the window (a repeat offence is still counted by the store).
  // (Both clocks: a log replayed from long ago keeps its old events in the window.)
  int64_t forget_before = std::min(window_start_, now - window_span());
  std::erase_if(active_, [&](const auto& kv) {
    return kv.second.expires_at <= now && kv.second.banned_at < forget_before;
  });
  return out;
}

void GuardService::record_findings(const std::vector<Attacker>& found,
                                   const std::vector<BanNotice>& bans, int64_t now,
                                   std::vector<std::string>& notes) {
  // The attackers banned this round become findings of the host (scope guard), with the
  // history a scan gives them; a partial record: the service never marks anything fixed.
  std::map<std::string, int64_t> until;
  for (const auto& b : bans) until[b.target] = b.until;
  std::vector<Attacker> banned;
  for (const auto& a : found) {
    bool hit = until.count(a.address) > 0;
    for (const auto& m : a.addresses) hit = hit || until.count(m) > 0;
    if (hit) banned.push_back(a);
  }
  store::ScanInput in;
  in.host = opts_.host;
  in.scope = "guard";
  in.started_at = in.finished_at = now;
  in.tool_version = opts_.tool_version;
  in.partial = true;
  in.findings = attacker_findings(banned, until);
  if (auto r = store_.record_scan(in); !r)
    notes.push_back("warning: findings not recorded: " + r.error().message);
}

GuardService::Stats GuardService::stats() const {
  Stats s;
  s.events = parser_.events().size();
  s.users = parser_.users();
  s.bans_tracked = active_.size();
  s.allow_entries = opts_.detect.allow.size();
  s.lines = parser_.lines();
  s.untrusted = parser_.untrusted() + (journal_ ? journal_->untrusted() : 0);
  s.bans_total = bans_total_;
  s.restored = restored_;
  return s;
}

Result<Restored> restore_bans(Firewall& fw, store::Store& st, const std::string& host,
                              const Allowlist& allow, int64_t now,
                              std::vector<std::string>& notes) {
  // What nftables holds from before (a run of an older version, another allowlist): an element
  // the checks refuse now (an allowlisted address inside it) is lifted, not left for a month.
  if (auto live = fw.list()) {
    for (const auto& [el, left] : *live)
      if (auto c = check_ban(el, allow); !c) {
        if (auto u = fw.unban(el); u)
          notes.push_back("lifted " + el + " from the firewall: " + sanitize(c.error().message));
        else
          notes.push_back("warning: cannot lift " + el + ": " + u.error().message);
      }
  } else {
    notes.push_back("warning: cannot list the firewall's bans: " + live.error().message);
  }
  // The store's active bans go back, each checked as new.
  auto bans = st.active_bans(host, now);
  if (!bans) return bans.error();
  std::vector<store::Ban> kept;
  std::vector<std::pair<std::string, int64_t>> elements;
  for (auto& b : *bans) {
    auto ok_ban = check_ban(b.address, allow);
    if (!ok_ban) {
      notes.push_back("stored ban not restored: " + sanitize(ok_ban.error().message));
      continue;
    }
    elements.push_back({*ok_ban, b.expires_at - now});
    b.address = *ok_ban;
    kept.push_back(std::move(b));
  }
  auto w = fw.ban(elements);
  if (!w) return w.error().with_context("restore");
  for (const auto& x : *w) notes.push_back(sanitize(x));
  return Restored{std::move(kept), elements.size() - w->size()};
}

Status run_service(GuardService& svc, Notifier& notifier, const RunLoop& loop) {
  std::vector<std::string> notes;
  auto say = [&] {
    if (loop.on_note)
      for (const auto& n : notes) loop.on_note(n);
    notes.clear();
  };
  Status started = svc.start(notes);
  say();
  if (!started) return started;
  auto stop = [&] { return loop.stop && loop.stop(); };
  auto sleep = [&](int ms) {
    if (loop.sleep) return loop.sleep(ms);
    for (int slept = 0; slept < ms && !stop(); slept += 10) ::usleep(10000);
  };
  notifier.notify(fmt::format("READY=1\nSTATUS=watching {}; {} bans restored", loop.sources,
                              svc.stats().restored));
  if (loop.on_ready) loop.on_ready();
  // The watchdog is fed at least twice per interval (WatchdogSec=).
  auto wd = std::chrono::microseconds(notifier.watchdog_usec());
  auto last_ping = std::chrono::steady_clock::now();
  while (!stop()) {
    auto bans = svc.poll(notes);
    say();
    if (loop.on_ban)
      for (const auto& b : bans) loop.on_ban(b);
    if (!bans.empty()) {
      auto st = svc.stats();
      notifier.notify(fmt::format("STATUS={} bans this run, {} events in the window", st.bans_total,
                                  st.events));
    }
    auto now = std::chrono::steady_clock::now();
    if (wd.count() > 0 && now - last_ping >= wd / 2) {
      notifier.notify("WATCHDOG=1");
      last_ping = now;
    }
    sleep(loop.poll_ms);
  }
  notifier.notify("STOPPING=1");
  return ok();
}

}  // namespace mamori::guard
