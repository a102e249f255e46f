// Test support: a fresh directory per test (removed afterwards), one with a store in it, and
// a writer for fixture files. Every suite that needs a scratch tree uses these, so a test's
// files never meet another test's, even when ctest runs them in parallel.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "store/store.h"

namespace mamori::testing_support {

// Writes `s` to `p`, creating the directories above it.
inline void write_file(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::trunc | std::ios::binary) << s;
}

// A directory named after the process and the running test, empty at SetUp.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(t->test_suite_name()) + "." + t->name();
    for (char& c : name)
      if (c == '/') c = '_';  // parameterised tests: "Suite/Param.Name/0"
    dir_ = std::filesystem::temp_directory_path() /
           ("mamori-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

// The same, with an SQLite store opened at dir_/m.db.
class TempStoreTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    auto st = store::Store::open((dir_ / "m.db").string());
    ASSERT_TRUE(st.has_value()) << st.error().message;
    store_ = std::move(*st);
  }
  std::unique_ptr<store::Store> store_;
};

}  // namespace mamori::testing_support
