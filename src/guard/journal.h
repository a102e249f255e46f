#pragma once
// The systemd journal through sd-journal (libsystemd): the entries of OpenSSH (sshd,
// sshd-session), xrdp and VNC servers by SYSLOG_IDENTIFIER, and every entry of the auth and
// authpriv facilities (PAM's), of the local journal or of journal files — each delivered only
// when the fields journald sets itself (_UID, _COMM, _EXE, _SYSTEMD_UNIT) back the identity it
// claims: `logger -t sshd` run by any user is not sshd.
//
// Example:
//   auto j = Journal::open_files({"/var/log/journal/…/system.journal"});
//   (*j)->read([&](int64_t ts, uint32_t pid, std::string_view ident, std::string_view msg) {
//     parser.message(ts, pid, ident, msg); });

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct sd_journal;

namespace mamori::guard {

class Journal {
 public:
  using Sink = std::function<void(int64_t ts, uint32_t pid, std::string_view ident,
                                  std::string_view message)>;
  static Result<std::unique_ptr<Journal>> open_local();
  static Result<std::unique_ptr<Journal>> open_files(const std::vector<std::string>& files);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Skips what is there: read() then returns only entries written after this call.
  // Positions so that read() starts at the first entry at or after `unix_seconds`.
  Status seek_time(int64_t unix_seconds);
  Status seek_tail();
  // Every matching entry not read yet whose origin journald vouches for (judge_origin in
  // authlog.h); returns how many were delivered.
  Result<uint64_t> read(const Sink& sink);
  // Entries claiming sshd, PAM, xrdp or VNC that their journald fields do not back: skipped.
  uint64_t untrusted() const { return untrusted_; }

 private:
  explicit Journal(sd_journal* j) : j_(j) {}
  Status add_matches();
  sd_journal* j_;
  uint64_t untrusted_ = 0;
};

}  // namespace mamori::guard
