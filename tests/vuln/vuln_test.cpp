// Vulnerability database: import of each format (with its bad-input cases), the file's
// integrity checks, matching with backports, epochs and ecosystems, alias merging and the
// fix priority. Fixtures in tests/fixtures/vuln are written for these tests; the known facts
// of the real Debian 12 data run against ../shared/data/vuln.
#include "vuln/vuln.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/fs.h"
#include "core/text.h"
#include "inventory/inventory.h"
#include "inventory/parsers.h"
#include "support/temp_dir.h"
#include "vuln/cvss.h"

namespace mamori::vuln {
namespace {

namespace fs = std::filesystem;
const std::string kFix = MAMORI_FIXTURES "/vuln/";
const std::string kInv = MAMORI_FIXTURES "/inventory/";
const std::string kShared = MAMORI_SHARED "/data/vuln/";

class VulnTest : public testing_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    db_ = (dir_ / "vuln.db").string();
  }

  BuildReport build(const std::vector<std::string>& files) {
    BuildOptions o;
    o.now = 1000;
    auto r = build_database(files, db_, o);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? *r : BuildReport{};
  }
  std::unique_ptr<VulnDb> open() {
    auto d = VulnDb::open(db_);
    EXPECT_TRUE(d.has_value()) << d.error().message;
    return d ? std::move(*d) : nullptr;
  }
  static bool any_warning(const BuildReport& r, std::string_view needle) {
    for (const auto& w : r.warnings)
      if (w.find(needle) != std::string::npos) return true;
    return false;
  }

  std::string db_;
};

inventory::OsRelease debian12() {
  inventory::OsRelease os;
  os.id = "debian";
  os.version_id = "12";
  os.found = true;
  return os;
}

Package deb(std::string name, std::string version, std::string src, std::string src_version) {
  Package p;
  p.ecosystem = kDeb;
  p.name = std::move(name);
  p.version = std::move(version);
  p.arch = "amd64";
  p.source_name = std::move(src);
  p.source_version = std::move(src_version);
  p.location = "/var/lib/dpkg/status";
  return p;
}

const Finding* by_check(const std::vector<Finding>& v, std::string_view check) {
  for (const auto& f : v)
    if (f.check == check) return &f;
  return nullptr;
}

// ---------------------------------------------------------------- import

TEST_F(VulnTest, OsvJsonLinesWithBadRecordsWarnsAndKeepsTheRest) {
  auto r = build({kFix + "osv-debian.jsonl"});
  ASSERT_EQ(r.sources.size(), 1u);
  EXPECT_EQ(r.sources[0].kind, "osv");
  EXPECT_TRUE(
      any_warning(r, "osv-debian.jsonl:6 (DEBIAN-CVE-2099-0005): unknown range type 'WEIRD'"));
  EXPECT_TRUE(any_warning(
      r, "osv-debian.jsonl:7 (PYSEC-2099-1): invalid PEP 440 version 'not a version!'"));
  EXPECT_TRUE(any_warning(r, "osv-debian.jsonl:8: not valid JSON"));
  EXPECT_TRUE(any_warning(r, "osv-debian.jsonl:9: record has no 'id'"));
  EXPECT_EQ(r.sources[0].records, 6);  // the good ones, including those on Debian 11
  auto db = open();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->lookup("Debian:12", "libcap2").size(), 3u);
  EXPECT_EQ(db->lookup("Debian:11", "libcap2").size(), 1u);
  EXPECT_TRUE(db->lookup("Debian:12", "zlib").empty());
}

TEST_F(VulnTest, EveryFormatIsRecognisedFromItsContent) {
  auto r = build({kFix + "osv-debian.jsonl", kFix + "osv-alma.json", kFix + "lang.jsonl",
                  kFix + "friendsofphp.jsonl", kFix + "wordpress.json", kFix + "kev.json",
                  kFix + "epss.csv"});
  std::vector<std::string> kinds;
  for (const auto& s : r.sources) kinds.push_back(s.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"osv", "osv", "osv", "friendsofphp", "wordpress",
                                             "kev", "epss"}));
  EXPECT_EQ(r.kev, 1);
  EXPECT_EQ(r.epss, 2);
  EXPECT_TRUE(any_warning(r, "kev.json: vulnerabilities[1] has no cveID"));
  EXPECT_TRUE(any_warning(r, "epss.csv:5: not a valid EPSS row"));
  EXPECT_TRUE(any_warning(r, "a/b/x.yaml"));  // FriendsOfPHP constraint Mamori cannot read
  EXPECT_TRUE(any_warning(r, "free-text has free-text versions"));
  EXPECT_TRUE(any_warning(r, "ecosystem Maven skipped"));
  auto db = open();
  ASSERT_NE(db, nullptr);
  auto k = db->kev("CVE-2099-0001");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->due_date, "2099-01-22");
  EXPECT_TRUE(k->ransomware);
  auto e = db->epss("CVE-2099-2002");
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(e->epss, 0.62, 1e-6);
  EXPECT_FALSE(db->epss("CVE-2099-9999").has_value());
  // The Alma advisory's CVE comes from its reference URL.
  auto alma = db->lookup("AlmaLinux:9", "openssh-server");
  ASSERT_EQ(alma.size(), 2u);
  auto ref = db->vuln(alma[0].vuln);
  EXPECT_EQ(ref.id, "ALSA-2099:0001");
  EXPECT_EQ(ref.aliases, (std::vector<std::string>{"CVE-2099-1001"}));
  EXPECT_EQ(ref.vendor_severity, 2);  // "Important:"
  // PyPI names are normalised (PEP 503) on both sides.
  EXPECT_EQ(db->lookup("PyPI", "requests").size(), 1u);
  auto d = db->description(db->lookup("PyPI", "requests")[0].vuln);
  EXPECT_EQ(d.summary, "requests leaks credentials");
}

TEST_F(VulnTest, KevWithChangedSchemaIsAClearErrorAndKeepsTheOldDatabase) {
  build({kFix + "osv-debian.jsonl"});
  std::string before = *read_file(db_);
  BuildOptions o;
  auto r = build_database({kFix + "osv-debian.jsonl", kFix + "kev-changed-schema.json"}, db_, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("kev-changed-schema.json"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("schema changed"), std::string::npos) << r.error().message;
  EXPECT_EQ(*read_file(db_), before);  // never a half-written database
  auto missing = build_database({"/nonexistent/osv.jsonl"}, db_, o);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(*read_file(db_), before);
}

std::string make_zip(const fs::path& dir,
                     const std::vector<std::pair<std::string, std::string>>& files) {
  // Written with Python's zipfile (Debian's python3), as osv.dev's all.zip is a plain zip.
  fs::path z = dir / "all.zip";
  std::string script =
      "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\n";
  for (const auto& [name, body] : files) {
    fs::path tmp = dir / name;
    std::ofstream(tmp) << body;
    script += "z.write('" + tmp.string() + "','" + name + "')\n";
  }
  script += "z.close()\n";
  std::ofstream(dir / "mk.py") << script;
  EXPECT_EQ(::system(("/usr/bin/python3 " + (dir / "mk.py").string() + " " + z.string()).c_str()),
            0);
  return z.string();
}

TEST_F(VulnTest, OsvZipAndTruncatedZip) {
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < 40; ++i)
    files.push_back(
        {"GO-2099-" + std::to_string(1000 + i) + ".json",
         "{\"id\":\"GO-2099-" + std::to_string(1000 + i) +
             "\",\"affected\":[{\"package\":{\"ecosystem\":\"Go\",\"name\":\"example.com/m" +
             std::to_string(i) +
             "\"},\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
             "\"1.0." +
             std::to_string(i) + "\"}]}]}]," + std::string(2000, ' ') + "\"summary\":\"x\"}"});
  std::string zip = make_zip(dir_, files);
  auto r = build({zip});
  EXPECT_EQ(r.sources[0].records, 40);
  EXPECT_TRUE(r.warnings.empty());
  // Cut the archive anywhere: refused whole (a truncated download has no central directory),
  // and the database built from the complete archive stays as it was.
  auto data = *read_file(zip);
  std::string before = *read_file(db_);
  BuildOptions o;
  size_t cuts = 0;
  for (size_t len : {data.size() / 4, data.size() / 2, data.size() - 30, data.size() - 1}) {
    fs::path cut = dir_ / "cut.zip";
    std::ofstream(cut, std::ios::binary | std::ios::trunc) << data.substr(0, len);
    auto r2 = build_database({cut.string()}, db_, o);
    ASSERT_FALSE(r2.has_value()) << "cut at " << len;
    EXPECT_NE(r2.error().message.find("cut.zip"), std::string::npos) << r2.error().message;
    EXPECT_EQ(*read_file(db_), before);
    ++cuts;
  }
  EXPECT_EQ(cuts, 4u);
  // A flipped byte inside an entry's compressed data: its CRC (or inflate) fails, nothing kept.
  std::string flipped = data;
  size_t at = data.find("GO-2099-1020.json");  // the local header of the 21st entry
  ASSERT_NE(at, std::string::npos);
  flipped[at + 60] ^= 0x55;
  std::ofstream(dir_ / "flip.zip", std::ios::binary) << flipped;
  auto r3 = build_database({(dir_ / "flip.zip").string()}, db_, o);
  ASSERT_FALSE(r3.has_value());
  EXPECT_NE(r3.error().message.find("GO-2099-1020.json"), std::string::npos) << r3.error().message;
  EXPECT_EQ(*read_file(db_), before);
  std::ofstream(dir_ / "junk.zip") << "this is not a zip at all";
  EXPECT_FALSE(build_database({(dir_ / "junk.zip").string()}, db_, o).has_value());
}

// A source that suddenly holds far fewer records than the database being replaced: refused
// unless told; and the KEV catalog's own count is checked.
TEST_F(VulnTest, ShrinkingSourcesAndKevCountsAreRefused) {
  std::string full, half;
  for (int i = 0; i < 40; ++i) {
    std::string rec = fmt::format(
        "{{\"id\":\"GO-2099-{}\",\"affected\":[{{\"package\":{{\"ecosystem\":\"Go\",\"name\":"
        "\"example.com/m{}\"}},\"ranges\":[{{\"type\":\"SEMVER\",\"events\":[{{\"introduced\":"
        "\"0\"}},{{\"fixed\":\"1.0.1\"}}]}}]}}]}}\n",
        1000 + i, i);
    full += rec;
    if (i < 20) half += rec;
  }
  fs::path feed = dir_ / "go.jsonl";
  std::ofstream(feed) << full;
  build({feed.string()});
  std::string before = *read_file(db_);
  std::ofstream(feed, std::ios::trunc) << half;
  BuildOptions o;
  auto r = build_database({feed.string()}, db_, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("20 records where the database being replaced has 40"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(*read_file(db_), before);
  o.allow_shrink = true;
  auto r2 = build_database({feed.string()}, db_, o);
  ASSERT_TRUE(r2.has_value()) << r2.error().message;
  EXPECT_EQ(r2->advisories, 20);
  // a catalog cut after its first record, its count unchanged
  std::ofstream(dir_ / "kev.json")
      << R"({"count": 3, "vulnerabilities": [{"cveID": "CVE-2099-0001", "dateAdded": "2099-01-01", "dueDate": "2099-01-22"}]})";
  auto k = build_database({(dir_ / "kev.json").string()}, db_, o);
  ASSERT_FALSE(k.has_value());
  EXPECT_NE(k.error().message.find("announces 3 vulnerabilities and holds 1"), std::string::npos)
      << k.error().message;
}

// Ranges listed out of order that touch ([3.1.1, 3.2.0) after [3.2.0, 3.2.2), as PYSEC-2023-72
// lists them) keep the version where they meet; a legacy version string listed in `versions`
// matches even where PEP 440 cannot parse it.
TEST_F(VulnTest, TouchingRangesAndLegacyVersionStrings) {
  fs::path f = dir_ / "pysec.jsonl";
  std::ofstream(f)
      << R"({"id":"PYSEC-2099-72","affected":[{"package":{"ecosystem":"PyPI","name":"pyspark"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.1.1"},{"introduced":"3.2.0"},{"fixed":"3.2.2"},{"introduced":"3.1.1"},{"fixed":"3.2.0"}]}]}]})"
         "\n"
      << R"({"id":"PYSEC-2099-6","affected":[{"package":{"ecosystem":"PyPI","name":"buildbot"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.8.2"}]}],"versions":["0.7.10p1","0.7.11p2"]}]})"
         "\n";
  build({f.string()});
  auto db = open();
  ASSERT_NE(db, nullptr);
  auto hit = [&](const std::string& name, const std::string& version) {
    bool err = false;
    return !match_key(*db, {"PyPI", Scheme::kPep440, name, version}, err).empty();
  };
  size_t checked = 0;
  for (const char* v : {"2.0", "3.1.1", "3.1.9", "3.2.0", "3.2.1"}) {
    EXPECT_TRUE(hit("pyspark", v)) << v;
    ++checked;
  }
  EXPECT_EQ(checked, 5u);
  EXPECT_FALSE(hit("pyspark", "3.2.2"));
  EXPECT_FALSE(hit("pyspark", "3.3.0"));
  EXPECT_TRUE(hit("buildbot", "0.7.11p2"));
  EXPECT_FALSE(hit("buildbot", "0.7.11p3"));
}

TEST_F(VulnTest, DirectoriesAreReadRecursively) {
  fs::create_directories(dir_ / "feeds/osv");
  fs::copy_file(kFix + "osv-alma.json", dir_ / "feeds/osv/alma.json");
  fs::copy_file(kFix + "kev.json", dir_ / "feeds/kev.json");
  auto r = build({(dir_ / "feeds").string()});
  EXPECT_EQ(r.kev, 1);
  EXPECT_EQ(r.advisories, 4);
}

// ---------------------------------------------------------------- integrity

TEST_F(VulnTest, TamperedOrTruncatedDatabaseIsRefused) {
  build({kFix + "osv-debian.jsonl", kFix + "kev.json"});
  std::string data = *read_file(db_);
  std::string flipped = data;
  flipped[flipped.size() / 2] ^= 0x01;
  std::ofstream(db_, std::ios::binary | std::ios::trunc) << flipped;
  auto r = VulnDb::open(db_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("checksum mismatch"), std::string::npos) << r.error().message;
  std::ofstream(db_, std::ios::binary | std::ios::trunc) << data.substr(0, data.size() - 100);
  r = VulnDb::open(db_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  std::ofstream(db_, std::ios::binary | std::ios::trunc)
      << "SQLite format 3" << std::string(200, '\0');
  r = VulnDb::open(db_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("not a Mamori vulnerability database"), std::string::npos);
}

// ---------------------------------------------------------------- matching

TEST_F(VulnTest, DebianMatchesSourcePackageAndBackports) {
  build({kFix + "osv-debian.jsonl", kFix + "kev.json"});
  auto db = open();
  ASSERT_NE(db, nullptr);
  std::vector<Package> pk = {
      deb("libcap2", "1:2.66-4+deb12u2+b2", "libcap2", "1:2.66-4+deb12u2"),
      deb("libcap2-bin", "1:2.66-4+deb12u2+b2", "libcap2", "1:2.66-4+deb12u2"),
      deb("libc6", "2.36-9+deb12u10", "glibc", "2.36-9+deb12u10"),  // backported fix: not affected
      deb("xz-utils", "5.4.1-0.2", "xz-utils", "5.4.1-0.2"),        // last_affected: no fix
  };
  MatchStats st;
  auto m = match_inventory(*db, debian12(), pk, &st);
  std::set<std::string> hits;
  for (const auto& x : m)
    hits.insert(pk[x.package].name + " " + db->vuln(x.vuln).id + " " + x.fixed);
  EXPECT_EQ(hits, (std::set<std::string>{
                      "libcap2 DEBIAN-CVE-2099-0001 1:2.66-4+deb12u3",
                      "libcap2 DLA-9999-1 1:2.66-4+deb12u3", "libcap2 DEBIAN-CVE-2099-0006 ",
                      "libcap2-bin DEBIAN-CVE-2099-0001 1:2.66-4+deb12u3",
                      "libcap2-bin DLA-9999-1 1:2.66-4+deb12u3",
                      "libcap2-bin DEBIAN-CVE-2099-0006 ", "xz-utils DEBIAN-CVE-2099-0004 "}));
  // Fixed version installed: nothing.
  std::vector<Package> fixed = {deb("libcap2", "1:2.66-4+deb12u3", "libcap2", "1:2.66-4+deb12u3")};
  auto m2 = match_inventory(*db, debian12(), fixed, nullptr);
  ASSERT_EQ(m2.size(), 1u);  // only the unfixed DEBIAN-CVE-2099-0006
  EXPECT_EQ(db->vuln(m2[0].vuln).id, "DEBIAN-CVE-2099-0006");
}

// OSV keys Ubuntu LTS releases "Ubuntu:24.04:LTS" and interim ones "Ubuntu:24.10": a 24.10
// host matched against "Ubuntu:24.10:LTS" would see no advisory at all.
TEST_F(VulnTest, UbuntuInterimAndLtsReleasesAreKeyedApart) {
  EXPECT_TRUE(ubuntu_lts("24.04"));
  EXPECT_TRUE(ubuntu_lts("22.04"));
  EXPECT_FALSE(ubuntu_lts("24.10"));
  EXPECT_FALSE(ubuntu_lts("23.04"));
  EXPECT_FALSE(ubuntu_lts("25.04"));
  EXPECT_FALSE(ubuntu_lts(""));
  build({kFix + "osv-ubuntu.jsonl"});
  auto db = open();
  ASSERT_NE(db, nullptr);
  std::map<std::string, std::set<std::string>> hits;
  for (const char* release : {"ubuntu2410", "ubuntu2404"}) {
    auto inv = inventory::collect_inventory(Root(kInv + release), {});
    ASSERT_TRUE(inv.has_value()) << inv.error().message;
    ASSERT_FALSE(inv->packages.empty()) << release;
    auto m = match_inventory(*db, inv->os, inv->packages, nullptr);
    for (const auto& x : m) hits[release].insert(db->vuln(x.vuln).id);
  }
  EXPECT_EQ(hits["ubuntu2410"],
            (std::set<std::string>{"UBUNTU-CVE-2099-7001", "UBUNTU-CVE-2099-7003"}));
  EXPECT_EQ(hits["ubuntu2404"], (std::set<std::string>{"UBUNTU-CVE-2099-7002"}));
}

TEST_F(VulnTest, FindingsMergeAliasesOnePerSourcePackageWithPriority) {
  build({kFix + "osv-debian.jsonl", kFix + "kev.json"});
  auto db = open();
  std::vector<Package> pk = {
      deb("libcap2", "1:2.66-4+deb12u2+b2", "libcap2", "1:2.66-4+deb12u2"),
      deb("libcap2-bin", "1:2.66-4+deb12u2+b2", "libcap2", "1:2.66-4+deb12u2")};
  auto m = match_inventory(*db, debian12(), pk, nullptr);
  FindingContext ctx;
  auto f = vulnerability_findings(*db, debian12(), pk, m, ctx);
  ASSERT_EQ(f.size(), 2u);  // CVE-2099-0001 (DEBIAN-CVE + DLA merged) and CVE-2099-0006
  const Finding* a = by_check(f, "CVE-2099-0001");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->module, "vuln");
  EXPECT_EQ(a->asset, "pkg:deb/debian/libcap2?arch=source&distro=debian-12");
  EXPECT_EQ(a->references[0], "CVE-2099-0001");
  EXPECT_NE(std::find(a->references.begin(), a->references.end(), "DLA-9999-1"),
            a->references.end());
  EXPECT_NE(std::find(a->references.begin(), a->references.end(), "DEBIAN-CVE-2099-0001"),
            a->references.end());
  EXPECT_EQ(a->tier, "patch-now");  // in KEV
  EXPECT_EQ(a->severity, Severity::kCritical);
  EXPECT_NE(a->tier_reason.find(
                "known exploited (CISA KEV since 2099-01-01, due 2099-01-22, used by ransomware)"),
            std::string::npos)
      << a->tier_reason;
  EXPECT_EQ(a->fixed_version, "1:2.66-4+deb12u3");
  EXPECT_NE(a->remediation.find("apt-get install --only-upgrade libcap2 libcap2-bin"),
            std::string::npos)
      << a->remediation;
  EXPECT_NE(a->evidence.find("binary libcap2 1:2.66-4+deb12u2+b2"), std::string::npos)
      << a->evidence;
  const Finding* b = by_check(f, "CVE-2099-0006");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->tier, "routine");
  EXPECT_TRUE(b->fixed_version.empty());
  EXPECT_NE(b->remediation.find("No fixed version"), std::string::npos);
  EXPECT_GT(a->priority, b->priority);
  // Exposure raises the tier of a finding without exploitation data.
  ctx.exposure = {{{"0.0.0.0:9999", "/usr/sbin/capd"}}, {}};
  auto fx = vulnerability_findings(*db, debian12(), pk, m, ctx);
  EXPECT_EQ(by_check(fx, "CVE-2099-0006")->tier, "patch-this-week");
  EXPECT_NE(by_check(fx, "CVE-2099-0006")->tier_reason.find("listening on 0.0.0.0:9999"),
            std::string::npos);
}

TEST_F(VulnTest, AlmaLinuxEpochsAndReleaseBoundaries) {
  build({kFix + "osv-alma.json"});
  auto db = open();
  auto inv = inventory::collect_inventory(Root(kInv + "alma9"), {});
  ASSERT_TRUE(inv.has_value()) << inv.error().message;
  auto m = match_inventory(*db, inv->os, inv->packages, nullptr);
  std::set<std::string> hits;
  for (const auto& x : m) hits.insert(inv->packages[x.package].name + " " + db->vuln(x.vuln).id);
  // openssh-server 1:8.7p1-38.el9_4.4 < 1:8.7p1-38.el9_4.10 (affected), but > 9.9p9-1.el9 with
  // epoch 0 (not affected); bash = fixed version (not affected); tzdata el9 < el9_2 (affected).
  EXPECT_EQ(hits,
            (std::set<std::string>{"openssh-server ALSA-2099:0001", "tzdata ALSA-2099:0003"}));
  auto f = vulnerability_findings(*db, inv->os, inv->packages, m, {});
  const Finding* ssh = by_check(f, "CVE-2099-1001");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->severity, Severity::kHigh);  // "Important:" from the advisory
  EXPECT_NE(ssh->remediation.find("dnf upgrade openssh-server"), std::string::npos);
}

TEST_F(VulnTest, LanguageAndWordPressEcosystems) {
  build({kFix + "lang.jsonl", kFix + "friendsofphp.jsonl", kFix + "wordpress.json",
         kFix + "epss.csv"});
  auto db = open();
  auto inv = inventory::collect_inventory(Root(kInv + "debian10"), {});
  ASSERT_TRUE(inv.has_value());
  auto m = match_inventory(*db, inv->os, inv->packages, nullptr);
  auto f = vulnerability_findings(*db, inv->os, inv->packages, m, {});
  std::set<std::string> got;
  for (const auto& x : f) got.insert(x.check + " " + x.asset + " fixed=" + x.fixed_version);
  EXPECT_EQ(
      got, (std::set<std::string>{
               "CVE-2099-2001 "
               "pkg:pypi/requests?location=/usr/local/lib/python3.11/site-packages/"
               "Requests-2.31.0.dist-info/METADATA fixed=2.32.0",
               "CVE-2099-2002 pkg:npm/lodash?location=/var/www/app/package-lock.json fixed=4.17.21",
               "CVE-2099-3001 pkg:composer/guzzlehttp/guzzle?location=/var/www/app/composer.lock "
               "fixed=7.4.5",
               "MAMORI-WP-contact-form-7-5.0-5.3.1 pkg:wordpress/plugin/contact-form-7 fixed=",
               "MAMORI-WP-twentytwentyone-1.0-1.4 pkg:wordpress/theme/twentytwentyone fixed="}));
  const Finding* lodash = by_check(f, "CVE-2099-2002");
  EXPECT_EQ(lodash->tier, "patch-now");          // EPSS 62 %
  EXPECT_EQ(lodash->severity, Severity::kHigh);  // GHSA "HIGH"
  const Finding* req = by_check(f, "CVE-2099-2001");
  EXPECT_EQ(req->tier, "routine");
  EXPECT_NE(req->tier_reason.find("CVSS 5.3"), std::string::npos)
      << req->tier_reason;  // from the vector
}

TEST_F(VulnTest, ExposureFromListeningSocketsRaisesThePriority) {
  build({kFix + "osv-debian10.jsonl"});
  auto db = open();
  auto inv = inventory::collect_inventory(Root(kInv + "debian10"), {});
  ASSERT_TRUE(inv.has_value());
  auto m = match_inventory(*db, inv->os, inv->packages, nullptr);
  FindingContext ctx;
  ctx.exposure.resize(inv->packages.size());
  for (size_t i = 0; i < inv->packages.size(); ++i)
    if (inv->packages[i].name == "openssh-server")
      ctx.exposure[i] = {{"0.0.0.0:22", "/usr/sbin/sshd"}};
  auto f = vulnerability_findings(*db, inv->os, inv->packages, m, ctx);
  ASSERT_EQ(f.size(), 2u);
  const Finding* ssh = by_check(f, "CVE-2099-5001");
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->asset, "pkg:deb/debian/openssh?arch=source&distro=debian-10");
  // an exposed remote-access server: patch now, whatever the scores say
  EXPECT_EQ(ssh->tier, "patch-now");
  EXPECT_NE(ssh->tier_reason.find("listening on 0.0.0.0:22 (/usr/sbin/sshd)"), std::string::npos);
  EXPECT_NE(ssh->tier_reason.find("remote-access software"), std::string::npos);
  EXPECT_EQ(by_check(f, "CVE-2099-5002")->tier, "routine");
  // not listening: still ahead of other software of the same scores
  auto quiet = vulnerability_findings(*db, inv->os, inv->packages, m, {});
  EXPECT_EQ(by_check(quiet, "CVE-2099-5001")->tier, "patch-this-week");
  EXPECT_GT(by_check(quiet, "CVE-2099-5001")->priority, by_check(quiet, "CVE-2099-5002")->priority);
}

TEST_F(VulnTest, OsvEventsVersionsListsLimitAndLastAffected) {
  auto r = build({kFix + "osv-events.jsonl"});
  auto db = open();
  auto inv = inventory::collect_inventory(Root(kInv + "debian10"), {});
  ASSERT_TRUE(inv.has_value());
  auto m = match_inventory(*db, inv->os, inv->packages, nullptr);
  std::set<std::string> hits;
  for (const auto& x : m) hits.insert(db->vuln(x.vuln).id + " fixed=" + x.fixed);
  // requests 2.31.0 is in the first list only; lodash 4.17.20 is past the limit of the first
  // range but inside the second interval of the other; @babel/core 7.16.0 = last_affected.
  EXPECT_EQ(hits, (std::set<std::string>{"PYSEC-2099-20 fixed=", "GHSA-two-ranges fixed=4.17.21",
                                         "GHSA-last-affected fixed="}));
}

TEST_F(VulnTest, WordPressInOsvFormToo) {
  build({kFix + "wordpress-osv.jsonl"});
  auto db = open();
  auto inv = inventory::collect_inventory(Root(kInv + "debian10"), {});
  ASSERT_TRUE(inv.has_value());
  auto f = vulnerability_findings(*db, inv->os, inv->packages,
                                  match_inventory(*db, inv->os, inv->packages, nullptr), {});
  std::set<std::string> got;
  for (const auto& x : f) got.insert(x.check + " fixed=" + x.fixed_version + " " + x.remediation);
  EXPECT_EQ(
      got,
      (std::set<std::string>{
          "CVE-2099-4001 fixed=5.3.2 Upgrade to 5.3.2 or later: wp plugin update contact-form-7 "
          "--path=/var/www/shop",
          "WPVDB-2099-0002 fixed=5.8.3 Upgrade to 5.8.3 or later: wp core update "
          "--path=/var/www/shop"}));
}

TEST(Cvss, BaseScoresOfKnownVectors) {
  EXPECT_EQ(*cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 9.8);
  EXPECT_EQ(*cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), 10.0);
  EXPECT_EQ(*cvss3_base_score("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"), 7.8);
  EXPECT_EQ(*cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), 6.1);
  EXPECT_EQ(*cvss3_base_score("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N"), 5.3);
  EXPECT_EQ(*cvss3_base_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), 0.0);
  EXPECT_FALSE(cvss3_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"));
  EXPECT_FALSE(cvss3_base_score("CVSS:3.1/AV:X/AC:L"));
}

// ---------------------------------------------------------------- the known facts of the real data

TEST_F(VulnTest, RealDebian12DataFlagsOnlyLibcap2) {
  if (!fs::exists(kShared + "osv/Debian12.jsonl")) GTEST_SKIP() << "shared data not present";
  build({kShared + "osv/Debian12.jsonl", kShared + "kev/known_exploited_vulnerabilities.json",
         kShared + "kev/epss_kev_nvd.csv"});
  auto db = open();
  auto text = read_file(kShared + "inventory/debian12-dpkg-status.txt");
  auto pk = inventory::parse_dpkg_status(*text, "/var/lib/dpkg/status");
  ASSERT_TRUE(pk.has_value());
  auto m = match_inventory(*db, debian12(), *pk, nullptr);
  auto f = vulnerability_findings(*db, debian12(), *pk, m, {});
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].check, "CVE-2026-4878");
  EXPECT_EQ(f[0].fixed_version, "1:2.66-4+deb12u3");
  EXPECT_EQ(f[0].asset, "pkg:deb/debian/libcap2?arch=source&distro=debian-12");
  // Backported fixes that NVD-range matchers flag: not flagged here.
  for (const char* cve : {"CVE-2023-4911", "CVE-2023-38545", "CVE-2023-4863"})
    for (const auto& x : f)
      EXPECT_EQ(std::find(x.references.begin(), x.references.end(), cve), x.references.end())
          << cve;
  // The data do know them: they are in the database, with their fixed versions below the installed
  // ones.
  EXPECT_FALSE(db->lookup("Debian:12", "glibc").empty());
  EXPECT_TRUE(db->kev("CVE-2023-4911").has_value());
}

}  // namespace
}  // namespace mamori::vuln
