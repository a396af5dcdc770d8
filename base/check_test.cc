#include "base/check.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"

namespace kvlog::base {
namespace {

TEST(CheckTest, PassingChecksDoNothingAndDoNotBuildTheirMessage) {
  int built = 0;
  auto message = [&] {
    ++built;
    return "unused";
  };
  KVLOG_CHECK(1 + 1 == 2) << message();
  KVLOG_CHECK_EQ(2, 2) << message();
  KVLOG_CHECK_LE(1, 2) << message();
  KVLOG_CHECK_LT(std::chrono::nanoseconds(1), std::chrono::nanoseconds(2)) << message();
  EXPECT_EQ(built, 0);
}

TEST(CheckTest, EvaluatesEachOperandOnce) {
  int calls = 0;
  auto next = [&] { return ++calls; };
  KVLOG_CHECK_GE(next(), 1);
  KVLOG_CHECK(next() == 2);
  EXPECT_EQ(calls, 2);
}

TEST(CheckTest, BindsAnElseToTheCallersIf) {
  bool else_ran = false;
  if (false)
    KVLOG_CHECK(false) << "never";
  else
    else_ran = true;
  EXPECT_TRUE(else_ran);
}

TEST(CheckTest, ContextsNestAndUnwind) {
  EXPECT_EQ(CheckContextForTesting(), "");
  {
    ScopedCheckContext outer("seed 7");
    {
      ScopedCheckContext inner("replay: kvsim --seed 7");
      EXPECT_EQ(CheckContextForTesting(), "seed 7\nreplay: kvsim --seed 7\n");
    }
    EXPECT_EQ(CheckContextForTesting(), "seed 7\n");
  }
  EXPECT_EQ(CheckContextForTesting(), "");
}

using CheckDeathTest = ::testing::Test;

TEST_F(CheckDeathTest, FailingCheckPrintsWhereWhatAndWhyThenAborts) {
  const int applied = 5;
  EXPECT_DEATH(KVLOG_CHECK(applied < 3) << "applied position " << applied,
               "check_test.cc:[0-9]+: check failed: applied < 3: applied position 5");
}

TEST_F(CheckDeathTest, FailingComparisonPrintsBothValues) {
  const long next = 9, position = 12;
  EXPECT_DEATH(KVLOG_CHECK_GE(next, position) << "went back", "check failed: next >= position \\(9 vs 12\\): went back");
  using namespace std::chrono_literals;
  EXPECT_DEATH(KVLOG_CHECK_LE(5ms, 2ms), "5ms <= 2ms \\(5000000 ns vs 2000000 ns\\)");
}

TEST_F(CheckDeathTest, FailingCheckPrintsTheRegisteredReplayCommand) {
  EXPECT_DEATH(
      {
        ScopedCheckContext replay("simulation seed 42: replay with kvsim --seed 42");
        KVLOG_CHECK(false) << "boom";
      },
      "check failed: false: boom\nsimulation seed 42: replay with kvsim --seed 42");
}

TEST_F(CheckDeathTest, ContextOfAnotherScopeIsNotPrinted) {
  { ScopedCheckContext gone("stale context"); }
  EXPECT_DEATH(KVLOG_CHECK(false), "check failed: false\n$");
}

}  // namespace
}  // namespace kvlog::base
