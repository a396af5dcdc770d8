#include "sim/swarm.h"

#include <fmt/format.h>
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
  std::set<std::size_t> limits;
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
    ASSERT_TRUE(s.workload.max_writes_in_flight.has_value());
    limits.insert(*s.workload.max_writes_in_flight);
    EXPECT_NE(std::find(choice->parameters.begin(), choice->parameters.end(),
                        fmt::format("client.max_writes_in_flight={}", *s.workload.max_writes_in_flight)),
              choice->parameters.end())
        << "seed " << seed;
  }
  // Every drawn limit is one of the swarm's, and seeds draw several.
  EXPECT_GE(limits.size(), 3u);
  for (std::size_t limit : limits) {
    EXPECT_TRUE(limit == 1 || limit == 2 || limit == 8 || limit == kv::ClientOptions::kDefaultMaxWritesInFlight)
        << limit;
  }
  EXPECT_GT(fault_sets.size(), 5u);
  EXPECT_EQ(parameter_sets.size(), 20u);
  Scenario s;
  auto bad = ApplySwarm(1, {"gremlins"}, s);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("unknown fault 'gremlins'"), std::string::npos);
}

// The drawn in-flight limit reaches every client the workload opens (the
// client reports it in Stats), and a run with the tightest one still passes.
TEST(SwarmTest, TheDrawnInFlightLimitReachesTheClients) {
  for (std::size_t limit : {std::size_t{1}, std::size_t{8}}) {
    Scenario s = Swarm(1, {});
    s.swarm.reset();  // No swarm: the limit is the one set here.
    s.workload.max_writes_in_flight = limit;
    auto seen = std::make_shared<std::vector<uint64_t>>();
    CustomWorkload custom;
    custom.start = [seen] {
      CustomOps ops;
      ops.setup = [seen](OpContext& ctx) -> Status {
        for (kv::Client* c : ctx.clients) {
          auto stats = c->Stats();
          if (!stats) return std::unexpected(stats.error());
          seen->push_back(stats->max_writes_in_flight);
        }
        return {};
      };
      // No op: the mix's operations run, on clients with the limit.
      return ops;
    };
    s.workload.custom = std::make_shared<const CustomWorkload>(custom);
    SimRun run = RunScenario(s);
    ASSERT_EQ(seen->size(), static_cast<std::size_t>(s.workload.clients)) << "limit " << limit;
    for (uint64_t l : *seen) EXPECT_EQ(l, limit);
    auto report = Judge(run);
    EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  }
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
