// Version comparators: hand-picked boundary cases, then >= 100,000 generated pairs per
// scheme against the ecosystems' own implementations as oracles:
//   dpkg  libapt-pkg debVS.CmpVersion (linked here, test-only) and dpkg --compare-versions
//   rpm   librpm rpmverCmp / rpmvercmp (linked here, test-only)
//   PEP 440 / SemVer / Composer / PHP: pair files written by tests/vuln/oracles/generate.sh
//   with Python's packaging, npm's semver and composer/semver + PHP (ctest fixture).
#include "vuln/version.h"

#include <apt-pkg/debversion.h>
#include <gtest/gtest.h>
#include <rpm/rpmver.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

namespace mamori::vuln {
namespace {

int sgn(int v) { return (v > 0) - (v < 0); }

// ---------------------------------------------------------------- boundary cases

TEST(Dpkg, Deb_version7Semantics) {
  EXPECT_LT(dpkg_compare("1.0~rc1", "1.0"), 0);  // '~' sorts before the end
  EXPECT_LT(dpkg_compare("1.0~~", "1.0~"), 0);
  EXPECT_LT(dpkg_compare("1.0", "1.0a"), 0);   // the end before letters
  EXPECT_LT(dpkg_compare("1.0a", "1.0+"), 0);  // letters before non-letters
  EXPECT_LT(dpkg_compare("2.0", "1:1.0"), 0);  // the epoch wins
  EXPECT_EQ(dpkg_compare("0:1.0", "1.0"), 0);
  EXPECT_EQ(dpkg_compare("1.0", "1.0-0"), 0);  // no revision is like -0
  EXPECT_EQ(dpkg_compare("1.01", "1.1"), 0);   // digits numerically
  EXPECT_LT(dpkg_compare("1.9", "1.10"), 0);
  EXPECT_LT(dpkg_compare("1:2.66-4+deb12u2", "1:2.66-4+deb12u3"), 0);
  EXPECT_LT(dpkg_compare("2.36-9+deb12u3", "2.36-9+deb12u10"), 0);
  EXPECT_LT(dpkg_compare("7.88.1-10+deb12u4", "7.88.1-10+deb12u14"), 0);
  EXPECT_LT(dpkg_compare("1.2.4-0.2", "1.2.4-0.2+deb12u1"), 0);
  EXPECT_LT(dpkg_compare("1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3"), 0);
  EXPECT_LT(dpkg_compare("3.0.11-1~deb12u2", "3.0.11-1"), 0);         // backport before the release
  EXPECT_GT(dpkg_compare("2.66-4+deb12u2+b2", "2.66-4+deb12u2"), 0);  // binNMU is newer
}

TEST(Rpm, RpmvercmpSemantics) {
  EXPECT_LT(rpm_compare("1.0~rc1-1", "1.0-1"), 0);
  EXPECT_GT(rpm_compare("1.0^git1-1", "1.0-1"), 0);  // caret: after the base version
  EXPECT_LT(rpm_compare("1.0^git1-1", "1.0.1-1"), 0);
  EXPECT_LT(rpm_compare("9:20200406-26.el9_2", "9:20200406-26.el9_10"), 0);  // el9_2 < el9_10
  EXPECT_GT(rpm_compare("1:7.1.8.1-15.el9_8.1.alma.1", "7.9-1.el9"), 0);     // epoch
  EXPECT_GT(rpm_compare("1.0-1", "1.0"), 0);  // as rpmverCmp: a release beats none
  EXPECT_GT(rpm_compare("1.0a", "1.0"), 0);
  EXPECT_GT(rpm_compare("1.0.1", "1.0a"), 0);   // numeric segment beats alpha
  EXPECT_EQ(rpm_compare("1.0.0", "1.0_0"), 0);  // separators are only separators
  EXPECT_EQ(rpm_compare("0:1.0-1", "1.0-1"), 0);
}

TEST(Semver, PrecedenceOfSemver2) {
  const char* order[] = {"1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                         "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0"};
  for (size_t i = 0; i + 1 < std::size(order); ++i)
    EXPECT_LT(*semver_compare(order[i], order[i + 1]), 0) << order[i];
  EXPECT_EQ(*semver_compare("v1.2.3", "1.2.3+build.5"), 0);  // Go's v prefix, build ignored
  EXPECT_FALSE(semver_compare("1.2", "1.2.0").has_value());
  EXPECT_FALSE(semver_compare("01.2.3", "1.2.3").has_value());
  EXPECT_FALSE(semver_compare("1.2.3-01", "1.2.3").has_value());
}

TEST(Pep440, PackagingOrder) {
  const char* order[] = {"1.0.dev456",    "1.0a1",         "1.0a2.dev456", "1.0a12.dev456",
                         "1.0a12",        "1.0b1.dev456",  "1.0b2",        "1.0b2.post345.dev456",
                         "1.0b2.post345", "1.0rc1.dev456", "1.0rc1",       "1.0",
                         "1.0+abc.5",     "1.0+abc.7",     "1.0+5",        "1.0.post456.dev34",
                         "1.0.post456",   "1.1.dev1"};
  for (size_t i = 0; i + 1 < std::size(order); ++i)
    EXPECT_LT(*pep440_compare(order[i], order[i + 1]), 0) << order[i] << " < " << order[i + 1];
  EXPECT_EQ(*pep440_compare("1.0", "1.0.0"), 0);
  EXPECT_EQ(*pep440_compare("1.0-1", "1.0.post1"), 0);
  EXPECT_EQ(*pep440_compare("1.0ALPHA1", "1.0a1"), 0);
  EXPECT_EQ(*pep440_compare("1!1.0", "1!1.0.0"), 0);
  EXPECT_GT(*pep440_compare("1!0.1", "2.0"), 0);
  EXPECT_FALSE(pep440_compare("1.0-foo", "1.0").has_value());
  EXPECT_FALSE(pep440_compare("latest", "1.0").has_value());
}

TEST(Composer, NormalisesLikeComposer) {
  EXPECT_EQ(*composer_normalize("v1.2"), "1.2.0.0");
  EXPECT_EQ(*composer_normalize("1.0-b2"), "1.0.0.0-beta2");
  EXPECT_EQ(*composer_normalize("2.0.0-RC.1"), "2.0.0.0-RC1");
  EXPECT_EQ(*composer_normalize("1.2.3-p1"), "1.2.3.0-patch1");
  EXPECT_EQ(*composer_normalize("1.2.3-stable"), "1.2.3.0");
  EXPECT_FALSE(composer_normalize("1.0.x-dev").has_value());
  EXPECT_FALSE(composer_normalize("dev-master").has_value());
  EXPECT_LT(*composer_compare("5.20.11", "5.20.12"), 0);
  EXPECT_LT(*composer_compare("1.3.0-beta1", "1.3.0"), 0);
  EXPECT_LT(*composer_compare("v2.3.4", "2.3.5"), 0);
}

TEST(Php, VersionCompareSpecialForms) {
  EXPECT_LT(php_version_compare("1.0-dev", "1.0a1"), 0);
  EXPECT_LT(php_version_compare("1.0rc1", "1.0"), 0);
  EXPECT_LT(php_version_compare("1.0", "1.0pl1"), 0);
  EXPECT_LT(php_version_compare("5.8", "5.8.1"), 0);
  EXPECT_EQ(php_version_compare("1.0", "1.0"), 0);
  // PHP's own quirk, followed exactly (found by fuzzing): a trailing '.' is not equal to itself.
  EXPECT_EQ(php_version_compare("2.", "2."), -1);
}

// ---------------------------------------------------------------- dpkg vs libapt-pkg

std::string gen_debian(std::mt19937_64& rng) {
  auto pick = [&](std::string_view s) { return s[rng() % s.size()]; };
  auto chunk = [&](std::string_view alphabet, int max) {
    std::string out;
    int n = 1 + static_cast<int>(rng() % static_cast<uint64_t>(max));
    for (int i = 0; i < n; ++i) out.push_back(pick(alphabet));
    return out;
  };
  std::string v;
  if (rng() % 10 < 3) v += std::to_string(rng() % 4) + (rng() % 5 == 0 ? "0" : "") + ":";
  v.push_back(pick("0123456789"));
  v += chunk("0123456789.........+~~abcxyzABZ", 10);
  if (rng() % 10 < 6) v += "-" + chunk("0123456789....+~~abdeb", 8);
  return v;
}

std::string mutate(std::mt19937_64& rng, std::string v, std::string_view alphabet) {
  switch (rng() % 5) {
    case 0:
      v.push_back(alphabet[rng() % alphabet.size()]);
      break;
    case 1:
      if (v.size() > 1) v[1 + rng() % (v.size() - 1)] = alphabet[rng() % alphabet.size()];
      break;
    case 2:
      v += "~";
      break;
    case 3:
      if (v.size() > 2) v.pop_back();
      break;
    default:
      v += alphabet[rng() % alphabet.size()];
      v += alphabet[rng() % alphabet.size()];
  }
  return v;
}

// deb-version(7) syntax: [digits:]upstream[-revision], upstream starting with a digit, made of
// alphanumerics and . + ~ (and '-' only with a revision, ':' only with an epoch), revision
// non-empty. apt and dpkg agree on these; outside them they differ (dpkg refuses them).
bool valid_debian(std::string_view v) {
  auto allowed = [](std::string_view s, std::string_view extra) {
    for (char c : s)
      if (!std::isalnum(static_cast<unsigned char>(c)) && extra.find(c) == std::string_view::npos)
        return false;
    return true;
  };
  size_t colon = v.find(':');
  bool has_epoch = colon != std::string_view::npos;
  if (has_epoch) {
    std::string_view e = v.substr(0, colon);
    if (e.empty() || !std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    v.remove_prefix(colon + 1);
  }
  size_t dash = v.rfind('-');
  std::string_view up = dash == std::string_view::npos ? v : v.substr(0, dash);
  if (dash != std::string_view::npos) {
    std::string_view rev = v.substr(dash + 1);
    if (rev.empty() || !allowed(rev, ".+~")) return false;
  }
  if (up.empty() || !std::isdigit(static_cast<unsigned char>(up[0]))) return false;
  std::string extra = ".+~";
  if (dash != std::string_view::npos) extra += '-';
  if (has_epoch) extra += ':';
  return allowed(up, extra);
}

TEST(DpkgOracle, AgreesWithLibaptOn200kPairs) {
  std::mt19937_64 rng(12);
  int mismatches = 0, compared = 0;
  while (compared < 200000) {
    std::string a = gen_debian(rng);
    std::string b = rng() % 2 ? mutate(rng, a, "0123456789.+~ab-") : gen_debian(rng);
    if (!valid_debian(a) || !valid_debian(b)) continue;
    ++compared;
    int want = sgn(debVS.CmpVersion(a, b));
    int got = sgn(dpkg_compare(a, b));
    if (want != got && ++mismatches <= 20)
      ADD_FAILURE() << "'" << a << "' vs '" << b << "': apt " << want << ", mamori " << got;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(DpkgOracle, AgreesWithDpkgCompareVersions) {
  // dpkg itself (a process per pair: a smaller sample, valid versions only).
  if (::system("command -v dpkg >/dev/null 2>&1") != 0) GTEST_SKIP() << "dpkg not installed";
  std::mt19937_64 rng(77);
  std::string script;
  std::vector<int> expect;
  while (expect.size() < 400) {
    std::string a = gen_debian(rng),
                b = rng() % 2 ? mutate(rng, a, "0123456789.+~ab") : gen_debian(rng);
    if (!valid_debian(a) || !valid_debian(b)) continue;
    script += "if dpkg --compare-versions '" + a + "' lt '" + b +
              "'; then echo -1; elif dpkg "
              "--compare-versions '" +
              a + "' eq '" + b + "'; then echo 0; else echo 1; fi\n";
    expect.push_back(sgn(dpkg_compare(a, b)));
  }
  FILE* p = ::popen(("sh -c \"$(cat <<'EOS'\n" + script + "EOS\n)\" 2>/dev/null").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[32];
  size_t k = 0;
  while (fgets(line, sizeof line, p) && k < expect.size()) {
    EXPECT_EQ(std::atoi(line), expect[k]) << "pair " << k;
    ++k;
  }
  ::pclose(p);
  EXPECT_EQ(k, expect.size());
}

// ---------------------------------------------------------------- rpm vs librpm

std::string gen_rpm(std::mt19937_64& rng) {
  static constexpr std::string_view kAlpha = "0123456789012345......__+~~^^abcelfgitrcALMA";
  std::string v;
  if (rng() % 10 < 3) v += std::to_string(rng() % 12) + ":";
  int n = 1 + static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) v.push_back(kAlpha[rng() % kAlpha.size()]);
  if (rng() % 10 < 7) {
    v.push_back('-');
    int m = 1 + static_cast<int>(rng() % 10);
    for (int i = 0; i < m; ++i) v.push_back(kAlpha[rng() % kAlpha.size()]);
  }
  return v;
}

TEST(RpmOracle, AgreesWithLibrpmOn200kPairs) {
  std::mt19937_64 rng(34);
  int mismatches = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string a = gen_rpm(rng);
    std::string b = rng() % 2 ? mutate(rng, a, "0123456789.~^aelz_") : gen_rpm(rng);
    rpmver va = rpmverParse(a.c_str()), vb = rpmverParse(b.c_str());
    int want = sgn(rpmverCmp(va, vb));
    rpmverFree(va);
    rpmverFree(vb);
    int got = sgn(rpm_compare(a, b));
    if (want != got && ++mismatches <= 20)
      ADD_FAILURE() << "'" << a << "' vs '" << b << "': librpm " << want << ", mamori " << got;
    // The segment comparator on its own.
    int w2 = sgn(::rpmvercmp(a.c_str(), b.c_str())), g2 = sgn(vuln::rpmvercmp(a, b));
    if (w2 != g2 && ++mismatches <= 20)
      ADD_FAILURE() << "rpmvercmp '" << a << "' vs '" << b << "': librpm " << w2 << ", mamori "
                    << g2;
  }
  EXPECT_EQ(mismatches, 0);
}

// ---------------------------------------------------------------- file oracles

struct Pair {
  std::string a, b;
  int want;
};

std::vector<Pair> load_pairs(const std::string& name) {
  std::vector<Pair> out;
  const char* dir = std::getenv("MAMORI_ORACLE_DIR");
  if (!dir) return out;
  std::ifstream in(std::string(dir) + "/" + name);
  std::string line;
  while (std::getline(in, line)) {
    size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos) continue;
    size_t t3 = line.find('\t', t2 + 1);
    out.push_back(
        {line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1),
         std::stoi(line.substr(t2 + 1, t3 == std::string::npos ? line.npos : t3 - t2 - 1))});
  }
  return out;
}

void check_file_oracle(const std::string& file, Scheme scheme) {
  auto pairs = load_pairs(file);
  if (!std::getenv("MAMORI_ORACLE_DIR"))
    GTEST_SKIP() << "MAMORI_ORACLE_DIR not set (run through ctest)";
  ASSERT_GE(pairs.size(), 100000u) << file;
  int mismatches = 0;
  for (const auto& p : pairs) {
    auto got = compare_versions(scheme, p.a, p.b);
    if ((!got || sgn(*got) != p.want) && ++mismatches <= 20)
      ADD_FAILURE() << scheme_name(scheme) << " '" << p.a << "' vs '" << p.b << "': oracle "
                    << p.want << ", mamori "
                    << (got ? std::to_string(sgn(*got)) : got.error().message);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Pep440Oracle, AgreesWithPythonPackaging) { check_file_oracle("pep440.tsv", Scheme::kPep440); }
TEST(SemverOracle, AgreesWithNpmSemver) { check_file_oracle("semver.tsv", Scheme::kSemver); }
TEST(ComposerOracle, AgreesWithComposerSemver) {
  check_file_oracle("composer.tsv", Scheme::kComposer);
}
TEST(PhpOracle, AgreesWithPhpVersionCompare) { check_file_oracle("php.tsv", Scheme::kPhp); }

TEST(ComposerOracle, NormalisationAgreesWithComposer) {
  const char* dir = std::getenv("MAMORI_ORACLE_DIR");
  if (!dir) GTEST_SKIP();
  std::ifstream in(std::string(dir) + "/composer.tsv");
  std::string line;
  int n = 0, bad = 0;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    size_t st = 0;
    for (;;) {
      size_t t = line.find('\t', st);
      f.push_back(line.substr(st, t == std::string::npos ? line.npos : t - st));
      if (t == std::string::npos) break;
      st = t + 1;
    }
    if (f.size() != 5) continue;
    ++n;
    auto na = composer_normalize(f[0]);
    if ((!na || *na != f[3]) && ++bad <= 20)
      ADD_FAILURE() << "'" << f[0] << "': composer " << f[3] << ", mamori "
                    << (na ? *na : na.error().message);
  }
  EXPECT_GE(n, 100000);
  EXPECT_EQ(bad, 0);
}

}  // namespace
}  // namespace mamori::vuln
