// The counter and bank workloads in the simulator, judged by the counter,
// bank, read-levels and convergence checks: correct clients pass over many
// seeds and every safe fault; broken variants are caught within a bounded
// number of seeds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "checker/jsonl.h"
#include "sim/bank_workload.h"
#include "sim/counter_workload.h"
#include "sim/fault_registry.h"
#include "sim/scenario.h"
#include "sim/testing/run_queries.h"

namespace kvlog::sim {
namespace {

using testing::CountOk;
using testing::FindCheck;

Scenario CounterScenario(uint64_t seed, const std::vector<std::string>& faults, CounterOptions counter = {}) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = 30;
  s.workload.custom = CounterWorkload(counter);
  s.checks = {"counter", "read-levels", "convergence"};
  Status applied = ApplyFaults(faults, s);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  return s;
}

Scenario BankScenario(uint64_t seed, const std::vector<std::string>& faults) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = 30;
  s.workload.custom = BankWorkload();
  s.checks = {"bank", "read-levels", "convergence"};
  Status applied = ApplyFaults(faults, s);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  return s;
}

TEST(CounterWorkloadTest, FinalValuesLieBetweenAcknowledgedAndAcknowledgedPlusUnknown) {
  SimRun run = RunScenario(CounterScenario(3, {"latency", "lost-ack"}));
  ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
  ASSERT_TRUE(run.workload.errors.empty()) << run.workload.errors.front();
  checker::FullReport report = Judge(run);
  EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  const checker::CheckReport* counter = FindCheck(report, "counter");
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->verdict, checker::Verdict::kValid);
  // Every replica read every counter after the run.
  EXPECT_NE(counter->summary.find("final reads n0="), std::string::npos) << counter->summary;
  EXPECT_GT(CountOk(run, "incr"), 20);
  // Reads at every level were recorded with their level and judged.
  const checker::CheckReport* levels = FindCheck(report, "read-levels");
  ASSERT_NE(levels, nullptr);
  EXPECT_EQ(levels->verdict, checker::Verdict::kValid) << levels->summary;
  for (const char* level : {"at_least", "bounded", "linearizable", "local"}) {
    EXPECT_NE(levels->summary.find(level), std::string::npos) << level << ": " << levels->summary;
  }
}

TEST(CounterWorkloadTest, AConditionDecidedByTheWriterLosesIncrementsAndIsCaught) {
  uint64_t found = 0;
  for (uint64_t seed = 1; seed <= 10 && found == 0; ++seed) {
    Scenario s = CounterScenario(seed, {"latency"}, CounterOptions{.counters = 1});
    s.variant = "writer-cas";
    SimRun run = RunScenario(s);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
    const checker::FullReport report = Judge(run);  // FindCheck points into it.
    const checker::CheckReport* counter = FindCheck(report, "counter");
    ASSERT_NE(counter, nullptr);
    if (counter->verdict == checker::Verdict::kInvalid) found = seed;
  }
  EXPECT_NE(found, 0u) << "writer-cas lost no increment the counter check saw in seeds 1..10";
}

TEST(BankWorkloadTest, EveryReadShowsTheTotal) {
  SimRun run = RunScenario(BankScenario(5, {"latency"}));
  ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
  ASSERT_TRUE(run.workload.errors.empty()) << run.workload.errors.front();
  checker::FullReport report = Judge(run);
  EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  const checker::CheckReport* bank = FindCheck(report, "bank");
  ASSERT_NE(bank, nullptr);
  EXPECT_EQ(bank->verdict, checker::Verdict::kValid);
  EXPECT_NE(bank->summary.find("total 400"), std::string::npos) << bank->summary;
  EXPECT_GT(CountOk(run, "transfer", true), 10);
  EXPECT_GT(CountOk(run, "range"), 10);
}

TEST(BankWorkloadTest, AStreamedHistoryReadsBackAndJudgesTheSame) {
  // A transfer's two writes share one offset in the recorded log; the JSONL
  // file carries them and kvcheck's reader accepts them.
  Scenario s = BankScenario(7, {"latency", "crash"});
  const char* dir = std::getenv("TEST_TMPDIR");
  s.stream_history_to = std::string(dir ? dir : "/tmp") + "/bank.jsonl";
  SimRun run = RunScenario(s);
  ASSERT_EQ(run.history_file, s.stream_history_to);
  checker::FullReport report = Judge(run);
  EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
  EXPECT_EQ(FindCheck(report, "bank")->verdict, checker::Verdict::kValid);
  EXPECT_EQ(FindCheck(report, "convergence")->verdict, checker::Verdict::kValid);
  // A streamed run keeps no log in memory: read the file's back.
  EXPECT_TRUE(run.history.log.empty());
  auto file = checker::ReadJsonlFile(run.history_file);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  EXPECT_EQ(file->log.size(), run.log_records);
  int64_t shared = 0;
  for (std::size_t i = 1; i < file->log.size(); ++i) {
    shared += file->log[i].offset == file->log[i - 1].offset;
  }
  EXPECT_GT(shared, 10) << "no transaction's writes share an offset";
}

TEST(BankWorkloadTest, ATransactionAppliedRecordByRecordIsCaught) {
  uint64_t found = 0;
  std::string why;
  for (uint64_t seed = 1; seed <= 10 && found == 0; ++seed) {
    Scenario s = BankScenario(seed, {"latency"});
    s.variant = "txn-split";
    SimRun run = RunScenario(s);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
    ASSERT_TRUE(run.workload.errors.empty()) << run.workload.errors.front();
    checker::FullReport report = Judge(run);
    const checker::CheckReport* bank = FindCheck(report, "bank");
    ASSERT_NE(bank, nullptr);
    // The split records still converge: the log decides each of them alike.
    EXPECT_EQ(FindCheck(report, "convergence")->verdict, checker::Verdict::kValid) << "seed " << seed;
    if (bank->verdict == checker::Verdict::kInvalid) {
      found = seed;
      why = bank->violations.front().kind;
    }
  }
  EXPECT_NE(found, 0u) << "txn-split not caught by the bank check in seeds 1..10";
  EXPECT_EQ(why, "total-changed");
}

TEST(WorkloadsTest, OneScenarioRunTwiceGivesTheSameHistoryBytes) {
  // A sweep reuses one scenario for every seed: no state may carry over from
  // one run to the next (the counter's at_least token did once).
  for (bool bank : {false, true}) {
    Scenario s = bank ? BankScenario(4, {"latency", "crash"}) : CounterScenario(4, {"latency", "crash"});
    SimRun first = RunScenario(s);
    SimRun second = RunScenario(s);
    EXPECT_EQ(checker::WriteJsonl(first.history), checker::WriteJsonl(second.history)) << (bank ? "bank" : "counter");
    EXPECT_GT(first.history.events.size(), 100u);
  }
}

TEST(CounterWorkloadTest, ALinearizableReadThatSkipsTheEndOffsetFetchIsCaught) {
  uint64_t found = 0;
  for (uint64_t seed = 1; seed <= 10 && found == 0; ++seed) {
    Scenario s = CounterScenario(seed, {"lagging-reader"});
    s.variant = "stale-end";
    SimRun run = RunScenario(s);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
    if (!Passed(run, Judge(run))) found = seed;
  }
  EXPECT_NE(found, 0u) << "stale-end not caught on the counter workload in seeds 1..10";
}

// Many seeds times every safe fault, one at a time and all together, for the
// counter and bank workloads: zero violations.
TEST(WorkloadsPropertyTest, CounterAndBankPassUnderEverySafeFault) {
  std::vector<std::vector<std::string>> fault_sets = {{}, SafeFaultNames()};
  for (const std::string& f : SafeFaultNames()) fault_sets.push_back({f});
  int64_t incr = 0, transfers = 0, reads = 0;
  for (const auto& faults : fault_sets) {
    std::string names;
    for (const auto& n : faults) names += n + " ";
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      for (bool bank : {false, true}) {
        Scenario s = bank ? BankScenario(seed, faults) : CounterScenario(seed, faults);
        s.workload.ops_per_client = 20;
        SimRun run = RunScenario(s);
        checker::FullReport report = Judge(run);
        EXPECT_TRUE(Passed(run, report)) << (bank ? "bank" : "counter") << " seed " << seed << " faults: " << names
                                         << "\n"
                                         << Describe(run, report);
        incr += CountOk(run, "incr");
        transfers += CountOk(run, "transfer", true);
        reads += CountOk(run, "get") + CountOk(run, "range");
      }
    }
  }
  // Judged a real amount of work, not empty histories.
  EXPECT_GT(incr, 300);
  EXPECT_GT(transfers, 150);
  EXPECT_GT(reads, 500);
}

}  // namespace
}  // namespace kvlog::sim
