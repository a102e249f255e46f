// web incident: the probable cause from the facts gathered, and the incident as text and JSON.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/text.h"
#include "web/incident.h"
#include "web/incident_impl.h"

namespace mamori::web {

namespace {

std::string base_name(std::string_view p) { return std::string(p.substr(p.rfind('/') + 1)); }

bool web_user(std::string_view u) {
  return u == "www-data" || u == "apache" || u == "nginx" || u == "http" || u == "wwwrun" ||
         u == "lighttpd";
}

std::string writer_words(const IncidentWriter& w) {
  std::string name = !w.comm.empty() ? w.comm : !w.exe.empty() ? base_name(w.exe) : "pid";
  std::string who = !w.user.empty() ? w.user : w.uid >= 0 ? fmt::format("uid {}", w.uid) : "";
  return who.empty() ? name : fmt::format("{} ({})", name, who);
}

std::string kind_words(std::string_view k) {
  if (k == "upload") return "upload";
  if (k == "file-write") return "file write";
  if (k == "code-execution") return "code execution";
  if (k == "auth-bypass") return "authentication bypass";
  if (k == "sql-injection") return "SQL injection";
  if (k == "xss") return "cross-site scripting";
  return "vulnerability";
}

std::string request_words(const IncidentRequest& r) {
  return fmt::format("{} {} from {}", r.method.empty() ? "request" : r.method, r.uri, r.address);
}

// A request the WAF stopped (blocked, shielded by a virtual patch, refused) reached nothing.
bool passed(const IncidentRequest& r) {
  return r.waf != "blocked" && r.waf != "shielded" && r.waf != "refused";
}

std::string when_words(int64_t t, int64_t change);

// "POST /x from ADDR 2 seconds before the file appeared (status 200, WAF detected), FILE:LINE"
std::string request_evidence(const IncidentRequest& r, int64_t change) {
  return fmt::format("{} {} (status {}{}), {}", request_words(r), when_words(r.time, change),
                     r.status, r.waf.empty() ? "" : ", WAF " + r.waf, r.source);
}

std::string when_words(int64_t t, int64_t change) {
  if (t == change) return "the second the file appeared";
  return t < change ? span_words(change - t) + " before the file appeared"
                    : span_words(t - change) + " after the file appeared";
}

}  // namespace

std::string span_words(int64_t s) {
  if (s < 0) s = -s;
  auto unit = [](int64_t n, const char* one) {
    return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s");
  };
  if (s < 60) return unit(s, "second");
  if (s < 3600) return unit(s / 60, "minute");
  if (s < 86400)
    return s % 3600 >= 60 ? unit(s / 3600, "hour") + " " + unit(s % 3600 / 60, "minute")
                          : unit(s / 3600, "hour");
  return unit(s / 86400, "day");
}

std::string vuln_kind(std::string_view text) {
  std::string t = to_lower(text.substr(0, 8192));
  // a word, not part of one ("rce" is not in "source", "xss" not in "xssfilter")
  auto any = [&](std::initializer_list<std::string_view> ws) {
    for (auto w : ws)
      for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1)) {
        auto edge = [&](size_t i) {
          return i >= t.size() || !std::isalnum(static_cast<unsigned char>(t[i]));
        };
        if ((at == 0 || edge(at - 1)) && edge(at + w.size())) return true;
      }
    return false;
  };
  if (any({"file upload", "upload arbitrary", "arbitrary upload", "upload of arbitrary",
           "unrestricted upload", "uploads arbitrary", "upload files", "upload a file",
           "file-upload", "cwe-434"}))
    return "upload";
  if (any({"arbitrary file creation", "arbitrary file write", "file write", "write arbitrary",
           "arbitrary file modification", "file creation", "file overwrite", "cwe-73"}))
    return "file-write";
  if (any({"remote code execution", "code execution", "code injection", "command injection",
           "command execution", "os command", "deserialization", "object injection", "rce",
           "cwe-94", "cwe-78", "cwe-77", "cwe-502"}))
    return "code-execution";
  if (any({"authentication bypass", "privilege escalation", "missing authorization", "unauthorized",
           "broken access", "cwe-287", "cwe-862", "cwe-269"}))
    return "auth-bypass";
  if (any({"sql injection", "sqli", "cwe-89"})) return "sql-injection";
  if (any({"cross-site scripting", "xss", "cwe-79"})) return "xss";
  return "other";
}

bool says_unauthenticated(std::string_view text) {
  std::string t = to_lower(text.substr(0, 8192));
  return t.find("unauthenticated") != std::string::npos ||
         t.find("unauthorised") != std::string::npos ||
         t.find("without authentication") != std::string::npos ||
         t.find("pre-auth") != std::string::npos;
}

namespace {

// How well a vulnerability explains a file appearing: 3 it writes files, 2 it runs code, 1 it
// lets someone in who could then write one, 0 it does not write anything by itself.
int explains_a_file(std::string_view kind) {
  if (kind == "upload" || kind == "file-write") return 3;
  if (kind == "code-execution") return 2;
  if (kind == "auth-bypass") return 1;
  return 0;
}

// A package manager, by the path of its executable (a process names itself as it likes).
bool package_manager(const IncidentWriter& w) {
  std::string_view exe = w.exe;
  for (std::string_view dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/"})
    if (exe.starts_with(dir)) {
      std::string_view name = exe.substr(dir.size());
      for (std::string_view p : {"dpkg", "apt", "apt-get", "unattended-upgrade", "rpm", "dnf",
                                 "yum", "apk", "packagekitd"})
        if (name == p) return true;
    }
  return false;
}

struct Lead {  // a request to a vulnerable component, and the vulnerability it would use
  const IncidentRequest* r = nullptr;
  const IncidentVuln* v = nullptr;
};

// The request that best explains the change: first by what its component's worst flaw can do
// (a file upload over an XSS), then a write method, then the nearest before the change (an
// access log's time is when the request ended: up to a minute after it counts).
Lead best_lead(const Incident& inc) {
  const int64_t t = inc.changed_at;
  Lead best;
  // A flaw that writes files is used by a request that sends something and is answered 2xx.
  auto fits = [](const Lead& l) {
    return explains_a_file(l.v->kind) >= 2 && write_method(l.r->method) && l.r->status >= 200 &&
           l.r->status < 300;
  };
  auto key = [&](const Lead& l) {
    int64_t gap = l.r->time <= t ? t - l.r->time : (l.r->time - t) * 4;
    return std::make_tuple(fits(l), explains_a_file(l.v->kind), write_method(l.r->method),
                           l.v->unauthenticated, -gap);
  };
  for (const auto& r : inc.requests) {
    if (r.relation != "component" || r.time > t + 60 || !passed(r)) continue;
    for (const auto& v : inc.vulnerabilities) {
      if (static_cast<int>(v.candidate) != r.candidate) continue;
      Lead l{&r, &v};
      if (!best.r || key(l) > key(best)) best = l;
    }
  }
  return best;
}

}  // namespace

void judge_cause(Incident& inc) {
  const int64_t t = inc.changed_at;
  const IncidentWriter& w = inc.writer;
  // The web server: by its user (the kernel's uid, named by the root's passwd); the name a
  // process shows is its own choice and decides nothing.
  const bool by_web = w.known && web_user(w.user);
  auto& ev = inc.evidence;
  if (w.known)
    ev.push_back(fmt::format("written by {} (pid {}{}), seen by {}", writer_words(w), w.pid,
                             w.exe.empty() ? "" : ", " + w.exe, w.seen_by));

  // A package manager as root, writing a file its package ships: an installation.
  if (w.known && w.uid == 0 && package_manager(w) && inc.component.kind == "deb") {
    inc.probable_cause = fmt::format(
        "installed by the package manager ({}, uid 0) as part of package {}: an installation "
        "or upgrade — dpkg.log tells which",
        w.exe, inc.component.name);
    inc.confidence = "high";
    return;
  }

  Lead lead = best_lead(inc);
  const IncidentRequest* write = nullptr;  // a write just before, to anything
  for (const auto& r : inc.requests)
    if ((r.relation == "write" || r.relation == "component") && write_method(r.method) &&
        r.time <= t + 60 && r.time >= t - 60 && passed(r) &&
        (!write || std::llabs(r.time - t) < std::llabs(write->time - t)))
      write = &r;
  // What was done with the file afterwards (a web shell being used).
  int used = 0;
  for (const auto& r : inc.requests)
    if (r.relation == "file" && r.time >= t && used < 3) {
      ev.push_back(
          fmt::format("then {} (status {}) {}", request_words(r), r.status, when_words(r.time, t)));
      ++used;
    }

  const std::string by = w.known ? ", written by " + writer_words(w) : "";
  // A lead that could not have written the file (a GET, an error) gives way to a write that
  // succeeded just before: the upload whose action was in its body is that write.
  const bool lead_fits = lead.r && explains_a_file(lead.v->kind) >= 2 &&
                         write_method(lead.r->method) && lead.r->status >= 200 &&
                         lead.r->status < 300;
  if (lead.r && (by_web || !w.known) && (lead_fits || !write)) {
    const IncidentVuln& v = *lead.v;
    const IncidentRequest& r = *lead.r;
    const int64_t gap = std::llabs(r.time - t);
    const int explains = explains_a_file(v.kind);
    inc.probable_cause =
        fmt::format("{}{}{} in {} ({}): {} {}{}", explains == 0 ? "possibly " : "",
                    v.unauthenticated ? "unauthenticated " : "", kind_words(v.kind), v.component,
                    v.id, request_words(r), when_words(r.time, t), by);
    if (explains >= 2 && write_method(r.method) && r.status >= 200 && r.status < 300 && by_web &&
        gap <= 60)
      inc.confidence = "high";
    else if (explains >= 2 && gap <= 60)
      inc.confidence = "medium";
    else
      inc.confidence = "low";
    ev.push_back(request_evidence(r, t));
    ev.push_back(fmt::format("{} {} is vulnerable: {} {}{}{}", v.component, v.id,
                             v.summary.empty() ? kind_words(v.kind) : v.summary,
                             v.fixed.empty() ? "(no fix known)" : "(fixed in " + v.fixed + ")",
                             v.known_exploited ? "; exploited in the wild (CISA KEV)" : "",
                             v.unauthenticated ? "; no login needed" : ""));
    if (explains == 0)
      ev.push_back(
          fmt::format("a {} flaw does not write files by itself: this request is only "
                      "the nearest to a vulnerable component",
                      kind_words(v.kind)));
    return;
  }
  if (by_web) {
    if (write) {
      inc.probable_cause = fmt::format(
          "written by the web server ({}) while it served {} {}: a web application wrote it",
          writer_words(w), request_words(*write), when_words(write->time, t));
      inc.confidence = "medium";
      ev.push_back(request_evidence(*write, t));
    } else {
      inc.probable_cause = fmt::format(
          "written by the web server ({}): a request to a web application, which the logs read "
          "do not show",
          writer_words(w));
      inc.confidence = "low";
    }
    if (!inc.vulnerabilities.empty())
      ev.push_back(fmt::format("known vulnerable here: {} ({})", inc.vulnerabilities[0].component,
                               inc.vulnerabilities[0].id));
    return;
  }
  // The last successful login at or before the change, one of the writer's user first.
  const IncidentLogin* login = nullptr;
  auto login_key = [&](const IncidentLogin& l) {
    return std::make_tuple(w.known && !w.user.empty() && l.user == w.user, l.time);
  };
  for (const auto& l : inc.logins)
    if (l.success && l.time <= t + 5 && (!login || login_key(l) > login_key(*login))) login = &l;
  if (w.known) {
    if (login) {
      inc.probable_cause =
          fmt::format("written by {} in a login session: {} login of {} from {} {}",
                      writer_words(w), login->service, login->user.empty() ? "?" : login->user,
                      login->address, when_words(login->time, t));
      // a text log is anyone's to write: only journald's word makes it high
      inc.confidence = login->user == w.user && login->journal ? "high" : "medium";
      ev.push_back(fmt::format("{} login of {} from {} at {}", login->service, login->user,
                               login->address, iso8601(login->time)));
    } else {
      inc.probable_cause = fmt::format(
          "written by {}, not by the web server, and no login in the logs read explains it: a "
          "local process, a scheduled job or a session the logs do not show",
          writer_words(w));
      inc.confidence = "low";
    }
    return;
  }
  if (write) {
    inc.probable_cause =
        fmt::format("possibly {} {} (status {}); who wrote the file is not known",
                    request_words(*write), when_words(write->time, t), write->status);
    inc.confidence = "low";
    ev.push_back(request_evidence(*write, t));
  } else if (login) {
    inc.probable_cause = fmt::format("possibly the {} login of {} from {} {}", login->service,
                                     login->user, login->address, when_words(login->time, t));
    inc.confidence = "low";
  } else if (!inc.vulnerabilities.empty()) {
    inc.probable_cause = fmt::format(
        "not established: {} is vulnerable ({}), but no request to it is in the logs read "
        "around {}",
        inc.vulnerabilities[0].component, inc.vulnerabilities[0].id, iso8601(t));
    inc.confidence = "low";
  } else {
    inc.probable_cause =
        "not established: no request, login or writer in the evidence read explains it";
    inc.confidence = "none";
  }
}

// ---- output ----

namespace {

std::string source_words(std::string_view s) {
  if (s == "at") return "as given (--at)";
  if (s == "fim-watch") return "when fim watch saw it";
  if (s == "ctime")
    return "the file's ctime: when the kernel last saw its content, mode or owner change";
  if (s == "first-seen")
    return "when the finding was first seen: the change happened then or before";
  return std::string(s);
}

std::string relation_words(const IncidentRequest& r, const Incident& inc) {
  if (r.relation == "component" && r.candidate >= 0 &&
      static_cast<size_t>(r.candidate) < inc.candidates.size())
    return "entry point of " + inc.candidates[r.candidate];
  if (r.relation == "file") return "the file";
  return "a write";
}

}  // namespace

std::string incident_json(const Incident& inc) {
  using json = nlohmann::ordered_json;
  auto time = [](int64_t t) { return t > 0 ? json(iso8601(t)) : json(nullptr); };
  auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json j;
  j["path"] = text(inc.path);
  if (!inc.url.empty()) j["url"] = inc.url;
  if (!inc.finding.empty()) j["finding"] = inc.finding;
  j["changed_at"] = time(inc.changed_at);
  j["changed_at_source"] = inc.changed_at_source;
  j["file"] = {{"exists", inc.exists},
               {"sha256", text(inc.sha256)},
               {"mtime", time(inc.mtime)},
               {"ctime", time(inc.ctime)}};
  const auto& c = inc.component;
  j["component"] = c.kind.empty() ? json(nullptr)
                                  : json{{"kind", c.kind},
                                         {"name", c.name},
                                         {"version", text(c.version)},
                                         {"version_now", text(c.version_now)},
                                         {"version_source", c.version_source},
                                         {"location", c.location},
                                         {"install", text(c.install)}};
  j["served_as"] = inc.url_paths;
  json vs = json::array();
  for (const auto& v : inc.vulnerabilities)
    vs.push_back({{"id", v.id},
                  {"aliases", v.aliases},
                  {"component", v.component},
                  {"summary", v.summary},
                  {"fixed", text(v.fixed)},
                  {"cvss", v.cvss >= 0 ? json(v.cvss) : json(nullptr)},
                  {"known_exploited", v.known_exploited},
                  {"kind", v.kind},
                  {"unauthenticated", v.unauthenticated}});
  j["vulnerabilities"] = vs;
  json rs = json::array();
  for (const auto& r : inc.requests) {
    json x = {{"address", r.address}, {"time", iso8601(r.time)}, {"method", r.method},
              {"uri", r.uri},         {"status", r.status},      {"relation", r.relation}};
    if (r.relation == "component" && r.candidate >= 0 &&
        static_cast<size_t>(r.candidate) < inc.candidates.size())
      x["component"] = inc.candidates[r.candidate];
    x["source"] = r.source;
    if (!r.waf.empty()) x["waf"] = r.waf;
    rs.push_back(std::move(x));
  }
  j["requests"] = rs;
  j["requests_left_out"] = inc.requests_left_out;
  json ls = json::array();
  for (const auto& l : inc.logins) {
    json x = {{"time", iso8601(l.time)},
              {"service", l.service},
              {"user", l.user},
              {"address", l.address},
              {"success", l.success}};
    if (!l.success) x["failures"] = l.failures;
    ls.push_back(std::move(x));
  }
  j["logins"] = ls;
  j["logins_left_out"] = inc.logins_left_out;
  json bs = json::array();
  for (const auto& b : inc.bans)
    bs.push_back({{"address", b.address},
                  {"reason", b.reason},
                  {"banned_at", iso8601(b.banned_at)},
                  {"expires_at", iso8601(b.expires_at)}});
  j["bans"] = bs;
  const auto& w = inc.writer;
  j["writer"] = w.known ? json{{"known", true},
                               {"pid", w.pid},
                               {"exe", text(w.exe)},
                               {"comm", text(w.comm)},
                               {"uid", w.uid >= 0 ? json(w.uid) : json(nullptr)},
                               {"user", text(w.user)},
                               {"seen_by", w.seen_by}}
                        : json{{"known", false}, {"why", w.why_unknown}};
  j["probable_cause"] = inc.probable_cause;
  j["confidence"] = inc.confidence;
  j["evidence"] = inc.evidence;
  j["sources"] = inc.sources;
  j["notes"] = inc.notes;
  return j.dump(2, ' ', true, json::error_handler_t::replace) + "\n";
}

std::string incident_text(const Incident& inc, bool color) {
  auto bold = [color](const std::string& s) { return color ? "\x1b[1m" + s + "\x1b[0m" : s; };
  std::string o;
  auto line = [&o](const std::string& s) { o += sanitize(s) + "\n"; };
  o += bold(sanitize("Incident: " + (inc.path.empty() ? inc.url : inc.path))) + "\n";
  if (!inc.url.empty() && !inc.path.empty()) line("  found from " + inc.url);
  line(fmt::format("  changed at {} ({})", iso8601(inc.changed_at),
                   source_words(inc.changed_at_source)));
  if (inc.exists)
    line(fmt::format("  now: sha256 {}, modified {}, ctime {}",
                     inc.sha256.empty() ? "-" : inc.sha256, iso8601(inc.mtime),
                     iso8601(inc.ctime)));
  if (!inc.url_paths.empty())
    line("  served as " + fmt::format("{}", fmt::join(inc.url_paths, ", ")));
  o += "\n";
  if (inc.confidence == "none")
    o += bold("Probable cause: ") + sanitize(inc.probable_cause) + "\n";
  else
    o += bold(fmt::format("Probable cause ({} confidence): ", inc.confidence)) +
         sanitize(inc.probable_cause) + "\n";
  for (const auto& e : inc.evidence) line("  - " + e);
  o += "\n";
  const auto& c = inc.component;
  if (c.kind.empty()) {
    line("Component: none known (no WordPress install above it, no package ships it)");
  } else if (c.orphan()) {
    line(
        fmt::format("Component: none — {} of the WordPress install at {} belongs to no plugin "
                    "or theme; every component of the install is a way in",
                    c.location, c.install));
    if (c.version_source.starts_with("the install")) line("  versions of " + c.version_source);
  } else {
    line(fmt::format("Component: {} {}{} — {}", c.kind, c.name,
                     c.version.empty() ? "" : " " + c.version, c.location));
    if (!c.version.empty())
      line(fmt::format("  version from {}{}", c.version_source,
                       c.version_now != c.version && !c.version_now.empty()
                           ? "; " + c.version_now + " now"
                           : ""));
  }
  if (!inc.vulnerabilities.empty()) {
    line(fmt::format("Known vulnerabilities then ({}):", inc.vulnerabilities.size()));
    for (const auto& v : inc.vulnerabilities)
      line(fmt::format("  {} {}{}{} — {}{}", v.id, v.component, v.known_exploited ? " [KEV]" : "",
                       v.unauthenticated ? " [no login]" : "", v.summary,
                       v.fixed.empty() ? "" : " (fixed in " + v.fixed + ")"));
  }
  o += "\n";
  line(fmt::format(
      "Requests ({}{}):", inc.requests.size(),
      inc.requests_left_out ? fmt::format(", {} more left out", inc.requests_left_out) : ""));
  for (const auto& r : inc.requests)
    line(fmt::format("  {} {:<15} {} {} {} [{}]{}", iso8601(r.time), r.address,
                     r.method.empty() ? "-" : r.method, r.uri, r.status, relation_words(r, inc),
                     r.waf.empty() ? "" : " WAF " + r.waf));
  if (!inc.logins.empty()) {
    line(fmt::format("Logins{}:", inc.logins_left_out
                                      ? fmt::format(" ({} more left out)", inc.logins_left_out)
                                      : ""));
    for (const auto& l : inc.logins)
      line(l.success ? fmt::format("  {} {} login of {} from {}", iso8601(l.time), l.service,
                                   l.user, l.address)
                     : fmt::format("  {} {} {} failed login{} from {}{}", iso8601(l.time),
                                   l.service, l.failures, l.failures == 1 ? "" : "s", l.address,
                                   l.user.empty() ? "" : " (first as " + l.user + ")"));
  }
  for (const auto& b : inc.bans)
    line(fmt::format("Ban: {} at {} until {} ({})", b.address, iso8601(b.banned_at),
                     iso8601(b.expires_at), b.reason));
  const auto& w = inc.writer;
  if (w.known)
    line(fmt::format(
        "Writer: pid {}{}{}{} — {}", w.pid, w.exe.empty() ? "" : " " + w.exe,
        w.comm.empty() ? "" : " (" + w.comm + ")",
        w.uid < 0 ? ""
                  : fmt::format(", uid {}{}", w.uid, w.user.empty() ? "" : " (" + w.user + ")"),
        w.seen_by));
  else
    line("Writer: not known — " + w.why_unknown);
  if (!inc.sources.empty()) line("Read: " + fmt::format("{}", fmt::join(inc.sources, "; ")));
  for (const auto& n : inc.notes) line("Note: " + n);
  return o;
}

}  // namespace mamori::web
