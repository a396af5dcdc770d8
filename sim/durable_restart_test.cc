// Crash-and-restart of clients with durable storage in the simulator: each
// client slot keeps its store on a simulated disk (kv/testing's crashable
// storage) that outlives its crashes. A crash loses what was not synced, or
// tears the last batch; the restarted client resumes from what is left and
// replays the rest of the log. The convergence check covers the restarted
// replicas (their final states are digested like the others'), and it catches
// a store that resumes past records it never applied.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "checker/jsonl.h"
#include "kv/testing/crashable_storage.h"
#include "sim/scenario.h"

namespace kvlog::sim {
namespace {

// Per-slot disks and what the restarts found. Deterministic: its own RNG,
// seeded per scenario, called from the workload's tasks in simulated order.
struct Disks {
  explicit Disks(uint64_t seed) : rng(seed) {}
  std::mt19937_64 rng;
  std::map<int, std::shared_ptr<kv::testing::CrashableDisk>> disks;
  int restarts = 0;
  int resumed = 0;          // Restarts that found a position > 0.
  int lost_unsynced = 0;    // Crashes that dropped unsynced bytes.
  bool ghost_on_restart = false;  // The broken store: holds a key the log never wrote.

  std::unique_ptr<kv::Storage> Open(int slot, int restart) {
    auto& disk = disks[slot];
    if (disk == nullptr) disk = std::make_shared<kv::testing::CrashableDisk>();
    if (restart > 0) {
      ++restarts;
      const std::size_t unsynced = disk->unsynced();
      const std::size_t keep = unsynced == 0 ? 0 : rng() % (unsynced + 1);
      if (keep < unsynced) ++lost_unsynced;
      disk->Crash(keep);
    }
    // Synced every third batch: crashes lose some.
    auto store = kv::testing::OpenCrashableStorage(disk, {.sync_every = 3});
    if (!store) {
      ADD_FAILURE() << "slot " << slot << ": " << store.error().ToString();
      return nullptr;
    }
    const int64_t position = (*store)->Durable()->position;
    if (restart > 0 && position > 0) {
      ++resumed;
      // A store whose data disagrees with its position (what a store that
      // persists data and position separately can leave after a crash):
      // never in a correct store.
      if (ghost_on_restart) {
        (*store)->Apply(std::vector<kv::Mutation>{{"ghost", "never written", position - 1}}, position);
      }
    }
    return std::move(*store);
  }
};

Scenario Make(uint64_t seed, const std::shared_ptr<Disks>& disks) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = 80;
  Status applied = ApplyFaults({"crash", "lost-ack"}, s);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  s.workload.storage = [disks](int slot, int restarts) { return disks->Open(slot, restarts); };
  return s;
}

TEST(DurableRestartTest, RestartedDurableClientsResumeAndConverge) {
  int restarts = 0, resumed = 0, lost = 0, restarted_finals = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    auto disks = std::make_shared<Disks>(seed);
    SimRun run = RunScenario(Make(seed, disks));
    auto report = Judge(run);
    EXPECT_TRUE(Passed(run, report)) << "seed " << seed << "\n" << Describe(run, report);
    for (const auto& final_state : run.history.finals) {
      if (final_state.replica.find("-r") != std::string::npos) ++restarted_finals;
    }
    restarts += disks->restarts;
    resumed += disks->resumed;
    lost += disks->lost_unsynced;
  }
  EXPECT_GT(restarts, 0);
  EXPECT_GT(resumed, 0) << "some restarts must resume from a durable position";
  EXPECT_GT(lost, 0) << "some crashes must lose unsynced batches";
  EXPECT_GT(restarted_finals, 0) << "restarted replicas' final states reach the convergence check";
}

TEST(DurableRestartTest, SameSeedSameHistoryBytes) {
  auto a = std::make_shared<Disks>(4);
  auto b = std::make_shared<Disks>(4);
  SimRun first = RunScenario(Make(4, a));
  SimRun second = RunScenario(Make(4, b));
  EXPECT_EQ(checker::WriteJsonl(first.history), checker::WriteJsonl(second.history));
  EXPECT_EQ(a->restarts, b->restarts);
}

TEST(DurableRestartTest, ARestartedStoreWhoseDataDisagreesWithItsPositionIsCaughtByConvergence) {
  bool caught = false;
  std::string checkers;
  for (uint64_t seed = 1; seed <= 6 && !caught; ++seed) {
    auto disks = std::make_shared<Disks>(seed);
    disks->ghost_on_restart = true;
    SimRun run = RunScenario(Make(seed, disks));
    if (disks->resumed == 0) continue;
    auto report = Judge(run);
    for (const auto& r : report.reports) {
      checkers += r.checker + " ";
      if (r.checker == "convergence" && r.verdict == checker::Verdict::kInvalid) caught = true;
    }
  }
  EXPECT_TRUE(caught) << "a restarted replica holding a key the log never wrote must fail the convergence "
                         "check; checks that ran: "
                      << checkers;
}

}  // namespace
}  // namespace kvlog::sim
