// Durable client stores in the simulator: each client slot keeps its store on
// a simulated disk (kv/testing/crashable_storage.h) that outlives the slot's
// crashes, so a restarted client resumes from what the crash left instead of
// replaying the whole log. At each crash the disk keeps its synced bytes and a
// seeded-random prefix of the unsynced ones: the crash loses the batches not
// yet synced, or tears the first of them in the middle (the store then drops
// the torn batch on open), or loses nothing.
//
//   Scenario s;  ...
//   s.durable_storage = DurableStorageOptions{.sync_every = 3};   // kvsim --storage durable
//   SimRun run = RunScenario(s);   // run.storage says what the restarts found
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "kv/storage.h"
#include "kv/testing/crashable_storage.h"
#include "base/rng.h"

namespace kvlog::sim {

struct DurableStorageOptions {
  // A store syncs its disk after every sync_every-th write (1: every write
  // is durable at once, a crash loses nothing; 0: never synced, a crash may
  // lose everything the slot ever wrote).
  int sync_every = 3;
};

// What the crashes did to the stores, for the report.
struct DurableStorageStats {
  int restarts = 0;       // Clients opened on a disk a crash left.
  int resumed = 0;        // ... that found a position past 0 (replayed only the rest).
  int lost_unsynced = 0;  // Crashes that dropped unsynced bytes (whole batches or part of one).
  int64_t records_dropped = 0;  // Batches the stores lost to crashes (torn ones included).
};

// The disks of one run. Deterministic: its own random stream from the seed,
// drawn only when a client opens, in the simulation's order. Not thread-safe
// (one simulation runs on one thread).
class DurableDisks {
 public:
  DurableDisks(uint64_t seed, DurableStorageOptions options);
  // WorkloadOptions::storage: the store of `slot` after `restarts` restarts
  // (0: its first client, on a new disk). Null (the open fails, and the
  // workload reports it) if the disk holds a damaged record.
  std::unique_ptr<kv::Storage> Open(int slot, int restarts);
  const DurableStorageStats& stats() const { return stats_; }
  // "durable (sync every 3rd write): 4 restarts, 3 resumed, ..." for the report.
  std::string Describe() const;

 private:
  DurableStorageOptions options_;
  base::Rng rng_;
  std::map<int, std::shared_ptr<kv::testing::CrashableDisk>> disks_;
  DurableStorageStats stats_;
};

}  // namespace kvlog::sim
