// File integrity: the planted-change set of the issue (content, content with mtime restored,
// mode, owner, xattr, symlink retargeted, file replaced by rename, hidden new file in a web root,
// deletion) in both check modes, the order of the walk, a damaged baseline, and signatures.
#include "fim/fim.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/fs.h"
#include "support/temp_dir.h"

namespace mamori::fim {
namespace {

namespace fs = std::filesystem;

using testing_support::write_file;

class FimTest : public testing_support::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    root_ = dir_ / "root";
    write_file(root_ / "var/www/shop/index.php", "<?php echo 'shop';\n");
    write_file(root_ / "var/www/shop/wp-content/uploads/photo.jpg", "JPEG");
    write_file(root_ / "usr/bin/tool", "#!/bin/sh\necho tool\n");
    write_file(root_ / "usr/bin/other", "other\n");
    write_file(root_ / "etc/config", "a=1\n");
    fs::create_symlink("tool", root_ / "usr/bin/link");
    baseline_ = (dir_ / "fim.baseline").string();
  }

  // The built-in policy, resolved against the fixture (web root /var/www).
  Policy policy() const {
    auto p = parse_policy(default_policy_text(), "default");
    EXPECT_TRUE(p.has_value()) << p.error().message;
    p->resolve(Root(root_), {"/var/www"});
    return *p;
  }
  BaselineInfo init() { return init_with(policy()); }
  BaselineInfo init_with(const Policy& p) {
    FimOptions o;
    o.policy = p;
    o.threads = 2;
    auto r = write_baseline(Root(root_), o, baseline_, 1000);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? *r : BaselineInfo{};
  }
  std::map<std::string, const Change*> check(bool full, CheckResult& keep) {
    CheckOptions o;
    o.full = full;
    auto r = check_baseline(Root(root_), baseline_, o);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    keep = r ? std::move(*r) : CheckResult{};
    std::map<std::string, const Change*> m;
    for (const auto& c : keep.changes)
      m[c.kind == Change::kRemoved ? c.before.path : c.after.path] = &c;
    return m;
  }
  static bool has(const Change* c, std::string_view needle) {
    if (!c) return false;
    for (const auto& d : c->differences)
      if (d.find(needle) != std::string::npos) return true;
    return false;
  }

  fs::path root_;
  std::string baseline_;
};

TEST(FimOrder, PathLessIsTheWalkOrder) {
  EXPECT_TRUE(path_less("/a", "/a/b"));
  EXPECT_TRUE(path_less("/a/b", "/a.c"));  // children of /a come before /a.c
  EXPECT_FALSE(path_less("/a", "/a"));
  EXPECT_TRUE(path_less("/a/z", "/b"));
}

TEST_F(FimTest, NothingChangedMeansNoFindingsAndNoRehash) {
  auto info = init();
  EXPECT_EQ(info.paths, (std::vector<std::string>{"/usr/bin", "/etc", "/var/www"}));
  EXPECT_EQ(info.entries, 12u);  // 6 under /var/www, 4 under /usr/bin, 2 under /etc
  CheckResult r;
  auto m = check(false, r);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(r.hashed, 0u);  // metadata unchanged: nothing re-read
  auto m2 = check(true, r);
  EXPECT_TRUE(m2.empty());
  EXPECT_EQ(r.hashed, 5u);  // --full re-hashes every regular file
}

TEST_F(FimTest, PlantedChangesAreAllReportedInBothModes) {
  init();
  // content changed with the mtime put back
  struct stat st {};
  ::stat((root_ / "var/www/shop/index.php").c_str(), &st);
  write_file(root_ / "var/www/shop/index.php", "<?php system($_GET['c']);\n");
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, (root_ / "var/www/shop/index.php").c_str(), ts, 0);
  // hidden web shell in uploads
  write_file(root_ / "var/www/shop/wp-content/uploads/.cache.php", "<?php eval($_POST['x']);\n");
  // mode (setuid), xattr
  fs::permissions(root_ / "usr/bin/tool", fs::perms::set_uid | fs::perms::owner_all,
                  fs::perm_options::replace);
  ASSERT_EQ(::setxattr((root_ / "usr/bin/other").c_str(), "user.mark", "1", 1, 0), 0);
  // symlink retargeted
  fs::remove(root_ / "usr/bin/link");
  fs::create_symlink("/tmp/evil", root_ / "usr/bin/link");
  // file replaced by rename (same content, new inode)
  write_file(root_ / "etc/config.new", "a=1\n");
  fs::rename(root_ / "etc/config.new", root_ / "etc/config");
  // deletion
  fs::remove(root_ / "var/www/shop/wp-content/uploads/photo.jpg");
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown((root_ / "usr/bin/other").c_str(), 1234, 1234), 0);
  }

  for (bool full : {false, true}) {
    CheckResult r;
    auto m = check(full, r);
    SCOPED_TRACE(full ? "--full" : "default");
    EXPECT_TRUE(has(m["/var/www/shop/index.php"], "content: sha256"));
    EXPECT_TRUE(has(m["/var/www/shop/index.php"], "timestamp restored"));
    ASSERT_TRUE(m.contains("/var/www/shop/wp-content/uploads/.cache.php"));
    EXPECT_EQ(m["/var/www/shop/wp-content/uploads/.cache.php"]->kind, Change::kAdded);
    EXPECT_TRUE(has(m["/usr/bin/tool"], "mode: 0644 → 4700"));
    EXPECT_TRUE(has(m["/usr/bin/other"], "xattr added: user.mark"));
    if (::geteuid() == 0) {
      EXPECT_TRUE(has(m["/usr/bin/other"], "owner: 0 → 1234"));
    }
    EXPECT_TRUE(has(m["/usr/bin/link"], "symlink: tool → /tmp/evil"));
    EXPECT_TRUE(has(m["/etc/config"], "(replaced)"));
    ASSERT_TRUE(m.contains("/var/www/shop/wp-content/uploads/photo.jpg"));
    EXPECT_EQ(m["/var/www/shop/wp-content/uploads/photo.jpg"]->kind, Change::kRemoved);
    auto f = fim_findings(r);
    std::map<std::string, Severity> sev;
    for (const auto& x : f) sev[x.asset] = x.severity;
    EXPECT_EQ(sev["/var/www/shop/wp-content/uploads/.cache.php"],
              Severity::kCritical);                        // PHP in uploads
    EXPECT_EQ(sev["/usr/bin/tool"], Severity::kCritical);  // setuid appeared
    EXPECT_EQ(sev["/var/www/shop/index.php"], Severity::kHigh);
    EXPECT_EQ(sev["/usr/bin/link"], Severity::kHigh);
    EXPECT_EQ(sev["/etc/config"], Severity::kMedium);
    for (const auto& x : f) EXPECT_EQ(x.module, "fim");
  }
}

std::string md5_hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_md5(), nullptr);
  std::string out;
  for (unsigned i = 0; i < len; ++i)
    out += "0123456789abcdef"[md[i] >> 4], out += "0123456789abcdef"[md[i] & 15];
  return out;
}

TEST_F(FimTest, PackageChecksumsTellAnUpgradeFromTampering) {
  // dpkg's records: tool as the new package version ships it, other as installed, config a
  // conffile.
  const std::string new_tool = "#!/bin/sh\necho tool 2.0\n";
  write_file(root_ / "var/lib/dpkg/info/coreutils:amd64.md5sums",
             md5_hex(new_tool) + "  usr/bin/tool\n" + md5_hex("other\n") + "  usr/bin/other\n" +
                 md5_hex("a=1\n") + "  etc/config\n");
  write_file(root_ / "var/lib/dpkg/info/coreutils:amd64.conffiles", "/etc/config\n");
  init();
  write_file(root_ / "usr/bin/tool", new_tool);     // what an upgrade writes
  write_file(root_ / "usr/bin/other", "trojan\n");  // not what any package ships
  write_file(root_ / "etc/config", "a=2\n");        // admins edit conffiles
  CheckResult r;
  auto m = check(false, r);
  ASSERT_TRUE(m.contains("/usr/bin/tool") && m.contains("/usr/bin/other") &&
              m.contains("/etc/config"));
  EXPECT_EQ(m["/usr/bin/tool"]->verdict, Change::kMatchesPackage);
  EXPECT_EQ(m["/usr/bin/tool"]->package, "coreutils");
  EXPECT_TRUE(has(m["/usr/bin/tool"], "matches the checksum of package coreutils"));
  EXPECT_EQ(m["/usr/bin/other"]->verdict, Change::kDiffersFromPackage);
  EXPECT_TRUE(has(m["/usr/bin/other"], "differs from the checksum package coreutils installed"));
  EXPECT_EQ(m["/etc/config"]->verdict, Change::kNotPackaged);
  std::map<std::string, Severity> sev;
  for (const auto& f : fim_findings(r)) sev[f.asset] = f.severity;
  EXPECT_EQ(sev["/usr/bin/tool"], Severity::kLow);
  EXPECT_EQ(sev["/usr/bin/other"], Severity::kHigh);
  EXPECT_EQ(sev["/etc/config"], Severity::kMedium);
}

TEST_F(FimTest, DayOneVerificationAgainstDpkgChecksums) {
  // No baseline at all: dpkg's own records are the reference.
  write_file(root_ / "usr/sbin/sshd", "sshd 1\n");
  write_file(root_ / "usr/share/doc/tool/README", "doc\n");
  write_file(root_ / "usr/bin/real-tool.distrib",
             "#!/bin/sh\necho tool\n");  // moved aside by dpkg-divert
  write_file(root_ / "var/lib/dpkg/info/tool.md5sums",
             md5_hex("#!/bin/sh\necho tool\n") + "  usr/bin/tool\n" + md5_hex("other\n") +
                 "  usr/bin/other\n" + md5_hex("a=1\n") + "  etc/config\n" + md5_hex("doc\n") +
                 "  usr/share/doc/tool/README\n" + md5_hex("gone\n") +
                 "  usr/share/doc/tool/gone\n" + md5_hex("x\n") + "  usr/share/man/man1/x.1.gz\n" +
                 md5_hex("#!/bin/sh\necho tool\n") + "  usr/bin/real-tool\n");
  write_file(root_ / "var/lib/dpkg/info/tool.conffiles", "/etc/config\n");
  write_file(root_ / "var/lib/dpkg/info/openssh-server.md5sums",
             md5_hex("sshd 1\n") + "  usr/sbin/sshd\n");
  write_file(root_ / "var/lib/dpkg/diversions",
             "/usr/bin/real-tool\n/usr/bin/real-tool.distrib\nwrapper\n");
  write_file(root_ / "etc/dpkg/dpkg.cfg.d/excludes", "path-exclude /usr/share/man/*\n");
  write_file(root_ / "usr/sbin/sshd", "sshd with a backdoor\n");
  fs::permissions(root_ / "usr/sbin/sshd", fs::perms::owner_all, fs::perm_options::replace);
  write_file(root_ / "etc/config",
             "edited by the admin\n");  // a conffile: not this check's business
  fs::remove(root_ / "usr/bin/other");
  fs::create_directory(root_ / "usr/bin/other");  // a file replaced by a directory
  PackageVerifyOptions o;
  o.threads = 2;
  auto r = verify_packages(Root(root_), o);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->packages, 2u);
  EXPECT_EQ(r->files, 7u);
  EXPECT_EQ(r->excluded, 1u);  // the man page dpkg was told not to install
  std::map<std::string, const Change*> m;
  for (const auto& c : r->changes)
    m[c.kind == Change::kRemoved ? c.before.path : c.after.path] = &c;
  ASSERT_EQ(m.size(), 3u) << "changes: " << r->changes.size();
  ASSERT_TRUE(m.contains("/usr/sbin/sshd"));
  EXPECT_EQ(m["/usr/sbin/sshd"]->package, "openssh-server");
  EXPECT_TRUE(has(m["/usr/sbin/sshd"], "content: md5 "));
  ASSERT_TRUE(m.contains("/usr/share/doc/tool/gone"));
  EXPECT_EQ(m["/usr/share/doc/tool/gone"]->kind, Change::kRemoved);
  ASSERT_TRUE(m.contains("/usr/bin/other"));
  EXPECT_TRUE(has(m["/usr/bin/other"], "type: f → d"));
  std::map<std::string, Finding> f;
  for (auto& x : package_findings(*r)) f[x.asset] = x;
  EXPECT_EQ(f["/usr/sbin/sshd"].severity, Severity::kCritical);  // a program that runs
  EXPECT_EQ(f["/usr/sbin/sshd"].check, "package-file-modified");
  EXPECT_NE(f["/usr/sbin/sshd"].remediation.find("apt-get install --reinstall openssh-server"),
            std::string::npos);
  EXPECT_EQ(f["/usr/share/doc/tool/gone"].severity, Severity::kLow);
  // Only some packages; an unknown one is an error, not an empty success.
  o.packages = {"tool"};
  auto only = verify_packages(Root(root_), o);
  ASSERT_TRUE(only.has_value());
  EXPECT_EQ(only->packages, 1u);
  EXPECT_EQ(only->changes.size(), 2u);
  o.packages = {"no-such-package"};
  EXPECT_FALSE(verify_packages(Root(root_), o).has_value());
}

TEST_F(FimTest, DamagedBaselineIsAnError) {
  init();
  std::string text = *read_file(baseline_);
  std::ofstream(baseline_, std::ios::trunc) << text.substr(0, text.size() / 2);
  auto r = check_baseline(Root(root_), baseline_, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find(baseline_), std::string::npos) << r.error().message;
  std::ofstream(baseline_, std::ios::trunc) << "not a baseline\n";
  EXPECT_FALSE(check_baseline(Root(root_), baseline_, {}).has_value());
}

TEST_F(FimTest, SignatureDetectsAnyChangeToTheBaseline) {
  init();
  auto k = generate_keypair();
  ASSERT_TRUE(sign_file(baseline_, k.secret_key).has_value());
  EXPECT_TRUE(verify_file(baseline_, k.public_key).has_value());
  auto other = generate_keypair();
  EXPECT_FALSE(verify_file(baseline_, other.public_key).has_value());  // another key
  std::string text = *read_file(baseline_);
  text[text.size() / 2] ^= 1;
  std::ofstream(baseline_, std::ios::trunc | std::ios::binary) << text;
  auto v = verify_file(baseline_, k.public_key);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message.find("does not verify"), std::string::npos);
  fs::remove(baseline_ + ".sig");
  EXPECT_FALSE(verify_file(baseline_, k.public_key).has_value());
  // Keys are never overwritten.
  ASSERT_TRUE(write_keypair(k, (dir_ / "k").string(), (dir_ / "k.pub").string()).has_value());
  EXPECT_FALSE(write_keypair(other, (dir_ / "k").string(), (dir_ / "k.pub").string()).has_value());
  EXPECT_EQ(*read_key((dir_ / "k").string(), 64), k.secret_key);
}

TEST_F(FimTest, NamesWithNewlinesAndInvalidUtf8RoundTrip) {
  write_file(root_ / "etc/we\nird\xff name", "x");
  write_file(root_ / "etc/back\\slash\ttab", "y");
  fs::create_symlink("-", root_ / "etc/dash");  // "-" also stands for "no target" in the file
  init();
  CheckResult r;
  EXPECT_TRUE(check(true, r).empty());  // read back exactly: no spurious change
  fs::remove(root_ / "etc/we\nird\xff name");
  fs::remove(root_ / "etc/dash");
  fs::create_symlink("--", root_ / "etc/dash");
  auto m = check(false, r);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.begin()->first, "/etc/dash");
  EXPECT_TRUE(has(m["/etc/dash"], "symlink: - → --"));
  EXPECT_EQ(std::next(m.begin())->first, "/etc/we\nird\xff name");
}

TEST_F(FimTest, AttributeSetsDecideWhatCounts) {
  Policy p = policy();
  ASSERT_TRUE(parse_attrs({"perms"}).has_value());
  for (auto& r : p.rules)
    if (r.path == "/etc") r.attrs = *parse_attrs({"perms"});  // e.g. files rewritten by tools
  auto info = init_with(p);
  write_file(root_ / "etc/config", "a=2, a longer line\n");  // content: not compared under /etc
  fs::permissions(root_ / "etc/config", fs::perms::owner_read, fs::perm_options::replace);
  write_file(root_ / "usr/bin/other", "changed\n");  // /usr/bin: every attribute
  CheckResult r;
  auto m = check(true, r);
  ASSERT_TRUE(m.contains("/etc/config"));
  EXPECT_TRUE(has(m["/etc/config"], "mode: 0644 → 0400"));
  EXPECT_FALSE(has(m["/etc/config"], "content"));
  EXPECT_FALSE(has(m["/etc/config"], "size"));
  EXPECT_TRUE(has(m["/usr/bin/other"], "content: sha256"));
  // The policy travels inside the baseline: check used /etc's "perms" without being told.
  auto bi = read_baseline_info(baseline_);
  ASSERT_TRUE(bi.has_value()) << bi.error().message;
  ASSERT_NE(bi->policy.rule_for("/etc/config"), nullptr);
  EXPECT_EQ(bi->policy.rule_for("/etc/config")->attrs, *parse_attrs({"perms"}));
  EXPECT_EQ(bi->policy.webroots, (std::vector<std::string>{"/var/www"}));
}

TEST_F(FimTest, ExcludesOfThePolicyAreNotRecorded) {
  Policy p = policy();
  p.exclude.push_back("/var/www/**/cache");
  write_file(root_ / "var/www/shop/cache/page.html", "x");
  write_file(root_ / "var/www/shop/lib/__pycache__/m.pyc", "x");  // built-in exclude
  init_with(p);
  write_file(root_ / "var/www/shop/cache/page.html", "y");
  write_file(root_ / "var/www/shop/cache/new.html", "y");
  CheckResult r;
  auto m = check(true, r);
  for (const auto& [path, c] : m) EXPECT_EQ(path.find("cache"), std::string::npos) << path;
}

TEST_F(FimTest, UpdateOfChosenPathsKeepsTheRest) {
  init();
  write_file(root_ / "etc/config", "a=2\n");
  write_file(root_ / "usr/bin/other", "trojan\n");
  write_file(root_ / "etc/new.conf", "n\n");
  FimOptions o;
  o.threads = 2;
  auto u = update_baseline_paths(Root(root_), baseline_, {"/etc"}, o, 2000);
  ASSERT_TRUE(u.has_value()) << u.error().message;
  EXPECT_EQ(u->entries, 13u);
  CheckResult r;
  auto m = check(false, r);
  EXPECT_EQ(m.size(), 1u);  // /etc accepted; /usr/bin/other still reported
  EXPECT_TRUE(m.contains("/usr/bin/other"));
  auto bad = update_baseline_paths(Root(root_), baseline_, {"/opt"}, o, 2000);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("not covered"), std::string::npos);
}

TEST_F(FimTest, AclChangesAreShownAsAcls) {
  // user::rw-, user:33:rwx, group::r--, mask::rwx, other::r-- (posix_acl_xattr, version 2)
  auto entry = [](uint16_t tag, uint16_t perm, uint32_t id) {
    std::string e(8, '\0');
    e[0] = static_cast<char>(tag), e[2] = static_cast<char>(perm);
    for (int i = 0; i < 4; ++i) e[4 + i] = static_cast<char>((id >> (8 * i)) & 0xff);
    return e;
  };
  std::string acl = std::string("\x02\0\0\0", 4) + entry(0x01, 6, 0xffffffff) + entry(0x02, 7, 33) +
                    entry(0x04, 4, 0xffffffff) + entry(0x10, 7, 0xffffffff) +
                    entry(0x20, 4, 0xffffffff);
  init();
  if (::setxattr((root_ / "etc/config").c_str(), "system.posix_acl_access", acl.data(), acl.size(),
                 0) != 0)
    GTEST_SKIP() << "no POSIX ACLs on this filesystem: " << std::strerror(errno);
  CheckResult r;
  auto m = check(false, r);
  ASSERT_TRUE(m.contains("/etc/config"));
  EXPECT_TRUE(has(m["/etc/config"],
                  "acl added (access): user::rw-,user:33:rwx,group::r--,mask::rwx,other::r--"))
      << m["/etc/config"]->differences.front();
}

TEST_F(FimTest, HugeSparseFileIsRecordedByMetadataOnly) {
  // 100 GB of holes: hashing it would read 100 GB of zeros; the policy's max_hash_size says no.
  {
    int fd = ::open((root_ / "var/www/disk.img").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 100LL << 30), 0);
    ::close(fd);
  }
  auto info = init();
  EXPECT_EQ(info.not_hashed, 1u);
  {
    int fd = ::open((root_ / "var/www/disk.img").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 101LL << 30), 0);
    ::close(fd);
  }
  CheckResult r;
  auto m = check(true, r);
  ASSERT_TRUE(m.contains("/var/www/disk.img"));
  EXPECT_TRUE(has(m["/var/www/disk.img"], "size: 107374182400 → 108447924224"));
  EXPECT_FALSE(has(m["/var/www/disk.img"], "content"));
}

// Needs root (security.capability): labelled root, run in CI.
class FimRootTest : public FimTest {};

TEST_F(FimRootTest, CapabilityOnABinaryIsCritical) {
  if (::geteuid() != 0) GTEST_SKIP() << "setting security.capability needs root";
  init();
  // VFS_CAP_REVISION_2, cap_setuid permitted+effective (what `setcap cap_setuid+ep` writes)
  std::string cap("\x01\0\0\x02\x80\0\0\0\x80\0\0\0\0\0\0\0\0\0\0\0", 20);
  ASSERT_EQ(::setxattr((root_ / "usr/bin/other").c_str(), "security.capability", cap.data(),
                       cap.size(), 0),
            0)
      << std::strerror(errno);
  CheckResult r;
  auto m = check(false, r);
  EXPECT_TRUE(has(m["/usr/bin/other"], "xattr added: security.capability"));
  size_t seen = 0;
  for (const auto& f : fim_findings(r))
    if (f.asset == "/usr/bin/other") {
      EXPECT_EQ(f.severity, Severity::kCritical);
      EXPECT_NE(f.evidence.find("capability"), std::string::npos);
      ++seen;
    }
  EXPECT_EQ(seen, 1u);
}

// Names past 4 KiB in all (ERANGE from a 4 KiB buffer) must not read as "no xattrs": a setcap'd
// binary hidden behind 18 long user.* names, and a value longer than 4 KiB.
TEST_F(FimTest, ManyLongXattrNamesAndLargeValuesAreAllRecorded) {
  // ext4 keeps all of a file's xattrs in one 4 KiB block: tmpfs takes more, like XFS and btrfs
  fs::path shm = fs::path("/dev/shm") / ("mamori-fim-xattr-" + std::to_string(::getpid()));
  fs::remove_all(shm);
  fs::create_directories(shm);
  fs::copy(root_, shm / "root", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  root_ = shm / "root";
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{shm};
  init();
  std::string path = (root_ / "usr/bin/other").string();
  size_t set = 0;
  for (int i = 0; i < 18; ++i) {
    std::string name = "user." + std::string(230, static_cast<char>('a' + i));
    ASSERT_EQ(::setxattr(path.c_str(), name.c_str(), "v", 1, 0), 0) << std::strerror(errno);
    ++set;
  }
  std::string big(6000, 'B');
  ASSERT_EQ(::setxattr(path.c_str(), "user.big", big.data(), big.size(), 0), 0);
  bool root = ::geteuid() == 0;
  if (root) {
    std::string cap("\x01\0\0\x02\x80\0\0\0\x80\0\0\0\0\0\0\0\0\0\0\0", 20);
    ASSERT_EQ(::setxattr(path.c_str(), "security.capability", cap.data(), cap.size(), 0), 0);
  }
  ASSERT_EQ(set, 18u);
  ASSERT_GT(::listxattr(path.c_str(), nullptr, 0), 4096);
  for (bool full : {false, true}) {
    CheckResult r;
    auto m = check(full, r);
    ASSERT_TRUE(m.contains("/usr/bin/other")) << "full=" << full;
    EXPECT_TRUE(has(m["/usr/bin/other"], "xattr added: user." + std::string(230, 'r')));
    EXPECT_TRUE(has(m["/usr/bin/other"], "xattr added: user.big"));
    if (root) {
      EXPECT_TRUE(has(m["/usr/bin/other"], "xattr added: security.capability"));
      bool critical = false;
      for (const auto& f : fim_findings(r))
        critical |= f.asset == "/usr/bin/other" && f.severity == Severity::kCritical;
      EXPECT_TRUE(critical);
    }
  }
  // and recorded whole in a new baseline: nothing reported after re-initialising
  fs::remove(baseline_);
  init();
  CheckResult r;
  EXPECT_FALSE(check(true, r).contains("/usr/bin/other"));
}

TEST(FimPolicy, DefaultPolicyParsesAndResolvesWebRoots) {
  auto p = parse_policy(default_policy_text(), "default");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  auto root = fs::temp_directory_path() / ("mamori-pol-" + std::to_string(::getpid()));
  fs::create_directories(root / "etc/ssh");
  fs::create_directories(root / "srv/shop");
  fs::create_directories(root / "usr/bin");
  auto dropped = p->resolve(Root(root), {"/srv/shop"});
  EXPECT_NE(std::find(dropped.begin(), dropped.end(), "/boot"), dropped.end());
  ASSERT_NE(p->rule_for("/etc/ssh/sshd_config"), nullptr);
  EXPECT_EQ(p->rule_for("/etc/ssh/sshd_config")->path, "/etc/ssh");  // longest rule wins
  EXPECT_EQ(p->rule_for("/etc/ssh/sshd_config")->severity, Severity::kHigh);
  EXPECT_EQ(p->rule_for("/etc/hosts")->severity, Severity::kMedium);
  EXPECT_EQ(p->rule_for("/srv/shop/index.php")->path, "/srv/shop");
  EXPECT_EQ(p->rule_for("/opt/x"), nullptr);
  auto a = p->alert_for("/srv/shop/wp-content/uploads/2024/x.php", kOnAdded);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->first, Severity::kCritical);
  EXPECT_EQ(p->alert_for("/srv/shop/index.php", kOnAdded)->first, Severity::kHigh);
  EXPECT_FALSE(p->alert_for("/srv/shop/index.php", kOnRemoved).has_value());
  EXPECT_FALSE(p->alert_for("/srv/shop/logo.png", kOnAdded).has_value());
  EXPECT_TRUE(p->excluded("/usr/lib/python3/__pycache__"));
  EXPECT_TRUE(p->excluded("/etc/ld.so.cache"));
  EXPECT_FALSE(p->excluded("/etc/hosts"));
  // The effective policy survives a round trip (it is what the baseline records).
  auto again = parse_policy(p->to_toml(), "effective");
  ASSERT_TRUE(again.has_value()) << again.error().message << "\n" << p->to_toml();
  EXPECT_EQ(again->to_toml(), p->to_toml());
  EXPECT_EQ(again->webroots, std::vector<std::string>{"/srv/shop"});
  // A host without web roots: the web-root alerts have nothing to match and are dropped, and
  // the effective policy still reads back (a regression: it once wrote `match = []`).
  auto bare = parse_policy(default_policy_text(), "default");
  bare->resolve(Root(root), {});
  EXPECT_TRUE(parse_policy(bare->to_toml(), "effective").has_value());
  EXPECT_FALSE(bare->alert_for("/srv/shop/x.php", kOnAdded).has_value());
  fs::remove_all(root);
}

TEST(FimPolicy, MistakesAreNamedWithTheirPlace) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"hash = \"md5\"\n", "hash 'md5'"},
      {"[[watch]]\npath = \"etc\"\n", "absolute path"},
      {"[[watch]]\npath = \"/etc\"\ncheck = [\"colour\"]\n", "unknown attribute 'colour'"},
      {"[[watch]]\npath = \"/etc\"\nseverity = \"urgent\"\n", "severity"},
      {"[[watch]]\npath = \"/etc\"\npaths = 1\n", "unknown key 'paths'"},
      {"[[alert]]\nmatch = [\"/a\"]\non = [\"opened\"]\n", "on = 'opened'"},
      {"[[alert]]\nseverity = \"high\"\n", "needs 'match'"},
      {"exclude = [\"/a/*/*/*/*/*/*/*/*/*\"]\n", "more than 8"},
      {"max_hash_size = \"12Q\"\n", "max_hash_size"},
      {"hash = \n", "policy.toml:1:"},
  };
  for (const auto& c : cases) {
    auto p = parse_policy(c.text, "policy.toml");
    ASSERT_FALSE(p.has_value()) << c.text;
    EXPECT_NE(p.error().message.find(c.expect), std::string::npos)
        << c.text << " → " << p.error().message;
    EXPECT_NE(p.error().message.find("policy.toml"), std::string::npos) << p.error().message;
  }
  auto ok = parse_policy(
      "max_hash_size = \"1G\"\n[[watch]]\npath = \"/srv/\"\ncheck = [\"all\", \"-inode\"]\n", "p");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->max_hash_size, 1ull << 30);
  EXPECT_EQ(ok->rules[0].path, "/srv");
  EXPECT_EQ(ok->rules[0].attrs, kAttrAll & ~kAttrInode);
}

}  // namespace
}  // namespace mamori::fim
