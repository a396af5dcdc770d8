// Scenario::durable_storage (kvsim --storage durable): the clients' stores
// live on simulated disks that their crashes tear; restarted clients resume,
// every check passes, and the same seed gives the same bytes.
#include "sim/durable_storage.h"

#include <gtest/gtest.h>

#include "checker/jsonl.h"
#include "sim/scenario.h"

namespace kvlog::sim {
namespace {

Scenario Make(uint64_t seed, int sync_every) {
  Scenario s;
  s.seed = seed;
  s.workload.ops_per_client = 80;
  Status applied = ApplyFaults({"crash", "lost-ack"}, s);
  EXPECT_TRUE(applied.has_value()) << applied.error().ToString();
  s.durable_storage = DurableStorageOptions{.sync_every = sync_every};
  return s;
}

TEST(DurableStorageScenarioTest, SameSeedSameBytesAndReport) {
  SimRun a = RunScenario(Make(4, 3));
  SimRun b = RunScenario(Make(4, 3));
  EXPECT_TRUE(checker::WriteJsonl(a.history) == checker::WriteJsonl(b.history)) << "same seed, different bytes";
  EXPECT_EQ(a.storage, b.storage);
  EXPECT_NE(a.storage.find("durable (synced every 3 writes)"), std::string::npos) << a.storage;
  // The same seed on in-memory stores: no storage line. (The histories may
  // well be equal: a resumed and a full replay reach the same state.)
  Scenario memory = Make(4, 3);
  memory.durable_storage.reset();
  EXPECT_TRUE(RunScenario(memory).storage.empty());
}

TEST(DurableStorageScenarioTest, CrashesLoseUnsyncedWritesAndRestartedClientsResume) {
  for (int sync_every : {0, 1, 3}) {
    int restarts = 0, resumed = 0, lost = 0;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      Scenario s = Make(seed, sync_every);
      auto disks = std::make_shared<DurableDisks>(seed, *s.durable_storage);
      s.workload.storage = [disks](int slot, int r) { return disks->Open(slot, r); };
      SimRun run = RunScenario(s);
      auto report = Judge(run);
      EXPECT_TRUE(Passed(run, report)) << "sync_every " << sync_every << " seed " << seed << "\n"
                                       << Describe(run, report);
      EXPECT_TRUE(run.storage.empty()) << "a caller's own storage is not described";
      restarts += disks->stats().restarts;
      resumed += disks->stats().resumed;
      lost += disks->stats().lost_unsynced;
    }
    EXPECT_GT(restarts, 0) << "sync_every " << sync_every;
    if (sync_every != 0) {
      EXPECT_GT(resumed, 0) << "sync_every " << sync_every;
    }
    if (sync_every == 1) {
      EXPECT_EQ(lost, 0) << "every write synced: a crash has nothing unsynced to lose";
    } else {
      EXPECT_GT(lost, 0) << "sync_every " << sync_every;
    }
  }
}

}  // namespace
}  // namespace kvlog::sim
