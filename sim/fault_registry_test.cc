#include "sim/fault_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "sim/scenario.h"

namespace kvlog::sim {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(FaultRegistryTest, EveryFaultHasOneNameAndTheSimulatorTurnsItOnAsItsReportNamesIt) {
  std::set<std::string> names;
  for (const FaultSpec& f : Faults()) {
    EXPECT_TRUE(names.insert(f.name).second) << "two faults named " << f.name;
    for (const auto& a : f.aliases) EXPECT_TRUE(names.insert(a).second) << "alias " << a << " taken";
    EXPECT_FALSE(f.description.empty()) << f.name;
    ASSERT_TRUE(f.apply && f.on) << f.name;
    Scenario s;
    EXPECT_FALSE(f.on(s)) << f.name << " is on in a scenario without faults";
    ASSERT_TRUE(ApplyFaults({f.name}, s).has_value()) << f.name;
    // One vocabulary: the fault alone reports its own name and nothing else.
    EXPECT_EQ(FaultsOn(s), std::vector<std::string>{f.name}) << f.name;
    EXPECT_EQ(s.fault_names, std::vector<std::string>{f.name});
  }
  EXPECT_TRUE(FaultsOn(Scenario{}).empty());
}

TEST(FaultRegistryTest, OldReportNamesAreAcceptedAsAliasesOfTheRegistryNames) {
  Scenario s;
  ASSERT_TRUE(ApplyFaults({"append-latency", "corrupt-record", "lost-ack-without-idempotence"}, s).has_value());
  EXPECT_EQ(s.fault_names, (std::vector<std::string>{"latency", "corrupt", "lost-ack-no-idempotence"}));
  EXPECT_EQ(FindFault("append-latency"), FindFault("latency"));
  EXPECT_EQ(FindFault("gremlins"), nullptr);
  EXPECT_NE(UnknownFaultMessage("gremlins").find("known faults: latency"), std::string::npos);
}

TEST(FaultRegistryTest, PresetsSafeListAndLiveNamesDeriveFromTheRegistry) {
  ASSERT_EQ(FaultPresets().size(), Faults().size());
  for (std::size_t i = 0; i < Faults().size(); ++i) {
    EXPECT_EQ(FaultPresets()[i].name, Faults()[i].name);
    EXPECT_EQ(FaultPresets()[i].safe, Faults()[i].safe);
    EXPECT_EQ(Has(SafeFaultNames(), Faults()[i].name), Faults()[i].safe);
  }
  EXPECT_FALSE(Has(SafeFaultNames(), "failover-acks1"));
  const auto mock = LiveFaultNames(true);
  for (const auto& name : {"latency", "outage", "failover", "failed-append", "lost-ack", "crash"}) {
    EXPECT_TRUE(Has(mock, name)) << name;
  }
  EXPECT_FALSE(Has(mock, "compaction"));
  EXPECT_EQ(LiveFaultNames(false), std::vector<std::string>{"crash"});
  // A broker nemesis adds its faults on brokers, known to the registry or not.
  const auto brokers = LiveFaultNames(false, {"outage", "kill-leader"});
  EXPECT_EQ(brokers, (std::vector<std::string>{"outage", "crash", "kill-leader"}));
  EXPECT_EQ(FaultSites(*FindFault("outage")), "sim, mock");
  EXPECT_EQ(FaultSites(*FindFault("outage"), {"outage"}), "sim, mock, brokers");
  EXPECT_EQ(FaultSites(*FindFault("crash")), "sim, mock, brokers");
  EXPECT_EQ(FaultSites(*FindFault("compaction")), "sim");
}

TEST(FaultRegistryTest, KnobsSetDirectlyAreReportedByTheirRegistryName) {
  Scenario s;
  s.broker.replication_delay = std::chrono::milliseconds(5);
  EXPECT_EQ(FaultsOn(s), std::vector<std::string>{"replication-delay"});
  s.broker.failovers = {std::chrono::milliseconds(10)};
  s.broker.acks = log::sim::Acks::kLeader;
  EXPECT_EQ(FaultsOn(s), std::vector<std::string>{"failover-acks1"});
}

TEST(FaultRegistryTest, APartitionedClientStallsWhileTheOthersGoOnAndThePartitionIsInTheHistory) {
  Scenario s;
  s.seed = 5;
  s.workload.clients = 3;
  s.workload.ops_per_client = 300;  // The others go on past the partition's end.
  ASSERT_TRUE(ApplyFaults({"client-partition"}, s).has_value());
  SimRun run = RunScenario(s);
  auto report = Judge(run);
  EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  EXPECT_EQ(run.faults, std::vector<std::string>{"client-partition"});
  EXPECT_GT(run.stats.partition_waits, 0);
  std::vector<std::string> actions;
  for (const auto& n : run.history.nemesis) actions.push_back(n.f + "@" + std::to_string(*n.time / 1'000'000));
  EXPECT_EQ(actions, (std::vector<std::string>{"start-partition-1@150", "stop-partition-1@450"}));
  // During the partition slot 1 gets no write through (its local reads go
  // on from its own state) while the other slots' writes land.
  int64_t slot1 = 0, others = 0;
  for (const auto& e : run.history.events) {
    if (e.type != checker::EventType::kOk || !e.time || !e.offset) continue;
    const int64_t ms = *e.time / 1'000'000;
    if (ms <= 160 || ms >= 440) continue;
    (e.process == 1 ? slot1 : others) += 1;
  }
  EXPECT_EQ(slot1, 0);
  EXPECT_GT(others, 5);
}

}  // namespace
}  // namespace kvlog::sim
