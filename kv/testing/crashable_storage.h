// A simulated durable kv::Storage with crash faults, for tests and the
// simulator: deterministic (no clocks, no threads, no files).
//
// The store keeps its live state in the in-memory store and writes every
// change (an applied batch with its position and applier metadata, the log
// identity, a clear) as one checksummed record appended to a simulated disk.
// Appended bytes are durable only once synced (per SyncPolicy). A crash keeps
// the synced bytes and any prefix of the unsynced ones, so it may lose the
// unsynced suffix or tear the last record in the middle.
//
// Opening a store on a disk after a crash replays the records: a torn last
// record fails its length or checksum and is dropped (the store holds a prefix
// of its batches, never part of one; the lost batches are the client's to
// replay from the log past the recovered position). A damaged record that
// intact records follow is not a crash's doing: Open refuses with kCorrupt
// and says where, never a silently wrong state.
//
//   auto disk = std::make_shared<CrashableDisk>();
//   auto store = OpenCrashableStorage(disk, {.sync_every = 4});
//   ... apply ...;  store.reset();
//   disk->Crash(/*keep_unsynced_bytes=*/10);   // tears the first unsynced record
//   auto again = OpenCrashableStorage(disk, {});  // resumes from the last whole batch
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kv/storage.h"
#include "log/status.h"

namespace kvlog::kv::testing {

// The simulated disk: a byte journal with a synced prefix. Shared by the
// store that writes it and the test that crashes it.
class CrashableDisk {
 public:
  std::size_t size() const { return bytes_.size(); }
  std::size_t synced() const { return synced_; }
  std::size_t unsynced() const { return bytes_.size() - synced_; }
  // Whole records appended since the disk was created.
  int64_t records() const { return records_; }

  // The process dies: the synced bytes stay, with the first
  // `keep_unsynced_bytes` of the unsynced ones (clamped; 0 loses them all, a
  // count inside a record tears it). A store still open on this disk writes
  // nothing from now on (its process is gone); open a new one.
  void Crash(std::size_t keep_unsynced_bytes);
  // Flips the bits of the byte at `index` (< size()): damage no crash makes.
  void Damage(std::size_t index);

 private:
  friend class CrashableStore;
  std::string bytes_;
  std::size_t synced_ = 0;
  int64_t records_ = 0;
  uint64_t generation_ = 0;  // Bumped by Crash: stale stores stop writing.
};

struct SyncPolicy {
  // Sync after every `sync_every`-th record (1: every record, durable at
  // once; 0: never, everything unsynced is lost in a crash).
  int sync_every = 1;
};

// Opens a store on `disk`, replaying its records (an empty disk gives an
// empty store). Errors: kCorrupt when a record other than the last fails its
// checksum or does not decode (the message names the record and its byte
// offset). The torn tail it drops is cut off the disk, as a real store
// truncates its log on recovery.
Result<std::unique_ptr<Storage>> OpenCrashableStorage(std::shared_ptr<CrashableDisk> disk, SyncPolicy policy);

}  // namespace kvlog::kv::testing
