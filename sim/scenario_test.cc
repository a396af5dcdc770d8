// The simulator end to end: determinism, safe faults pass, unsafe
// configurations and broken clients are caught within a bounded number of seeds.
#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <functional>
#include <map>
#include <set>

#include "sim/fault_registry.h"
#include "checker/jsonl.h"

namespace kvlog::sim {
namespace {

Scenario Make(uint64_t seed, const std::vector<std::string>& faults, int ops = 60) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = ops;
  Status applied = ApplyFaults(faults, s);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  return s;
}

// The violation kinds a run's checks reported.
std::set<std::string> ViolationKinds(const checker::FullReport& report) {
  std::set<std::string> kinds;
  for (const auto& r : report.reports) {
    for (const auto& v : r.violations) kinds.insert(v.kind);
  }
  return kinds;
}

// Runs seeds 1..max_seeds and returns the first whose checks report one of
// `kinds` (separated by '|'), or 0.
uint64_t FirstSeedFinding(const std::vector<std::string>& faults, const std::string& variant,
                          const std::string& kinds, uint64_t max_seeds,
                          const std::function<void(Scenario&)>& tweak = nullptr) {
  for (uint64_t seed = 1; seed <= max_seeds; ++seed) {
    Scenario s = Make(seed, faults);
    s.variant = variant;
    if (tweak) tweak(s);
    SimRun run = RunScenario(s);
    EXPECT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    for (const std::string& kind : ViolationKinds(Judge(run))) {
      if (("|" + kinds + "|").find("|" + kind + "|") != std::string::npos) return seed;
    }
  }
  return 0;
}

TEST(ScenarioTest, TheSameSeedGivesTheSameHistoryByteForByte) {
  Scenario s = Make(42, SafeFaultNames(), 80);
  std::string first = checker::WriteJsonl(RunScenario(s).history);
  std::string second = checker::WriteJsonl(RunScenario(s).history);
  ASSERT_GT(first.size(), 1000u);
  EXPECT_EQ(std::hash<std::string>{}(first), std::hash<std::string>{}(second));
  EXPECT_EQ(first, second);

  s.seed = 43;
  std::string other = checker::WriteJsonl(RunScenario(s).history);
  EXPECT_NE(first, other);

  // With async puts in the mix (their completions recorded from the client's
  // callbacks), at a small in-flight limit, and with swarm-chosen knobs.
  Scenario async = Make(42, SafeFaultNames(), 80);
  async.workload.mix.put_async = 40;
  async.workload.max_async_writes = 6;
  async.workload.max_writes_in_flight = 2;
  const std::string a1 = checker::WriteJsonl(RunScenario(async).history);
  const std::string a2 = checker::WriteJsonl(RunScenario(async).history);
  ASSERT_GT(a1.size(), 1000u);
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, first);
  Scenario swarm;
  swarm.seed = 42;
  swarm.workload.ops_per_client = 80;
  swarm.swarm = SafeFaultNames();
  for (uint64_t seed = 1; seed <= 6; ++seed) {  // Some of these seeds draw async puts.
    swarm.seed = seed;
    SimRun r1 = RunScenario(swarm);
    SimRun r2 = RunScenario(swarm);
    EXPECT_EQ(checker::WriteJsonl(r1.history), checker::WriteJsonl(r2.history)) << "seed " << seed;
    EXPECT_EQ(r1.workload.async_writes, r2.workload.async_writes);
  }
}

// Async puts (OperationMix::put_async) keep several writes in flight per
// process, so a small ClientOptions::max_writes_in_flight is met: async puts
// at the limit are refused (kResourceExhausted, recorded as fail) or wait for
// a slot (wait_for_write_slot), the process's blocking writes wait; the
// history stays valid, and the async writes overlap on their replica.
TEST(ScenarioTest, AsyncPutsMeetASmallInFlightLimitAndTheHistoryStaysValid) {
  for (bool wait : {false, true}) {
    Scenario s = Make(11, {"latency", "lost-ack", "crash"}, 200);
    s.workload.mix = OperationMix{.put = 15, .get = 30, .del = 5, .batch = 10, .range = 0, .cas = 0, .put_async = 40};
    s.workload.max_async_writes = 8;
    s.workload.max_writes_in_flight = 2;
    s.workload.wait_for_write_slot = wait;
    SimRun run = RunScenario(s);
    auto report = Judge(run);
    EXPECT_TRUE(Passed(run, report)) << Describe(run, report);
    EXPECT_GT(run.workload.async_writes, 100) << Describe(run, report);
    EXPECT_GT(run.workload.writes_waited_at_limit, 0) << Describe(run, report);
    int64_t refused_in_history = 0;
    for (const auto& e : run.history.events) {
      refused_in_history += e.type == checker::EventType::kFail && e.f == "put" && e.process >= s.workload.clients;
    }
    if (wait) {
      EXPECT_EQ(run.workload.writes_refused_at_limit, 0);
    } else {
      EXPECT_GT(run.workload.writes_refused_at_limit, 0) << Describe(run, report);
      EXPECT_GT(refused_in_history, 0);
    }
    // Two puts of one replica in flight at once: invoked, and the other
    // invoked before the first completed.
    std::map<std::string, int> open;
    int overlapped = 0;
    for (const auto& e : run.history.events) {
      if (e.f != "put" || !e.replica) continue;
      int& n = open[std::string(*e.replica)];
      if (e.type == checker::EventType::kInvoke) {
        overlapped += ++n > 1;
      } else {
        --n;
      }
    }
    EXPECT_GT(overlapped, 10);
  }
  // Without async puts the same limit is never met by this workload: one
  // write in flight per process.
  Scenario sync = Make(11, {"latency", "lost-ack"}, 200);
  sync.workload.max_writes_in_flight = 2;
  SimRun run = RunScenario(sync);
  EXPECT_EQ(run.workload.writes_waited_at_limit + run.workload.writes_refused_at_limit, 0);
}

// A history streamed to its file as it is recorded has the bytes of the
// in-memory one, and is judged the same from there.
TEST(ScenarioTest, AStreamedHistoryHasTheSameBytesAndVerdicts) {
  for (const auto& faults : std::vector<std::vector<std::string>>{SafeFaultNames(), {"lost-ack-no-idempotence"}}) {
    Scenario s = Make(7, faults, 80);
    SimRun in_memory = RunScenario(s);
    const std::string path = ::testing::TempDir() + "/streamed.jsonl";
    s.stream_history_to = path;
    SimRun streamed = RunScenario(s);
    ASSERT_EQ(streamed.history_file, path);
    EXPECT_TRUE(streamed.history.events.empty());
    EXPECT_TRUE(streamed.history.log.empty());  // read back by Judge, not held twice
    EXPECT_EQ(streamed.log_records, in_memory.history.log.size());
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string expected = checker::WriteJsonl(in_memory.history);
    ASSERT_GT(expected.size(), 1000u);
    EXPECT_EQ(bytes.str(), expected);
    auto a = Judge(in_memory), b = Judge(streamed);
    EXPECT_EQ(a.Overall(), b.Overall());
    EXPECT_EQ(a.ops.size(), b.ops.size());
    EXPECT_EQ(ViolationKinds(a), ViolationKinds(b));
    std::remove(path.c_str());
  }
  // A file that cannot be written is a workload error, not a silent pass.
  Scenario s = Make(7, {}, 10);
  s.stream_history_to = ::testing::TempDir() + "/no/such/dir/h.jsonl";
  SimRun run = RunScenario(s);
  ASSERT_FALSE(run.workload.errors.empty());
  EXPECT_NE(run.workload.errors[0].find("cannot write the history"), std::string::npos);
  EXPECT_FALSE(Passed(run, Judge(run)));
}

// The fault schedule is recorded as nemesis lines among the events, where
// its times fall, plus each client crash and restart as it happens; the file
// reads back with the same actions at the same positions.
TEST(ScenarioTest, TheHistoryRecordsTheFaultScheduleAsNemesisActions) {
  Scenario s = Make(5, {"outage", "failover", "paused-reader", "crash"}, 150);
  SimRun run = RunScenario(s);
  ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted);
  const auto& nemesis = run.history.nemesis;
  auto find = [&](const std::string& f) {
    return std::find_if(nemesis.begin(), nemesis.end(), [&](const checker::NemesisEvent& n) { return n.f == f; });
  };
  // The outage preset: 200 to 500 ms; failovers at 300 and 700 ms; slot 1's
  // reader paused from 100 to 400 ms.
  auto start = find("start-outage"), stop = find("stop-outage");
  ASSERT_NE(start, nemesis.end());
  ASSERT_NE(stop, nemesis.end());
  EXPECT_EQ(*start->time, 200'000'000);
  EXPECT_EQ(*stop->time, 500'000'000);
  EXPECT_EQ(std::count_if(nemesis.begin(), nemesis.end(), [](const auto& n) { return n.f == "failover"; }), 2);
  EXPECT_NE(find("pause-reader-1"), nemesis.end());
  EXPECT_NE(find("resume-reader-1"), nemesis.end());
  EXPECT_EQ(find("pause-reader-0"), nemesis.end()) << "only slot 1's reader is paused";
  EXPECT_EQ(std::count_if(nemesis.begin(), nemesis.end(), [](const auto& n) { return n.f == "crash"; }),
            run.workload.crashes);
  EXPECT_GT(run.workload.crashes, 0);
  EXPECT_NE(find("restart"), nemesis.end());
  // Each sits among the events by time: every event before it is no later,
  // every event after it is later.
  const auto& events = run.history.events;
  for (std::size_t i = 0; i < nemesis.size(); ++i) {
    const auto& n = nemesis[i];
    ASSERT_TRUE(n.time.has_value());
    if (i > 0) {
      EXPECT_LE(*nemesis[i - 1].time, *n.time);
    }
    ASSERT_LE(n.position, static_cast<int64_t>(events.size()));
    if (n.position > 0) {
      EXPECT_LE(*events[n.position - 1].time, *n.time) << n.f;
    }
    if (n.position < static_cast<int64_t>(events.size())) {
      EXPECT_GE(*events[n.position].time, *n.time) << n.f;
    }
  }
  // Read back from JSONL: the same actions at the same positions.
  auto back = checker::ParseJsonl(checker::WriteJsonl(run.history), "h.jsonl");
  ASSERT_TRUE(back) << back.error().ToString();
  ASSERT_EQ(back->nemesis.size(), nemesis.size());
  for (std::size_t i = 0; i < nemesis.size(); ++i) {
    EXPECT_EQ(back->nemesis[i].f, nemesis[i].f);
    EXPECT_EQ(back->nemesis[i].position, nemesis[i].position);
    EXPECT_EQ(back->nemesis[i].time, nemesis[i].time);
  }
  // No fault, no nemesis line.
  EXPECT_TRUE(RunScenario(Make(5, {}, 30)).history.nemesis.empty());
}

TEST(ScenarioTest, EverySafeFaultAloneAndAllTogetherPass) {
  std::vector<std::vector<std::string>> configs;
  for (const auto& name : SafeFaultNames()) configs.push_back({name});
  configs.push_back(SafeFaultNames());
  for (const auto& faults : configs) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      SimRun run = RunScenario(Make(seed, faults));
      auto report = Judge(run);
      EXPECT_TRUE(Passed(run, report)) << "faults " << faults.front() << "... seed " << seed << "\n"
                                       << Describe(run, report);
      EXPECT_FALSE(run.history.finals.empty());
      EXPECT_FALSE(run.history.log.empty());
    }
  }
}

TEST(ScenarioTest, FaultsShowInTheRunAndItsStatistics) {
  SimRun run = RunScenario(Make(3, {"lost-ack", "failed-append", "crash", "corrupt"}, 100));
  EXPECT_GT(run.stats.lost_acks, 0);
  // Each lost acknowledgement is retried and deduplicated, unless its client
  // crashes (closing the connection) during the retry back-off first.
  EXPECT_GT(run.stats.deduplicated_retries, 0);
  EXPECT_LE(run.stats.deduplicated_retries, run.stats.lost_acks);
  EXPECT_EQ(run.stats.duplicates_committed, 0);
  EXPECT_GT(run.stats.failed_appends, 0);
  EXPECT_GT(run.stats.corrupted_records, 0);
  EXPECT_GT(run.workload.crashes, 0);
  for (std::string name : {"lost-ack", "failed-append", "crash", "corrupt"}) {
    EXPECT_NE(std::find(run.faults.begin(), run.faults.end(), name), run.faults.end()) << name;
  }
}

TEST(ScenarioTest, UnknownFaultsAndVariantsAreRefusedByName) {
  Scenario s;
  auto bad = ApplyFaults({"latency", "gremlins"}, s);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("unknown fault 'gremlins'"), std::string::npos);
  EXPECT_NE(bad.error().message().find("compaction"), std::string::npos);
  s.variant = "sloppy";
  SimRun run = RunScenario(s);
  ASSERT_EQ(run.workload.errors.size(), 1u);
  EXPECT_NE(run.workload.errors[0].find("unknown client variant 'sloppy'"), std::string::npos);
}

// Unsafe configurations: the simulator finds the anomaly and the checker names it.
// Retries without idempotence commit duplicates; every replica skips the
// second copy (by writer and seq, kv/dedup_window.h), so the history shows
// each write once.
TEST(ScenarioTest, RetriesWithoutIdempotenceCommitDuplicatesThatEveryReplicaSkips) {
  int64_t committed = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimRun run = RunScenario(Make(seed, {"lost-ack-no-idempotence"}));
    committed += run.stats.duplicates_committed;
    for (const std::string& kind : ViolationKinds(Judge(run))) {
      EXPECT_NE(kind, "duplicated-write") << "seed " << seed;
    }
  }
  EXPECT_GT(committed, 0);  // The broker did commit duplicates: the check above had something to judge.
}

// Writes the log lost: write operations that completed ok, or all of them
// with `ok_only` false, none of whose records is in the log as written (by
// operation id). Judged from the history itself, independently of the checker.
struct LostWrites {
  int ok = 0;       // Returned success, yet not in the log.
  int not_ok = 0;   // Returned an error or unknown, and not in the log.
};

LostWrites CountLostWrites(const checker::History& h) {
  std::set<std::string> in_log;
  for (const auto& r : h.log) {
    if (r.op) in_log.insert(std::string(*r.op));
  }
  LostWrites lost;
  for (const auto& e : h.events) {
    if (e.type == checker::EventType::kInvoke || !e.op) continue;
    if (e.f != "put" && e.f != "delete" && e.f != "batch") continue;
    if (in_log.contains(std::string(*e.op))) continue;
    if (e.type == checker::EventType::kOk) {
      ++lost.ok;
    } else {
      ++lost.not_ok;
    }
  }
  return lost;
}

// Issue 11: with acks=1 the log loses acknowledged writes; the client must
// find out (its own record is not at the acknowledged offset) and never
// report such a write as a success.
TEST(ScenarioTest, AcksOneWithFailoverLosesWritesAndTheClientReportsEach) {
  int flagged = 0, lost_not_ok = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimRun run = RunScenario(Make(seed, {"failover-acks1"}));
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    auto report = Judge(run);
    auto kinds = ViolationKinds(report);
    EXPECT_FALSE(kinds.contains("lost-write")) << "seed " << seed << "\n" << Describe(run, report);
    EXPECT_FALSE(kinds.contains("offset-claimed-twice")) << "seed " << seed << "\n" << Describe(run, report);
    LostWrites lost = CountLostWrites(run.history);
    EXPECT_EQ(lost.ok, 0) << "seed " << seed << "\n" << Describe(run, report);
    lost_not_ok += lost.not_ok;
    flagged += static_cast<int>(run.workload.data_loss);
  }
  // The faults did lose writes, and the client said so: the test can fail.
  EXPECT_GT(lost_not_ok, 0);
  EXPECT_GT(flagged, 0);
}

// An unclean election also loses records that were replicated, acknowledged
// and applied: a write can return success and be lost afterwards, which no
// client can foresee. What the client owes: no write returns success after
// the loss that swallowed it (a write acknowledged at an offset the
// truncation reused fails with kDataLoss), and every client whose reader had
// passed the truncation point reports it (reader_data_loss) instead of going
// on silently.
TEST(ScenarioTest, UncleanElectionLosesWritesAndTheClientReportsWhatItCan) {
  int flagged = 0, reported = 0, lost_before = 0, lost_not_ok = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Scenario s = Make(seed, {"unclean-failover"});
    SimRun run = RunScenario(s);
    ASSERT_EQ(run.outcome.kind, RunOutcome::Kind::kCompleted) << "seed " << seed;
    EXPECT_FALSE(ViolationKinds(Judge(run)).contains("offset-claimed-twice")) << "seed " << seed;
    const int64_t last_failover = std::max_element(s.broker.failovers.begin(), s.broker.failovers.end())->count();
    std::set<std::string> in_log;
    for (const auto& r : run.history.log) {
      if (r.op) in_log.insert(std::string(*r.op));
    }
    for (const auto& e : run.history.events) {
      if (e.type != checker::EventType::kOk || !e.op || !e.time) continue;
      if ((e.f != "put" && e.f != "delete" && e.f != "batch") || in_log.contains(std::string(*e.op))) continue;
      // Lost after it returned: it returned before the last failover.
      EXPECT_LE(*e.time, last_failover) << "seed " << seed << ": " << *e.op << " returned ok after the failovers";
      ++lost_before;
    }
    lost_not_ok += CountLostWrites(run.history).not_ok;
    flagged += static_cast<int>(run.workload.data_loss);
    reported += static_cast<int>(run.workload.reader_data_loss);
  }
  EXPECT_GT(lost_before, 0);  // The fault bites (the test can fail)...
  EXPECT_GT(reported, 0);     // ...and the clients said so.
  EXPECT_GT(lost_not_ok + flagged, 0);
}

// The same faults with a client that trusts the acknowledged offset (the
// client before issue 11): the checker finds acknowledged writes lost.
TEST(ScenarioTest, AClientThatTrustsTheAcknowledgedOffsetIsCaught) {
  EXPECT_NE(FirstSeedFinding({"failover-acks1"}, "trust-ack", "lost-write|offset-claimed-twice", 20), 0u);
}

// Compaction with no lag removes a record a lagging writer has not read yet
// (superseded by a later one). Before issue 11 the write returned with
// neither value visible to its writer (read-your-writes, found within 60
// seeds); now the writer finds no record of its own at the acknowledged
// offset and fails the write with kDataLoss.
TEST(ScenarioTest, CompactionWithoutLagMakesALaggingWriterReportDataLoss) {
  EXPECT_EQ(FirstSeedFinding({"lagging-reader", "compaction-without-lag"}, "correct", "read-your-writes", 20), 0u);
  int flagged = 0;
  for (uint64_t seed = 1; seed <= 10 && flagged == 0; ++seed) {
    SimRun run = RunScenario(Make(seed, {"lagging-reader", "compaction-without-lag"}));
    flagged += static_cast<int>(run.workload.data_loss);
  }
  EXPECT_GT(flagged, 0);
}

// Broken clients are caught.
TEST(ScenarioTest, AClientThatAcknowledgesBeforeApplyingIsCaught) {
  EXPECT_NE(FirstSeedFinding({}, "early-ack", "read-your-writes|read-inconsistent", 10), 0u);
}

// With each client-side fault on, the broken clients are still caught.
TEST(ScenarioTest, BrokenClientsAreCaughtUnderClockSkewAndSlowOrStalledAppliers) {
  for (std::string fault : {"clock-skew", "slow-applier", "stalled-applier"}) {
    EXPECT_NE(FirstSeedFinding({fault}, "early-ack", "read-your-writes|read-inconsistent", 10), 0u) << fault;
    EXPECT_NE(FirstSeedFinding({fault, "latency"}, "reorder", "digest-mismatch", 10), 0u) << fault;
  }
}

// With only async puts writing, the broken clients are still caught: acked
// async writes lost (trust-ack under acks=1 failovers; the correct client
// fails those writes with kDataLoss instead), and a client that acknowledges
// before it applies (early-ack).
TEST(ScenarioTest, BrokenClientsAreCaughtWithAsyncWrites) {
  auto async_only = [](Scenario& s) {
    s.workload.mix = OperationMix{.put = 0, .get = 40, .del = 0, .batch = 0, .range = 0, .cas = 0, .put_async = 60};
    s.workload.max_async_writes = 4;
    s.workload.ops_per_client = 400;  // Async puts go fast: the run must reach the failovers (300, 700 ms).
  };
  EXPECT_NE(FirstSeedFinding({"failover-acks1"}, "trust-ack", "lost-write|offset-claimed-twice", 10, async_only), 0u);
  EXPECT_EQ(FirstSeedFinding({"failover-acks1"}, "correct", "lost-write|offset-claimed-twice", 5, async_only), 0u);
  EXPECT_NE(FirstSeedFinding({}, "early-ack", "read-your-writes|read-inconsistent", 10, async_only), 0u);
  EXPECT_EQ(FirstSeedFinding({}, "correct", "read-your-writes|lost-write|read-inconsistent", 5, async_only), 0u);
}

TEST(ScenarioTest, AClientThatAppliesOutOfOrderIsCaught) {
  EXPECT_NE(FirstSeedFinding({"latency"}, "reorder", "digest-mismatch", 10), 0u);
}

}  // namespace
}  // namespace kvlog::sim
