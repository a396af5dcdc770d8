// Sweeps: the first failing seed's run is kept (not the last seed's), and a
// stop request ends the sweep between seeds with the figures so far.
#include "sim/sweep.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "checker/jsonl.h"

namespace kvlog::sim {
namespace {

Scenario EarlyAck() {
  Scenario s;
  s.workload.ops_per_client = 40;
  s.variant = "early-ack";  // A broken client: some seeds fail, not all.
  return s;
}

TEST(SweepTest, KeepsTheFirstFailingSeedsRun) {
  SweepResult result = Sweep(EarlyAck(), 1, 12);
  ASSERT_EQ(result.runs, 12u);
  ASSERT_FALSE(result.failing_seeds.empty()) << "early-ack failed no seed of 12";
  ASSERT_TRUE(result.first_failing_run.has_value());
  ASSERT_TRUE(result.first_failure.has_value());
  const uint64_t first_failing = result.failing_seeds.front();

  Scenario replay = EarlyAck();
  replay.seed = first_failing;
  const std::string expected = checker::WriteJsonl(RunScenario(replay).history);
  EXPECT_EQ(checker::WriteJsonl(result.first_failing_run->history), expected)
      << "first_failing_run is not seed " << first_failing << "'s run";

  replay.seed = 12;
  EXPECT_EQ(checker::WriteJsonl(result.last_run.history), checker::WriteJsonl(RunScenario(replay).history));
  EXPECT_EQ(result.last_seed, 12u);
  EXPECT_FALSE(result.stopped);
}

TEST(SweepTest, NoFailingRunWhenEverySeedPasses) {
  Scenario s;
  s.workload.ops_per_client = 30;
  SweepResult result = Sweep(s, 1, 3);
  EXPECT_TRUE(result.failing_seeds.empty());
  EXPECT_FALSE(result.first_failing_run.has_value());
  EXPECT_FALSE(result.first_failure.has_value());
}

TEST(SweepTest, StopEndsTheSweepBetweenSeeds) {
  Scenario s;
  s.workload.ops_per_client = 30;
  int asked = 0;
  std::vector<uint64_t> progress;
  SweepResult result = Sweep(
      s, 5, 100, [&](uint64_t done, uint64_t, std::size_t) { progress.push_back(done); },
      [&] { return ++asked >= 3; });
  EXPECT_TRUE(result.stopped);
  EXPECT_EQ(result.runs, 3u);  // Seeds 5, 6, 7; asked before 6, 7 and 8.
  EXPECT_EQ(result.last_seed, 7u);
  EXPECT_EQ(progress, (std::vector<uint64_t>{1, 2, 3}));
}

// The sweep judges each run once and keeps the last one's report, so kvsim
// does not judge a one-seed run again (a streamed history would be read back
// from its file a second time).
TEST(SweepTest, KeepsTheLastSeedsReport) {
  const std::string path = ::testing::TempDir() + "/sweep_last_report.jsonl";
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    Scenario s = EarlyAck();
    s.stream_history_to = path;
    SweepResult result = Sweep(s, seed, seed);
    ASSERT_EQ(result.runs, 1u);
    ASSERT_EQ(result.last_run.history_file, path);
    const checker::FullReport again = Judge(result.last_run);  // Reads the file back.
    std::remove(path.c_str());
    ASSERT_EQ(result.last_report.reports.size(), again.reports.size());
    for (std::size_t i = 0; i < again.reports.size(); ++i) {
      EXPECT_EQ(result.last_report.reports[i].checker, again.reports[i].checker);
      EXPECT_EQ(result.last_report.reports[i].verdict, again.reports[i].verdict);
      EXPECT_EQ(result.last_report.reports[i].violations.size(), again.reports[i].violations.size());
    }
    EXPECT_EQ(result.failing_seeds.empty(), Passed(result.last_run, result.last_report));
    if (!result.failing_seeds.empty()) {
      // Kept twice when the last seed is also the first failing one.
      ASSERT_TRUE(result.first_failure.has_value());
      EXPECT_EQ(result.first_failure->Overall(), result.last_report.Overall());
      return;
    }
  }
  FAIL() << "early-ack failed no seed of 12";
}

}  // namespace
}  // namespace kvlog::sim
