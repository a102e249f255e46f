#include "inventory/inventory.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "core/fs.h"
#include "core/text.h"
#include "inventory/checks.h"
#include "inventory/listeners.h"
#include "inventory/parsers.h"

namespace mamori::inventory {
namespace {

namespace fs = std::filesystem;
const fs::path kFix = MAMORI_FIXTURES "/inventory";

InventoryOptions no_discover() {
  InventoryOptions o;
  o.discover_webroots = false;
  return o;
}

const Package* find_pkg(const std::vector<Package>& v, Ecosystem eco, std::string_view name) {
  for (const auto& p : v)
    if (p.ecosystem == eco && p.name == name) return &p;
  return nullptr;
}

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  if (status) *status = st;
  return out;
}

// ---------------- dpkg ----------------

TEST(DpkgStatus, ReadsSourcePackageAndStripsBinNmu) {
  auto text = read_file(kFix / "debian10/var/lib/dpkg/status");
  ASSERT_TRUE(text.has_value());
  auto pkgs = parse_dpkg_status(*text, "status");
  ASSERT_TRUE(pkgs.has_value()) << pkgs.error().message;
  const Package* cap = find_pkg(*pkgs, kDeb, "libcap2");
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->version, "1:2.25-2+b1");
  EXPECT_EQ(cap->source_name, "libcap2");
  EXPECT_EQ(cap->source_version, "1:2.25-2");  // explicit "Source: libcap2 (1:2.25-2)"
  const Package* ssh = find_pkg(*pkgs, kDeb, "openssh-server");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->source_name, "openssh");                // "Source: openssh"
  EXPECT_EQ(ssh->source_version, "1:7.9p1-10+deb10u2");  // same as the binary version
  EXPECT_EQ(ssh->arch, "amd64");
  const Package* xrdp = find_pkg(*pkgs, kDeb, "xrdp");
  ASSERT_NE(xrdp, nullptr);
  EXPECT_EQ(xrdp->source_name, "xrdp");  // no Source field: source = binary
}

TEST(DpkgStatus, KeepsConfigFilesStateAndDropsNotInstalled) {
  auto pkgs = parse_dpkg_status(*read_file(kFix / "debian10/var/lib/dpkg/status"), "status");
  ASSERT_TRUE(pkgs.has_value());
  const Package* rc = find_pkg(*pkgs, kDeb, "old-removed");
  ASSERT_NE(rc, nullptr);
  EXPECT_EQ(rc->status, "config-files");
  EXPECT_EQ(find_pkg(*pkgs, kDeb, "never-there"), nullptr);
  EXPECT_EQ(pkgs->size(), 5u);
}

TEST(DpkgStatus, StripBinNmuOnlyTouchesTrailingBuildSuffix) {
  EXPECT_EQ(strip_binnmu("1:2.66-4+deb12u2+b2"), "1:2.66-4+deb12u2");
  EXPECT_EQ(strip_binnmu("2.36-9+deb12u4"), "2.36-9+deb12u4");
  EXPECT_EQ(strip_binnmu("1.0+b"), "1.0+b");
  EXPECT_EQ(strip_binnmu("1.0+build1"), "1.0+build1");
}

TEST(DpkgStatus, TruncatedStanzaIsAnErrorNamingFileAndLine) {
  auto r = parse_dpkg_status(
      "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\n"
      "Status: install ok installed\nArchitec",
      "/var/lib/dpkg/status");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("/var/lib/dpkg/status:7"), std::string::npos)
      << r.error().message;
  auto r2 = parse_dpkg_status(
      "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\n"
      "Status: install ok installed\n",
      "status");
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().message.find("status:5"), std::string::npos) << r2.error().message;
  EXPECT_NE(r2.error().message.find("no Version"), std::string::npos);
}

TEST(DpkgStatus, BinaryGarbageIsRejected) {
  std::string garbage = "Package: a\nVersion: 1\n\n";
  garbage += std::string(
      "\x7f"
      "ELF\x02\x01\x01\0\0\0",
      10);
  auto r = parse_dpkg_status(garbage, "status");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("status:4"), std::string::npos) << r.error().message;
}

TEST(DpkgStatus, AbsurdlyLongFieldIsRejected) {
  std::string text = "Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n";
  std::string cont = " " + std::string(1000, 'y') + "\n";
  for (int i = 0; i < 1100; ++i) text += cont;
  auto r = parse_dpkg_status(text, "status");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("longer than"), std::string::npos) << r.error().message;
  std::string one_line = "Package: " + std::string(2 << 20, 'a') + "\nVersion: 1\n";
  EXPECT_FALSE(parse_dpkg_status(one_line, "status").has_value());
}

using PkgSet = std::set<std::tuple<std::string, std::string, std::string>>;

// Oracle: dpkg-query itself, reading the same status file through --admindir.
PkgSet dpkg_query_oracle(const fs::path& status) {
  fs::path admin = fs::temp_directory_path() / ("mamori-dpkg-" + std::to_string(::getpid()));
  fs::create_directories(admin / "info");
  fs::copy_file(status, admin / "status", fs::copy_options::overwrite_existing);
  std::ofstream(admin / "available").close();
  int st = 0;
  std::string out = run("dpkg-query --admindir=" + admin.string() +
                            " -W -f='${Package}\\t${Version}\\t${Architecture}\\n' 2>/dev/null",
                        &st);
  fs::remove_all(admin);
  EXPECT_EQ(st, 0);
  PkgSet want;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl - pos);
    pos = nl + 1;
    size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    want.insert({line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)});
  }
  return want;
}

PkgSet as_set(const std::vector<Package>& pkgs) {
  PkgSet got;
  for (const auto& p : pkgs) got.insert({p.name, p.version, p.arch.value_or("")});
  return got;
}

TEST(DpkgStatus, RealDebian12StatusMatchesDpkgQuery) {
  fs::path real = MAMORI_SHARED "/data/vuln/inventory/debian12-dpkg-status.txt";
  if (!fs::exists(real)) GTEST_SKIP() << "shared data not present";
  if (::system("command -v dpkg-query >/dev/null 2>&1") != 0) GTEST_SKIP() << "no dpkg-query";
  auto text = read_file(real);
  ASSERT_TRUE(text.has_value());
  auto pkgs = parse_dpkg_status(*text, "status");
  ASSERT_TRUE(pkgs.has_value()) << pkgs.error().message;
  EXPECT_EQ(pkgs->size(), 858u);
  EXPECT_EQ(as_set(*pkgs), dpkg_query_oracle(real));
  // The known binNMU fact of SOURCES.md.
  const Package* cap = find_pkg(*pkgs, kDeb, "libcap2");
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->source_version, "1:2.66-4+deb12u2");
  EXPECT_NE(cap->version, *cap->source_version);
}

TEST(DpkgStatus, FixtureStatesMatchDpkgQuery) {
  // config-files packages are listed, not-installed ones are not: exactly as dpkg-query -W.
  if (::system("command -v dpkg-query >/dev/null 2>&1") != 0) GTEST_SKIP() << "no dpkg-query";
  fs::path status = kFix / "debian10/var/lib/dpkg/status";
  auto pkgs = parse_dpkg_status(*read_file(status), "status");
  ASSERT_TRUE(pkgs.has_value());
  EXPECT_EQ(as_set(*pkgs), dpkg_query_oracle(status));
}

TEST(DpkgLog, LastInstalledTimePerVersionAndGarbageSkipped) {
  std::map<std::string, int64_t> when;
  parse_dpkg_log(*read_file(kFix / "debian10/var/log/dpkg.log"), when);
  EXPECT_EQ(when.at("openssh-server:amd64 1:7.9p1-10+deb10u2"),
            parse_datetime("2021-06-02 09:30:07"));
  EXPECT_EQ(when.at("openssh-server:amd64 1:7.9p1-10+deb10u1"),
            parse_datetime("2021-03-01 10:00:05"));
  EXPECT_EQ(when.size(), 3u);
}

// ---------------- apk, rpm ----------------

TEST(Apk, ParsesInstalledDatabase) {
  auto r = parse_apk_installed(*read_file(kFix / "alpine/lib/apk/db/installed"), "installed");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "openssh-server");
  EXPECT_EQ((*r)[1].version, "9.3_p2-r0");
  EXPECT_EQ((*r)[1].source_name, "openssh");
  EXPECT_EQ((*r)[0].arch, "x86_64");
}

TEST(Apk, MalformedLineNamesTheLine) {
  auto r = parse_apk_installed("P:musl\nV:1\n\nthis is not apk\n", "installed");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("installed:4"), std::string::npos) << r.error().message;
  auto r2 = parse_apk_installed("P:musl\nA:x86_64\n", "installed");
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().message.find("V:"), std::string::npos);
}

TEST(Rpm, ReadsRpmdbSqliteLikeRpmItself) {
  Inventory inv;
  auto r = collect_inventory(Root(kFix / "alma9"), no_discover());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto& pk = r->packages;
  ASSERT_EQ(pk.size(), 3u);
  const Package* ssh = find_pkg(pk, kRpm, "openssh-server");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->version, "1:8.7p1-38.el9_4.4");
  EXPECT_EQ(ssh->arch, "x86_64");
  EXPECT_EQ(ssh->source_name, "openssh-server");
  EXPECT_EQ(ssh->source_version, "1:8.7p1-38.el9_4.4");
  EXPECT_TRUE(ssh->installed_at.has_value());
  EXPECT_EQ(
      ssh->purl,
      "pkg:rpm/almalinux/openssh-server@8.7p1-38.el9_4.4?arch=x86_64&distro=almalinux-9.4&epoch=1");
  // Oracle: Debian's rpm reading a copy of the same database.
  if (::system("command -v rpm >/dev/null 2>&1") != 0) GTEST_SKIP() << "rpm not installed";
  fs::path tmp = fs::temp_directory_path() / ("mamori-rpm-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  fs::copy_file(kFix / "alma9/var/lib/rpm/rpmdb.sqlite", tmp / "rpmdb.sqlite");
  std::string out = run("rpm --define '_db_backend sqlite' --dbpath " + tmp.string() +
                        " -qa --qf '%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{ARCH}\\n' | sort");
  fs::remove_all(tmp);
  std::vector<std::string> mine;
  for (const auto& p : pk) {
    std::string evr = p.version.find(':') == std::string::npos ? "(none):" + p.version : p.version;
    mine.push_back(p.name + " " + evr + " " + p.arch.value_or(""));
  }
  std::sort(mine.begin(), mine.end());
  std::string joined;
  for (const auto& m : mine) joined += m + "\n";
  EXPECT_EQ(joined, out);
}

TEST(Rpm, CorruptHeaderBlobsAreErrors) {
  EXPECT_FALSE(parse_rpm_header("", "h").has_value());
  EXPECT_FALSE(
      parse_rpm_header(std::string("\0\0\0\1\0\0\0\10", 8), "h").has_value());  // truncated
  std::string huge("\xff\xff\xff\xff\0\0\0\0", 8);
  EXPECT_FALSE(parse_rpm_header(huge, "h").has_value());
  // One NAME entry pointing outside the data store.
  std::string blob(
      "\0\0\0\1\0\0\0\4"
      "\0\0\x03\xe8"
      "\0\0\0\6"
      "\0\0\0\x10"
      "\0\0\0\1"
      "abc\0",
      28);
  auto r = parse_rpm_header(blob, "h");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("out of range"), std::string::npos) << r.error().message;
}

// dateext rotations (dpkg.log-YYYYMMDD) are read oldest first, so the newest record wins.
TEST(DpkgLog, DateextRotationsAreReadInDateOrder) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-dateext-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "var/log");
  std::ofstream(tmp / "var/log/dpkg.log-20240101")
      << "2024-01-01 10:00:00 status installed libc6:amd64 2.36-9\n";
  std::ofstream(tmp / "var/log/dpkg.log-20240201")
      << "2024-02-01 10:00:00 status installed libc6:amd64 2.36-9\n";
  std::ofstream(tmp / "var/log/dpkg.log") << "";
  std::vector<std::string> warnings;
  auto when = dpkg_install_times(Root(tmp), warnings);
  fs::remove_all(tmp);
  EXPECT_EQ(iso8601(when["libc6:amd64 2.36-9"]), "2024-02-01T10:00:00Z");
}

TEST(Dpkg, StanzasRunTogetherAreAnError) {
  auto r = parse_dpkg_status(
      "Package: tzdata\nStatus: install ok installed\nVersion: 2021a-0+deb10u1\n"
      "Package: xrdp\nStatus: install ok installed\nVersion: 0.9.9-1\n",
      "/var/lib/dpkg/status");
  ASSERT_FALSE(r.has_value()) << (*r)[0].name << " " << (*r)[0].version;
  EXPECT_NE(r.error().message.find("/var/lib/dpkg/status:4: a second Package field"),
            std::string::npos)
      << r.error().message;
}

TEST(Rpm, BerkeleyDbIsReportedUnsupported) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-bdb-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "var/lib/rpm");
  std::ofstream(tmp / "var/lib/rpm/Packages") << "not really bdb";
  auto r = collect_inventory(Root(tmp), no_discover());
  fs::remove_all(tmp);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("not supported"), std::string::npos);
}

TEST(Rpm, FileThatIsNotSqliteIsAProblemNamingIt) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-rpmbad-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "var/lib/rpm");
  std::ofstream(tmp / "var/lib/rpm/rpmdb.sqlite") << std::string(4096, 'G');
  auto r = collect_inventory(Root(tmp), no_discover());
  fs::remove_all(tmp);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_TRUE(r->problems[0].package_database);
  EXPECT_NE(r->problems[0].message.find("rpmdb.sqlite"), std::string::npos)
      << r->problems[0].message;
}

// rpm >= 4.16 writes its database in WAL mode: it must read as it does in rollback mode.
TEST(Rpm, WalModeDatabaseAsRpmLeavesIt) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-rpmwal-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "var/lib/rpm");
  fs::copy(kFix / "alma9/etc", tmp / "etc", fs::copy_options::recursive);
  fs::copy_file(kFix / "alma9/var/lib/rpm/rpmdb.sqlite", tmp / "var/lib/rpm/rpmdb.sqlite");
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open((tmp / "var/lib/rpm/rpmdb.sqlite").c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  std::string head = read_file(tmp / "var/lib/rpm/rpmdb.sqlite", 1 << 30)->substr(18, 2);
  ASSERT_EQ(head, std::string("\x02\x02", 2));  // really WAL
  auto wal = collect_inventory(Root(tmp), no_discover());
  auto rollback = collect_inventory(Root(kFix / "alma9"), no_discover());
  fs::remove_all(tmp);
  ASSERT_TRUE(wal.has_value());
  EXPECT_TRUE(wal->problems.empty()) << wal->problems[0].message;
  ASSERT_FALSE(rollback->packages.empty());
  EXPECT_EQ(wal->packages.size(), rollback->packages.size());
}

// A hostile rpmdb.sqlite: a view named Packages (views are off), and a schema that is not rpm's.
TEST(Rpm, HostileDatabaseIsRefusedWithoutTouchingTheImage) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-rpmview-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "var/lib/rpm");
  fs::path db = tmp / "var/lib/rpm/rpmdb.sqlite";
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h,
                         "CREATE TABLE t(x); INSERT INTO t VALUES (1); CREATE VIEW Packages AS "
                         "SELECT 1 AS hnum, zeroblob(10) AS blob FROM t;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  auto before = fs::directory_iterator(tmp / "var/lib/rpm");
  size_t files_before = std::distance(before, fs::directory_iterator());
  auto r = collect_inventory(Root(tmp), no_discover());
  size_t files_after =
      std::distance(fs::directory_iterator(tmp / "var/lib/rpm"), fs::directory_iterator());
  fs::remove_all(tmp);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].message.find("not a readable rpm database"), std::string::npos)
      << r->problems[0].message;
  EXPECT_EQ(files_before, files_after) << "no -wal/-shm/-journal written into the image";
}

// ---------------- WordPress, lockfiles, Python ----------------

TEST(WordPress, VersionAndHeaders) {
  EXPECT_EQ(parse_wp_version_php("<?php\n$wp_version = '6.4.2';\n"), "6.4.2");
  EXPECT_EQ(parse_wp_version_php("<?php\n$wp_version=\"5.0\";"), "5.0");
  EXPECT_EQ(parse_wp_version_php("<?php\n$wp_version = get_it();"), "");
  auto h = parse_wp_file_header("<?php\n/**\n * Plugin Name: Akismet\n * Version: 5.3 */\n");
  EXPECT_EQ(h["Plugin Name"], "Akismet");
  EXPECT_EQ(h["Version"], "5.3");
  EXPECT_EQ(parse_wp_readme_stable_tag("=== X ===\nStable tag: 1.2.3\n"), "1.2.3");
  EXPECT_EQ(parse_wp_readme_stable_tag("Stable tag: trunk\n"), "");
}

TEST(Lockfiles, ComposerLockIncludesDevPackages) {
  auto r =
      parse_composer_lock(*read_file(kFix / "debian10/var/www/app/composer.lock"), "composer.lock");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[1].name, "monolog/monolog");  // Composer names are case-insensitive
  EXPECT_EQ((*r)[2].name, "phpunit/phpunit");
}

TEST(Lockfiles, PackageLockV3SkipsRootAndLinks) {
  auto r = parse_package_lock(*read_file(kFix / "debian10/var/www/app/package-lock.json"), "pl");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  std::set<std::string> names;
  for (const auto& p : *r) names.insert(p.name + "@" + p.version);
  EXPECT_EQ(names, (std::set<std::string>{"lodash@4.17.20", "@babel/core@7.16.0", "semver@6.3.0"}));
}

TEST(Lockfiles, PackageLockV1Nested) {
  auto r = parse_package_lock(
      R"({"lockfileVersion":1,"dependencies":{"a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}},"g":{"version":"git+https://x/y.git"}}})",
      "pl");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "b");
}

TEST(Lockfiles, NotJsonIsAClearError) {
  auto r = parse_composer_lock("{\"packages\": [", "/var/www/app/composer.lock");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("/var/www/app/composer.lock"), std::string::npos);
  EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos);
  EXPECT_FALSE(parse_package_lock("[1,2]", "p").has_value());
  EXPECT_FALSE(parse_composer_lock("{\"foo\": 1}", "c").has_value());
}

TEST(Python, MetadataNameIsNormalised) {
  auto r =
      parse_python_metadata("Metadata-Version: 2.1\nName: Foo_Bar.baz\nVersion: 1.0\n\nbody", "M");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "foo-bar-baz");
  EXPECT_FALSE(parse_python_metadata("Metadata-Version: 2.1\n\n", "M").has_value());
}

// ---------------- whole trees ----------------

TEST(Collect, Debian10FixtureTree) {
  auto r = collect_inventory(Root(kFix / "debian10"), InventoryOptions{});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const auto& pk = r->packages;
  EXPECT_EQ(r->os.distro(), "debian-10");
  const Package* ssh = find_pkg(pk, kDeb, "openssh-server");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->installed_at, parse_datetime("2021-06-02 09:30:07"));
  EXPECT_EQ(ssh->purl,
            "pkg:deb/debian/openssh-server@1%3A7.9p1-10%2Bdeb10u2?arch=amd64&distro=debian-10");
  const Package* cap = find_pkg(pk, kDeb, "libcap2");
  ASSERT_NE(cap, nullptr);
  EXPECT_EQ(cap->installed_at, parse_datetime("2020-01-01 08:00:00"));  // from dpkg.log.2.gz
  const Package* wp = find_pkg(pk, kWordPressCore, "wordpress");
  ASSERT_NE(wp, nullptr);
  EXPECT_EQ(wp->version, "5.8.1");
  EXPECT_EQ(wp->location, "/var/www/shop");
  const Package* cf7 = find_pkg(pk, kWordPressPlugin, "contact-form-7");
  ASSERT_NE(cf7, nullptr);
  EXPECT_EQ(cf7->version, "5.3.1");
  EXPECT_EQ(cf7->purl, "pkg:wordpress/plugin/contact-form-7@5.3.1");
  const Package* ro = find_pkg(pk, kWordPressPlugin, "readme-only");
  ASSERT_NE(ro, nullptr);
  EXPECT_EQ(ro->version, "2.0.4");
  const Package* theme = find_pkg(pk, kWordPressTheme, "twentytwentyone");
  ASSERT_NE(theme, nullptr);
  EXPECT_EQ(theme->version, "1.4");
  const Package* guzzle = find_pkg(pk, kComposer, "guzzlehttp/guzzle");
  ASSERT_NE(guzzle, nullptr);
  EXPECT_EQ(guzzle->purl, "pkg:composer/guzzlehttp/guzzle@7.4.1");
  EXPECT_EQ(guzzle->location, "/var/www/app/composer.lock");
  const Package* babel = find_pkg(pk, kNpm, "@babel/core");
  ASSERT_NE(babel, nullptr);
  EXPECT_EQ(babel->purl, "pkg:npm/%40babel/core@7.16.0");
  const Package* req = find_pkg(pk, kPypi, "requests");
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(req->version, "2.31.0");
}

TEST(Collect, ExplicitWebrootMustExist) {
  InventoryOptions o;
  o.webroots = {"/srv/does-not-exist"};
  auto r = collect_inventory(Root(kFix / "debian10"), o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("/srv/does-not-exist"), std::string::npos);
}

TEST(Collect, BrokenLockfileIsAProblemAndEverythingElseIsCollected) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-lock-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "var/www/site");
  fs::create_directories(tmp / "var/www/other");
  std::ofstream(tmp / "var/www/site/package-lock.json") << "<html>not json</html>";
  std::ofstream(tmp / "var/www/other/composer.lock") << "{";
  std::ofstream(tmp / "var/www/other/package-lock.json")
      << R"({"lockfileVersion":3,"packages":{"node_modules/lodash":{"version":"4.17.20"}}})";
  auto r = collect_inventory(Root(tmp), InventoryOptions{});
  fs::remove_all(tmp);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->problems.size(), 2u);
  EXPECT_EQ(r->problems[0].path, "/var/www/other/composer.lock");
  EXPECT_EQ(r->problems[1].path, "/var/www/site/package-lock.json");
  EXPECT_FALSE(r->problems[0].package_database);
  EXPECT_NE(r->problems[1].message.find("/var/www/site/package-lock.json"), std::string::npos)
      << r->problems[1].message;
  bool lodash = false;
  for (const auto& p : r->packages) lodash |= p.name == "lodash" && p.version == "4.17.20";
  EXPECT_TRUE(lodash) << "the good lockfile beside the broken ones is still read";
  auto f = source_problem_findings(*r, "h");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].check, "inventory-source-unreadable");
  EXPECT_EQ(f[0].asset, "file:/var/www/other/composer.lock");
}

// Below a web root the web user writes: no link is followed there (root would read a
// root-only file for them), while a web root that is itself a link is the operator's own.
TEST(Collect, LinksBelowAWebRootAreNotFollowed) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-weblink-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "srv/shop/app");
  fs::create_directories(tmp / "srv/shop/wp-includes");
  fs::create_directories(tmp / "srv/shop/wp-content/plugins");
  fs::create_directories(tmp / "root/.secret/plugin");
  fs::create_directories(tmp / "var");
  fs::create_symlink("/srv/shop", tmp / "var/www");  // the operator's
  std::ofstream(tmp / "srv/shop/wp-includes/version.php") << "<?php\n$wp_version = '6.4.2';\n";
  std::ofstream(tmp / "root/secret.json")
      << R"({"lockfileVersion":3,"packages":{"node_modules/db-password-hunter2":{"version":"1.0.0"}}})";
  std::ofstream(tmp / "root/.secret/plugin/p.php")
      << "<?php\n/*\nPlugin Name: Secret\nVersion: 9\n*/\n";
  fs::create_symlink("/root/secret.json", tmp / "srv/shop/app/package-lock.json");
  fs::create_symlink("/root/.secret/plugin", tmp / "srv/shop/wp-content/plugins/evil");
  InventoryOptions o;
  o.discover_webroots = false;
  o.webroots = {"/var/www"};
  auto r = collect_inventory(Root(tmp), o);
  fs::remove_all(tmp);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->webroots, std::vector<std::string>{"/srv/shop"});
  size_t wp = 0;
  for (const auto& p : r->packages) {
    EXPECT_NE(p.name, "db-password-hunter2");
    EXPECT_NE(p.name, "evil");
    wp += p.name == "wordpress";
  }
  EXPECT_EQ(wp, 1u);  // the install behind the operator's link is found
}

TEST(Collect, ImageSymlinksResolveInsideTheImage) {
  fs::path tmp = fs::temp_directory_path() / ("mamori-img-" + std::to_string(::getpid()));
  fs::create_directories(tmp / "etc");
  fs::create_directories(tmp / "usr/lib");
  fs::create_directories(tmp / "var/lib/dpkg");
  std::ofstream(tmp / "usr/lib/os-release") << "ID=mamoritest\nVERSION_ID=1\n";
  // absolute links as an image holds them: they name the image's files, never the host's
  fs::create_symlink("/usr/lib/os-release", tmp / "etc/os-release");
  fs::create_symlink("/var/lib/dpkg/status", tmp / "var/lib/dpkg/status");  // a loop here
  auto r = collect_inventory(Root(tmp), no_discover());
  fs::remove_all(tmp);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->os.id, "mamoritest");
  EXPECT_TRUE(r->packages.empty()) << "the host's dpkg status was read through the image";
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems[0].path, "/var/lib/dpkg/status");
  EXPECT_TRUE(r->problems[0].package_database);
}

// ---------------- listening sockets ----------------

TEST(Listeners, ParsesProcNetTablesIPv4AndIPv6) {
  auto v4 = parse_proc_net(*read_file(kFix / "debian10/proc/net/tcp"), "tcp");
  ASSERT_EQ(v4.size(), 2u);  // the ESTABLISHED row (state 01) is not a listener
  EXPECT_EQ(v4[0].address, "0.0.0.0:22");
  EXPECT_FALSE(v4[0].loopback);
  EXPECT_EQ(v4[0].inode, 31337u);
  EXPECT_EQ(v4[1].address, "127.0.0.1:631");
  EXPECT_TRUE(v4[1].loopback);
  auto v6 = parse_proc_net(*read_file(kFix / "debian10/proc/net/tcp6"), "tcp6");
  ASSERT_EQ(v6.size(), 2u);
  EXPECT_EQ(v6[0].address, "[::]:3389");
  EXPECT_FALSE(v6[0].loopback);
  EXPECT_EQ(v6[1].address, "[::1]:3306");
  EXPECT_TRUE(v6[1].loopback);
  EXPECT_TRUE(parse_proc_net("header\ngarbage line\n  0: zz:zz 0 0A\n", "tcp").empty());
  // Found by fuzzing: strtol accepted a signed port; ports are 1-4 hex digits.
  EXPECT_TRUE(
      parse_proc_net("h\n 0: 00000000:-001 00000000:0000 0A 0 0 0 0 0 123\n", "tcp").empty());
  EXPECT_TRUE(
      parse_proc_net("h\n 0: 00000000:10000 00000000:0000 0A 0 0 0 0 0 123\n", "tcp").empty());
}

TEST(Listeners, MapsSocketsToProcessesAndPackages) {
  auto all = listening_sockets(Root(kFix / "debian10"));
  std::map<std::string, std::pair<std::string, std::string>> by_addr;
  for (const auto& l : all) by_addr[l.address] = {l.exe, l.package};
  EXPECT_EQ(by_addr["0.0.0.0:22"],
            (std::pair<std::string, std::string>{"/usr/sbin/sshd", "openssh-server"}));
  // A binary replaced by an upgrade while running shows as "(deleted)": still attributed.
  EXPECT_EQ(by_addr["[::]:3389"], (std::pair<std::string, std::string>{"/usr/sbin/xrdp", "xrdp"}));
  EXPECT_EQ(by_addr["127.0.0.1:631"].first, "");  // no process found for that inode
}

// ---------------- checks ----------------

Inventory inv_for(const std::string& id, const std::string& version) {
  Inventory inv;
  inv.os.id = id;
  inv.os.version_id = version;
  inv.os.pretty_name = id + " " + version;
  inv.os.found = true;
  return inv;
}

TEST(Checks, OsPastSupportIsHigh) {
  auto f = analyze_inventory(inv_for("debian", "10"), {}, parse_date("2026-11-25"));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].check, "os-end-of-support");
  EXPECT_EQ(f[0].severity, Severity::kHigh);
  EXPECT_EQ(f[0].asset, "os:debian-10");
  EXPECT_NE(f[0].evidence.find("2024-06-30"), std::string::npos);
}

TEST(Checks, OsSupportBoundaries) {
  // Debian 12: regular support ends 2026-06-10, LTS 2028-06-30.
  EXPECT_TRUE(analyze_inventory(inv_for("debian", "12"), {}, parse_date("2025-01-01")).empty());
  auto lts = analyze_inventory(inv_for("debian", "12"), {}, parse_date("2026-06-10"));
  ASSERT_EQ(lts.size(), 1u);
  EXPECT_EQ(lts[0].severity, Severity::kLow);
  auto soon = analyze_inventory(inv_for("ubuntu", "22.04"), {}, parse_date("2027-03-01"));
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_EQ(soon[0].severity, Severity::kMedium);
  auto gone = analyze_inventory(inv_for("ubuntu", "22.04"), {}, parse_date("2027-06-01"));
  EXPECT_EQ(gone[0].severity, Severity::kHigh);
  // Point releases map to their major/branch.
  EXPECT_EQ(
      analyze_inventory(inv_for("almalinux", "9.4"), {}, parse_date("2032-06-01"))[0].severity,
      Severity::kHigh);
  EXPECT_EQ(
      analyze_inventory(inv_for("alpine", "3.18.4"), {}, parse_date("2026-01-01"))[0].severity,
      Severity::kHigh);
  auto unknown = analyze_inventory(inv_for("plan9", "4"), {}, parse_date("2026-01-01"));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].check, "os-support-unknown");
  EXPECT_EQ(unknown[0].severity, Severity::kInfo);
}

TEST(Checks, EveryTableDateParses) {
  ASSERT_GE(support_table().size(), 20u);
  for (const auto& w : support_table()) {
    EXPECT_GT(parse_date(w.regular_end), 0) << w.name;
    EXPECT_GE(parse_date(w.final_end), parse_date(w.regular_end)) << w.name;
  }
}

TEST(Checks, UnownedRemoteAccessAndCmsUntilAnOwnerIsSet) {
  auto r = collect_inventory(Root(kFix / "debian10"), InventoryOptions{});
  ASSERT_TRUE(r.has_value());
  auto now = parse_date("2026-11-25");
  auto f = analyze_inventory(*r, {}, now);
  std::set<std::string> checks;
  for (const auto& x : f) checks.insert(x.check + " " + x.asset);
  EXPECT_TRUE(checks.contains(
      "unowned-remote-access pkg:deb/debian/openssh-server?arch=amd64&distro=debian-10"));
  EXPECT_TRUE(
      checks.contains("unowned-remote-access pkg:deb/debian/xrdp?arch=amd64&distro=debian-10"));
  EXPECT_TRUE(checks.contains("unowned-cms pkg:wordpress/core/wordpress?location=/var/www/shop"));
  EXPECT_FALSE(
      checks.contains("unowned-remote-access pkg:deb/debian/libcap2?arch=amd64&distro=debian-10"));
  EXPECT_EQ(f.size(), 4u);  // + os-end-of-support
  auto owned =
      analyze_inventory(*r, {{"pkg:deb/*openssh*", "vendor-x"}, {"*wordpress*", "web"}}, now);
  EXPECT_EQ(owned.size(), 2u);  // os + xrdp
}

TEST(Checks, FingerprintsSurviveVersionUpgrades) {
  Inventory a = inv_for("debian", "12");
  Package p;
  p.ecosystem = kDeb;
  p.name = "openssh-server";
  p.version = "1:9.2p1-2+deb12u2";
  p.arch = "amd64";
  a.packages.push_back(p);
  Inventory b = a;
  b.packages[0].version = "1:9.2p1-2+deb12u3";
  auto fa = analyze_inventory(a, {}, parse_date("2025-01-01"));
  auto fb = analyze_inventory(b, {}, parse_date("2025-01-01"));
  ASSERT_EQ(fa.size(), 1u);
  ASSERT_EQ(fb.size(), 1u);
  EXPECT_EQ(fa[0].fingerprint, fb[0].fingerprint);
}

}  // namespace
}  // namespace mamori::inventory
