// web incident's parts: the writer fim watch recorded (whose names the process chose), what a
// vulnerability's summary says it allows, the request log's window and cap, hostile log lines,
// and whole investigations of fixture trees (a dpkg file, a plugin's own file, a store with an
// earlier scan). The end-to-end case with a real `fim watch` is tests/cli (class WebIncident).
#include "web/incident.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "fim/watch.h"
#include "store/store.h"
#include "support/temp_dir.h"
#include "web/incident_impl.h"

namespace mamori::web {
namespace {

using testing_support::write_file;

std::string clf(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  return buf;
}

TEST(IncidentWriter, ComesFromTheFactsFimWatchRecordedNotFromItsText) {
  auto w = writer_from_facts({{"writer_pid", "812"},
                              {"writer_uid", "33"},
                              {"writer_exe", "/usr/sbin/php-fpm8.2"},
                              {"writer_comm", "php-fpm8.2"}});
  EXPECT_TRUE(w.known);
  EXPECT_EQ(w.pid, 812);
  EXPECT_EQ(w.exe, "/usr/sbin/php-fpm8.2");
  EXPECT_EQ(w.comm, "php-fpm8.2");
  EXPECT_EQ(w.uid, 33);
  // A process that exited before it was identified: a pid alone names nobody.
  w = writer_from_facts({{"writer_pid", "77"}});
  EXPECT_FALSE(w.known);
  EXPECT_NE(w.why_unknown.find("pid 77) exited"), std::string::npos);
  // No writer (fim check, inotify), or facts that are not numbers: not known.
  EXPECT_FALSE(writer_from_facts({}).known);
  EXPECT_FALSE(writer_from_facts({{"writer_pid", "1; rm"}, {"writer_uid", "0"}}).known);
  // A uid that is not a number is not taken for one.
  w = writer_from_facts({{"writer_pid", "5"}, {"writer_uid", "0x0"}, {"writer_comm", "sh"}});
  EXPECT_TRUE(w.known);
  EXPECT_EQ(w.uid, -1);
}

TEST(IncidentWriter, TheEvidenceFimWatchWritesNamesTheSameWriter) {
  // The text people read and the facts machines read come from the same process record.
  EXPECT_EQ(fim::writer_text(812, "/usr/sbin/php-fpm8.2", "php-fpm8.2", 33),
            "pid 812 /usr/sbin/php-fpm8.2 (php-fpm8.2), uid 33");
  EXPECT_EQ(fim::writer_text(9, "", "", -1), "pid 9 (exited before it could be identified)");
  EXPECT_EQ(fim::writer_text(0, "/x", "x", 0), "");
}

TEST(IncidentVulnKind, ReadsWhatASummaryAllows) {
  EXPECT_EQ(vuln_kind("Contact Form 7 <= 5.3.1 - Unauthenticated Arbitrary File Upload"), "upload");
  EXPECT_EQ(vuln_kind("Unrestricted upload of file with dangerous type (CWE-434)"), "upload");
  EXPECT_EQ(vuln_kind("File Manager 6.0-6.8 - Unauthenticated Remote Code Execution"),
            "code-execution");
  EXPECT_EQ(vuln_kind("PHP Object Injection via deserialization"), "code-execution");
  EXPECT_EQ(vuln_kind("Arbitrary File Creation"), "file-write");
  EXPECT_EQ(vuln_kind("Authentication Bypass to account takeover"), "auth-bypass");
  EXPECT_EQ(vuln_kind("Authenticated (Subscriber+) SQL Injection"), "sql-injection");
  EXPECT_EQ(vuln_kind("Stored Cross-Site Scripting"), "xss");
  EXPECT_EQ(vuln_kind("Information disclosure"), "other");
  EXPECT_TRUE(says_unauthenticated("Unauthenticated Arbitrary File Upload"));
  EXPECT_FALSE(says_unauthenticated("Authenticated (Administrator+) Stored XSS"));
}

TEST(IncidentRequests, KeepsRelatedRequestsInTheWindowNearestFirstAndSkipsHostileLines) {
  const int64_t t = 1'790'000'000;
  RequestLog log(t - 100, t + 100, t, 3, [](IncidentRequest& r) {
    r.relation = "write";
    return r.method == "POST";
  });
  auto line = [&](int64_t at, const char* m, const char* uri) {
    return fmt::format("203.0.113.5 - - [{}] \"{} {} HTTP/1.1\" 200 1 \"-\" \"ua\"", clf(at), m,
                       uri);
  };
  uint64_t n = 0;
  EXPECT_TRUE(log.line(line(t - 500, "POST", "/early"), "a.log", ++n));  // before the window
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(log.line(line(t - 50 + i, "POST", "/w"), "a.log", ++n));
  EXPECT_TRUE(log.line(line(t + 1, "GET", "/unrelated"), "a.log", ++n));
  EXPECT_TRUE(log.line(line(t + 5000, "POST", "/late"), "a.log", ++n));
  // hostile and foreign lines are not requests
  EXPECT_FALSE(log.line(std::string(100000, 'A'), "a.log", ++n));
  EXPECT_FALSE(log.line("203.0.113.5 - - [99/Xxx/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1",
                        "a.log", ++n));
  EXPECT_FALSE(
      log.line("203.0.113.5 - - [" + clf(t) + "] \"\\x16\\x03\\x01 junk\" 400 1", "a.log", ++n));
  EXPECT_FALSE(log.line("{\"time\":\"not a time\",\"action\":\"blocked\"}", "w.jsonl", ++n));
  EXPECT_FALSE(log.line(std::string("\0\xff\xfe", 3), "a.log", ++n));
  // the WAF's decision log
  EXPECT_TRUE(log.line(
      fmt::format("{{\"time\":\"{}\",\"id\":\"ab\",\"action\":\"blocked\",\"status\":403,"
                  "\"client\":\"198.51.100.9\",\"method\":\"POST\",\"uri\":\"/wp-login.php\"}}",
                  [&] {
                    std::time_t tt = t;
                    std::tm tm{};
                    gmtime_r(&tt, &tm);
                    char b[40];
                    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
                    return std::string(b);
                  }()),
      "waf.jsonl", ++n));
  EXPECT_EQ(log.requests(), 54u);
  EXPECT_EQ(log.in_window(), 52u);
  auto kept = log.take();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(log.left_out(), 48u);
  // the three nearest the change, in time order: t-2, t-1, t (the WAF's)
  EXPECT_EQ(kept[0].time, t - 2);
  EXPECT_EQ(kept[1].time, t - 1);
  EXPECT_EQ(kept[2].time, t);
  bool waf = false;
  for (const auto& r : kept)
    if (r.waf == "blocked") {
      waf = true;
      EXPECT_EQ(r.address, "198.51.100.9");
      EXPECT_EQ(r.status, 403);
      EXPECT_EQ(r.uri, "/wp-login.php");
      EXPECT_EQ(r.source, "waf.jsonl:" + std::to_string(n));
    }
  EXPECT_TRUE(waf);
}

TEST(IncidentWords, SaysSpansAsPeopleDo) {
  EXPECT_EQ(span_words(1), "1 second");
  EXPECT_EQ(span_words(2), "2 seconds");
  EXPECT_EQ(span_words(-120), "2 minutes");
  EXPECT_EQ(span_words(3600), "1 hour");
  EXPECT_EQ(span_words(3660 + 59), "1 hour 1 minute");
  EXPECT_EQ(span_words(3 * 86400), "3 days");
}

class IncidentTree : public testing_support::TempDirTest {};

TEST_F(IncidentTree, AFileDpkgShippedIsThePackagesAndAPluginFileIsThePlugins) {
  auto r = dir_ / "root";
  write_file(r / "var/lib/dpkg/status",
             "Package: tool\nStatus: install ok installed\nVersion: 1.2-1\nArchitecture: amd64\n"
             "Source: tool\n\n");
  write_file(r / "var/lib/dpkg/info/tool.md5sums",
             "d41d8cd98f00b204e9800998ecf8427e  usr/bin/tool\n");
  write_file(r / "usr/bin/tool", "changed");
  write_file(r / "srv/www/wp-includes/version.php", "<?php $wp_version = '6.4.2';");
  write_file(r / "srv/www/wp-content/plugins/forms/forms.php",
             "<?php\n/*\nPlugin Name: Forms\nVersion: 2.0\n*/\n"
             "add_action('wp_ajax_nopriv_forms_send', 'f');\n");
  write_file(r / "srv/www/wp-content/plugins/forms/inc/x.php", "<?php eval($_POST[1]);");
  const int64_t t = 1'790'000'000;
  write_file(
      r / "var/log/nginx/access.log",
      "203.0.113.5 - - [" + clf(t - 3) +
          "] \"POST /wp-admin/admin-ajax.php?action=forms_send HTTP/1.1\" 200 1 \"-\" \"-\"\n"
          "203.0.113.5 - - [" +
          clf(t - 3) +
          "] \"GET /wp-content/plugins/forms/inc/x.php HTTP/1.1\" 200 1 \"-\" \"-\"\n"
          "203.0.113.5 - - [" +
          clf(t + 9) +
          "] \"GET /wp-content//plugins/./forms/inc/%78.php/more?c=id HTTP/1.1\" 200 1 "
          "\"-\" \"-\"\n"
          "203.0.113.5 - - [" +
          clf(t + 9) +
          "] \"GET /wp-content/plugins/forms/inc/x.phpx HTTP/1.1\" 404 1 \"-\" \"-\"\n");
  Root root(r);
  IncidentQuery q;
  q.target = "/usr/bin/tool";
  q.at = t;
  auto inc = investigate(root, q, nullptr, nullptr, t);
  ASSERT_TRUE(inc) << inc.error().message;
  EXPECT_EQ(inc->component.kind, "deb");
  EXPECT_EQ(inc->component.name, "tool");
  EXPECT_EQ(inc->component.version, "1.2-1");
  EXPECT_EQ(inc->component.version_source, "on disk now");
  EXPECT_TRUE(inc->exists);
  EXPECT_EQ(inc->changed_at_source, "at");

  q.target = "/srv/www/wp-content/plugins/forms/inc/x.php";
  inc = investigate(root, q, nullptr, nullptr, t);
  ASSERT_TRUE(inc) << inc.error().message;
  EXPECT_EQ(inc->component.kind, "wordpress-plugin");
  EXPECT_EQ(inc->component.name, "forms");
  EXPECT_EQ(inc->component.version, "2.0");
  EXPECT_EQ(inc->component.install, "/srv/www");
  // Without a vulnerability database the AJAX action is not tied to the plugin, but the
  // request to the file itself is — however its path is written (%78, //, PATH_INFO).
  std::map<std::string, std::string> rel;
  for (const auto& q_ : inc->requests) rel[q_.uri] = q_.relation;
  EXPECT_EQ(rel, (std::map<std::string, std::string>{
                     {"/wp-admin/admin-ajax.php?action=forms_send", "write"},
                     {"/wp-content/plugins/forms/inc/x.php", "file"},
                     {"/wp-content//plugins/./forms/inc/%78.php/more?c=id", "file"}}));
  bool noted = false;
  for (const auto& n : inc->notes) noted = noted || n.find("no vulnerability database") == 0;
  EXPECT_TRUE(noted);
  auto j = nlohmann::json::parse(incident_json(*inc));
  EXPECT_EQ(j["path"], "/srv/www/wp-content/plugins/forms/inc/x.php");
  EXPECT_EQ(j["component"]["kind"], "wordpress-plugin");
  EXPECT_EQ(j["requests"].size(), 3u);
  EXPECT_EQ(j["writer"]["known"], false);
  EXPECT_FALSE(j["probable_cause"].get<std::string>().empty());
}

TEST_F(IncidentTree, AFindingOfAnotherModuleOrNoStoreIsRefused) {
  auto st = store::Store::open((dir_ / "s.db").string());
  ASSERT_TRUE(st);
  store::ScanInput in;
  in.host = "h";
  in.started_at = 1'790'000'000;
  Finding f;
  f.module = "audit";
  f.check = "ssh-root-login";
  f.asset = "ssh";
  f.title = "x";
  f.fingerprint = fingerprint(f.module, f.check, f.asset);
  in.findings = {f};
  ASSERT_TRUE((*st)->record_scan(in));
  IncidentQuery q;
  q.host = "h";
  q.target = f.fingerprint;
  auto inc = investigate(Root(dir_), q, st->get(), nullptr, 1'790'000'000);
  ASSERT_FALSE(inc);
  EXPECT_NE(inc.error().message.find("of module 'audit'"), std::string::npos);
  inc = investigate(Root(dir_), q, nullptr, nullptr, 1'790'000'000);
  ASSERT_FALSE(inc);
}

}  // namespace
}  // namespace mamori::web
