// Conditional writes and read levels in the simulator, judged by the checker's
// linearizability check (kv model) beside the session, convergence and
// durability checks: correct clients pass over many seeds and every safe
// fault; local reads are shown not linearizable; broken variants are caught.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/fault_registry.h"
#include "sim/scenario.h"
#include "sim/testing/run_queries.h"

namespace kvlog::sim {
namespace {

using testing::CountOk;
using testing::FindCheck;

// A CAS register per key: gets at `level`, puts, deletes and cas.
Scenario CasScenario(uint64_t seed, const std::vector<std::string>& faults, kv::ReadLevel level) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = 40;
  s.workload.keys = 3;
  s.workload.mix = OperationMix{.put = 15, .get = 40, .del = 5, .batch = 0, .range = 0, .cas = 40};
  s.workload.get_level = level;
  Status applied = ApplyFaults(faults, s);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  return s;
}

checker::FullReport JudgeLinearizable(const SimRun& run) {
  checker::CheckOptions options;
  options.model = "kv";
  options.checks = {"linearizability", "session", "convergence", "durability", "read-levels"};
  auto report = checker::CheckHistory(run.history, checker::Format::kJsonl, options);
  EXPECT_TRUE(report.has_value()) << report.error().ToString();
  return report ? *report : checker::FullReport{};
}

std::string Failures(const checker::FullReport& report) {
  std::string out;
  for (const auto& r : report.reports) {
    if (r.verdict != checker::Verdict::kInvalid) continue;
    out += r.checker + ": " + r.summary + "\n";
    for (std::size_t i = 0; i < r.violations.size() && i < 3; ++i) {
      out += "  " + r.violations[i].kind + ": " + r.violations[i].message + "\n";
    }
  }
  return out;
}

TEST(VersionsSimTest, CasAndLinearizableReadsAreLinearizableUnderEverySafeFault) {
  std::vector<std::vector<std::string>> fault_sets = {{}, SafeFaultNames()};
  for (const std::string& f : SafeFaultNames()) fault_sets.push_back({f});
  int64_t cas_ok = 0, cas_failed = 0, gets = 0;
  for (const auto& faults : fault_sets) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SimRun run = RunScenario(CasScenario(seed, faults, kv::ReadLevel::Linearizable()));
      ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
      ASSERT_TRUE(run.workload.errors.empty()) << run.workload.errors.front();
      checker::FullReport report = JudgeLinearizable(run);
      const checker::CheckReport* linear = FindCheck(report, "linearizability");
      ASSERT_NE(linear, nullptr);
      std::string names;
      for (const auto& n : faults) names += n + " ";
      EXPECT_EQ(Failures(report), "") << "seed " << seed << " faults: " << names;
      EXPECT_EQ(linear->verdict, checker::Verdict::kValid) << "seed " << seed << " faults: " << names;
      cas_ok += CountOk(run, "cas", true);
      cas_failed += CountOk(run, "cas", false);
      gets += CountOk(run, "get");
    }
  }
  // Both outcomes of cas and many reads were judged, not an empty history.
  EXPECT_GT(cas_ok, 100);
  EXPECT_GT(cas_failed, 20);
  EXPECT_GT(gets, 200);
}

TEST(VersionsSimTest, LocalReadsAreShownNotLinearizableWithAWitnessYetKeepTheirSessionPromises) {
  uint64_t found = 0;
  for (uint64_t seed = 1; seed <= 20 && found == 0; ++seed) {
    SimRun run = RunScenario(CasScenario(seed, {"lagging-reader"}, kv::ReadLevel::Local()));
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
    checker::FullReport report = JudgeLinearizable(run);
    const checker::CheckReport* linear = FindCheck(report, "linearizability");
    ASSERT_NE(linear, nullptr);
    // Read-your-writes and convergence hold for local reads...
    EXPECT_EQ(FindCheck(report, "session")->verdict, checker::Verdict::kValid) << "seed " << seed;
    EXPECT_EQ(FindCheck(report, "convergence")->verdict, checker::Verdict::kValid) << "seed " << seed;
    EXPECT_EQ(FindCheck(report, "durability")->verdict, checker::Verdict::kValid) << "seed " << seed;
    // Every get says it was local.
    const checker::CheckReport* levels = FindCheck(report, "read-levels");
    EXPECT_EQ(levels->verdict, checker::Verdict::kValid) << levels->summary;
    EXPECT_NE(levels->summary.find("reads by level: "), std::string::npos) << levels->summary;
    EXPECT_EQ(levels->summary.find("linearizable"), std::string::npos) << levels->summary;
    // ...but a stale read is not linearizable, and the checker says which.
    if (linear->verdict == checker::Verdict::kInvalid) {
      found = seed;
      ASSERT_TRUE(report.linearizability.has_value());
      EXPECT_TRUE(report.linearizability->witness.has_value());
      EXPECT_FALSE(linear->violations.empty());
      // The operation the witness cannot place is a local read.
      const auto& blocked = report.ops[report.linearizability->witness->blocking_op];
      const bool local_read = checker::IsReadFunction(blocked.f) && blocked.level == "local";
      EXPECT_TRUE(local_read) << "seed " << seed << ": the witness blocks at " << blocked.f;
    }
  }
  EXPECT_NE(found, 0u) << "no seed in 1..20 showed a stale local read";
}

uint64_t FirstSeedNotLinearizable(const std::string& variant, const std::vector<std::string>& faults,
                                  uint64_t max_seeds) {
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    Scenario s = CasScenario(seed, faults, kv::ReadLevel::Linearizable());
    s.variant = variant;
    SimRun run = RunScenario(s);
    EXPECT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    if (Failures(JudgeLinearizable(run)) != "") return seed;
  }
  return 0;
}

TEST(VersionsSimTest, AConditionDecidedByTheWriterIsCaught) {
  EXPECT_NE(FirstSeedNotLinearizable("writer-cas", {"latency"}, 20), 0u);
}

TEST(VersionsSimTest, ALinearizableReadThatSkipsTheEndOffsetFetchIsCaught) {
  EXPECT_NE(FirstSeedNotLinearizable("stale-end", {"lagging-reader"}, 20), 0u);
}

}  // namespace
}  // namespace kvlog::sim
