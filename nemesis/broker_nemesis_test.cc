#include "nemesis/broker_nemesis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

namespace kvlog::nemesis {
namespace {

using namespace std::chrono_literals;

// A cluster of three brokers in memory: records what was done to it.
class FakeControl final : public BrokerControl {
 public:
  std::vector<int> Brokers() const override { return {1, 2, 3}; }
  bool CanPartition() const override { return true; }
  Result<PartitionState> Describe(const std::vector<int>& avoid) override {
    std::lock_guard lock(mu);
    PartitionState s;
    s.replicas = {1, 2, 3};
    s.leader = leader;
    for (int b : {1, 2, 3}) {
      if (!down.contains(b)) s.isr.push_back(b);
    }
    if (std::find(avoid.begin(), avoid.end(), leader) != avoid.end() || down.contains(leader)) {
      // The others elected a new leader.
      for (int b : {1, 2, 3}) {
        if (!down.contains(b)) {
          s.leader = b;
          break;
        }
      }
    }
    return s;
  }
  Status Kill(int n) override { return Act("kill", n, true); }
  Status Restart(int n) override { return Act("restart", n, false); }
  Status Pause(int n) override { return Act("pause", n, true); }
  Status Resume(int n) override { return Act("resume", n, false); }
  Status Partition(const std::vector<int>& side) override {
    for (int n : side) (void)Act("partition", n, true);
    return {};
  }
  Status Heal() override {
    std::lock_guard lock(mu);
    calls.push_back("heal");
    down.clear();
    return {};
  }
  Result<int> Elect() override {
    std::lock_guard lock(mu);
    calls.push_back("elect");
    leader = leader % 3 + 1;
    return leader;
  }
  std::vector<std::string> Calls() {
    std::lock_guard lock(mu);
    return calls;
  }

  std::mutex mu;
  int leader = 2;
  std::set<int> down;
  std::vector<std::string> calls;

 private:
  Status Act(const std::string& what, int n, bool breaks) {
    std::lock_guard lock(mu);
    calls.push_back(fmt::format("{} {}", what, n));
    if (breaks) {
      down.insert(n);
    } else {
      down.erase(n);
    }
    return {};
  }
};

ScheduleOptions Fast(uint64_t seed, int faults) {
  ScheduleOptions o;
  o.seed = seed;
  o.first_delay = 1ms;
  o.min_duration = 5ms;
  o.max_duration = 10ms;
  o.min_gap = 1ms;
  o.max_gap = 3ms;
  o.poll = 1ms;
  o.max_faults = faults;
  return o;
}

// The faults as the fault registry (sim/fault_registry.h) hands them over:
// its descriptor and its name. The names and descriptors themselves are
// checked against the registry in tools/kvsim's live_nemesis_test (this
// package may not depend on the simulator).
Fault F(Kind kind, Target target, std::string name = "") { return Fault{{kind, target}, std::move(name)}; }
const Fault kKillLeader = F(Kind::kKill, Target::kLeader, "kill-leader");
const Fault kPauseLeader = F(Kind::kPause, Target::kLeader, "pause-leader");

std::vector<std::string> RunFaults(const std::vector<Fault>& plan, uint64_t seed, int faults, FakeControl& control) {
  BrokerNemesis n(control, plan, Fast(seed, faults));
  n.Start();
  for (int i = 0; i < 2000 && static_cast<int>(n.Records().size()) < faults; ++i) std::this_thread::sleep_for(1ms);
  n.Stop();
  EXPECT_EQ(static_cast<int>(n.Records().size()), faults);
  return control.Calls();
}

TEST(Fault, IsNamedByItsRegistryEntryElseByItsAction) {
  EXPECT_EQ(kKillLeader.Name(), "kill-leader");
  EXPECT_EQ(F(Kind::kElect, Target::kLeader, "failover").Name(), "failover");
  EXPECT_EQ(F(Kind::kPause, Target::kAll).Name(), "pause-all");
  EXPECT_EQ(F(Kind::kPartition, Target::kMinority).Name(), "partition-minority");
  EXPECT_EQ(F(Kind::kElect, Target::kLeader).Name(), "elect");
  EXPECT_TRUE(F(Kind::kPartition, Target::kMinority).NeedsNetns());
  EXPECT_FALSE(kKillLeader.NeedsNetns());
}

TEST(BrokerNemesis, PauseAllPausesEveryBrokerThenResumesThem) {
  FakeControl control;
  auto calls = RunFaults({F(Kind::kPause, Target::kAll, "outage")}, 1, 1, control);
  const std::vector<std::string> want = {"pause 1", "pause 2", "pause 3", "resume 1", "resume 2", "resume 3"};
  EXPECT_EQ(calls, want);
  EXPECT_TRUE(control.down.empty());
}

TEST(BrokerNemesis, KillLeaderKillsTheLeaderAndRestartsIt) {
  FakeControl control;
  auto calls = RunFaults({kKillLeader}, 1, 1, control);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], "kill 2");
  EXPECT_EQ(calls[1], "restart 2");
}

TEST(BrokerNemesis, KillLoneLeaderPausesFollowersUntilTheIsrShrinks) {
  FakeControl control;
  auto calls = RunFaults({F(Kind::kLoneLeader, Target::kLeader, "kill-lone-leader")}, 1, 1, control);
  const std::vector<std::string> want = {"pause 1", "pause 3", "kill 2", "resume 1", "resume 3", "restart 2"};
  EXPECT_EQ(calls, want);
}

TEST(BrokerNemesis, RecordsEveryActionWithTimeAndWallClock) {
  FakeControl control;
  BrokerNemesis n(control, {kPauseLeader}, Fast(3, 1));
  n.Start();
  for (int i = 0; i < 2000 && n.Records().empty(); ++i) std::this_thread::sleep_for(1ms);
  n.Stop();
  auto events = n.Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].f, "pause");
  EXPECT_EQ(events[1].f, "resume");
  EXPECT_LT(*events[0].time, *events[1].time);
  EXPECT_NE(events[0].value.find("node 2 (leader)"), std::string::npos) << events[0].value;
  EXPECT_NE(events[0].value.find("Z"), std::string::npos) << events[0].value;  // UTC wall time
  auto records = n.Records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].leader_before, 2);
  EXPECT_EQ(records[0].leader_after, 1);  // while 2 was paused
  EXPECT_TRUE(records[0].recovered_s.has_value());
  EXPECT_NE(Describe(records).find("pause-leader"), std::string::npos);
}

TEST(BrokerNemesis, SameSeedSameSchedule) {
  FakeControl a, b, c;
  const std::vector<Fault> all = {F(Kind::kKill, Target::kRandom), F(Kind::kPause, Target::kRandom),
                                  F(Kind::kPartition, Target::kMinority), kKillLeader};
  auto first = RunFaults(all, 42, 6, a);
  auto second = RunFaults(all, 42, 6, b);
  EXPECT_EQ(first, second);
  auto other = RunFaults(all, 43, 6, c);
  EXPECT_NE(first, other);  // 4^6 schedules times targets: a different seed differs
}

TEST(BrokerNemesis, CycleTakesTheFaultsInOrder) {
  FakeControl control;
  ScheduleOptions o = Fast(9, 4);
  o.cycle = true;
  BrokerNemesis n(control, {kPauseLeader, kKillLeader, F(Kind::kElect, Target::kLeader, "failover")}, o);
  n.Start();
  for (int i = 0; i < 2000 && n.Records().size() < 4; ++i) std::this_thread::sleep_for(1ms);
  n.Stop();
  auto records = n.Records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].name, "pause-leader");
  EXPECT_EQ(records[1].name, "kill-leader");
  EXPECT_EQ(records[2].name, "failover");
  EXPECT_EQ(records[3].name, "pause-leader");
}

TEST(BrokerNemesis, StopHealsWhatIsStillBroken) {
  FakeControl control;
  ScheduleOptions o = Fast(5, 1);
  o.min_duration = o.max_duration = 60s;  // still down when stopped
  BrokerNemesis n(control, {kKillLeader}, o);
  n.Start();
  for (int i = 0; i < 2000 && control.Calls().empty(); ++i) std::this_thread::sleep_for(1ms);
  n.Stop();
  auto calls = control.Calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front(), "kill 2");
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "restart 2"), 1);
  EXPECT_TRUE(control.down.empty());
}

TEST(BrokerNemesis, WaitsForGo) {
  FakeControl control;
  BrokerNemesis n(control, {kKillLeader}, Fast(5, 1));
  n.Start(/*wait_for_go=*/true);
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(control.Calls().empty());
  n.Go();
  for (int i = 0; i < 2000 && n.Records().empty(); ++i) std::this_thread::sleep_for(1ms);
  n.Stop();
  EXPECT_EQ(control.Calls().size(), 2u);
}

TEST(MergeInto, PlacesActionsAmongEventsByTime) {
  checker::History h;
  for (int64_t t : {10, 20, 30, 40}) {
    checker::Event e;
    e.time = t;
    h.events.push_back(e);
  }
  checker::NemesisEvent crash;
  crash.f = "crash";
  crash.time = 15;
  crash.position = 1;
  h.nemesis.push_back(crash);
  checker::NemesisEvent kill, restart;
  kill.f = "kill";
  kill.time = 25;
  restart.f = "restart";
  restart.time = 45;
  MergeInto(h, {kill, restart});
  ASSERT_EQ(h.nemesis.size(), 3u);
  EXPECT_EQ(h.nemesis[0].f, "crash");
  EXPECT_EQ(h.nemesis[1].f, "kill");
  EXPECT_EQ(h.nemesis[1].position, 2);
  EXPECT_EQ(h.nemesis[2].f, "restart");
  EXPECT_EQ(h.nemesis[2].position, 4);
}

}  // namespace
}  // namespace kvlog::nemesis
