// Store tests run against a real SQLite file and a real PostgreSQL server (started by
// scripts/pg-test-server.sh as a ctest fixture; its URL arrives in MAMORI_TEST_PG_URL_FILE).
#include "store/store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/fs.h"
#include "core/text.h"

namespace mamori::store {
namespace {

namespace fs = std::filesystem;

std::string pg_admin_url() {
  const char* file = std::getenv("MAMORI_TEST_PG_URL_FILE");
  if (!file) return "";
  auto text = read_file(file, 4096);
  return text ? std::string(trim(*text)) : "";
}

// A fresh database per test on the shared test server.
std::string fresh_pg_database(const std::string& admin) {
  static std::mt19937_64 rng(std::random_device{}());
  std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(rng() % 1000000000);
  PGconn* c = PQconnectdb(admin.c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  std::string url = admin;
  size_t slash = url.find(":///");
  size_t q = url.find('?');
  return url.substr(0, slash + 4) + name + url.substr(q);
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      for (char& ch : name)
        if (ch == '/') ch = '_';
      dir_ =
          fs::temp_directory_path() / ("mamori-store-" + std::to_string(::getpid()) + "-" + name);
      fs::remove_all(dir_);
      url_ = (dir_ / "sub" / "mamori.db").string();  // parent created by open()
    } else {
      std::string admin = pg_admin_url();
      if (admin.empty()) GTEST_SKIP() << "no PostgreSQL test server (run through ctest)";
      url_ = fresh_pg_database(admin);
    }
    auto s = Store::open(url_);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  static Finding make(const std::string& check, const std::string& asset,
                      Severity sev = Severity::kHigh) {
    Finding f;
    f.module = "inventory";
    f.check = check;
    f.asset = asset;
    f.severity = sev;
    f.title = check + " on " + asset;
    f.evidence = "evidence";
    f.remediation = "fix it";
    f.references = {"CWE-1104"};
    assign_fingerprint(f);
    return f;
  }

  ScanOutcome scan(const std::vector<Finding>& findings, int64_t t,
                   const std::string& host = "web01", std::vector<Package> pkgs = {}) {
    ScanInput in;
    in.host = host;
    in.started_at = t;
    in.finished_at = t + 1;
    in.tool_version = "test";
    in.os = "Debian GNU/Linux 12";
    in.findings = findings;
    in.packages = std::move(pkgs);
    auto r = store_->record_scan(in);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? *r : ScanOutcome{};
  }

  static const Finding* by_fp(const std::vector<Finding>& v, const std::string& fp) {
    for (const auto& f : v)
      if (f.fingerprint == fp) return &f;
    return nullptr;
  }

  fs::path dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, LifecycleNewOpenFixed) {
  Finding a = make("os-end-of-support", "os:debian-10");
  Finding b = make("unowned-remote-access", "pkg:deb/debian/xrdp", Severity::kMedium);
  auto s1 = scan({a, b}, 1000);
  ASSERT_EQ(s1.findings.size(), 2u);
  EXPECT_EQ(by_fp(s1.findings, a.fingerprint)->state, FindingState::kNew);
  EXPECT_EQ(by_fp(s1.findings, b.fingerprint)->state, FindingState::kNew);

  auto s2 = scan({a, b}, 2000);  // nothing new the second time
  for (const auto& f : s2.findings) EXPECT_EQ(f.state, FindingState::kOpen) << f.fingerprint;
  EXPECT_EQ(by_fp(s2.findings, a.fingerprint)->first_seen, 1001);

  auto s3 = scan({a}, 3000);  // b disappeared → fixed, with the time it disappeared
  ASSERT_EQ(s3.findings.size(), 2u);
  const Finding* fixed = by_fp(s3.findings, b.fingerprint);
  ASSERT_NE(fixed, nullptr);
  EXPECT_EQ(fixed->state, FindingState::kFixed);
  ASSERT_TRUE(fixed->fixed_at.has_value());
  EXPECT_EQ(*fixed->fixed_at, 3001);

  auto s4 = scan({a}, 4000);  // fixed findings are not reported fixed again
  EXPECT_EQ(s4.findings.size(), 1u);

  auto s5 = scan({a, b}, 5000);  // a regression is new again
  EXPECT_EQ(by_fp(s5.findings, b.fingerprint)->state, FindingState::kNew);

  auto current = store_->current_findings("web01", false);
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->size(), 2u);
}

TEST_P(StoreTest, FactsAreKeptAndASightingWithoutThemLeavesThem) {
  Finding a = make("file-added", "/srv/www/x.php");
  a.facts = {{"writer_pid", "812"},
             {"writer_uid", "33"},
             {"writer_exe", "/usr/sbin/php-fpm8.2"},
             {"writer_comm", "php-fpm \"8.2\" \xff"}};
  scan({a}, 1000);
  auto got = store_->find("web01", a.fingerprint);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->facts.at("writer_uid"), "33");
  EXPECT_EQ(got->facts.at("writer_exe"), "/usr/sbin/php-fpm8.2");
  EXPECT_EQ(got->facts.size(), 4u);
  // fim check sees the same change again, without a writer: the writer stays
  Finding again = make("file-added", "/srv/www/x.php");
  scan({again}, 2000);
  EXPECT_EQ(store_->find("web01", a.fingerprint)->facts.at("writer_pid"), "812");
  // a sighting with facts of its own replaces them
  Finding other = make("file-added", "/srv/www/x.php");
  other.facts = {{"writer_pid", "99"}};
  scan({other}, 3000);
  auto now = store_->find("web01", a.fingerprint);
  EXPECT_EQ(now->facts.size(), 1u);
  EXPECT_EQ(now->facts.at("writer_pid"), "99");
  // once fixed, a finding that comes back has only what it brings
  scan({}, 4000);
  scan({again}, 5000);
  EXPECT_TRUE(store_->find("web01", a.fingerprint)->facts.empty());
}

TEST_P(StoreTest, HostsAreIndependent) {
  Finding a = make("os-end-of-support", "os:debian-10");
  scan({a}, 1000, "web01");
  auto other = scan({a}, 1100, "db01");
  EXPECT_EQ(other.findings[0].state, FindingState::kNew);  // same fingerprint, other host
  auto web = scan({}, 1200, "web01");
  ASSERT_EQ(web.findings.size(), 1u);
  EXPECT_EQ(web.findings[0].state, FindingState::kFixed);
  auto db = store_->current_findings("db01", false);
  ASSERT_EQ(db->size(), 1u);
  EXPECT_EQ((*db)[0].state, FindingState::kNew);
  auto hosts = store_->hosts();
  EXPECT_EQ(*hosts, (std::vector<std::string>{"db01", "web01"}));
}

TEST_P(StoreTest, AcceptedFindingsStayVisibleButDoNotFail) {
  Finding a = make("os-end-of-support", "os:debian-10");
  scan({a}, 1000);
  auto found = store_->find("web01", a.fingerprint.substr(0, 6));
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(
      store_->accept("web01", a.fingerprint, "isolated lab host", "alice", 1500).has_value());
  auto s = scan({a}, 2000);
  ASSERT_EQ(s.findings.size(), 1u);
  EXPECT_EQ(s.findings[0].state, FindingState::kAccepted);
  EXPECT_EQ(s.findings[0].accepted_reason, "isolated lab host");
  EXPECT_FALSE(fails_threshold(s.findings[0], Severity::kInfo));
  auto listed = store_->current_findings("web01", false);
  EXPECT_EQ((*listed)[0].state, FindingState::kAccepted);
  ASSERT_TRUE(store_->unaccept("web01", a.fingerprint).has_value());
  auto s2 = scan({a}, 3000);
  EXPECT_EQ(s2.findings[0].state, FindingState::kOpen);
}

TEST_P(StoreTest, FindByPrefixRejectsAmbiguityAndGarbage) {
  scan({make("c1", "a1"), make("c2", "a2")}, 1000);
  EXPECT_FALSE(store_->find("web01", "zz").has_value());
  EXPECT_FALSE(store_->find("web01", "'; DROP TABLE findings; --").has_value());
  auto missing = store_->find("web01", "0000000000000000");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, OwnersResolveOnFindings) {
  ASSERT_TRUE(store_->set_owner("pkg:deb/*openssh*", "vendor-x", 1).has_value());
  ASSERT_TRUE(store_->set_owner("pkg:deb/*openssh*", "vendor-y", 2).has_value());  // update
  ASSERT_TRUE(store_->set_owner("os:*", "platform", 3).has_value());
  auto rules = store_->owners();
  ASSERT_EQ(rules->size(), 2u);
  auto s = scan({make("x", "pkg:deb/debian/openssh-server"), make("y", "host:web01")}, 1000);
  ASSERT_EQ(s.findings.size(), 2u);
  for (const auto& f : s.findings) {
    if (f.asset == "host:web01")
      EXPECT_EQ(f.owner, "");
    else
      EXPECT_EQ(f.owner, "vendor-y");
  }
  EXPECT_TRUE(*store_->remove_owner("os:*"));
  EXPECT_FALSE(*store_->remove_owner("os:*"));
}

TEST_P(StoreTest, PackagesAndScanSnapshotsRoundTrip) {
  Package p;
  p.ecosystem = kDeb;
  p.name = "libcap2";
  p.version = "1:2.66-4+deb12u2+b2";
  p.arch = "amd64";
  p.source_name = "libcap2";
  p.source_version = "1:2.66-4+deb12u2";
  p.purl = "pkg:deb/debian/libcap2@1%3A2.66-4%2Bdeb12u2%2Bb2?arch=amd64";
  p.location = "/var/lib/dpkg/status";
  p.installed_at = 1700000000;
  Package q;
  q.ecosystem = kNpm;
  q.name = "lodash";
  q.version = "4.17.20";
  q.purl = "pkg:npm/lodash@4.17.20";
  q.location = "/var/www/app/package-lock.json";
  Finding a = make("c", "\xff weird 'asset'; --");  // hostile text: stored as UTF-8, not as SQL
  auto s = scan({a}, 1000, "web01", {p, q});
  auto pk = store_->scan_packages(s.scan.id);
  ASSERT_TRUE(pk.has_value());
  ASSERT_EQ(pk->size(), 2u);
  EXPECT_EQ((*pk)[0].source_version, "1:2.66-4+deb12u2");
  EXPECT_EQ((*pk)[0].installed_at, 1700000000);
  EXPECT_FALSE((*pk)[1].arch.has_value());
  auto sf = store_->scan_findings(s.scan.id);
  ASSERT_EQ(sf->size(), 1u);
  EXPECT_EQ((*sf)[0].references, (std::vector<std::string>{"CWE-1104"}));
  EXPECT_EQ((*sf)[0].asset, "\xEF\xBF\xBD weird 'asset'; --");
  EXPECT_EQ((*sf)[0].fingerprint, a.fingerprint);
  auto last = store_->last_scan("web01", "scan");
  ASSERT_TRUE(last.has_value() && last->has_value());
  EXPECT_EQ((*last)->id, s.scan.id);
  EXPECT_EQ((*last)->package_count, 2);
}

// The WAF's signal loop reads virtual patches from the store while scans write to it: opening a
// store whose schema is current takes no write lock (a read says so), and a write with a short
// lock wait fails ("unavailable") instead of waiting for the other writer.
TEST_P(StoreTest, OpeningDoesNotWaitForAWriterAndAShortLockWaitFailsFast) {
  Finding a = make("c", "a");
  scan({a}, 1000);
  store_.reset();
  auto quick = Store::open(url_, 250);
  ASSERT_TRUE(quick.has_value()) << quick.error().message;
  EXPECT_EQ((*quick)->lock_wait_ms().value_or(-1), 250);
  quick->reset();
  // Another writer holds the lock for as long as this test runs.
  sqlite3* lite = nullptr;
  PGconn* pg = nullptr;
  if (GetParam() == "sqlite") {
    ASSERT_EQ(sqlite3_open(url_.c_str(), &lite), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(lite, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  } else {
    pg = PQconnectdb(url_.c_str());
    ASSERT_EQ(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "BEGIN"));
    PGresult* r = PQexec(pg, "LOCK TABLE scans IN ACCESS EXCLUSIVE MODE");
    ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
  }
  auto opened = Store::open(url_, 0);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  if (GetParam() == "sqlite") {  // WAL: reads go on beside the writer
    auto cur = (*opened)->current_findings("web01", false);
    ASSERT_TRUE(cur.has_value()) << cur.error().message;
    EXPECT_EQ(cur->size(), 1u);
  }
  ScanInput in;
  in.host = "web01";
  in.started_at = 2000;
  in.finished_at = 2001;
  in.tool_version = "test";
  in.findings = {a};
  auto w = (*opened)->record_scan(in);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().code, ErrorCode::kUnavailable) << w.error().message;
  if (lite) sqlite3_close(lite);
  if (pg) {
    // ROLLBACK answers once the lock is released; closing alone lets the server release it a
    // moment later, and the write below could still meet it.
    PQclear(PQexec(pg, "ROLLBACK"));
    PQfinish(pg);
  }
  EXPECT_TRUE((*opened)->record_scan(in).has_value());  // the lock is gone
}

TEST_P(StoreTest, ReopeningKeepsDataAndSchemaVersion) {
  Finding a = make("c", "a");
  scan({a}, 1000);
  store_.reset();
  auto again = Store::open(url_);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ((*again)->schema_version(), Store::latest_schema_version());
  auto cur = (*again)->current_findings("web01", false);
  ASSERT_EQ(cur->size(), 1u);
}

TEST_P(StoreTest, GuardBansEscalateForRepeatOffenders) {
  const int64_t t0 = 1'700'000'000;
  auto b1 = store_->record_ban("h1", "198.18.0.1", "burst", "6 failures", t0, 3600);
  ASSERT_TRUE(b1.has_value()) << b1.error().message;
  EXPECT_EQ(b1->offences, 1);
  EXPECT_EQ(b1->expires_at, t0 + 3600);
  // banned again while the ban runs: extended at most, not escalated
  auto again = store_->record_ban("h1", "198.18.0.1", "burst", "more", t0 + 60, 3600);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->offences, 1);
  EXPECT_EQ(again->expires_at, t0 + 3660);
  // after it expired: second offence, twice as long; third: four times
  auto b2 = store_->record_ban("h1", "198.18.0.1", "slow", "back", t0 + 10000, 3600);
  ASSERT_TRUE(b2.has_value());
  EXPECT_EQ(b2->offences, 2);
  EXPECT_EQ(b2->expires_at, t0 + 10000 + 7200);
  auto b3 = store_->record_ban("h1", "198.18.0.1", "slow", "back", t0 + 20000, 3600);
  EXPECT_EQ(b3->offences, 3);
  EXPECT_EQ(b3->expires_at, t0 + 20000 + 14400);
  Result<Ban> capped = Error::internal("");
  for (int i = 0; i < 20; ++i)
    capped = store_->record_ban("h3", "198.18.0.7", "slow", "x", t0 + 10'000'000 * (i + 1), 3600);
  ASSERT_TRUE(capped.has_value());
  EXPECT_EQ(capped->offences, 20);
  EXPECT_EQ(capped->expires_at - capped->banned_at, 30 * 86400);  // capped at 30 days
  ASSERT_TRUE(store_->record_ban("h1", "2001:db8::/64", "distributed", "p", t0, 600).has_value());
  ASSERT_TRUE(store_->record_ban("h2", "198.18.0.9", "burst", "other host", t0, 600).has_value());
  auto active = store_->active_bans("h1", t0 + 30000);  // 198.18.0.1's third ban runs to +34400
  ASSERT_TRUE(active.has_value());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].address, "198.18.0.1");
  EXPECT_EQ((*active)[0].offences, 3);
  active = store_->active_bans("h1", t0 + 10);
  ASSERT_EQ(active->size(), 2u);
  auto lifted = store_->lift_ban("h1", "2001:db8::/64", t0 + 20);
  ASSERT_TRUE(lifted.has_value());
  EXPECT_TRUE(*lifted);
  EXPECT_FALSE(*store_->lift_ban("h1", "2001:db8::/64", t0 + 30));
  EXPECT_EQ(store_->active_bans("h1", t0 + 21)->size(), 1u);
  EXPECT_EQ(store_->active_bans("h2", t0 + 21)->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

// ---- SQLite-specific failure handling ----

TEST(SqliteStore, FileThatIsNotSqliteIsAClearErrorAndUntouched) {
  fs::path p = fs::temp_directory_path() / ("mamori-notdb-" + std::to_string(::getpid()));
  std::string garbage(8192, 'Z');
  { std::ofstream(p) << garbage; }
  auto s = Store::open(p.string());
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find(p.string()), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("not an SQLite database"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(*read_file(p), garbage);  // nothing overwritten
  fs::remove(p);
}

TEST(SqliteStore, NewerSchemaIsRefused) {
  fs::path p = fs::temp_directory_path() / ("mamori-newer-" + std::to_string(::getpid()) + ".db");
  fs::remove(p);
  { ASSERT_TRUE(Store::open(p.string()).has_value()); }
  sqlite3* h = nullptr;
  sqlite3_open(p.c_str(), &h);
  sqlite3_exec(h, "INSERT INTO schema_version VALUES (999, 0)", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  auto s = Store::open(p.string());
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
  fs::remove(p);
  fs::remove(p.string() + "-wal");
  fs::remove(p.string() + "-shm");
}

TEST(SqliteStore, AStoredPackageOfAnUnknownEcosystemIsAnErrorNotAGuess) {
  fs::path p = fs::temp_directory_path() / ("mamori-eco-" + std::to_string(::getpid()) + ".db");
  fs::remove(p);
  int64_t id = 0;
  {
    auto st = Store::open(p.string());
    ASSERT_TRUE(st.has_value());
    ScanInput in;
    in.host = "h";
    in.scope = "scan";
    Package pk;
    pk.ecosystem = kPypi;
    pk.name = "flask";
    pk.version = "2.0";
    in.packages = {pk};
    auto r = (*st)->record_scan(in);
    ASSERT_TRUE(r.has_value());
    id = r->scan.id;
    auto back = (*st)->scan_packages(id);
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ((*back)[0].ecosystem, kPypi);  // written and read back by its name
  }
  sqlite3* h = nullptr;
  sqlite3_open(p.c_str(), &h);
  sqlite3_exec(h, "UPDATE packages SET ecosystem = 'cargo\x1b[2J'", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  auto st = Store::open(p.string());
  ASSERT_TRUE(st.has_value());
  auto back = (*st)->scan_packages(id);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(back.error().message.find("unknown ecosystem 'cargo"), std::string::npos)
      << back.error().message;
  EXPECT_EQ(back.error().message.find('\x1b'), std::string::npos);  // sanitised
  fs::remove(p);
  fs::remove(p.string() + "-wal");
  fs::remove(p.string() + "-shm");
}

TEST(SqliteStore, ScanKilledBeforeCommitLeavesPreviousStateIntact) {
  fs::path p = fs::temp_directory_path() / ("mamori-kill-" + std::to_string(::getpid()) + ".db");
  fs::remove(p);
  Finding a;
  a.module = "m";
  a.check = "c";
  a.asset = "a";
  assign_fingerprint(a);
  {
    auto s = Store::open(p.string());
    ASSERT_TRUE(s.has_value());
    ScanInput in;
    in.host = "h";
    in.findings = {a};
    ASSERT_TRUE((*s)->record_scan(in).has_value());
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    set_fault_hook([](const char*) { ::_exit(137); });  // dies mid-transaction, like kill -9
    auto s = Store::open(p.string());
    ScanInput in;
    in.host = "h";
    Package pk;
    pk.ecosystem = kDeb;
    pk.name = "x";
    pk.version = "1";
    in.packages.assign(500, pk);
    (void)(*s)->record_scan(in);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 137);
  auto s = Store::open(p.string());
  ASSERT_TRUE(s.has_value()) << s.error().message;
  auto scans = (*s)->scans("h", 10);
  ASSERT_EQ(scans->size(), 1u);  // the killed scan left nothing
  auto pk = (*s)->scan_packages(scans->front().id + 1);
  EXPECT_TRUE(pk->empty());
  auto cur = (*s)->current_findings("h", false);
  ASSERT_EQ(cur->size(), 1u);
  EXPECT_NE((*cur)[0].state, FindingState::kFixed);
  sqlite3* h = nullptr;
  sqlite3_open(p.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(h);
  s->reset();
  fs::remove(p);
  fs::remove(p.string() + "-wal");
  fs::remove(p.string() + "-shm");
}

TEST(PostgresStore, UnreachableServerIsAClearErrorWithoutPassword) {
  auto s = Store::open("postgresql://mamori:s3cret@127.0.0.1:1/mamori?connect_timeout=2");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(s.error().message.find("cannot connect"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find("s3cret"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace mamori::store
