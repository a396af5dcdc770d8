// Sweeps: the first failing seed's run is kept (not the last seed's), and a
// stop request ends the sweep between seeds with the figures so far.
#include "sim/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>

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

namespace kvlog::sim {
namespace {

// Per seed, what a sweep found, but the wall time.
std::map<uint64_t, std::string> BySeed(const std::vector<SeedSummary>& lines) {
  std::map<uint64_t, std::string> out;
  for (SeedSummary s : lines) {
    s.wall_seconds = 0;
    out[s.seed] = SeedSummaryToJson(s);
  }
  return out;
}

TEST(ParallelSweepTest, TwoJobsGiveTheSameResultsPerSeedAsOne) {
  Scenario base = EarlyAck();
  base.swarm = std::vector<std::string>{"latency", "outage", "client-partition", "crash"};
  std::vector<SeedSummary> serial, parallel;
  SweepOptions one{.jobs = 1, .on_seed = [&](const SeedSummary& s) { serial.push_back(s); }, .digest_histories = true};
  SweepOptions two{.jobs = 2, .on_seed = [&](const SeedSummary& s) { parallel.push_back(s); }, .digest_histories = true};
  SweepResult a = Sweep(base, 1, 12, one);
  SweepResult b = Sweep(base, 1, 12, two);
  ASSERT_EQ(serial.size(), 12u);
  ASSERT_EQ(parallel.size(), 12u);
  EXPECT_EQ(BySeed(serial), BySeed(parallel));
  EXPECT_NE(serial.front().history_digest, 0u);
  ASSERT_FALSE(a.failing_seeds.empty());
  EXPECT_EQ(a.failing_seeds, b.failing_seeds);
  EXPECT_TRUE(std::is_sorted(b.failing_seeds.begin(), b.failing_seeds.end()));
  EXPECT_EQ(a.operations, b.operations);
  EXPECT_EQ(a.last_seed, 12u);
  EXPECT_EQ(b.last_seed, 12u);
  ASSERT_TRUE(b.first_failing_run.has_value());
  EXPECT_EQ(checker::WriteJsonl(a.first_failing_run->history), checker::WriteJsonl(b.first_failing_run->history));
  EXPECT_EQ(checker::WriteJsonl(a.last_run.history), checker::WriteJsonl(b.last_run.history));
  EXPECT_EQ(b.jobs, 2);
}

TEST(ParallelSweepTest, ShardsPartitionTheRange) {
  Scenario base;
  base.workload.ops_per_client = 10;
  std::vector<uint64_t> all;
  for (int shard = 1; shard <= 3; ++shard) {
    std::vector<uint64_t> mine;
    SweepOptions o{.jobs = 2, .shard = shard, .shards = 3, .on_seed = [&](const SeedSummary& s) { mine.push_back(s.seed); }};
    SweepResult r = Sweep(base, 5, 15, o);
    EXPECT_EQ(r.runs, mine.size());
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> expected;
  for (uint64_t s = 5; s <= 15; ++s) expected.push_back(s);
  EXPECT_EQ(all, expected);  // Every seed once, none twice.
}

TEST(ParallelSweepTest, SummaryLinesRoundTripAndBadLinesAreRefusedByName) {
  SeedSummary s{.seed = 7, .passed = false, .verdict = "invalid", .outcome = "completed", .operations = 120,
                .virtual_seconds = 1.5, .wall_seconds = 0.25, .faults = {"latency"}, .parameters = {"client.max_batch=3"},
                .violations = {"lost-write"}, .replay = "kvsim --seed 7", .history_digest = 99};
  auto back = ParseSeedSummary(SeedSummaryToJson(s));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(SeedSummaryToJson(*back), SeedSummaryToJson(s));
  auto bad = ParseSeedSummary("{\"passed\": true}");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("\"seed\""), std::string::npos);
  EXPECT_FALSE(ParseSeedSummary("not json").has_value());
  EXPECT_FALSE(ParseSeedSummary("{\"seed\": 1, \"passed\": true, \"faults\": 3}").has_value());
}

}  // namespace
}  // namespace kvlog::sim
