// mamori web incident.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <tuple>

#include "cli.h"
#include "core/fs.h"
#include "core/text.h"
#include "guard/service.h"
#include "vuln/vuln.h"
#include "web/incident.h"

namespace mamori::cli {
namespace {

struct IncidentArgs {
  std::string target;
  std::vector<std::string> logs, webroots;
  std::string at, before = "1h", after = "1h";
  bool no_journal = false;
};

int cmd_web_incident(const Options& o, const IncidentArgs& a) {
  if (auto bad = text_or_json(o, "web incident")) return *bad;
  web::IncidentQuery q;
  q.target = a.target;
  // The form of the target is checked here: a mistake in it is a usage error.
  if (q.target.find('/') != std::string::npos ? !q.target.starts_with('/')
                                              : !web::looks_like_fingerprint(q.target))
    return usage("web incident: " + sanitize(q.target) +
                 ": give an absolute path (inside --root) or a finding's fingerprint (4 to 16 "
                 "hex digits, as 'mamori findings' shows it)");
  q.host = host_name(o);
  q.logs = a.logs;
  q.webroots = a.webroots;
  q.webroots.insert(q.webroots.end(), o.webroots.begin(), o.webroots.end());
  for (const auto& w : q.webroots)
    if (!w.starts_with('/'))
      return usage("web incident: --webroot " + sanitize(w) + ": give an absolute directory");
  q.journal = !a.no_journal;
  if (!a.at.empty()) {
    auto at = guard::parse_since(a.at, now_s());
    if (!at || *at <= 0)
      return usage("web incident: --at " + sanitize(a.at) +
                   ": give a UTC time (2026-12-03T08:00:00Z, 2026-12-03) or how long ago (2h)");
    q.at = *at;
  }
  for (auto [name, text, out] :
       {std::tuple{"--before", &a.before, &q.before}, std::tuple{"--after", &a.after, &q.after}}) {
    auto d = guard::parse_duration(*text);
    if (!d || *d <= 0 || *d > 90 * 86400)
      return usage(
          fmt::format("web incident: {} {}: give a duration of at most 90 days (30s, "
                      "10m, 2h, 1d)",
                      name, sanitize(*text)));
    *out = *d;
  }
  for (const auto& l : q.logs)
    if (!std::filesystem::exists(l))
      return usage("web incident: --log " + sanitize(l) + ": no such file");
  auto st = open_store(o);
  if (!st) return fail(st.error());
  auto db = open_db_if_any(o);
  if (!db) return fail(db.error());
  auto inc = web::investigate(Root(o.root), q, st->get(), db->get(), now_s());
  if (!inc) return fail(inc.error().with_context("web incident"));
  return emit(
      o, o.format == "json" ? web::incident_json(*inc) : web::incident_text(*inc, use_color(o)));
}

}  // namespace

void add_web_incident_command(CLI::App* web, Options& o, int& rc) {
  auto a = std::make_shared<IncidentArgs>();
  auto* inc = web->add_subcommand(
      "incident",
      "Why did this file change? Links a changed or new file (or the finding that reported "
      "it) to the component that owns it and that component's vulnerabilities then, the "
      "requests and logins around the change, who wrote it, and names the probable cause");
  inc->add_option("PATH|FINDING", a->target,
                  "The file (absolute, inside --root), or the fingerprint of a stored fim or "
                  "web check finding (as 'mamori findings' shows it; web scan records "
                  "none: give its PATH)")
      ->required();
  inc->add_option("--log", a->logs,
                  "An access log, auth log or WAF decision log to read (repeat; .gz too). "
                  "Default: those in their usual places under --root, and this machine's "
                  "journal")
      ->allow_extra_args(false);
  inc->add_option("--webroot", a->webroots,
                  "A document root the file is served from (repeat; default: those nginx and "
                  "Apache name, and the WordPress install): tells which requests were for it");
  inc->add_option("--at", a->at,
                  "When the file changed, if you know better: a UTC time (2026-12-03T08:00:00Z) "
                  "or how long ago (2h). Default: when fim watch saw it, else the file's ctime");
  inc->add_option("--before", a->before, "How far back requests and logins are read")
      ->capture_default_str();
  inc->add_option("--after", a->after,
                  "How far after the change requests to the file and logins are read")
      ->capture_default_str();
  inc->add_flag("--no-journal", a->no_journal, "Do not read this machine's journal");
  inc->footer(R"(What it looks at, around the time the file changed:
  - the component owning the path: a WordPress plugin, theme or core (uploads and wp-content
    have no owner: every component of the install is then a candidate), or a dpkg package; its
    version at the last `mamori scan` before the change, and that version's vulnerabilities;
  - the requests of the access logs and the WAF's decision log: to the file itself (before and
    after: a web shell being used), to a vulnerable component's PHP files, AJAX actions and
    REST routes, and every POST/PUT/PATCH/DELETE in the 10 minutes before;
  - logins (SSH, PAM, xrdp, VNC, WordPress) and the guard's bans;
  - who wrote the file: the process and uid `fim watch` recorded (fanotify), as the facts of
    its finding (never read back from text an attacker could shape).
The probable cause names the request, vulnerability and writer it rests on, with a confidence:
high only when the web server's user wrote the file within a minute of a POST/PUT, answered
2xx, to a component whose flaw writes files or runs code (or, for another writer, a login of
that user the journal vouches for). --format json for machines (docs/json.md).

Examples:
  mamori web incident /var/www/shop/wp-content/uploads/2026/12/cache.php
  mamori web incident 3f9a2c41                     # a finding's fingerprint
  mamori --root /mnt/image web incident /srv/www/x.php --log ./access.log --at 2026-12-02T03:14:00Z)");
  inc->callback([&o, &rc, a] { rc = cmd_web_incident(o, *a); });
}

}  // namespace mamori::cli
