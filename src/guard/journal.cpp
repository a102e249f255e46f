#include "guard/journal.h"

#include <fmt/format.h>
#include <systemd/sd-journal.h>

#include <cstring>

#include "guard/authlog.h"

namespace mamori::guard {
namespace {

Error sd_error(const char* what, int r) {
  return Error::unavailable(fmt::format("{}: {}", what, std::strerror(-r)));
}

// The value of FIELD in an entry ("" when absent).
std::string_view field(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0) return {};
  std::string_view v(static_cast<const char*>(data), len);
  size_t eq = v.find('=');
  return eq == std::string_view::npos ? std::string_view{} : v.substr(eq + 1);
}

}  // namespace

Journal::~Journal() {
  if (j_) sd_journal_close(j_);
}

Status Journal::add_matches() {
  // The services by name, or (PAM, of whatever service) the auth and authpriv facilities.
  for (const char* m :
       {"SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session", "SYSLOG_IDENTIFIER=xrdp",
        "SYSLOG_IDENTIFIER=xrdp-sesman", "SYSLOG_IDENTIFIER=xrdp-sesexec",
        "SYSLOG_IDENTIFIER=x11vnc", "SYSLOG_IDENTIFIER=Xtigervnc", "SYSLOG_IDENTIFIER=Xvnc",
        "SYSLOG_IDENTIFIER=vncserver", "SYSLOG_FACILITY=4", "SYSLOG_FACILITY=10"}) {
    if (int r = sd_journal_add_match(j_, m, 0); r < 0) return sd_error("sd_journal_add_match", r);
    if (int r = sd_journal_add_disjunction(j_); r < 0)
      return sd_error("sd_journal_add_disjunction", r);
  }
  return {};
}

Result<std::unique_ptr<Journal>> Journal::open_local() {
  sd_journal* j = nullptr;
  if (int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY); r < 0)
    return sd_error("sd_journal_open", r);
  std::unique_ptr<Journal> out(new Journal(j));
  MAMORI_TRY(out->add_matches(), "journal");
  return out;
}

Result<std::unique_ptr<Journal>> Journal::open_files(const std::vector<std::string>& files) {
  std::vector<const char*> paths;
  for (const auto& f : files) paths.push_back(f.c_str());
  paths.push_back(nullptr);
  sd_journal* j = nullptr;
  if (int r = sd_journal_open_files(&j, paths.data(), 0); r < 0)
    return sd_error(fmt::format("journal files {}", fmt::join(files, ", ")).c_str(), r);
  std::unique_ptr<Journal> out(new Journal(j));
  MAMORI_TRY(out->add_matches(), "journal");
  return out;
}

Status Journal::seek_tail() {
  if (int r = sd_journal_seek_tail(j_); r < 0) return sd_error("sd_journal_seek_tail", r);
  sd_journal_previous(j_);  // positioned on the last entry: next() gives only new ones
  return {};
}

Status Journal::seek_time(int64_t unix_seconds) {
  uint64_t usec = unix_seconds > 0 ? static_cast<uint64_t>(unix_seconds) * 1000000 : 0;
  if (int r = sd_journal_seek_realtime_usec(j_, usec); r < 0)
    return sd_error("sd_journal_seek_realtime_usec", r);
  return {};
}

Result<uint64_t> Journal::read(const Sink& sink) {
  uint64_t n = 0;
  sd_journal_process(j_);  // notice rotated/new files
  for (;;) {
    int r = sd_journal_next(j_);
    if (r < 0) return sd_error("sd_journal_next", r);
    if (r == 0) break;
    uint64_t usec = 0;
    if (sd_journal_get_realtime_usec(j_, &usec) < 0) continue;
    std::string_view pid_s = field(j_, "_PID");
    if (pid_s.empty()) pid_s = field(j_, "SYSLOG_PID");
    uint32_t pid = 0;
    for (char c : pid_s.substr(0, 10))
      if (c >= '0' && c <= '9') pid = pid * 10 + static_cast<uint32_t>(c - '0');
    // copies: each get_data may invalidate the previous pointer
    std::string ident(field(j_, "SYSLOG_IDENTIFIER"));
    std::string msg(field(j_, "MESSAGE"));
    // what journald recorded about the sender, which the sender cannot choose
    std::string uid(field(j_, "_UID")), comm(field(j_, "_COMM")), exe(field(j_, "_EXE")),
        unit(field(j_, "_SYSTEMD_UNIT"));
    if (judge_origin(ident, msg, {uid, comm, exe, unit}) == Origin::kUntrusted) {
      ++untrusted_;
      continue;
    }
    sink(static_cast<int64_t>(usec / 1000000), pid, ident, msg);
    ++n;
  }
  return n;
}

}  // namespace mamori::guard
