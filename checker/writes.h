// Writes: every write a history invoked, one per key it touches (a batch
// yields one per sub-operation), with what the log says about it. Shared by
// the session, durability and staleness checks.
//
// A write is named by its operation id ("op") when the recorder stamps one on
// both the event and the log record, otherwise by (key, value): values written
// by workloads are unique, so a value names its write. Deletes carry no value:
// they are named by op id or by the offset their completion reported. One op
// id may name several records (a batch's, a transaction's, an Update's
// attempts): each is matched to a write by its key and value.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "checker/history.h"

namespace kvlog::checker {

struct Write {
  size_t op = 0;  // Operation::index
  std::string key;
  OptionalString value;  // nil for delete
  const OptionalString* op_id = nullptr;  // the operation's id (Operation::op), if it has one
  OptionalInt offset;  // reported by the completion
  // A batch may write the same (key, value) more than once (deletes of one key,
  // say): this write is the ordinal-th of `same` such writes in its operation,
  // and owns every same-th of their log records from the ordinal-th on.
  size_t ordinal = 0;
  size_t same = 1;
  // Took effect for sure (ok, and not a cas whose compare failed).
  bool definite = false;
  // May have taken effect (info, pending, or a cas with a failed compare that
  // still appended its record).
  bool possible = false;
  FunctionName f;  // put | write | delete | cas | append
};

class WriteIndex {
 public:
  // Keeps references into `history` and `ops`: both must outlive the index.
  // With `threads` >= 2 and `parallel_min_ops` operations or more, the
  // build uses a second thread (the same index). `writes_made`, when set, is
  // called (on this thread) once the writes are made, before the tables are
  // built: what follows runs on this thread alone, and a caller can start
  // other work beside it then rather than beside the two-thread start.
  static constexpr size_t kParallelMinOps = 65536;
  WriteIndex(const History& history, const std::vector<Operation>& ops, int threads = 1,
             size_t parallel_min_ops = kParallelMinOps, const std::function<void()>& writes_made = {});

  const std::vector<Write>& writes() const { return writes_; }
  // The log records naming this write, as indices into history.log (in log
  // order). Records found by the write's op id are matched by key and value
  // record by record, so the records of an atomic batch or transaction (one
  // offset, one op id, a key each) name one write each. Records found by
  // (key, value) alone are those that took effect (see RecordApplied).
  std::vector<size_t> LogRecords(const Write& w) const;
  // Whether history.log[log_index] took effect: false only for a cas record
  // whose condition did not hold when the log is folded (an Update attempt
  // that conflicted, a PutIf that lost). Such a record is no copy of its write.
  bool RecordApplied(size_t log_index) const {
    return record_applied_.empty() || record_applied_[log_index];
  }
  // The version (log offset) a read of `value` on `key` saw: from the log, or
  // else from the offset the write's completion reported.
  std::optional<int64_t> VersionOf(std::string_view key, std::string_view value) const;
  // VersionOf(w.key, *w.value) for writes()[write], without a hash lookup
  // (kept by write when the index is built); nullopt for a write without a
  // value. Every write of one (key, value) gives the same answer, and
  // Invoked(w.key, *w.value) is true for each.
  std::optional<int64_t> VersionOfWrite(size_t write) const { return write_version_[write]; }
  // Whether some write of `value` to `key` was invoked at all.
  bool Invoked(std::string_view key, std::string_view value) const;
  // Whether history.log[log_index] carries the id of an invoked operation.
  bool RecordOpInvoked(size_t log_index) const;
  // The latest log record of `key` with offset < position that changed it (a
  // cas record whose condition failed changed nothing), or nullptr.
  const LogRecord* StateAt(const std::string& key, int64_t position) const;

  static std::string KvName(const std::string& key, const std::string& value);

  // The first write (index into writes()) of a (key, value) that an earlier
  // write (the pair's first) also wrote, if any: the checks that name a write
  // by its value cannot judge such a history.
  std::optional<std::pair<size_t, size_t>> RepeatedValue() const { return repeated_; }

 private:
  // What is known about one (key, value) name; one map keeps it to one lookup.
  // Log records here are those that took effect (RecordApplied).
  struct KvEntry {
    int64_t log_first = -1;  // offset of its first log record
    uint32_t log_count = 0;  // how many log records carry it
    uint32_t invoked = 0;    // how many writes of it were invoked
    int64_t reported = -1;   // offset an acknowledged write reported, or -1
    uint32_t first_write = 0;  // index of its first invoked write
    uint32_t log_first_index = 0;  // index in history.log of its first log record
  };

  // KvName -> KvEntry, for every (key, value) a write or a log record names:
  // one entry per write in a generated history, so it is the largest table
  // here and the one every write, log record and read looks up.
  //
  // The entries (name, hash, KvEntry) live densely in a vector, in the order
  // they were first seen (so the log pass and VersionOfWrite's pass read
  // them nearly in order), and an open-addressing table of 8-byte buckets
  // finds them: each bucket holds the entry's index and 32 bits of its
  // name's hash, probed linearly at a load of 1/2 at most. A lookup then
  // reads one bucket line (mostly), plus the entry itself only when the hash
  // bits match; a bucket's address is known from the hash alone, so the
  // build prefetches the buckets of the writes ahead. (It replaced an
  // absl::flat_hash_set of indices, whose control bytes and slots are two
  // lines per lookup: on a million entries, cache misses were most of the
  // write index's and the session check's time.)
  class KvTable {
   public:
    void Reserve(size_t n);
    // The index of `name`'s entry, created (zeroed) when new.
    uint32_t Insert(absl::string_view name) { return Insert(name, HashOf(name)); }
    // The same, `hash` being HashOf(name).
    uint32_t Insert(absl::string_view name, size_t hash);
    // Starts loading the bucket a name of this hash is probed from.
    void Prefetch(size_t hash) const {
      if (!buckets_.empty()) __builtin_prefetch(&buckets_[hash & mask_]);
    }
    static size_t HashOf(absl::string_view name) { return absl::Hash<absl::string_view>{}(name); }
    // The index of `name`'s entry, or kNone.
    static constexpr uint32_t kNone = ~uint32_t{0};
    uint32_t Find(absl::string_view name) const { return Find(name, HashOf(name)); }
    uint32_t Find(absl::string_view name, size_t hash) const;
    KvEntry& operator[](uint32_t i) { return slots_[i].entry; }
    const KvEntry& operator[](uint32_t i) const { return slots_[i].entry; }

   private:
    struct Slot {
      size_t hash;
      std::string name;
      KvEntry entry;
    };
    // A bucket: 0 when empty, else (hash's top 32 bits) << 32 | (index + 1).
    static uint64_t Tag(size_t hash) { return static_cast<uint64_t>(hash) & ~uint64_t{0xffffffff}; }
    // Makes room for `n` entries at a load of 1/2 at most.
    void Grow(size_t n);
    // Where `name` (of `hash`) is: its entry's index, or kNone and the empty
    // bucket that ends its probe. Needs a table with buckets.
    struct Probe {
      uint32_t index;
      size_t bucket;
    };
    Probe Lookup(absl::string_view name, size_t hash) const;

    std::vector<Slot> slots_;
    std::vector<uint64_t> buckets_;  // a power of two of them
    size_t mask_ = 0;                // buckets_.size() - 1
  };

  const History& history_;
  std::vector<Write> writes_;
  // By write: VersionOfWrite.
  std::vector<std::optional<int64_t>> write_version_;
  // The common log record, linked to its write without a table of op ids:
  // a record with the key, value (or none: a tombstone and a delete) and op
  // id of a write that is alone in its operation with its key and value (no
  // Write::ordinal to share out), in a history without repeated values, and
  // the only write LogRecords could give it to: the one that reported its
  // offset, the only write of its (key, value), or the only delete of its
  // (key, op id). Such a record is one the op-id tables would have found
  // for that write (LogRecords matches each record of an op id by key and
  // value), so it is left out of them: kvsim's 800 K-op history then builds
  // neither log_by_op_ nor invoked_op_ (1.4 M hashed strings). Until a
  // batch's records (no offsets reported) and tombstones were linked too,
  // its 200 K such records built both.
  std::vector<int64_t> linked_;      // by write: the linked record's index in history.log, or -1
  std::vector<bool> record_linked_;  // by log record
  // By log record: not linked, but a write of its key and value (or a
  // delete of its key) carries its op id, so its id was invoked.
  std::vector<bool> record_op_shown_;
  KvTable kv_;
  // (key, op id) of each write without a value that carries an op id ->
  // how many such writes there are and the first: a tombstone's candidate
  // for the link above. (KvEntry's `invoked` and `first_write` only.)
  KvTable tombstones_;
  absl::flat_hash_map<uint32_t, std::vector<size_t>> log_dups_;  // kv entry -> log indices, when > 1
  // op id -> index in history.log of its first log record; the rare ids
  // with several records (a batch, a transaction, Update's attempts, a
  // duplicate) also list them all in log_op_more_. A vector per id cost a
  // heap block per log record. Indices, not offsets: the records of one
  // atomic batch share an offset.
  // Keyed by views of the log records' ids (history.log outlives the index).
  absl::flat_hash_map<absl::string_view, size_t> log_by_op_;
  absl::flat_hash_map<absl::string_view, std::vector<size_t>> log_op_more_;
  std::vector<bool> record_applied_;  // by log record; empty = all applied (no cas)
  // By key: the records that took effect, in log order, with their offsets
  // beside them (StateAt's binary search then reads one array, not the
  // records).
  struct KeyRecord {
    int64_t offset;
    size_t index;  // into history.log
  };
  absl::flat_hash_map<std::string, std::vector<KeyRecord>> log_by_key_;
  // Views of the operations' ids (the operations outlive the index): an
  // 800 K-op history's ids cost 17 MB here, not the 42 MB of copies. Built
  // only when a log record with an op id is neither linked nor shown invoked
  // by a write (RecordOpInvoked answers for those).
  absl::flat_hash_set<absl::string_view> invoked_op_;
  std::optional<std::pair<size_t, size_t>> repeated_;
};

}  // namespace kvlog::checker
