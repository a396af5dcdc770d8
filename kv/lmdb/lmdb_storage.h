// A durable kv::Storage on LMDB (Debian's liblmdb-dev 0.9), beside the
// RocksDB one (kv/rocksdb): the same behaviour, the same stored bytes per key
// (kv/stored_entry.h), a much cheaper open (a restart's budget: see
// kv/lmdb/README.md and bench/README.md).
//
//   auto store = kv::lmdb::OpenLmdbStorage({.path = "/var/lib/app/kv"});
//   auto client = kv::Client::Open(std::move(log), std::move(*store), {});
//
// Each applied batch, the log position it brings the store to and the
// applier's metadata are ONE LMDB write transaction, so after any crash the
// data and its position agree and Client::Open replays only the log's tail.
// The store also records which log it holds, as the RocksDB store does.
//
// Readers run in LMDB read-only transactions: each sees the last committed
// batch whole, never waits for the applier, and a positioned read's position
// is read in the same transaction as its data.
//
// Durability (LmdbOptions::sync):
//   kNoSync (default, MDB_NOSYNC): a commit writes its pages to the file
//     (the OS page cache) and does not fsync. A crash of the PROCESS loses
//     nothing that Apply returned. A crash of the OS (power loss) may lose
//     the last batches and, unlike RocksDB without sync, may leave the file
//     inconsistent if the file system reorders the writes: after power loss,
//     rebuild such a store (delete it, or open the client with a rebuild).
//     The same cost per batch as the RocksDB store's default (no fsync).
//   kNoMetaSync (MDB_NOMETASYNC): one fsync per batch, of the data; the
//     meta page is synced by the next commit. Survives an OS crash intact,
//     possibly without its last batch (the log replays it).
//   kFull: two fsyncs per batch; an OS crash loses nothing Apply returned.
// A clean close (destroying the store) syncs it whatever the setting.
//
// Keys: any length the client takes (16 KiB by default), as in the other
// stores. LMDB takes keys of at most 511 bytes: a key of up to 510 bytes is
// stored as itself (and one byte); a longer one under a stand-in (its first
// 496 bytes, a 64-bit hash of it and a chain index) with the whole key in its
// value record, so Get of a long key reads one chain and compares the whole
// key, and a range sorts each run of keys that share a 496-byte prefix by the
// whole keys. Applier metadata keys too long for LMDB are stored by hash the
// same way. Short keys cost what they did. See kv/lmdb/README.md.
//
// The file is memory-mapped: LmdbOptions::map_size is the
// address space reserved at open, grown by doubling when a batch needs it,
// up to max_map_size (beyond which Apply is fatal, naming the limit).
//
// Failure policy (as the RocksDB store): a failed LMDB write or read is fatal:
// the process aborts with LMDB's message; restarting resumes from the last
// batch committed.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kv/storage.h"
#include "kv/stored_entry.h"
#include "log/status.h"

namespace kvlog::kv::lmdb {

enum class LmdbSync { kNoSync, kNoMetaSync, kFull };

struct LmdbOptions {
  // The store's directory (LMDB's data.mdb and lock.mdb, and kvlog.lock).
  // Required.
  std::string path;
  // Create an empty store when `path` holds none; off: kNotFound instead.
  bool create_if_missing = true;
  // The map (address space reserved, not memory used) at open: the file may
  // grow to this size before the first growth. Grown by doubling.
  std::size_t map_size = std::size_t{1} << 30;
  // The largest map the store grows to (a batch that needs more is fatal).
  std::size_t max_map_size = std::size_t{1} << 40;
  LmdbSync sync = LmdbSync::kNoSync;
};

class LmdbStorage : public Storage {
 public:
  // Writes a compacted copy of the store (mdb_env_copy2 with MDB_CP_COMPACT)
  // into `dir`, which must not exist yet, and returns the position it
  // reflects. Holds out the applier while it runs; readers go on.
  Result<int64_t> Checkpoint(const std::string& dir) const override = 0;
  // The directory this store lives in.
  virtual const std::string& path() const = 0;
};

// Opens (or creates) the store at options.path. Errors: kInvalidArgument for
// an empty path; kNotFound for a missing store without create_if_missing;
// kFailedPrecondition for a directory that holds a RocksDB store, a file
// that is not an LMDB environment, an LMDB environment that is not a kvlog
// store, or a store in a format newer than this build reads; kUnavailable
// when the store is open already (in this process or another) or LMDB
// cannot open it (its message says why).
Result<std::unique_ptr<LmdbStorage>> OpenLmdbStorage(const LmdbOptions& options);

// True when `dir` holds an LMDB store (a data.mdb file): for tools that
// choose the engine of an existing store.
bool IsLmdbStore(const std::string& dir);

}  // namespace kvlog::kv::lmdb
