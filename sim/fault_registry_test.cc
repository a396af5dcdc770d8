#include "sim/fault_registry.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "sim/scenario.h"
#include "sim/swarm.h"

namespace kvlog::sim {
namespace {

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool Has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(FaultRegistryTest, EveryFaultHasOneNameAndTheSimulatorTurnsItOnAsItsReportNamesIt) {
  std::set<std::string> names;
  for (const FaultSpec& f : Faults()) {
    EXPECT_TRUE(names.insert(f.name).second) << "two faults named " << f.name;
    for (const auto& a : f.aliases) EXPECT_TRUE(names.insert(a).second) << "alias " << a << " taken";
    EXPECT_FALSE(f.description.empty()) << f.name;
    EXPECT_FALSE(FaultSites(f).empty()) << f.name << " runs nowhere";
    if (!f.apply) {  // Real brokers only: a broker nemesis action, nothing in the simulator.
      EXPECT_TRUE(f.brokers.has_value() && !f.on && !f.mock) << f.name;
      continue;
    }
    ASSERT_TRUE(f.on) << f.name;
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
    EXPECT_EQ(Has(SafeFaultNames(), Faults()[i].name), Faults()[i].safe && Faults()[i].apply);
    EXPECT_EQ(Has(SafeFaultNames(Site::kBrokers), Faults()[i].name),
              Faults()[i].safe && RunsOn(Faults()[i], Site::kBrokers));
  }
  EXPECT_FALSE(Has(SafeFaultNames(), "failover-acks1"));
  EXPECT_FALSE(Has(SafeFaultNames(), "kill-leader"));  // The simulator's list: faults it runs.
  const auto mock = LiveFaultNames(true);
  for (const auto& name : {"latency", "outage", "failover", "failed-append", "lost-ack", "crash"}) {
    EXPECT_TRUE(Has(mock, name)) << name;
  }
  EXPECT_FALSE(Has(mock, "compaction"));
  EXPECT_FALSE(Has(mock, "kill-leader"));
  // Without a broker nemesis only the client-side faults run on brokers.
  EXPECT_EQ(LiveFaultNames(false), std::vector<std::string>{"crash"});
  const auto brokers = LiveFaultNames(false, /*broker_nemesis=*/true);
  EXPECT_EQ(brokers, SafeFaultNames(Site::kBrokers) + std::vector<std::string>{"kill-lone-leader"});
  EXPECT_EQ(FaultSites(*FindFault("outage")), "sim, mock, brokers");
  EXPECT_EQ(FaultSites(*FindFault("failover")), "sim, mock, brokers");
  EXPECT_EQ(FaultSites(*FindFault("crash")), "sim, mock, brokers");
  EXPECT_EQ(FaultSites(*FindFault("compaction")), "sim");
  EXPECT_EQ(FaultSites(*FindFault("kill-leader")), "brokers");
}

// One vocabulary from the simulator to real brokers: every broker nemesis
// fault is a registry entry, the simulator's faults with a broker equivalent
// run under one name in all three places, and the old broker names are
// aliases.
TEST(FaultRegistryTest, BrokerNemesisFaultsAreRegistryEntries) {
  using Kind = BrokerFault::Kind;
  using Target = BrokerFault::Target;
  struct Want {
    const char* name;
    Kind kind;
    Target target;
    bool safe;
  };
  const Want wants[] = {
      {"kill-leader", Kind::kKill, Target::kLeader, true},
      {"kill-random", Kind::kKill, Target::kRandom, true},
      {"kill-minority", Kind::kKill, Target::kMinority, true},
      {"pause-leader", Kind::kPause, Target::kLeader, true},
      {"pause-random", Kind::kPause, Target::kRandom, true},
      {"pause-minority", Kind::kPause, Target::kMinority, true},
      {"partition-leader", Kind::kPartition, Target::kLeader, true},
      {"partition-random", Kind::kPartition, Target::kRandom, true},
      {"partition-minority", Kind::kPartition, Target::kMinority, true},
      {"kill-lone-leader", Kind::kLoneLeader, Target::kLeader, false},
      {"failover", Kind::kElect, Target::kLeader, true},
      {"outage", Kind::kPause, Target::kAll, true},
  };
  std::vector<std::string> on_brokers;
  for (const Want& w : wants) {
    const FaultSpec* f = FindFault(w.name);
    ASSERT_NE(f, nullptr) << w.name;
    EXPECT_EQ(f->name, w.name);
    ASSERT_TRUE(f->brokers.has_value()) << w.name;
    EXPECT_EQ(f->brokers->kind, w.kind) << w.name;
    if (w.kind != Kind::kElect) {
      EXPECT_EQ(f->brokers->target, w.target) << w.name;
    }
    EXPECT_EQ(f->safe, w.safe) << w.name;
    EXPECT_FALSE(f->related.empty()) << w.name << " names no related entry";
    on_brokers.push_back(w.name);
  }
  // Nothing else has a broker action.
  for (const FaultSpec& f : Faults()) {
    if (f.brokers) {
      EXPECT_TRUE(Has(on_brokers, f.name)) << f.name << " runs on brokers but is not expected to";
    }
    for (const std::string& r : f.related) EXPECT_NE(FindFault(r), nullptr) << f.name << " relates to " << r;
  }
  EXPECT_TRUE(FindFault("partition-minority")->brokers->NeedsNetns());
  EXPECT_TRUE(FindFault("kill-lone-leader")->brokers->NeedsControllers());
  // The old broker names are aliases of the entries that run in all three places.
  EXPECT_EQ(FindFault("elect"), FindFault("failover"));
  EXPECT_EQ(FindFault("pause-all"), FindFault("outage"));
  Scenario s;
  ASSERT_TRUE(ApplyFaults({"elect", "kill-leader"}, s).has_value());
  EXPECT_EQ(s.fault_names, (std::vector<std::string>{"failover", "kill-leader"}));
  EXPECT_TRUE(Has(FaultsOn(s), "failover"));   // The simulator runs failover...
  EXPECT_FALSE(Has(FaultsOn(s), "kill-leader"));  // ... and has nothing for kill-leader.
  // The swarm draws only what the simulator can run.
  Scenario swarm;
  auto chosen = ApplySwarm(1, {"kill-leader"}, swarm);
  ASSERT_FALSE(chosen.has_value());
  EXPECT_NE(chosen.error().message().find("runs only live (brokers)"), std::string::npos) << chosen.error().message();
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
  for (const auto& n : run.history.nemesis) actions.push_back(fmt::format("{}@{}", n.f, *n.time / 1'000'000));
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

// Ok writes (with an offset) per process whose completion falls in [from, to) ms.
std::map<int64_t, int64_t> WritesBetween(const SimRun& run, int64_t from, int64_t to) {
  std::map<int64_t, int64_t> out;
  for (const auto& e : run.history.events) {
    if (e.type != checker::EventType::kOk || !e.time || !e.offset) continue;
    const int64_t ms = *e.time / 1'000'000;
    if (ms >= from && ms < to) ++out[e.process];
  }
  return out;
}

TEST(FaultRegistryTest, AStalledApplierGetsNoWriteThroughWhileTheOthersGoOn) {
  auto run_with = [](bool stalled) {
    Scenario s;
    s.seed = 6;
    s.workload.ops_per_client = 300;
    if (stalled) {
      EXPECT_TRUE(ApplyFaults({"stalled-applier"}, s).has_value());
    }
    return RunScenario(s);
  };
  SimRun run = run_with(true);
  auto report = Judge(run);
  EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  EXPECT_EQ(run.faults, std::vector<std::string>{"stalled-applier"});
  std::vector<std::string> actions;
  for (const auto& n : run.history.nemesis) actions.push_back(fmt::format("{}@{}", n.f, *n.time / 1'000'000));
  EXPECT_EQ(actions, (std::vector<std::string>{"start-applier-stall-1@200", "stop-applier-stall-1@600"}));
  // A poll under way when the stall starts may still deliver (up to its
  // 100 ms timeout); after that slot 1 completes no write until the end.
  auto during = WritesBetween(run, 310, 590);
  EXPECT_EQ(during[1], 0);
  EXPECT_GT(during[0] + during[2], 5);
  // Without the fault, slot 1's writes land then too.
  EXPECT_GT(WritesBetween(run_with(false), 310, 590)[1], 0);
}

// Mean latency of process `p`'s ok writes, in ms (a process's operations
// run one at a time: each completion follows its invocation).
double WriteLatencyMs(const SimRun& run, int64_t p) {
  int64_t invoked = 0, total = 0, count = 0;
  for (const auto& e : run.history.events) {
    if (e.process != p || !e.time) continue;
    if (e.type == checker::EventType::kInvoke) {
      invoked = *e.time;
    } else if (e.type == checker::EventType::kOk && e.offset) {
      total += *e.time - invoked;
      ++count;
    }
  }
  return count ? static_cast<double>(total) / static_cast<double>(count) / 1e6 : 0;
}

TEST(FaultRegistryTest, ASlowApplierMakesOnlyItsClientsWritesSlow) {
  Scenario s;
  s.seed = 8;
  s.workload.ops_per_client = 150;
  ASSERT_TRUE(ApplyFaults({"slow-applier"}, s).has_value());
  SimRun run = RunScenario(s);
  auto report = Judge(run);
  EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  EXPECT_EQ(run.faults, std::vector<std::string>{"slow-applier"});
  // Slot 1 gets each polled batch 1 ms per record late, its own write's
  // record included; the log has no latency, so the others' writes are
  // applied at once.
  EXPECT_GE(WriteLatencyMs(run, 1), 1.0);
  EXPECT_LT(WriteLatencyMs(run, 0), 0.5);
  EXPECT_LT(WriteLatencyMs(run, 2), 0.5);
}

// The clock-skew fault reaches the clients' wall clocks: a TTL's deadline is
// written in the writer's clock, so a client whose clock runs an hour ahead
// sees a key with a 10 s TTL expired at once, and the writer does not.
TEST(FaultRegistryTest, ClockSkewShiftsEachClientsWallClock) {
  using namespace std::chrono_literals;
  Scenario s;
  s.seed = 3;
  s.workload.clients = 2;
  s.workload.ops_per_client = 0;
  s.workload.clock_skews = {{0ms, 0}, {1h, 0}};
  auto seen = std::make_shared<std::vector<std::string>>();
  CustomWorkload custom;
  custom.start = [seen] {
    CustomOps ops;
    ops.setup = [](OpContext& c) -> Status {
      kv::CallOptions call;
      call.ttl = 10s;
      if (auto put = c.clients[0]->Put("k", "v", call); !put) return std::unexpected(put.error());
      return OkStatus();
    };
    ops.finish = [seen](OpContext& c) { seen->push_back(c.client->id() + (c.client->Get("k") ? "=v" : "=none")); };
    return ops;
  };
  s.workload.custom = std::make_shared<CustomWorkload>(custom);
  s.checks = {"convergence"};
  SimRun run = RunScenario(s);
  ASSERT_TRUE(run.workload.errors.empty()) << run.workload.errors.front();
  EXPECT_EQ(*seen, (std::vector<std::string>{"c0=v", "c1=none"}));
  EXPECT_EQ(FaultsOn(s), std::vector<std::string>{"clock-skew"});
}

TEST(FaultRegistryTest, SwarmDrawsClockSkewsPerClientAndPrintsThem) {
  Scenario s;
  s.workload.clients = 4;
  auto choice = ApplySwarm(21, {"clock-skew"}, s);
  ASSERT_TRUE(choice.has_value());
  ASSERT_EQ(s.workload.clock_skews.size(), 4u);
  std::string printed;
  for (const auto& p : choice->parameters) printed += p + " ";
  EXPECT_NE(printed.find("clock-skew.max_offset_ms="), std::string::npos) << printed;
  EXPECT_NE(printed.find("clock-skew.skews="), std::string::npos) << printed;
  Scenario again;
  again.workload.clients = 4;
  ASSERT_TRUE(ApplySwarm(21, {"clock-skew"}, again).has_value());
  EXPECT_EQ(again.workload.clock_skews, s.workload.clock_skews);
}

}  // namespace
}  // namespace kvlog::sim
