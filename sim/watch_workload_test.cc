// The watch workload on the simulator, judged by the watch check: the
// correct client passes (with watchers falling behind and resuming), the
// consumer that drops events under load is caught, and a run is
// reproducible from its seed.
#include "sim/watch_workload.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "checker/watch.h"

namespace kvlog::sim {
namespace {

std::string Explain(const checker::CheckReport& r) {
  std::string out = r.summary;
  for (std::size_t i = 0; i < r.violations.size() && i < 5; ++i) out += "\n  " + r.violations[i].kind + ": " + r.violations[i].message;
  return out;
}

TEST(WatchWorkload, TheCorrectClientPassesTheWatchCheckWhileWatchersFallBehindAndResume) {
  int64_t fell_behind = 0, resumed = 0, progress = 0;
  for (uint64_t seed : {1, 2, 3}) {
    WatchWorkloadOptions options;
    options.seed = seed;
    WatchRun run = RunWatchWorkload(options);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    EXPECT_TRUE(run.errors.empty()) << run.errors.front();
    checker::CheckReport report = checker::CheckWatches(run.history);
    EXPECT_EQ(report.verdict, checker::Verdict::kValid) << "seed " << seed << ": " << Explain(report);
    EXPECT_GT(run.change_events, 100) << "seed " << seed;
    EXPECT_GT(run.history.log.size(), 200u);
    fmt::print("seed {}: {}; {} fell behind, {} progress\n", seed, report.summary, run.fell_behind, run.progress);
    fell_behind += run.fell_behind;
    resumed += run.resumed;
    progress += run.progress;
  }
  // The run exercised what the check judges.
  EXPECT_GT(fell_behind, 0);
  EXPECT_EQ(resumed, fell_behind);
  EXPECT_GT(progress, 0);
}

TEST(WatchWorkload, AConsumerThatDropsEventsUnderLoadIsCaught) {
  for (uint64_t seed : {1, 2}) {
    WatchWorkloadOptions options;
    options.seed = seed;
    options.variant = "watch-drop";
    WatchRun run = RunWatchWorkload(options);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
    ASSERT_GT(run.dropped, 0);
    checker::CheckReport report = checker::CheckWatches(run.history);
    EXPECT_EQ(report.verdict, checker::Verdict::kInvalid) << "seed " << seed << ": " << report.summary;
    fmt::print("watch-drop seed {}: {} dropped; {}\n", seed, run.dropped, report.summary);
    bool skip = false;
    for (const auto& v : report.violations) skip |= v.kind == "skipped" || v.kind == "early-progress";
    EXPECT_TRUE(skip) << Explain(report);
  }
}

TEST(WatchWorkload, TheSameSeedGivesTheSameHistoryBytes) {
  WatchWorkloadOptions options;
  options.seed = 9;
  options.ops_per_writer = 60;
  const std::string a = checker::WatchToJsonl(RunWatchWorkload(options).history);
  const std::string b = checker::WatchToJsonl(RunWatchWorkload(options).history);
  EXPECT_EQ(a, b);
  options.seed = 10;
  EXPECT_NE(a, checker::WatchToJsonl(RunWatchWorkload(options).history));
}

TEST(WatchWorkload, AnUnknownVariantIsAnErrorNamingTheKnownOnes) {
  WatchWorkloadOptions options;
  options.variant = "nope";
  WatchRun run = RunWatchWorkload(options);
  ASSERT_EQ(run.errors.size(), 1u);
  EXPECT_NE(run.errors[0].find("known: correct, watch-drop"), std::string::npos);
}

}  // namespace
}  // namespace kvlog::sim
