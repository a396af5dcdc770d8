#include "sim/durable_storage.h"

#include <cstdio>

#include <fmt/format.h>

namespace kvlog::sim {

DurableDisks::DurableDisks(uint64_t seed, DurableStorageOptions options)
    : options_(options), rng_(base::Rng(seed).Fork("durable-storage")) {}

std::unique_ptr<kv::Storage> DurableDisks::Open(int slot, int restarts) {
  auto& disk = disks_[slot];
  if (disk == nullptr) disk = std::make_shared<kv::testing::CrashableDisk>();
  if (restarts > 0) {
    ++stats_.restarts;
    const std::size_t unsynced = disk->unsynced();
    // Any prefix of the unsynced bytes survives: none, all, or a cut inside a
    // batch (a torn write).
    const std::size_t keep = static_cast<std::size_t>(rng_.Below(unsynced + 1));
    if (keep < unsynced) ++stats_.lost_unsynced;
    const int64_t before = disk->records();
    disk->Crash(keep);
    auto reopened = kv::testing::OpenCrashableStorage(disk, {.sync_every = options_.sync_every});
    if (!reopened) return nullptr;
    stats_.records_dropped += before - disk->records();
    if ((*reopened)->Durable()->position > 0) ++stats_.resumed;
    return std::move(*reopened);
  }
  auto store = kv::testing::OpenCrashableStorage(disk, {.sync_every = options_.sync_every});
  if (!store) return nullptr;
  return std::move(*store);
}

std::string DurableDisks::Describe() const {
  const std::string sync = options_.sync_every == 0   ? "never synced"
                           : options_.sync_every == 1 ? "synced every write"
                                                      : fmt::format("synced every {} writes", options_.sync_every);
  return fmt::format("durable ({}): {} restarts on a crashed disk, {} resumed past position 0, {} crashes lost "
                     "unsynced bytes ({} batches dropped, torn ones included)",
                     sync, stats_.restarts, stats_.resumed, stats_.lost_unsynced, stats_.records_dropped);
}

}  // namespace kvlog::sim
