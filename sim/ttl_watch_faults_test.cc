// The fault registry's safe faults on the ttl and watch workloads (on the
// simulator): a sweep of seeds with every one of them on stays valid, and the
// broken variants are still caught.
#include "sim/ttl_watch_faults.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checker/watch.h"
#include "sim/fault_registry.h"
#include "sim/ttl_workload.h"
#include "sim/watch_workload.h"

namespace kvlog::sim {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSeeds = 6;

std::string Explain(const std::vector<checker::CheckReport>& reports) {
  std::string out;
  for (const auto& r : reports) {
    out += r.checker + ": " + std::string(checker::VerdictName(r.verdict)) + " " + r.summary + "\n";
    for (std::size_t i = 0; i < r.violations.size() && i < 5; ++i) {
      out += "  " + r.violations[i].kind + ": " + r.violations[i].message + "\n";
    }
  }
  return out;
}

bool Valid(const std::vector<checker::CheckReport>& reports) {
  for (const auto& r : reports) {
    if (r.verdict == checker::Verdict::kInvalid) return false;
  }
  return true;
}

TtlScenario TtlWithFaults(uint64_t seed, std::string variant = "correct") {
  TtlScenario s;
  s.seed = seed;
  s.variant = std::move(variant);
  std::string why = ApplyTtlWatchFaults(SafeTtlWatchFaultNames(), s.broker, s.slot_faults, s.clients);
  EXPECT_EQ(why, "");
  return s;
}

WatchWorkloadOptions WatchWithFaults(uint64_t seed, std::string variant = "correct") {
  WatchWorkloadOptions w;
  w.seed = seed;
  w.variant = std::move(variant);
  std::string why = ApplyTtlWatchFaults(SafeTtlWatchFaultNames(), w.broker, w.slot_faults, w.writers + w.watchers);
  EXPECT_EQ(why, "");
  return w;
}

TEST(TtlWatchFaults, TheSafeFaultsSetTheSimulatedLogsKnobsPerSlot) {
  const auto names = SafeTtlWatchFaultNames();
  EXPECT_THAT(names, ::testing::Not(::testing::Contains("crash")));
  EXPECT_THAT(names, ::testing::Contains("outage"));
  log::sim::BrokerFaults broker;
  std::vector<log::sim::ConnectionFaults> slots;
  ASSERT_EQ(ApplyTtlWatchFaults(names, broker, slots, 5), "");
  EXPECT_GT(broker.append_latency.count(), 0);
  EXPECT_GT(broker.lost_ack_probability, 0);
  EXPECT_GT(broker.corrupt_probability, 0);
  EXPECT_FALSE(broker.failovers.empty());
  ASSERT_EQ(slots.size(), 5u);
  bool partitioned = false, lagging = false;
  for (const auto& s : slots) {
    partitioned |= !s.partitions.empty();
    lagging |= s.reader_lag.count() > 0;
  }
  EXPECT_TRUE(partitioned);
  EXPECT_TRUE(lagging);
  // Nothing asked: nothing set.
  log::sim::BrokerFaults none;
  std::vector<log::sim::ConnectionFaults> no_slots;
  EXPECT_EQ(ApplyTtlWatchFaults({}, none, no_slots, 5), "");
  EXPECT_TRUE(no_slots.empty());
  EXPECT_EQ(none.append_latency.count(), 0);
}

TEST(TtlWatchFaults, WhatDoesNotApplyIsRefusedNamingIt) {
  log::sim::BrokerFaults broker;
  std::vector<log::sim::ConnectionFaults> slots;
  EXPECT_THAT(ApplyTtlWatchFaults({"crash"}, broker, slots, 3), HasSubstr("fault 'crash' does not apply"));
  EXPECT_THAT(ApplyTtlWatchFaults({"latency", "nope"}, broker, slots, 3), HasSubstr("unknown fault 'nope'"));
}

TEST(TtlWatchFaults, TheCorrectTtlClientPassesASweepWithEverySafeFault) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    TtlRun run = RunTtlScenario(TtlWithFaults(seed));
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    EXPECT_TRUE(run.errors.empty()) << "seed " << seed << ": " << run.errors.front();
    auto reports = JudgeTtl(run);
    EXPECT_TRUE(Valid(reports)) << "seed " << seed << "\n" << Explain(reports);
  }
}

TEST(TtlWatchFaults, TheBrokenTtlVariantsAreStillCaughtUnderEverySafeFault) {
  int apply_time = 0, beyond_bound = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    apply_time += !Valid(JudgeTtl(RunTtlScenario(TtlWithFaults(seed, "apply-time-expiry"))));
    beyond_bound += !Valid(JudgeTtl(RunTtlScenario(TtlWithFaults(seed, "clock-beyond-bound"))));
  }
  EXPECT_EQ(apply_time, static_cast<int>(kSeeds));
  // The slow clock shows only when that client reads a key inside the window
  // after its deadline; most seeds do.
  EXPECT_GE(beyond_bound, static_cast<int>(kSeeds) - 1);
}

TEST(TtlWatchFaults, TheCorrectWatchersPassASweepWithEverySafeFault) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    WatchRun run = RunWatchWorkload(WatchWithFaults(seed));
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    EXPECT_TRUE(run.errors.empty()) << "seed " << seed << ": " << run.errors.front();
    EXPECT_GT(run.change_events, 0) << "seed " << seed;
    auto report = checker::CheckWatches(run.history);
    EXPECT_EQ(report.verdict, checker::Verdict::kValid) << "seed " << seed << "\n" << Explain({report});
  }
}

TEST(TtlWatchFaults, EveryRunWhoseConsumerDroppedEventsUnderEverySafeFaultIsCaught) {
  int dropped_runs = 0;
  for (uint64_t seed = 1; seed <= 3 * kSeeds; ++seed) {
    WatchRun run = RunWatchWorkload(WatchWithFaults(seed, "watch-drop"));
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    auto report = checker::CheckWatches(run.history);
    if (run.dropped > run.dropped_unseen) {
      ++dropped_runs;
      EXPECT_EQ(report.verdict, checker::Verdict::kInvalid)
          << "seed " << seed << ": " << run.dropped << " events dropped and not caught";
    } else {
      // The faults slow the writers down: with no backlog there is nothing
      // to drop (or only the first event of a watch from "now", which no
      // history can show), and the run is rightly valid.
      EXPECT_EQ(report.verdict, checker::Verdict::kValid) << "seed " << seed << "\n" << Explain({report});
    }
  }
  EXPECT_GT(dropped_runs, 0);
}

}  // namespace
}  // namespace kvlog::sim
