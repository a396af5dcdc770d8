// The TTL and watch workloads' histories written as JSONL and read back are
// judged as the runs were: kvcheck (CheckHistory on the file's text) passes
// the correct client's and still fails each broken variant's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checker/check.h"
#include "checker/jsonl.h"
#include "sim/ttl_workload.h"
#include "sim/watch_workload.h"

namespace kvlog::sim {
namespace {

// WriteJsonl, then what kvcheck does with the file.
checker::FullReport JudgeFromJsonl(const checker::History& history) {
  const std::string text = checker::WriteJsonl(history);
  auto read = checker::ParseJsonl(text, "h.jsonl");
  EXPECT_TRUE(read) << read.error().ToString();
  if (!read) return {};
  EXPECT_EQ(checker::WriteJsonl(*read), text);  // The round trip loses nothing.
  auto report = checker::CheckHistory(*read, checker::Format::kJsonl, checker::CheckOptions{});
  EXPECT_TRUE(report) << report.error().ToString();
  return report ? *report : checker::FullReport{};
}

std::string Kinds(const checker::FullReport& r) {
  std::string out;
  for (const auto& c : r.reports) {
    out += c.checker + "=" + checker::VerdictName(c.verdict) + ":";
    for (const auto& v : c.violations) out += " " + v.kind;
    out += "\n";
  }
  return out;
}

TEST(TtlJsonl, TheCorrectRunPassesFromItsFileWithTheExpiryCheck) {
  TtlScenario s;
  s.seed = 3;
  TtlRun run = RunTtlScenario(s);
  ASSERT_TRUE(run.errors.empty()) << run.errors.front();
  ASSERT_TRUE(run.history.expiry);
  EXPECT_EQ(run.history.expiry->skew_bound_ns, run.skew_bound_ns);
  checker::FullReport r = JudgeFromJsonl(run.history);
  EXPECT_EQ(r.Overall(), checker::Verdict::kValid) << Kinds(r);
  bool expiry = false;
  for (const auto& c : r.reports) expiry |= c.checker == "expiry" && c.verdict == checker::Verdict::kValid;
  EXPECT_TRUE(expiry) << Kinds(r);
}

TEST(TtlJsonl, EachBrokenTtlVariantStillFailsFromItsFile) {
  for (const std::string variant : {"apply-time-expiry", "clock-beyond-bound"}) {
    int caught = 0;
    std::string seen;
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      TtlScenario s;
      s.seed = seed;
      s.variant = variant;
      TtlRun run = RunTtlScenario(s);
      // The verdict straight from the run, then from its JSONL: the same.
      bool direct_invalid = false;
      for (const auto& c : JudgeTtl(run)) direct_invalid |= c.verdict == checker::Verdict::kInvalid;
      checker::FullReport r = JudgeFromJsonl(run.history);
      EXPECT_EQ(r.Overall() == checker::Verdict::kInvalid, direct_invalid) << variant << " seed " << seed << "\n"
                                                                          << Kinds(r);
      caught += r.Overall() == checker::Verdict::kInvalid;
      seen += Kinds(r);
    }
    EXPECT_GE(caught, 2) << variant << "\n" << seen;
  }
}

TEST(WatchJsonl, TheCorrectRunPassesAndTheDroppingConsumerFailsFromTheirFiles) {
  for (const std::string variant : {"correct", "watch-drop"}) {
    WatchWorkloadOptions options;
    options.seed = 2;
    options.variant = variant;
    WatchRun run = RunWatchWorkload(options);
    checker::History h;
    h.source = run.history.source;
    h.watch = run.history;
    checker::FullReport r = JudgeFromJsonl(h);
    ASSERT_EQ(r.reports.size(), 1u) << Kinds(r);
    EXPECT_EQ(r.reports[0].checker, "watch");
    EXPECT_EQ(r.reports[0].verdict, checker::CheckWatches(run.history).verdict);
    EXPECT_EQ(r.Overall(), variant == "correct" ? checker::Verdict::kValid : checker::Verdict::kInvalid)
        << variant << "\n" << Kinds(r);
  }
}

}  // namespace
}  // namespace kvlog::sim
