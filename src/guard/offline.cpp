// guard scan-log: read, detect, render (offline.h).
#include "guard/offline.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "guard/journal.h"
#include "guard/nft.h"
#include "guard/service.h"

namespace mamori::guard {

namespace {

// A plain (not gzip) file larger than `max`: positioned at its last `max` bytes, and that
// offset returned; 0 (and left at the start) otherwise.
uint64_t seek_to_tail(int fd, uint64_t max) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  auto size = static_cast<uint64_t>(st.st_size);
  if (size <= max) return 0;
  unsigned char magic[2] = {};
  if (::pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return 0;
  auto off = static_cast<off_t>(size - max);
  return ::lseek(fd, off, SEEK_SET) == off ? size - max : 0;
}

}  // namespace

Result<LogScan> scan_logs(const LogSources& src, const ScanLogOptions& opts,
                          const DetectOptions& detect_opts) {
  int year = opts.year;
  if (year == 0) {
    std::time_t t = static_cast<std::time_t>(opts.now);
    std::tm tm{};
    localtime_r(&t, &tm);  // syslog stamps are local time
    year = tm.tm_year + 1900;
  }
  AuthLogParser parser(year);
  if (opts.year == 0) parser.set_clock(opts.now);
  // Events before --since are dropped as the files are read (every 16 MiB), not at the end:
  // memory follows what is kept, not the size of the logs.
  uint64_t left_out = 0, fed = 0;
  auto feed = [&](std::string_view b) {
    parser.feed(b);
    fed += b.size();
    if (opts.since > 0 && fed >= (16u << 20)) {
      size_t before = parser.events().size();
      parser.drop_before(opts.since);
      left_out += before - parser.events().size();
      fed = 0;
    }
  };
  LogScan out;
  for (const auto& f : src.files) {
    auto fd = src.root ? src.root->open_file(f) : open_regular(f);
    if (!fd) {
      if (!opts.tolerant) return fd.error();
      out.skipped.push_back(fd.error().message + ": not read");
      continue;
    }
    auto tail = opts.tolerant ? seek_to_tail(fd->get(), opts.max_bytes) : 0;
    std::function<void(std::string_view)> sink = feed;
    bool in_first_line = tail > 0;  // the cut line is not parsed
    if (tail > 0) {
      out.skipped.push_back(fmt::format("{}: larger than {} MiB, only its last {} MiB were read", f,
                                        opts.max_bytes >> 20, opts.max_bytes >> 20));
      sink = [&](std::string_view b) {
        if (in_first_line) {
          size_t nl = b.find('\n');
          if (nl == std::string_view::npos) return;
          b.remove_prefix(nl + 1);
          in_first_line = false;
        }
        feed(b);
      };
    }
    if (auto s = read_gzip_fd(std::move(*fd), f, opts.max_bytes, sink, /*plain_ok=*/true); !s) {
      if (!opts.tolerant) return s.error();
      out.skipped.push_back(s.error().message + ": what was read before is kept");
    }
    parser.finish();
  }
  auto feed_journal = [&](Result<std::unique_ptr<Journal>> j) -> Status {
    if (!j) return j.error();
    if (opts.since > 0) MAMORI_TRY((*j)->seek_time(opts.since), "journal");
    auto n = (*j)->read([&](int64_t ts, uint32_t pid, std::string_view ident, std::string_view m) {
      parser.message(ts, pid, ident, m);
    });
    if (!n) return n.error();
    out.untrusted += (*j)->untrusted();
    return {};
  };
  if (!src.journal_files.empty())
    if (auto s = feed_journal(Journal::open_files(src.journal_files)); !s) return s.error();
  if (src.journal_local)
    if (auto s = feed_journal(Journal::open_local()); !s) return s.error();
  out.untrusted += parser.untrusted();
  if (opts.since > 0) {
    size_t before = parser.events().size();
    parser.drop_before(opts.since);
    out.left_out = left_out + before - parser.events().size();
  }
  if (opts.now > 0) {  // a stamp far in the future is forged (or a broken clock): not counted
    size_t before = parser.events().size();
    parser.drop_after(opts.now + 3600);
    out.left_out += before - parser.events().size();
  }
  out.lines = parser.lines();
  out.events = parser.events().size();
  out.attackers = detect(parser.events(), detect_opts, [&](uint32_t u) { return parser.user(u); });
  return out;
}

Result<OfflineBans> ban_attackers(const std::vector<Attacker>& found, const Allowlist& allow,
                                  store::Store& store, const std::string& host, int64_t now,
                                  int64_t base_seconds, const std::string& nft) {
  NftBans fw(nft, &allow);
  MAMORI_TRY(fw.ensure(), "guard: firewall");
  auto earlier = store.all_bans(host);
  if (!earlier) return earlier.error();
  std::map<std::string, store::Ban> known;
  for (auto& b : *earlier) known[b.address] = std::move(b);
  std::vector<std::pair<std::string, int64_t>> elements;
  OfflineBans out;
  auto made = record_bans(found, allow, store, host, now, base_seconds, known, elements, out.notes);
  for (const auto& b : made) out.banned[b.target] = known[b.target].expires_at;
  auto warnings = fw.ban(elements);
  if (!warnings) return warnings.error().with_context("guard: firewall");
  out.warnings = std::move(*warnings);
  out.applied = elements.size() - out.warnings.size();
  return out;
}

Result<Allowlist> standard_allowlist(const std::string& config,
                                     const std::vector<std::string>& extra) {
  auto allow = Allowlist::loopback();
  add_host_addresses(allow);
  add_ssh_sessions(allow, Root("/"));
  std::string cfg = config.empty() ? "/etc/mamori/guard.toml" : config;
  MAMORI_TRY(add_config_file(allow, cfg, !config.empty()), "guard: --config");
  for (const auto& al : extra) MAMORI_TRY(allow.add(al, "--allow"), "guard: --allow");
  return allow;
}

std::string render_scan_json(const LogScan& scan,
                             const std::map<std::string, int64_t>& banned_until) {
  nlohmann::json j = {{"lines", scan.lines},
                      {"events", scan.events},
                      {"untrusted", scan.untrusted},
                      {"attackers", nlohmann::json::array()}};
  for (const auto& x : scan.attackers) {
    nlohmann::json e = {{"address", x.address},
                        {"kind", std::string(x.kind.name())},
                        {"failures", x.failures},
                        {"first_seen", iso8601(x.first_seen)},
                        {"last_seen", iso8601(x.last_seen)},
                        {"usernames", x.usernames},
                        {"addresses", x.addresses},
                        {"services", x.services}};
    if (!x.guessed_user.empty()) e["guessed_user"] = x.guessed_user;
    if (auto b = banned_until.find(x.address); b != banned_until.end())
      e["banned_until"] = iso8601(b->second);
    j["attackers"].push_back(std::move(e));
  }
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_scan_text(const LogScan& scan) {
  std::string out;
  std::map<std::string, int> kinds;
  for (const auto& x : scan.attackers) ++kinds[std::string(x.kind.name())];
  for (const auto& x : scan.attackers) {
    std::string users;
    for (size_t i = 0; i < x.usernames.size() && i < 5; ++i)
      users += (i ? "," : "") + sanitize(x.usernames[i]);
    out += fmt::format("{:<11} {:<42} {:>7} failures  {} .. {}  {}{}{}\n", x.kind.name(),
                       x.addresses.empty()
                           ? x.address
                           : fmt::format("{} ({} addresses)", x.address, x.addresses.size()),
                       x.failures, iso8601(x.first_seen), iso8601(x.last_seen),
                       fmt::join(x.services, ","), users.empty() ? "" : "  users " + users,
                       x.guessed_user.empty() ? "" : "  logged in as " + sanitize(x.guessed_user));
  }
  out += fmt::format("{} lines, {} authentication events, {} attackers", scan.lines, scan.events,
                     scan.attackers.size());
  for (const auto& [k, n] : kinds) out += fmt::format(", {} {}", n, k);
  out += "\n";
  return out;
}

std::string render_ban(const BanNotice& b, bool json) {
  if (json)
    return nlohmann::json({{"banned", b.target},
                           {"kind", b.kind},
                           {"failures", b.failures},
                           {"offences", b.offences},
                           {"until", iso8601(b.until)}})
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return fmt::format("banned {} ({}, {} failures) until {} (offence {})", b.target, b.kind,
                     b.failures, iso8601(b.until), b.offences);
}

namespace {
// Seconds the firewall still holds a ban for; -1 when it does not hold it.
int64_t firewall_left(const BanStatus& s, const std::string& addr) {
  bool v6 = false;
  auto el = canonical_element(addr, v6);
  auto it = el ? s.in_firewall.find(*el) : s.in_firewall.end();
  return it == s.in_firewall.end() ? -1 : it->second;
}
}  // namespace

std::string render_status_json(const BanStatus& s) {
  nlohmann::json j = {{"host", s.host}, {"bans", nlohmann::json::array()}};
  for (const auto& b : s.bans)
    j["bans"].push_back({{"address", b.address},
                         {"kind", b.kind},
                         {"reason", b.reason},
                         {"offences", b.offences},
                         {"banned_at", iso8601(b.banned_at)},
                         {"expires_at", iso8601(b.expires_at)},
                         {"seconds_left", b.expires_at - s.now},
                         {"in_firewall", firewall_left(s, b.address) >= 0}});
  if (!s.firewall_error.empty()) j["firewall_error"] = s.firewall_error;
  return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_status_text(const BanStatus& s) {
  std::string out;
  // every field comes from the store, which anything with write access to it may have set
  for (const auto& b : s.bans)
    out += fmt::format(
        "{:<40} {:<11} until {}  offence {}  {}{}\n", sanitize(b.address), sanitize(b.kind),
        iso8601(b.expires_at), b.offences, sanitize(b.reason),
        firewall_left(s, b.address) >= 0 ? "" : "  (NOT in the firewall: mamori guard restore)");
  out += fmt::format("{} active bans{}\n", s.bans.size(),
                     s.firewall_error.empty() ? "" : " — firewall: " + sanitize(s.firewall_error));
  return out;
}

}  // namespace mamori::guard
