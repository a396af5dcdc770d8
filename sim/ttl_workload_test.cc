// The TTL workload under the clock-skew fault: the correct client passes the
// convergence and expiry checks on every seed; a replica that decides expiry
// with its own clock when it applies records is caught.
#include "sim/ttl_workload.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checker/jsonl.h"

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;

std::string Reports(const std::vector<checker::CheckReport>& reports) {
  std::string out;
  for (const auto& r : reports) {
    out += r.checker + ": " + checker::VerdictName(r.verdict) + " " + r.summary + "\n";
    for (const auto& v : r.violations) out += "  " + v.kind + ": " + v.message + "\n";
  }
  return out;
}

bool AllValid(const std::vector<checker::CheckReport>& reports) {
  return std::all_of(reports.begin(), reports.end(),
                     [](const checker::CheckReport& r) { return r.verdict == checker::Verdict::kValid; });
}

TEST(ClockSkewTest, SkewsComeFromTheSeedWithinTheirLimitsAndTheBoundCoversThem) {
  auto a = DrawClockSkews(7, 5, 10ms, 500);
  EXPECT_EQ(a, DrawClockSkews(7, 5, 10ms, 500));
  EXPECT_NE(a, DrawClockSkews(8, 5, 10ms, 500));
  for (const ClockSkew& s : a) {
    EXPECT_LE(std::abs(s.offset.count()), std::chrono::nanoseconds(10ms).count());
    EXPECT_LE(std::abs(s.drift_ppm), 500);
  }
  EXPECT_EQ(DrawClockSkews(7, 3, 0ms, 0), std::vector<ClockSkew>(3));
  // offset 2 ms, drift +1000 ppm: 2 ms + 1 ms after 1 s; -3 ms at start wins.
  std::vector<ClockSkew> fixed = {{2ms, 1000}, {-3ms, 0}};
  EXPECT_EQ(SkewBound(fixed, 1s), 3ms);
  EXPECT_EQ(SkewBound(fixed, 2s), 4ms);

  SimRuntime rt(1);
  rt.Run([&] {
    SkewedRuntime skewed(rt, ClockSkew{5ms, 1000});
    rt.SleepFor(2s);
    // 2 s of virtual time, +5 ms offset, +2 ms drift; steady time unskewed.
    EXPECT_EQ(skewed.WallNow().time_since_epoch(), 2s + 5ms + 2ms);
    EXPECT_EQ(skewed.Now(), rt.Now());
  });
}

TEST(TtlWorkloadTest, TheCorrectClientPassesUnderClockSkewOnEverySeedAndExercisesExpiry) {
  int64_t deadlines = 0, tombstones = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    TtlScenario s;
    s.seed = seed;
    TtlRun run = RunTtlScenario(s);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    ASSERT_TRUE(run.errors.empty()) << "seed " << seed << ": " << run.errors.front();
    EXPECT_GT(run.skew_bound_ns, 0);
    auto reports = JudgeTtl(run);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_TRUE(AllValid(reports)) << "seed " << seed << "\n" << Reports(reports);
    EXPECT_EQ(run.history.finals.size(), 3u);
    for (const auto& r : run.history.log) {
      deadlines += r.deadline.has_value();
      tombstones += r.f == "cas" && !r.value;  // The janitors' conditional tombstones.
    }
  }
  EXPECT_GT(deadlines, 50);
  EXPECT_GT(tombstones, 20);
}

TEST(TtlWorkloadTest, TheSameSeedGivesTheSameHistory) {
  TtlScenario s;
  s.seed = 11;
  s.ops_per_client = 30;
  TtlRun a = RunTtlScenario(s), b = RunTtlScenario(s);
  ASSERT_EQ(a.history.events.size(), b.history.events.size());
  for (std::size_t i = 0; i < a.history.events.size(); ++i) {
    ASSERT_EQ(checker::EventToJsonl(a.history.events[i]), checker::EventToJsonl(b.history.events[i])) << i;
  }
  EXPECT_EQ(a.history.log.size(), b.history.log.size());
  EXPECT_EQ(checker::JsonlTail(a.history), checker::JsonlTail(b.history));
}

TEST(TtlWorkloadTest, AReplicaThatDecidesExpiryWithItsOwnClockAtApplyTimeIsCaught) {
  int caught = 0;
  std::string first;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    TtlScenario s;
    s.seed = seed;
    s.variant = "apply-time-expiry";
    TtlRun run = RunTtlScenario(s);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
    auto reports = JudgeTtl(run);
    if (!AllValid(reports)) {
      ++caught;
      if (first.empty()) first = Reports(reports);
    }
  }
  EXPECT_GE(caught, 5) << first;
  EXPECT_THAT(first, ::testing::AnyOf(::testing::HasSubstr("wrong-value"), ::testing::HasSubstr("digest-mismatch"),
                                      ::testing::HasSubstr("divergence")));
}

TEST(TtlWorkloadTest, AClockFurtherOffThanTheBoundShowsExpiredValuesAndIsCaught) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    TtlScenario s;
    s.seed = seed;
    s.variant = "clock-beyond-bound";
    TtlRun run = RunTtlScenario(s);
    auto reports = JudgeTtl(run);
    caught += Reports(reports).find("expired-read") != std::string::npos;
  }
  EXPECT_GE(caught, 3);
}

TEST(TtlWorkloadTest, AnUnknownVariantOrBadOptionsAreRefused) {
  TtlScenario s;
  s.variant = "nope";
  EXPECT_THAT(RunTtlScenario(s).errors.at(0), ::testing::HasSubstr("unknown TTL variant 'nope'"));
  s.variant = "correct";
  s.min_ttl = 0ms;
  EXPECT_THAT(RunTtlScenario(s).errors.at(0), ::testing::HasSubstr("min_ttl"));
}

}  // namespace
}  // namespace kvlog::sim
