#pragma once
// `mamori guard run` as a library: the service is a loop its caller drives (poll(), then
// sleep), and everything it touches from outside is injected — the clock, the firewall,
// systemd's notifications, the store, the SSH sessions open now — so that every rule of the
// service (restore, catch-up, re-offence, allowlists, a bounded window) is unit-tested without
// root, and the CLI keeps only the loop, the signals and the watchdog.
//
// Rules of a service (docs/guard.md): start() opens and positions every input before the
// caller announces READY=1 — a line written after READY is always seen; nothing read from a log
// waits on the store or the firewall longer than one poll.
//
// Example:
//   NftFirewall fw("nft", &allow);
//   SystemClock clock;
//   GuardService svc(opts, store, fw, clock, allow, [] { return current_ssh_peers(); });
//   MAMORI_TRY(svc.start(notes), "guard run");
//   notifier.notify("READY=1");
//   while (!stop) { for (auto& b : svc.poll(notes)) print(b); sleep(poll_ms); }

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "guard/allow.h"
#include "guard/authlog.h"
#include "guard/detect.h"
#include "guard/follow.h"
#include "guard/journal.h"
#include "guard/nft.h"
#include "store/store.h"

namespace mamori::guard {

using mamori::Clock;
using mamori::SystemClock;

class Firewall {
 public:
  virtual ~Firewall() = default;
  virtual Status ensure() = 0;
  // Elements (address or prefix, seconds); the warnings of those that could not be added.
  virtual Result<std::vector<std::string>> ban(
      const std::vector<std::pair<std::string, int64_t>>& bans) = 0;
  // What is banned now (element, seconds left), and lifting one.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> list() = 0;
  virtual Status unban(const std::string& element) = 0;
};
class NftFirewall final : public Firewall {
 public:
  NftFirewall(std::string nft, const Allowlist* allow) : nft_(std::move(nft), allow) {}
  void set_allowlist(const Allowlist* allow) { nft_.set_allowlist(allow); }
  Status ensure() override { return nft_.ensure(); }
  Result<std::vector<std::string>> ban(
      const std::vector<std::pair<std::string, int64_t>>& bans) override {
    return nft_.ban(bans);
  }
  Result<std::vector<std::pair<std::string, int64_t>>> list() override { return nft_.list(); }
  Status unban(const std::string& element) override { return nft_.unban(element); }

 private:
  NftBans nft_;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void notify(const std::string& state) = 0;    // "READY=1", "STATUS=…", "WATCHDOG=1"
  virtual uint64_t watchdog_usec() const { return 0; }  // the watchdog interval asked for; 0 none
};
// sd_notify(3) (libsystemd); the watchdog interval of WatchdogSec= (sd_watchdog_enabled).
class SystemdNotifier final : public Notifier {
 public:
  void notify(const std::string& state) override;
  uint64_t watchdog_usec() const override;
};

struct ServiceOptions {
  std::string host;
  std::string tool_version;    // recorded with the findings of what it banned
  int64_t ban_seconds = 3600;  // first offence; repeat offenders twice as long each time
  int64_t since = 0;           // unix seconds: also read the rotations and the journal from then
  bool from_start = false;     // read the logs whole first (default: only what is appended)
  std::vector<std::string> logs;
  bool journal_local = false;
  std::vector<std::string> journal_files;
  int syslog_year = 0;           // for syslog lines (no year); 0 = this year
  int64_t session_refresh = 60;  // seconds between looks at the SSH sessions open
  size_t max_events = 4000000;   // the window's cap (a flood cannot take the memory)
  DetectOptions detect;          // its allowlist is replaced by the service's own
};

struct BanNotice {
  std::string target, kind;
  uint64_t failures = 0;
  int offences = 1;
  int64_t until = 0;
};

class GuardService {
 public:
  // Addresses to allowlist as they appear: the peers of the SSH sessions open now (looked at
  // when a login is logged, and every minute), this host's own addresses (before every round
  // that may ban: an address a VPN or DHCP adds later is the host's too).
  using Addresses = std::function<std::vector<std::string>()>;
  using Sessions = Addresses;
  GuardService(ServiceOptions o, store::Store& store, Firewall& fw, const Clock& clock,
               Allowlist allow, Sessions sessions, Addresses local = nullptr);
  ~GuardService();

  // Restores the store's bans (each checked as if new: a stored 0.0.0.0/0 is refused), reads
  // the rotations --since asks for, and opens the logs and the journal at their ends: call it
  // before announcing READY. `notes` gets what the operator should hear.
  Status start(std::vector<std::string>& notes);
  // One round: what is new in every input, then detection and bans. The bans made.
  std::vector<BanNotice> poll(std::vector<std::string>& notes);
  // Bytes as if appended to a followed log (tests, benchmarks).
  void feed(std::string_view bytes) { parser_.feed(bytes); }

  struct Stats {
    size_t events = 0, users = 0, bans_tracked = 0, allow_entries = 0;
    uint64_t lines = 0, untrusted = 0, bans_total = 0;
    size_t restored = 0;
  };
  Stats stats() const;
  const Allowlist& allowlist() const { return opts_.detect.allow; }

 private:
  // Allowlists each parsable address (source names it in the allowlist), noting the new ones.
  void allow_all(const std::vector<std::string>& addresses, const char* source, const char* why,
                 std::vector<std::string>& notes);
  void refresh_sessions(std::vector<std::string>& notes);
  void refresh_local(std::vector<std::string>& notes);
  void trim_window();
  void record_findings(const std::vector<Attacker>& found, const std::vector<BanNotice>& bans,
                       int64_t now, std::vector<std::string>& notes);
  int64_t window_span() const;  // how far back detection looks, plus an hour
  ServiceOptions opts_;
  store::Store& store_;
  Firewall& fw_;
  const Clock& clock_;
  Sessions sessions_;
  Addresses local_;
  bool future_warned_ = false;
  std::vector<std::string> notes_;  // said at the next poll
  AuthLogParser parser_;
  std::vector<std::unique_ptr<FileFollower>> followers_;
  std::unique_ptr<Journal> journal_;
  std::map<std::string, store::Ban> active_;
  size_t seen_events_ = 0;
  uint64_t seen_successes_ = 0;
  int64_t last_sessions_ = 0;
  int64_t window_start_ = 0;  // log time: events before it were dropped
  uint64_t bans_total_ = 0;
  size_t restored_ = 0;
  std::chrono::steady_clock::time_point last_trim_{};
};

// `guard restore`, and the start of `guard run`: live firewall elements the checks refuse now
// are lifted, and the store's active bans of `host` put back, each checked as if new (a stored
// 0.0.0.0/0 is refused). `notes` gets what was refused or lifted.
struct Restored {
  std::vector<store::Ban> bans;  // the stored bans that passed the checks
  size_t in_firewall = 0;        // of those, how many the firewall took
};
Result<Restored> restore_bans(Firewall& fw, store::Store& st, const std::string& host,
                              const Allowlist& allow, int64_t now, std::vector<std::string>& notes);

// The loop of `guard run` around a service: start() (every input opened and positioned), then
// READY=1, then rounds of poll() every poll_ms until stop(): a STATUS= after bans, WATCHDOG=1
// at least twice per watchdog interval, STOPPING=1 at the end.
struct RunLoop {
  int poll_ms = 500;
  std::string sources;                              // what is watched, for the status line
  std::function<bool()> stop;                       // asked between rounds and while sleeping
  std::function<void(int ms)> sleep;                // default: usleep in 10 ms steps
  std::function<void(const BanNotice&)> on_ban;     // each ban made
  std::function<void(const std::string&)> on_note;  // what the operator should hear
  std::function<void()> on_ready;                   // right after READY=1
};
Status run_service(GuardService& svc, Notifier& notifier, const RunLoop& loop);

// The bans for what detection found, recorded in the store, the one rule for scan-log --ban and
// run: a target whose ban is running is left alone; one whose ban has ended is banned again only
// for failures after that ban (then as a repeat offence, twice as long). `known` holds the bans
// known so far (and gets the new ones); `elements` gets what to add to the firewall.
std::vector<BanNotice> record_bans(const std::vector<Attacker>& found, const Allowlist& allow,
                                   store::Store& store, const std::string& host, int64_t now,
                                   int64_t ban_seconds, std::map<std::string, store::Ban>& known,
                                   std::vector<std::pair<std::string, int64_t>>& elements,
                                   std::vector<std::string>& notes);

// "3600", "90s", "10m", "1h", "2d" → seconds.
Result<int64_t> parse_duration(const std::string& s);
// --since: a duration back from `now` ("2h", "3d"), or a UTC date ("2024-05-06",
// "2024-05-06 12:00:00", "2024-05-06T12:00:00Z"); 0 when empty (no limit).
Result<int64_t> parse_since(const std::string& s, int64_t now);
// A whole log file, gzip-compressed or plain, into the parser (regular files only).
Status read_log_file(const std::string& path, AuthLogParser& parser);

}  // namespace mamori::guard
