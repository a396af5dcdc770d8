#include "sim/swarm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "checker/jsonl.h"
#include "sim/fault_registry.h"

namespace kvlog::sim {
namespace {

Scenario Swarm(uint64_t seed, std::vector<std::string> faults) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = 60;
  s.swarm = std::move(faults);
  return s;
}

TEST(SwarmTest, TheSameSeedGivesTheSameChoicesAndTheSameHistoryByteForByte) {
  const std::vector<std::string> faults = {"latency",  "outage",     "client-partition", "lost-ack",
                                           "crash",    "failover",   "clock-skew",       "slow-applier",
                                           "stalled-applier"};
  SimRun a = RunScenario(Swarm(11, faults));
  SimRun b = RunScenario(Swarm(11, faults));
  ASSERT_FALSE(a.parameters.empty());
  EXPECT_EQ(a.parameters, b.parameters);
  EXPECT_EQ(a.faults, b.faults);
  const std::string bytes = checker::WriteJsonl(a.history);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes, checker::WriteJsonl(b.history));
  // The order the faults are asked in does not matter.
  std::vector<std::string> reversed(faults.rbegin(), faults.rend());
  EXPECT_EQ(RunScenario(Swarm(11, reversed)).parameters, a.parameters);
}

TEST(SwarmTest, SeedsChooseDifferentFaultsAndMagnitudesFromTheRequestedOnesOnly) {
  const std::vector<std::string> faults = {"latency", "outage", "client-partition", "corrupt", "crash"};
  std::set<std::vector<std::string>> fault_sets;
  std::set<std::vector<std::string>> parameter_sets;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Scenario s;
    auto choice = ApplySwarm(seed, faults, s);
    ASSERT_TRUE(choice.has_value());
    ASSERT_FALSE(choice->faults.empty()) << "seed " << seed;
    for (const auto& f : choice->faults) {
      EXPECT_NE(std::find(faults.begin(), faults.end(), f), faults.end()) << f;
    }
    EXPECT_EQ(FaultsOn(s), choice->faults) << "seed " << seed;
    fault_sets.insert(choice->faults);
    parameter_sets.insert(choice->parameters);
    ASSERT_TRUE(s.workload.max_poll_records.has_value());
    EXPECT_GE(s.workload.op_timeout, std::chrono::milliseconds(100));
    EXPECT_GE(s.workload.max_batch, 1);
  }
  EXPECT_GT(fault_sets.size(), 5u);
  EXPECT_EQ(parameter_sets.size(), 20u);
  Scenario s;
  auto bad = ApplySwarm(1, {"gremlins"}, s);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("unknown fault 'gremlins'"), std::string::npos);
}

TEST(SwarmTest, TheCorrectClientPassesUnderSwarmChosenSafeFaults) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    SimRun run = RunScenario(Swarm(seed, SafeFaultNames()));
    auto report = Judge(run);
    EXPECT_TRUE(Passed(run, report)) << "seed " << seed << "\n" << Describe(run, report);
    EXPECT_NE(Describe(run, report).find("swarm parameters: "), std::string::npos);
  }
}

TEST(SwarmTest, SwarmChosenUnsafeFaultsStillCatchABrokenClient) {
  int failing = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Scenario s = Swarm(seed, {"failover-acks1"});
    s.variant = "trust-ack";
    SimRun run = RunScenario(s);
    failing += Passed(run, Judge(run)) ? 0 : 1;
  }
  EXPECT_GT(failing, 0);
}

// The client-side faults (clock skew, slow and stalled appliers) alone: every
// seed's run is valid and names its choices, each fault is drawn on some
// seed, and a broken client is still caught with them on.
TEST(SwarmTest, ClientSideFaultsKeepTheChecksValidAndStillCatchABrokenClient) {
  const std::vector<std::string> faults = {"clock-skew", "slow-applier", "stalled-applier"};
  std::set<std::string> drawn;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SimRun run = RunScenario(Swarm(seed, faults));
    auto report = Judge(run);
    EXPECT_TRUE(Passed(run, report)) << "seed " << seed << "\n" << Describe(run, report);
    for (const auto& f : run.faults) drawn.insert(f);
    for (const auto& f : run.faults) {
      bool named = false;
      for (const auto& p : run.parameters) named = named || p.rfind(f + ".", 0) == 0;
      EXPECT_TRUE(named) << f << " on without its parameters, seed " << seed;
    }
  }
  EXPECT_EQ(drawn, std::set<std::string>(faults.begin(), faults.end()));
  int failing = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Scenario s = Swarm(seed, faults);
    s.variant = "early-ack";
    SimRun run = RunScenario(s);
    failing += Passed(run, Judge(run)) ? 0 : 1;
  }
  EXPECT_GT(failing, 0);
}

}  // namespace
}  // namespace kvlog::sim
