#pragma once
// `mamori web incident`: the cause of a tampering. One changed or new file (named by its path,
// or by the finding of `fim`, `web scan` or `web check` that reported it) is linked to what
// the host recorded around the moment it changed:
//  - the component that owns the path (a WordPress plugin, theme, core or uploads; a dpkg
//    package) and the vulnerabilities of the version installed then (the last `mamori scan`
//    before the change, else the version on disk now);
//  - the requests in the web server's access logs and the WAF's decision log: to the file
//    itself (before and after: the attacker using what was dropped), to the vulnerable
//    component's entry points (its PHP files, the AJAX actions and REST routes it registers:
//    the same map `waf run`'s virtual patches use), and the writes (POST/PUT/…) shortly before;
//  - logins (SSH, PAM, xrdp, VNC, WordPress) and the guard's bans around then;
//  - who wrote the file, when `fim watch` saw it (process, uid: the kernel's word).
// From that evidence it names a probable cause, e.g. "unauthenticated upload in plugin x 1.2
// (CVE-…): POST /wp-admin/admin-ajax.php?action=… from 203.0.113.5 2 seconds before the file
// appeared, written by php-fpm8.2 (www-data)". Every input is untrusted text (logs, the file,
// the evidence a process chose: its name): it is bounded, and only the kernel's facts (ctime,
// uid, pid) and journald's decide who a process was.
//
// Example:
//   IncidentQuery q;
//   q.target = "/srv/shop/wp-content/uploads/x.php";
//   auto inc = investigate(Root("/"), q, store.get(), db.get());
//   fmt::print("{}", incident_text(*inc));

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/fs.h"
#include "core/result.h"

namespace mamori::store {
class Store;
}
namespace mamori::vuln {
class VulnDb;
}

namespace mamori::web {

struct IncidentQuery {
  std::string target;  // an in-root path, or a finding's fingerprint (or a unique prefix)
  std::string host;    // the store's host, for a finding, the writer and earlier scans
  std::vector<std::string> logs;      // files named by the operator (host paths); empty: discover
  std::vector<std::string> webroots;  // in-root document roots; empty: discovered
  int64_t at = 0;                     // when it changed, if the operator knows (0: find out)
  int64_t before = 3600;              // seconds of requests and logins looked at before the change
  int64_t after = 3600;               // ...and after it (requests to the file, logins)
  bool journal = true;  // this machine's journal for logins (root "/", no --log): then the
                        // auth logs are not read (the same logins, counted once)
};

struct IncidentComponent {
  // "wordpress-plugin", "wordpress-theme", "wordpress-core", "wordpress-uploads",
  // "wordpress-mu-plugin", "wordpress-content", "deb", "" (nothing owns the path)
  std::string kind;
  std::string name, version;   // version installed when the file changed
  std::string version_now;     // on disk now ("" if gone)
  std::string version_source;  // "scan #12 at …", "on disk now"
  std::string location;        // its directory (in-root)
  std::string install;         // the WordPress install it belongs to ("" if none)
  // No component owns what is put there (uploads, wp-content, mu-plugins): every component of
  // the install is a way in.
  bool orphan() const {
    return kind == "wordpress-uploads" || kind == "wordpress-content" ||
           kind == "wordpress-mu-plugin";
  }
};

struct IncidentVuln {
  std::string id;  // the primary id (lowest CVE, else the advisory's)
  std::vector<std::string> aliases;
  size_t candidate = 0;   // index into Incident::candidates
  std::string component;  // its display name: "plugin contact-form-7 5.3.1"
  std::string summary, fixed;
  double cvss = -1;
  bool known_exploited = false;
  std::string kind;  // "upload", "file-write", "code-execution", "auth-bypass", "sql-injection",
                     // "xss", "other" (read from its summary)
  bool unauthenticated = false;  // its summary says so
};

struct IncidentRequest {
  std::string address;
  int64_t time = 0;
  std::string method, uri;  // uri as logged (escaped by the server), at most 2,048 bytes
  int status = 0;
  std::string source;    // "FILE:LINE"
  std::string waf;       // the WAF's action ("blocked", "detected"); "" for the access log
  std::string relation;  // "file" (to the file itself), "component" (a vulnerable
                         // component's entry point), "write" (a POST/PUT… shortly before)
  int candidate = -1;    // relation "component": index into Incident::candidates
};

struct IncidentLogin {
  int64_t time = 0;
  std::string service, user, address;  // a failure line: the address, or its /64 (IPv6)
  bool success = false;
  int64_t failures = 0;  // for a failure line: how many from there in the window
  bool journal = false;  // journald vouched for it (a text log is anyone's to write)
};

struct IncidentBan {
  std::string address, reason;
  int64_t banned_at = 0, expires_at = 0;
};

struct IncidentWriter {
  bool known = false;
  int pid = 0;
  std::string exe, comm;  // as the process showed itself (its own choice: not proof)
  int64_t uid = -1;       // the kernel's
  std::string user;       // uid → name from the root's /etc/passwd
  std::string seen_by;    // "fim watch at …"
  std::string why_unknown;
};

struct Incident {
  std::string path;     // in-root; "" when a crawl finding named no file found here
  std::string url;      // the page or script of a crawl finding
  std::string finding;  // the fingerprint it started from
  int64_t changed_at = 0;
  std::string changed_at_source;  // "at" (given), "fim-watch", "ctime", "first-seen"
  int64_t mtime = 0, ctime = 0;   // of the file now (0: gone)
  bool exists = false;
  std::string sha256;
  IncidentComponent component;
  std::vector<std::string> candidates;  // components whose vulnerabilities were looked up
  std::vector<IncidentVuln> vulnerabilities;
  std::vector<std::string> url_paths;     // where the file is served ("/wp-content/…")
  std::vector<IncidentRequest> requests;  // sorted by time
  size_t requests_left_out = 0;           // more than the list holds
  std::vector<IncidentLogin> logins;
  size_t logins_left_out = 0;
  std::vector<IncidentBan> bans;
  IncidentWriter writer;
  std::string probable_cause;
  std::string confidence;             // "high", "medium", "low", "none"
  std::vector<std::string> evidence;  // the facts the cause rests on, one per line
  std::vector<std::string> sources;   // what was read
  std::vector<std::string> notes;     // what could not be read or was not known
};

// 4 to 16 hex digits, either case: how `mamori findings` shows a fingerprint.
bool looks_like_fingerprint(std::string_view s);

// `db` and `store` may be null (then no vulnerabilities / no finding, writer or history).
Result<Incident> investigate(const Root& root, const IncidentQuery& q, store::Store* store,
                             const vuln::VulnDb* db, int64_t now);

std::string incident_text(const Incident& inc, bool color);
std::string incident_json(const Incident& inc);  // docs/json.md, "web incident"

// ---- parts, exposed for tests and fuzzing ----

// Who wrote the file, from the facts fim watch recorded on its finding (writer_pid,
// writer_uid: the kernel's; writer_exe, writer_comm: the process's own). Not known without a
// pid, or when the process exited before it could be identified.
IncidentWriter writer_from_facts(const std::map<std::string, std::string>& facts);

// What a vulnerability's summary says it allows.
std::string vuln_kind(std::string_view text);
bool says_unauthenticated(std::string_view text);

// The requests of access logs and WAF decision logs, fed line by line. A request in
// [from, to] that `relate` keeps (setting its relation) is kept: at most `cap` to the file or a
// component and `cap` other writes, the nearest to `center` in each.
class RequestLog {
 public:
  using Relate = std::function<bool(IncidentRequest&)>;
  RequestLog(int64_t from, int64_t to, int64_t center, size_t cap, Relate relate);
  // True when the line was a request (kept or not).
  bool line(std::string_view l, const std::string& source, uint64_t lineno);
  std::vector<IncidentRequest> take();               // sorted by time
  uint64_t requests() const { return requests_; }    // lines that were requests
  uint64_t in_window() const { return in_window_; }  // ...of them in [from, to]
  size_t left_out() const { return left_out_; }      // related, but over the cap

 private:
  static void trim(std::vector<IncidentRequest>& v, size_t cap, int64_t center, size_t& left_out);
  bool access(std::string_view l, IncidentRequest& r);
  bool waf(std::string_view l, IncidentRequest& r);
  int64_t from_, to_, center_;
  size_t cap_, left_out_ = 0;
  Relate relate_;
  uint64_t requests_ = 0, in_window_ = 0;
  // Requests to the file or a vulnerable component, and the other writes: capped apart, so
  // that a flood of writes cannot push the one that matters out.
  std::vector<IncidentRequest> kept_, writes_;
};

}  // namespace mamori::web
