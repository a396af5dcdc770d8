#include "tools/kvsim/live_nemesis.h"

#include <gtest/gtest.h>

#include "sim/fault_registry.h"

namespace kvlog::tools {
namespace {

// The broker nemesis's vocabulary is the fault registry's: every entry with a
// broker action, under its registry name, and nothing else.
TEST(LiveNemesis, TheBrokerFaultsAreTheRegistrysEntries) {
  std::vector<std::string> expected;
  for (const sim::FaultSpec& f : sim::Faults()) {
    if (!f.brokers) continue;
    expected.push_back(f.name);
    auto faults = BrokerFaults({f.name});
    ASSERT_TRUE(faults.has_value()) << f.name << ": " << faults.error();
    ASSERT_EQ(faults->size(), 1u);
    EXPECT_EQ((*faults)[0].Name(), f.name);
    EXPECT_EQ((*faults)[0].action.kind, f.brokers->kind) << f.name;
    EXPECT_EQ((*faults)[0].action.target, f.brokers->target) << f.name;
  }
  BrokerNemesisOptions flags;
  std::vector<std::pair<std::string, std::string>> properties;
  EXPECT_EQ(ScriptBrokerNemesis(flags, properties).FaultNames(), expected);
  EXPECT_EQ(sim::LiveFaultNames(/*mock=*/false, /*broker_nemesis=*/true).size(), expected.size() + 1);  // + crash
}

TEST(LiveNemesis, OldNamesAreAliasesAndUnknownNamesListTheBrokerFaults) {
  auto names = ScriptBrokerNemesis::FaultList("elect,kill-leader,pause-all");
  ASSERT_TRUE(names.has_value()) << names.error();
  EXPECT_EQ(*names, (std::vector<std::string>{"failover", "kill-leader", "outage"}));
  auto faults = BrokerFaults({"elect"});
  ASSERT_TRUE(faults.has_value());
  EXPECT_EQ((*faults)[0].action.kind, nemesis::Kind::kElect);
  EXPECT_EQ((*faults)[0].Name(), "failover");

  auto bad = ScriptBrokerNemesis::FaultList("kill-leader,explode");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("unknown fault 'explode'"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("pause-leader"), std::string::npos) << bad.error();
  auto sim_only = ScriptBrokerNemesis::FaultList("compaction");
  ASSERT_FALSE(sim_only.has_value());
  EXPECT_NE(sim_only.error().find("no broker nemesis action for fault 'compaction'"), std::string::npos)
      << sim_only.error();
  EXPECT_FALSE(ScriptBrokerNemesis::FaultList("").has_value());
}

}  // namespace
}  // namespace kvlog::tools
