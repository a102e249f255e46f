#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/enum_names.h"
#include "core/finding.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/owners.h"
#include "core/text.h"

namespace mamori {
namespace {

TEST(Hash, Sha256MatchesFips180Vector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Fingerprint, DependsOnModuleCheckAndAssetOnly) {
  std::string a = fingerprint("inventory", "os-end-of-support", "os:debian-10");
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, fingerprint("inventory", "os-end-of-support", "os:debian-10"));
  EXPECT_NE(a, fingerprint("inventory", "os-end-of-support", "os:debian-11"));
  EXPECT_NE(a, fingerprint("vuln", "os-end-of-support", "os:debian-10"));
  // Field boundaries matter: ("ab","c") and ("a","bc") must differ.
  EXPECT_NE(fingerprint("m", "ab", "c"), fingerprint("m", "a", "bc"));
  Finding f;
  f.module = "inventory";
  f.check = "os-end-of-support";
  f.asset = "os:debian-10";
  f.title = "changes do not matter";
  assign_fingerprint(f);
  EXPECT_EQ(f.fingerprint, a);
}

TEST(Severity, ParsesCaseInsensitivelyAndRejectsUnknown) {
  EXPECT_EQ(*parse_severity("HIGH"), Severity::kHigh);
  EXPECT_EQ(*parse_severity("critical"), Severity::kCritical);
  EXPECT_FALSE(parse_severity("urgent").has_value());
  EXPECT_NE(parse_severity("urgent").error().message.find("urgent"), std::string::npos);
}

enum class Colour { kRed, kGreen, kBlue };
constexpr Named<Colour> kAll[] = {
    {Colour::kRed, "red"}, {Colour::kGreen, "green"}, {Colour::kBlue, "blue"}};
constexpr Named<Colour> kMissing[] = {{Colour::kRed, "red"}, {Colour::kBlue, "blue"}};
constexpr Named<Colour> kTwice[] = {
    {Colour::kRed, "red"}, {Colour::kRed, "rouge"}, {Colour::kBlue, "blue"}};

TEST(EnumNames, OneTableNamesAndParsesAndCoverageIsChecked) {
  static_assert(names_cover(kAll, Colour::kBlue));
  static_assert(!names_cover(kMissing, Colour::kBlue));  // a value without a name
  static_assert(!names_cover(kTwice, Colour::kBlue));    // a value named twice, one left out
  static_assert(!names_cover(kAll, Colour::kGreen));     // more names than values
  EXPECT_EQ(name_in(kAll, Colour::kGreen, "?"), "green");
  EXPECT_EQ(name_in(kMissing, Colour::kGreen, "?"), "?");
  EXPECT_EQ(parse_in(kAll, "blue"), Colour::kBlue);
  EXPECT_FALSE(parse_in(kAll, "Blue").has_value());
  for (auto s :
       {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical})
    EXPECT_EQ(parse_severity(severity_name(s)).value(), s);
  for (auto s :
       {FindingState::kNew, FindingState::kOpen, FindingState::kFixed, FindingState::kAccepted})
    EXPECT_EQ(parse_state(state_name(s)).value(), s);
}

TEST(Severity, ThresholdIgnoresAcceptedAndFixed) {
  Finding f;
  f.severity = Severity::kHigh;
  f.state = FindingState::kOpen;
  EXPECT_TRUE(fails_threshold(f, Severity::kHigh));
  EXPECT_TRUE(fails_threshold(f, Severity::kMedium));
  EXPECT_FALSE(fails_threshold(f, Severity::kCritical));
  f.state = FindingState::kAccepted;
  EXPECT_FALSE(fails_threshold(f, Severity::kLow));
  f.state = FindingState::kFixed;
  EXPECT_FALSE(fails_threshold(f, Severity::kLow));
  f.state = FindingState::kNew;
  EXPECT_TRUE(fails_threshold(f, Severity::kInfo));
}

TEST(Glob, PathGlobsKeepSingleStarsInOneComponent) {
  EXPECT_TRUE(path_glob_match("/var/www/*.php", "/var/www/index.php"));
  EXPECT_FALSE(path_glob_match("/var/www/*.php", "/var/www/shop/index.php"));
  EXPECT_TRUE(path_glob_match("/var/www/**/*.php", "/var/www/shop/a/index.php"));
  EXPECT_TRUE(path_glob_match("/var/www/**/*.php", "/var/www/index.php"));  // "/**/" = "/"
  EXPECT_TRUE(path_glob_match("/var/www/**/uploads/**/*.php", "/var/www/wp-content/uploads/x.php"));
  EXPECT_FALSE(path_glob_match("/var/www/**/uploads/**/*.php", "/var/www/uploads.php"));
  EXPECT_TRUE(path_glob_match("**/__pycache__", "/usr/lib/python3/__pycache__"));
  EXPECT_FALSE(path_glob_match("**/__pycache__", "/usr/lib/python3/__pycache__/x.pyc"));
  EXPECT_TRUE(path_glob_match("/a/?/c", "/a/b/c"));
  EXPECT_FALSE(path_glob_match("/a/?c", "/a//c"));
  EXPECT_TRUE(path_glob_match("/x/*.php[0-9]", "/x/a.php7"));
  EXPECT_FALSE(path_glob_match("/x/[/]", "/x//"));
  EXPECT_TRUE(path_glob_match("/x/[ab", "/x/[ab"));  // unclosed class: literal
  EXPECT_TRUE(path_glob_match("/etc/\\*", "/etc/*"));
  EXPECT_FALSE(path_glob_match("/etc/\\*", "/etc/passwd"));
  // A pathological pattern stays polynomial (memoised), across and within components.
  std::string text = "/" + std::string(4000, 'a');
  EXPECT_FALSE(path_glob_match("/*a*a*a*a*a*a*a*a*b", text));
  EXPECT_FALSE(path_glob_match("/**a**a**a**a**a**a**a**a**b", text));
  EXPECT_TRUE(path_glob_match("/**a**a**a**a**a**a**a**a**", text));
}

TEST(Glob, MatchesStarsClassesAndEscapes) {
  EXPECT_TRUE(glob_match("pkg:deb/*openssh*", "pkg:deb/debian/openssh-server?arch=amd64"));
  EXPECT_FALSE(glob_match("pkg:deb/*openssh*", "pkg:rpm/almalinux/openssh-server"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("[ab]x", "bx"));
  EXPECT_FALSE(glob_match("[!ab]x", "bx"));
  EXPECT_TRUE(glob_match("[a-c]*", "cat"));
  EXPECT_TRUE(glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(glob_match("a\\*b", "axb"));
  EXPECT_TRUE(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(glob_match("*a*b*c*", "xxaxxcxxbxx"));
  // Pathological pattern stays fast (no exponential backtracking).
  std::string text(5000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
}

TEST(Owners, LongestMatchingPatternWins) {
  std::vector<OwnerRule> rules = {
      {"pkg:*", "ops"}, {"pkg:deb/*openssh*", "vendor-x"}, {"os:*", "platform"}};
  EXPECT_EQ(resolve_owner(rules, "pkg:deb/debian/openssh-server?arch=amd64"), "vendor-x");
  EXPECT_EQ(resolve_owner(rules, "pkg:deb/debian/xrdp?arch=amd64"), "ops");
  EXPECT_EQ(resolve_owner(rules, "os:debian-12"), "platform");
  EXPECT_EQ(resolve_owner(rules, "host:web01"), "");
  // Equal length: the answer does not depend on order.
  std::vector<OwnerRule> a = {{"pkg:a*", "x"}, {"pkg:*b", "y"}};
  std::vector<OwnerRule> b = {{"pkg:*b", "y"}, {"pkg:a*", "x"}};
  EXPECT_EQ(resolve_owner(a, "pkg:ab"), resolve_owner(b, "pkg:ab"));
}

TEST(Text, SanitizeNeutralisesTerminalEscapes) {
  EXPECT_EQ(sanitize("evil\x1b[2Jname"), "evil\\x1b[2Jname");
  EXPECT_EQ(sanitize("line\nbreak"), "line\\x0abreak");
  EXPECT_EQ(sanitize("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(sanitize("\xc2\x9b"
                     "31m"),
            "\\u009b31m");  // C1 CSI
  // bidirectional overrides: "x" U+202E "gnp.php" would show as "xphp.png"
  EXPECT_EQ(sanitize("x\xe2\x80\xaegnp.php"), "x\\u202egnp.php");
  EXPECT_EQ(sanitize("\xe2\x81\xa6"
                     "a\xe2\x80\x8f"),
            "\\u2066a\\u200f");
  EXPECT_EQ(sanitize("\xe2\x80\x94 dash"), "\xe2\x80\x94 dash");  // other punctuation stays
}

TEST(Text, ShellQuoteAndPercentDecode) {
  EXPECT_EQ(shell_quote("/srv/www/x.php"), "/srv/www/x.php");
  EXPECT_EQ(shell_quote("/up/my shell$(id).php"), "'/up/my shell$(id).php'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(percent_decode("/a%20b%2F%zz%4"), "/a b/%zz%4");
}

TEST(Text, ValidUtf8ReplacesBrokenSequences) {
  EXPECT_EQ(valid_utf8("ok"), "ok");
  EXPECT_EQ(valid_utf8("a\xff"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(valid_utf8("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(valid_utf8("\xf0\x9f\x94\x92"), "\xf0\x9f\x94\x92");
}

TEST(Text, DatesRoundTrip) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(parse_date("2026-06-10"), 1781049600);
  EXPECT_EQ(iso8601(parse_datetime("2021-06-02 09:30:07")), "2021-06-02T09:30:07Z");
  EXPECT_EQ(parse_date("2026-13-01"), -1);
  EXPECT_EQ(parse_date("2026-02-30"), -1);
  EXPECT_EQ(parse_date("2026-04-31"), -1);
  EXPECT_EQ(iso8601(parse_date("2028-02-29")), "2028-02-29T00:00:00Z");
  EXPECT_EQ(parse_date("2100-02-29"), -1);
  EXPECT_EQ(parse_datetime("2021-06-02T09:30:07"), -1);
}

TEST(Fs, ReadFileBoundsSizeAndNamesTheFile) {
  auto dir = std::filesystem::temp_directory_path() / ("mamori-core-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / "big.txt";
  std::ofstream(p) << std::string(1000, 'x');
  auto small = read_file(p, 100);
  ASSERT_FALSE(small.has_value());
  EXPECT_NE(small.error().message.find("big.txt"), std::string::npos);
  EXPECT_EQ(read_file(p, 1000)->size(), 1000u);
  auto missing = read_file(dir / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto d = read_file(dir);
  EXPECT_FALSE(d.has_value());  // a directory is not a regular file
  ASSERT_TRUE(write_file_atomic(dir / "out.txt", "hello").has_value());
  EXPECT_EQ(*read_file(dir / "out.txt"), "hello");
  std::filesystem::remove_all(dir);
}

TEST(Fs, TheHostIsTheHostHoweverWritten) {
  EXPECT_TRUE(Root("/").is_host());
  EXPECT_TRUE(Root("/.").is_host());
  EXPECT_TRUE(Root("//").is_host());
  EXPECT_TRUE(Root("/etc/..").is_host());
  EXPECT_EQ(Root("/.").dir(), "/");
  EXPECT_FALSE(Root("/tmp").is_host());
  EXPECT_FALSE(Root("/nonexistent-root").is_host());
}

TEST(Fs, RootMapsPathsBothWays) {
  Root r("/mnt/img");
  EXPECT_EQ(r.path("/etc/os-release"), std::filesystem::path("/mnt/img/etc/os-release"));
  EXPECT_EQ(r.display("/mnt/img/var/www"), "/var/www");
  Root host("/");
  EXPECT_EQ(host.path("/etc/os-release"), std::filesystem::path("/etc/os-release"));
  EXPECT_EQ(host.display("/var/www"), "/var/www");
}

// ---------------- reading under a root ----------------

class RootTree : public ::testing::TestWithParam<bool> {  // param: the portable walk
 protected:
  void SetUp() override {
    set_force_manual_resolve(GetParam());
    dir_ = std::filesystem::temp_directory_path() /
           ("mamori-root-" + std::to_string(::getpid()) + (GetParam() ? "-walk" : "-openat2"));
    std::filesystem::remove_all(dir_);
    img_ = dir_ / "img";
    std::filesystem::create_directories(img_ / "etc");
    std::filesystem::create_directories(img_ / "srv/www");
    std::filesystem::create_directories(dir_ / "outside");
    std::ofstream(img_ / "etc/real") << "inside";
    std::ofstream(dir_ / "outside/secret") << "host secret";
    std::ofstream(dir_ / "img-secret") << "host secret";
  }
  void TearDown() override {
    set_force_manual_resolve(false);
    std::filesystem::remove_all(dir_);
  }
  void link(const std::string& target, const std::string& at) {
    std::filesystem::create_symlink(target, img_ / at);
  }
  std::filesystem::path dir_, img_;
};

TEST_P(RootTree, AbsoluteSymlinksNameTheImagesFiles) {
  link("/etc/real", "etc/abs");
  // an absolute link to a host file that exists on the host but not in the image
  link((dir_ / "outside/secret").string(), "etc/host");
  Root r(img_);
  EXPECT_EQ(r.read("/etc/abs").value_or("?"), "inside");
  auto h = r.read("/etc/host");
  ASSERT_FALSE(h.has_value()) << "read the host's file: " << *h;
  EXPECT_EQ(h.error().code, ErrorCode::kNotFound);
}

TEST_P(RootTree, DotDotNeverClimbsAboveTheRoot) {
  link("../../../../../../img-secret", "etc/up");  // from img/etc: would reach dir_/img-secret
  link("../../outside/secret", "srv/www/rel");
  std::ofstream(img_ / "img-secret") << "image's own";
  Root r(img_);
  EXPECT_EQ(r.read("/etc/up").value_or("?"), "image's own");
  EXPECT_FALSE(r.read("/srv/www/rel").has_value());
  EXPECT_EQ(r.read("/../../img-secret").value_or("?"), "image's own");
  EXPECT_EQ(r.read("/etc/../../../etc/real").value_or("?"), "inside");
}

TEST_P(RootTree, SymlinkLoopsAndDirectoriesThroughLinks) {
  link("/etc/loop2", "etc/loop1");
  link("/etc/loop1", "etc/loop2");
  link("/etc", "srv/etc-link");
  Root r(img_);
  auto l = r.read("/etc/loop1");
  ASSERT_FALSE(l.has_value());
  EXPECT_NE(l.error().message.find("loop1"), std::string::npos) << l.error().message;
  EXPECT_EQ(r.read("/srv/etc-link/real").value_or("?"), "inside");
  auto names = r.list("/srv/etc-link");
  EXPECT_NE(std::find(names.begin(), names.end(), "/srv/etc-link/real"), names.end());
  EXPECT_TRUE(r.is_dir("/srv/etc-link"));
  auto st = r.stat("/srv/etc-link", /*follow_last=*/false);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(S_ISLNK(st->st_mode));
  EXPECT_EQ(r.readlink("/srv/etc-link").value_or("?"), "/etc");
}

// A FIFO or device planted where a file is expected is never opened (not even with O_NONBLOCK:
// opening /dev/watchdog arms the watchdog). inotify reports every open(), and none of O_PATH.
TEST_P(RootTree, NeverOpensAFifoOrADevice) {
  ASSERT_EQ(::mkfifo((img_ / "srv/www/composer.lock").c_str(), 0600), 0);
  std::vector<std::string> nodes = {"/srv/www/composer.lock"};
  if (::geteuid() == 0) {  // a character device (1,3 is /dev/null) where the image has a file
    ASSERT_EQ(::mknod((img_ / "etc/shadow").c_str(), S_IFCHR | 0600, makedev(1, 3)), 0);
    nodes.push_back("/etc/shadow");
  }
  link("/srv/www/composer.lock", "srv/www/package-lock.json");
  int in = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(in, 0);
  for (const auto& n : nodes)
    ASSERT_GE(::inotify_add_watch(in, (img_.string() + n).c_str(), IN_OPEN), 0);
  Root r(img_);
  size_t tried = 0;
  for (const auto& n : nodes) {
    auto t = r.read(n);
    ASSERT_FALSE(t.has_value());
    EXPECT_NE(t.error().message.find("not a regular file"), std::string::npos) << t.error().message;
    EXPECT_FALSE(r.read_gzip(n).has_value());
    ++tried;
  }
  EXPECT_FALSE(r.read("/srv/www/package-lock.json").has_value());
  EXPECT_EQ(tried, nodes.size());
  char buf[4096];
  ssize_t got = ::read(in, buf, sizeof buf);
  ::close(in);
  EXPECT_LT(got, 0) << "a FIFO or device node was opened";
}

TEST_P(RootTree, RefusingLinksAndCanonicalPaths) {
  link("/etc", "srv/etc-link");
  link("/etc/real", "srv/www/file-link");
  Root r(img_);
  EXPECT_EQ(r.read("/srv/etc-link/real").value_or("?"), "inside");
  auto a = r.read("/srv/etc-link/real", 1 << 20, Root::Links::kRefuse);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, ErrorCode::kPermissionDenied) << a.error().message;
  EXPECT_FALSE(r.read("/srv/www/file-link", 1 << 20, Root::Links::kRefuse).has_value());
  EXPECT_EQ(r.read("/etc/real", 1 << 20, Root::Links::kRefuse).value_or("?"), "inside");
  EXPECT_EQ(r.canonical("/srv/etc-link").value_or("?"), "/etc");
  EXPECT_EQ(r.canonical("/srv/www/file-link").value_or("?"), "/etc/real");
  EXPECT_EQ(r.canonical("/").value_or("?"), "/");
}

TEST_P(RootTree, WalkStaysBelowTopAndReportsLinksWithoutFollowing) {
  std::filesystem::create_directories(img_ / "srv/www/a/b");
  std::ofstream(img_ / "srv/www/a/b/f") << "x";
  link("/etc", "srv/www/a/etc");
  link(dir_.string(), "srv/www/a/host");
  Root r(img_);
  std::vector<std::string> seen;
  auto st = r.walk("/srv/www", [&](const Root::WalkEntry& e) {
    seen.push_back(e.path + (e.type == DT_LNK ? "@" : e.type == DT_DIR ? "/" : ""));
    return Root::Walk::kContinue;
  });
  ASSERT_TRUE(st.has_value());
  std::vector<std::string> want = {"/srv/www/a/", "/srv/www/a/b/", "/srv/www/a/b/f",
                                   "/srv/www/a/etc@", "/srv/www/a/host@"};
  EXPECT_EQ(seen, want);
}

INSTANTIATE_TEST_SUITE_P(Resolve, RootTree, ::testing::Values(false, true),
                         [](const auto& i) { return i.param ? "PortableWalk" : "Openat2"; });

// What is verified is what is then read: a sealed copy, whatever happens to the file.
TEST(Fs, SnapshotIsSealedAndIndependentOfTheFile) {
  auto dir = std::filesystem::temp_directory_path() / ("mamori-snap-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "b") << "signed content";
  auto s = snapshot_file(dir / "b");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  std::ofstream(dir / "b", std::ios::trunc) << "doctored";  // in place
  std::filesystem::rename(dir / "b", dir / "old");          // or swapped
  std::ofstream(dir / "b") << "doctored too";
  EXPECT_EQ(read_file(s->path).value_or("?"), "signed content");
  int w = ::open(s->path.c_str(), O_WRONLY);  // sealed: not even its owner can change it
  if (w >= 0) {
    EXPECT_LT(::write(w, "x", 1), 0);
    ::close(w);
  }
  EXPECT_EQ(read_file(s->path).value_or("?"), "signed content");
  EXPECT_FALSE(snapshot_file(dir).has_value());  // a directory is not a file to snapshot
  std::filesystem::remove_all(dir);
}

TEST(Fs, ProcfsFilesAreReadToTheirEnd) {
  // procfs says size 0: a reader sized by fstat saw nothing (no listening socket on the host)
  Root host("/");
  auto t = host.read("/proc/self/status", 1 << 20);
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_NE(t->find("Pid:"), std::string::npos);
  auto net = host.read("/proc/net/tcp", 64 << 20);
  ASSERT_TRUE(net.has_value());
  EXPECT_TRUE(net->starts_with("  sl")) << *net;
  EXPECT_FALSE(host.read("/proc/self/status", 8).has_value());  // the limit still holds
}

TEST(Fs, WritesArePrivateAndTemporaryNamesUnpredictable) {
  auto dir = std::filesystem::temp_directory_path() / ("mamori-w-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ::umask(022);
  auto p = dir / "store.txt";
  ASSERT_TRUE(write_file_atomic(p, "one").has_value());
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::chmod(p.c_str(), 0640);  // an operator's choice for an existing file is kept
  ASSERT_TRUE(write_file_atomic(p, "two").has_value());
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // a link planted at the old predictable name (".tmp.PID") is not written through
  std::filesystem::create_symlink(dir / "victim",
                                  dir / ("store.txt.tmp." + std::to_string(::getpid())));
  ASSERT_TRUE(write_file_atomic(p, "three").has_value());
  EXPECT_FALSE(std::filesystem::exists(dir / "victim"));
  EXPECT_EQ(*read_file(p), "three");
  EXPECT_NE(temp_path_for(p), temp_path_for(p));
  // the state directory: 0700 whoever made it 0755
  auto state = dir / "state";
  std::filesystem::create_directories(state);
  ::chmod(state.c_str(), 0755);
  ASSERT_TRUE(ensure_private_dir(state).has_value());
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(ensure_private_dir(dir / "new/deeper").has_value());
  ASSERT_EQ(::stat((dir / "new/deeper").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::filesystem::create_symlink(dir / "new", dir / "linked");
  EXPECT_FALSE(ensure_private_dir(dir / "linked").has_value());
  if (::geteuid() == 0) {  // a directory someone else owns is refused, never used or chmod'ed
    auto other = dir / "other";
    std::filesystem::create_directories(other);
    ASSERT_EQ(::chown(other.c_str(), 65534, 65534), 0);
    ::chmod(other.c_str(), 0777);
    auto r = ensure_private_dir(other);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
    ASSERT_EQ(::stat(other.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0777u);
  }
  std::ofstream(dir / "key") << "k";
  ::chmod((dir / "key").c_str(), 0644);
  ASSERT_TRUE(ensure_private_file(dir / "key").has_value());
  ASSERT_EQ(::stat((dir / "key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mamori
