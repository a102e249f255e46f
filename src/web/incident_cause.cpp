// web incident: the probable cause from the facts gathered, and the incident as text and JSON.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "web/incident.h"
#include "web/incident_impl.h"

namespace mamori::web {

namespace {

std::string base_name(std::string_view p) { return std::string(p.substr(p.rfind('/') + 1)); }

// The process names of web servers and the PHP, Python and Node runtimes behind them.
bool web_process(std::string_view name) {
  for (std::string_view p : {"php-fpm", "php-cgi", "php", "lsphp", "apache2", "httpd", "nginx",
                             "uwsgi", "gunicorn", "caddy", "lighttpd", "hhvm"})
    if (name.starts_with(p)) return true;
  return false;
}
bool web_user(std::string_view u) {
  return u == "www-data" || u == "apache" || u == "nginx" || u == "http" || u == "wwwrun" ||
         u == "lighttpd";
}
bool package_process(std::string_view name) {
  for (std::string_view p :
       {"dpkg", "apt", "apt-get", "unattended-upgr", "rpm", "dnf", "yum", "apk", "packagekitd"})
    if (name == p || (name.starts_with(p) && p.size() >= 6)) return true;
  return false;
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

// How well a vulnerability explains a new file: uploads and file writes first.
int kind_rank(std::string_view k) {
  if (k == "upload" || k == "file-write") return 5;
  if (k == "code-execution") return 4;
  if (k == "auth-bypass") return 3;
  if (k == "sql-injection") return 2;
  if (k == "other") return 1;
  return 0;
}

std::string request_words(const IncidentRequest& r) {
  return fmt::format("{} {} from {}", r.method.empty() ? "request" : r.method, r.uri, r.address);
}

// A request the WAF stopped (blocked, shielded by a virtual patch, refused) reached nothing.
bool passed(const IncidentRequest& r) {
  return r.waf != "blocked" && r.waf != "shielded" && r.waf != "refused";
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
  auto any = [&](std::initializer_list<std::string_view> ws) {
    for (auto w : ws)
      if (t.find(w) != std::string::npos) return true;
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

void judge_cause(Incident& inc) {
  const int64_t t = inc.changed_at;
  const IncidentWriter& w = inc.writer;
  std::string wname = !w.comm.empty() ? w.comm : base_name(w.exe);
  const bool by_web = w.known && (web_user(w.user) || (w.uid != 0 && web_process(wname)) ||
                                  (w.uid < 0 && web_process(wname)));
  const bool by_packages = w.known && w.uid == 0 && package_process(wname);
  auto& ev = inc.evidence;
  if (w.known)
    ev.push_back(fmt::format("written by {} (pid {}{}), seen by {}", writer_words(w), w.pid,
                             w.exe.empty() ? "" : ", " + w.exe, w.seen_by));

  if (by_packages) {
    inc.probable_cause = fmt::format(
        "installed by the package manager ({}, uid 0): a package installation or upgrade, not an "
        "intrusion — dpkg.log tells which",
        wname);
    inc.confidence = "high";
    return;
  }

  // The request that best explains the change: to a vulnerable component, at or shortly
  // before the change (an access log's time is when the request ended: up to a minute after).
  const IncidentRequest* best = nullptr;
  auto score = [&](const IncidentRequest& r) {
    int64_t d = r.time <= t ? t - r.time : (r.time - t) * 4;
    return d;
  };
  for (const auto& r : inc.requests)
    if (r.relation.starts_with("component ") && r.time <= t + 60 && passed(r) &&
        (!best || score(r) < score(*best)))
      best = &r;
  const IncidentRequest* write = nullptr;
  for (const auto& r : inc.requests)
    if ((r.relation == "write" || r.relation.starts_with("component ")) && r.time <= t + 60 &&
        r.time >= t - 60 && passed(r) && (!write || score(r) < score(*write)))
      write = &r;
  const IncidentVuln* vuln = nullptr;
  if (best) {
    std::string comp = best->relation.substr(10);
    for (const auto& v : inc.vulnerabilities) {
      if (v.component != comp) continue;
      auto key = [](const IncidentVuln& x) {
        return std::make_tuple(kind_rank(x.kind), x.unauthenticated, x.known_exploited, x.cvss);
      };
      if (!vuln || key(v) > key(*vuln)) vuln = &v;
    }
  }
  // What was done with the file afterwards (a web shell being used).
  int used = 0;
  for (const auto& r : inc.requests)
    if (r.relation == "the file" && r.time >= t && used < 3) {
      ev.push_back(
          fmt::format("then {} (status {}) {}", request_words(r), r.status, when_words(r.time, t)));
      ++used;
    }

  std::string by = w.known ? ", written by " + writer_words(w) : "";
  if (best && vuln && (by_web || !w.known)) {
    inc.probable_cause =
        fmt::format("{}{} in {} ({}): {} {}{}", vuln->unauthenticated ? "unauthenticated " : "",
                    kind_words(vuln->kind), vuln->component, vuln->id, request_words(*best),
                    when_words(best->time, t), by);
    int64_t gap = std::llabs(best->time - t);
    inc.confidence = by_web && gap <= 60 ? "high" : gap <= 60 ? "medium" : "low";
    ev.push_back(fmt::format("{} {} (status {}{}), {}", request_words(*best),
                             when_words(best->time, t), best->status,
                             best->waf.empty() ? "" : ", WAF " + best->waf, best->source));
    ev.push_back(
        fmt::format("{} {} is vulnerable: {} {}{}{}", vuln->component, vuln->id,
                    vuln->summary.empty() ? kind_words(vuln->kind) : vuln->summary,
                    vuln->fixed.empty() ? "(no fix known)" : "(fixed in " + vuln->fixed + ")",
                    vuln->known_exploited ? "; exploited in the wild (CISA KEV)" : "",
                    vuln->unauthenticated ? "; no login needed" : ""));
    return;
  }
  if (by_web) {
    if (write) {
      inc.probable_cause = fmt::format(
          "written by the web server ({}) while it served {} {}: a web application wrote it{}",
          writer_words(w), request_words(*write), when_words(write->time, t),
          inc.vulnerabilities.empty()
              ? ""
              : "; known vulnerable here: " + inc.vulnerabilities[0].component + " (" +
                    inc.vulnerabilities[0].id + ")");
      inc.confidence = "medium";
      ev.push_back(fmt::format("{} {} (status {}), {}", request_words(*write),
                               when_words(write->time, t), write->status, write->source));
    } else {
      inc.probable_cause = fmt::format(
          "written by the web server ({}): a request to a web application, which the logs read "
          "do not show",
          writer_words(w));
      inc.confidence = "low";
    }
    return;
  }
  // A process other than the web server: a login session, or something already running.
  const IncidentLogin* login = nullptr;
  for (const auto& l : inc.logins)
    if (l.success && l.time <= t + 5 &&
        (!login || (w.known && !w.user.empty() && l.user == w.user && login->user != w.user) ||
         ((!w.known || w.user.empty() || l.user == w.user || login->user != w.user) &&
          l.time > login->time)))
      login = &l;
  if (w.known) {
    if (login) {
      inc.probable_cause =
          fmt::format("written by {} in a login session: {} login of {} from {} {}",
                      writer_words(w), login->service, login->user.empty() ? "?" : login->user,
                      login->address, when_words(login->time, t));
      inc.confidence = login->user == w.user ? "high" : "medium";
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
  if (best) {
    inc.probable_cause = fmt::format(
        "not established: {} {} reached {}, which has no known vulnerability that explains it",
        request_words(*best), when_words(best->time, t), best->relation.substr(10));
    inc.confidence = "low";
  } else if (write) {
    inc.probable_cause =
        fmt::format("possibly {} {} (status {}); who wrote the file is not known",
                    request_words(*write), when_words(write->time, t), write->status);
    inc.confidence = "low";
    ev.push_back(
        fmt::format("{} {}, {}", request_words(*write), when_words(write->time, t), write->source));
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

std::string incident_json(const Incident& inc) {
  using json = nlohmann::ordered_json;
  auto time = [](int64_t t) { return t > 0 ? json(iso8601(t)) : json(nullptr); };
  json j;
  j["path"] = inc.path.empty() ? json(nullptr) : json(inc.path);
  if (!inc.url.empty()) j["url"] = inc.url;
  if (!inc.finding.empty()) j["finding"] = inc.finding;
  j["changed_at"] = time(inc.changed_at);
  j["changed_at_source"] = inc.changed_at_source;
  j["file"] = {{"exists", inc.exists},
               {"sha256", inc.sha256.empty() ? json(nullptr) : json(inc.sha256)},
               {"mtime", time(inc.mtime)},
               {"ctime", time(inc.ctime)}};
  const auto& c = inc.component;
  j["component"] = c.kind.empty()
                       ? json(nullptr)
                       : json{{"kind", c.kind},
                              {"name", c.name},
                              {"version", c.version},
                              {"version_now", c.version_now},
                              {"version_source", c.version_source},
                              {"location", c.location},
                              {"install", c.install.empty() ? json(nullptr) : json(c.install)}};
  json vs = json::array();
  for (const auto& v : inc.vulnerabilities)
    vs.push_back({{"id", v.id},
                  {"aliases", v.aliases},
                  {"component", v.component},
                  {"summary", v.summary},
                  {"fixed", v.fixed.empty() ? json(nullptr) : json(v.fixed)},
                  {"cvss", v.cvss >= 0 ? json(v.cvss) : json(nullptr)},
                  {"known_exploited", v.known_exploited},
                  {"kind", v.kind},
                  {"unauthenticated", v.unauthenticated}});
  j["vulnerabilities"] = vs;
  json rs = json::array();
  for (const auto& r : inc.requests) {
    json x = {{"address", r.address}, {"time", iso8601(r.time)}, {"method", r.method},
              {"uri", r.uri},         {"status", r.status},      {"relation", r.relation},
              {"source", r.source}};
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
  json bs = json::array();
  for (const auto& b : inc.bans)
    bs.push_back({{"address", b.address},
                  {"reason", b.reason},
                  {"banned_at", iso8601(b.banned_at)},
                  {"expires_at", iso8601(b.expires_at)}});
  j["bans"] = bs;
  const auto& w = inc.writer;
  j["writer"] = w.known ? json{{"pid", w.pid},
                               {"exe", w.exe},
                               {"comm", w.comm},
                               {"uid", w.uid >= 0 ? json(w.uid) : json(nullptr)},
                               {"user", w.user.empty() ? json(nullptr) : json(w.user)},
                               {"seen_by", w.seen_by}}
                        : json{{"unknown", w.why_unknown}};
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
  if (!inc.url.empty() && !inc.path.empty()) line("  served as " + inc.url);
  line(fmt::format("  changed at {} ({})", iso8601(inc.changed_at), inc.changed_at_source));
  if (inc.exists)
    line(fmt::format("  now: sha256 {}, modified {}, ctime {}",
                     inc.sha256.empty() ? "-" : inc.sha256, iso8601(inc.mtime),
                     iso8601(inc.ctime)));
  o += "\n";
  o += bold(fmt::format("Probable cause ({} confidence): ", inc.confidence)) +
       sanitize(inc.probable_cause) + "\n";
  for (const auto& e : inc.evidence) line("  - " + e);
  o += "\n";
  const auto& c = inc.component;
  if (c.kind.empty()) {
    line("Component: none known (no WordPress install above it, no package ships it)");
  } else {
    line(fmt::format("Component: {} {}{} — {}", c.kind, c.name,
                     c.version.empty() ? "" : " " + c.version, c.location));
    if (c.version.empty() && c.version_source.starts_with("the install"))
      line("  versions of " + c.version_source);
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
                     r.method.empty() ? "-" : r.method, r.uri, r.status, r.relation,
                     r.waf.empty() ? "" : " WAF " + r.waf));
  if (!inc.logins.empty()) {
    line("Logins:");
    for (const auto& l : inc.logins)
      line(l.success ? fmt::format("  {} {} login of {} from {}", iso8601(l.time), l.service,
                                   l.user, l.address)
                     : fmt::format("  {} {} {} failed login(s) from {}{}", iso8601(l.time),
                                   l.service, l.failures, l.address,
                                   l.user.empty() ? "" : " (first as " + l.user + ")"));
  }
  for (const auto& b : inc.bans)
    line(fmt::format("Ban: {} at {} until {} ({})", b.address, iso8601(b.banned_at),
                     iso8601(b.expires_at), b.reason));
  const auto& w = inc.writer;
  line(w.known ? fmt::format("Writer: pid {} {} {} uid {}{} — {}", w.pid, w.exe, w.comm, w.uid,
                             w.user.empty() ? "" : " (" + w.user + ")", w.seen_by)
               : "Writer: not known — " + w.why_unknown);
  if (!inc.sources.empty()) line("Read: " + fmt::format("{}", fmt::join(inc.sources, "; ")));
  for (const auto& n : inc.notes) line("Note: " + n);
  return o;
}

}  // namespace mamori::web
