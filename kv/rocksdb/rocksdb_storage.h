// A durable kv::Storage on RocksDB (Debian's librocksdb-dev 7.8).
//
//   auto store = kv::rocksdb::OpenRocksDbStorage({.path = "/var/lib/app/kv"});
//   auto client = kv::Client::Open(std::move(log), std::move(*store), {});
//
// Each applied batch and the log position it brings the store to are ONE
// atomic RocksDB WriteBatch (with the applier's metadata), so after any crash
// the data and its position agree, and Client::Open replays only the log's
// tail past that position. The store also records which log it holds (its
// name and the offset and digest of its first record) and, in the applier's
// metadata, the offset and digest of the last record each batch applied;
// Client::Open checks them before it resumes (the last record through the
// reader that then reads the tail; the first when the last is gone).
//
// Threads: RocksDB runs its own background threads (flushes, compactions)
// inside this package. That is the one exception to kv/'s rule that every
// thread and every clock go through the runtime seam: nothing of the store's
// logic runs on them, and what the store holds depends only on the log.
//
// Failure policy: a failed RocksDB write or read (I/O error, disk full,
// corruption) is fatal: the process aborts with RocksDB's message, since the
// applier cannot go on without storing what it applied and must never report
// a position its data does not reflect. Restarting resumes from the last
// batch that was written.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kv/storage.h"
#include "kv/stored_entry.h"
#include "log/status.h"

namespace kvlog::kv::rocksdb {

struct RocksDbOptions {
  // The store's directory. Required.
  std::string path;
  // Create an empty store when `path` holds none; off: kNotFound instead.
  bool create_if_missing = true;
  // fsync every applied batch: survives power loss, not only a crash of the
  // process (a process crash loses nothing either way: RocksDB's write-ahead
  // log is written before Apply returns). Off by default: a batch lost to
  // power loss is replayed from the log, and a store always holds a prefix
  // of its batches, never part of one.
  bool sync = false;
  // RocksDB's block cache (uncompressed blocks) for reads.
  std::size_t block_cache_bytes = 64 << 20;
  // RocksDB's write buffer (memtable) per column family.
  std::size_t write_buffer_bytes = 64 << 20;
  // Closing the store (destroying it) first writes its memtables to table
  // files, so that the next open has no write-ahead log to replay: a restart
  // after a clean close then costs about what opening a checkpoint does
  // (1 M keys on one machine: 60 ms, against 5.3 s replaying the log of
  // writes never flushed). Off: a faster close, a slower next open. Either
  // way nothing is lost; a crash (no close at all) replays the log.
  bool flush_on_close = true;
};

// A RocksDB store. Readers run concurrently with each other; Apply holds out
// readers for its write, so a reader never sees part of a batch, and a
// positioned read's position is the one its data reflects.
class RocksDbStorage : public Storage {
 public:
  // Writes a consistent copy of the store (a RocksDB checkpoint: hard links
  // where the file system allows) into `dir`, which must not exist yet, and
  // returns the position it reflects. A client opened on a store opened from
  // `dir` (OpenRocksDbStorage) replays only the log past that position; the
  // copy may move to another machine. Holds out the applier while it runs.
  Result<int64_t> Checkpoint(const std::string& dir) const override = 0;
  // The directory this store lives in.
  virtual const std::string& path() const = 0;
};

// Opens (or creates) the store at options.path. Errors: kInvalidArgument for
// an empty path; kNotFound for a missing store without create_if_missing;
// kFailedPrecondition for a store in a format newer than this build reads,
// one that is not a kvlog store, or an LMDB store's directory (kv/lmdb);
// kUnavailable when RocksDB cannot open it
// (its message says why, e.g. another process holds its lock).
Result<std::unique_ptr<RocksDbStorage>> OpenRocksDbStorage(const RocksDbOptions& options);

// The encoding of one stored value (exposed for tests): kv/stored_entry.h,
// shared with the LMDB store.
using kv::DecodeEntry;
using kv::EncodeEntry;
using kv::kEntryFormat1;

}  // namespace kvlog::kv::rocksdb
