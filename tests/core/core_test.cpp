#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

TEST(Fs, RootMapsPathsBothWays) {
  Root r("/mnt/img");
  EXPECT_EQ(r.path("/etc/os-release"), std::filesystem::path("/mnt/img/etc/os-release"));
  EXPECT_EQ(r.display("/mnt/img/var/www"), "/var/www");
  Root host("/");
  EXPECT_EQ(host.path("/etc/os-release"), std::filesystem::path("/etc/os-release"));
  EXPECT_EQ(host.display("/var/www"), "/var/www");
}

}  // namespace
}  // namespace mamori
