// kv::Client: a key-value store whose source of truth is a single-partition log.
//
//   auto client = kv::Client::Open(std::move(log), kv::NewMemoryStorage(), {});
//   (*client)->Put("user/1", "ada");          // blocks until applied locally
//   auto value = (*client)->Get("user/1");     // local read: "ada"
//   (*client)->Batch().Put("a", "1").Delete("b").Execute();
//
// Writes append to the log and wait until this client's own applier has
// applied them, so a client always reads its own writes. Reads are local and
// never touch the network. Every client applies the same log in the same order,
// so all clients converge; a client's reads may lag other clients' writes.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kv/command.h"
#include "kv/options.h"
#include "kv/stats.h"
#include "kv/storage.h"
#include "kv/watch.h"
#include "log/log.h"
#include "log/status.h"
#include "runtime/runtime.h"

namespace kvlog::kv {

class Client;
namespace internal {
class ClientImpl;
}  // namespace internal

// A condition on one key, decided by every replica when it applies the record
// that carries it, against the state at that record's offset.
class Condition {
 public:
  static Condition Absent(std::string_view key);                     // The key has no value.
  static Condition Present(std::string_view key);                    // The key has a value.
  static Condition VersionIs(std::string_view key, Version version);  // Its version is `version`.

 private:
  friend class Client;
  friend class Txn;
  friend class internal::ClientImpl;
  explicit Condition(internal::CommandCompare compare) : compare_(std::move(compare)) {}
  internal::CommandCompare compare_;
};

// The outcome of an asynchronous write: the offset of its last record once this
// client has applied it, or why it failed (the errors Put returns). Runs exactly
// once: on the client's applier or the log's delivery thread, or before the
// call returns when the input is refused or the client is closed. It must not
// block, and must not call this client's blocking methods.
using WriteCallback = std::function<void(Result<log::Offset>)>;

// What a local read reports besides its answer. Filled atomically with the
// read (under the store's lock), so it describes exactly the state the read
// saw.
struct ReadInfo {
  // The applied position the read was served at: the read reflects every
  // record below it and none at or above it.
  log::Offset position = log::kNoOffset;
};

// Records to append together, waiting once for the highest offset. Not a
// transaction unless Atomic(): other clients' records may interleave with a
// batch's records, and readers may see some of it before the rest.
class WriteBatch {
 public:
  WriteBatch& Put(std::string_view key, std::string_view value);
  WriteBatch& Delete(std::string_view key);
  // All or nothing: the batch is written as ONE record, which every replica
  // applies as one unit (a reader of a store whose Apply is atomic, like the
  // memory storage, never sees part of it; hooks see each write in order, all
  // with that record's offset). Limited to what one record holds: its
  // encoding must fit Limits::max_value_bytes (kInvalidArgument otherwise).
  WriteBatch& Atomic() {
    atomic_ = true;
    return *this;
  }
  std::size_t size() const { return records_.size(); }
  // Appends every record and blocks until all are applied locally. Returns the
  // highest offset. An empty batch returns log::kNoOffset at once.
  Result<log::Offset> Execute(const CallOptions& options = {});
  // Like Execute, without blocking; see Client::PutAsync.
  void ExecuteAsync(WriteCallback done, const CallOptions& options = {});

 private:
  friend class Client;
  friend class internal::ClientImpl;  // Reads the records it is asked to write.
  explicit WriteBatch(Client* client) : client_(client) {}

  Client* client_;
  std::vector<log::Record> records_;
  bool atomic_ = false;
};

// What a committed transaction did: whether every condition held (its
// writes were applied) or not (its Else writes were), and its record's offset
// (the version of every key it wrote).
struct TxnResult {
  bool succeeded = false;
  log::Offset offset = log::kNoOffset;
  friend bool operator==(const TxnResult&, const TxnResult&) = default;
};

// An atomic multi-key transaction in the spirit of etcd's: conditions on
// several keys, the writes to make if all hold, and the writes to make
// otherwise. It is ONE record; every replica decides it at that record's
// offset and applies the chosen writes as one unit, so readers never see half
// of it and all replicas agree. Its encoding must fit one record
// (Limits::max_value_bytes) and its writes Limits::max_batch_records.
//
//   auto r = client->Transaction()
//                .If(kv::Condition::VersionIs("a", va)).If(kv::Condition::VersionIs("b", vb))
//                .Put("a", "90").Put("b", "110")
//                .Commit();   // r->succeeded: both were still at va and vb
class Txn {
 public:
  Txn& If(const Condition& condition);
  Txn& Put(std::string_view key, std::string_view value);
  Txn& Delete(std::string_view key);
  Txn& ElsePut(std::string_view key, std::string_view value);
  Txn& ElseDelete(std::string_view key);
  // Appends the transaction and waits until this client has applied it. A
  // false condition is not an error (succeeded is false). Errors are those of
  // Put; kInvalidArgument when it writes nothing or is over a limit.
  Result<TxnResult> Commit(const CallOptions& options = {});

 private:
  friend class Client;
  friend class internal::ClientImpl;  // Reads the command it is asked to commit.
  explicit Txn(Client* client) : client_(client) {}
  Client* client_;
  internal::Command command_;
};

// The public API, declared once: an abstract class, as LevelDB's DB is. Open
// returns the implementation (internal::ClientImpl, kv/client_impl.h, which
// states its invariants). Callers hold a std::unique_ptr<Client>; a test double
// may derive from it too.
// Thread-safe: many threads (or fibers) may call one client at once.
class Client {
 public:
  // Connects to `log`, replays it into `storage` until the applied position
  // reaches the log's end offset taken now, then returns. Fails with kTimeout
  // (after ClientOptions::startup_timeout) or the log's error.
  //
  // A durable store that holds a position (Storage::Durable) is checked
  // against the log first, then only the log past its position is replayed:
  // kFailedPrecondition when its position is past the log's end or it holds
  // another log (another name, or another record at its first offset or at
  // the offset of the last record it applied);
  // kDataLoss when the log's start moved past its position. Each names what
  // differed; ClientOptions::rebuild_mismatched_store empties the store and
  // replays the whole log instead.
  static Result<std::unique_ptr<Client>> Open(std::unique_ptr<log::Log> log,
                                              std::unique_ptr<Storage> storage,
                                              ClientOptions options = {});

  // What a caller that opens the store before the log can hand the log so
  // that a restart's first fetch begins sooner (KafkaOptions::first_read_offset
  // and reconnect_hint).
  struct LogHints {
    // The offset Open's first reader will start at on this store (a durable
    // store's last applied record, or its position; 0 for a new store): that
    // reader's fetch can begin while the log opens.
    log::Offset first_read_offset = 0;
    // The log's Log::ReconnectHint when it last opened this store (Open keeps
    // it in a durable store's metadata); empty if none.
    std::string reconnect_hint;
  };
  static LogHints HintsFor(Storage& storage);
  virtual ~Client();  // The implementation's destructor closes.

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Appends key=value and waits until this client has applied it. Returns the
  // record's offset. kInvalidArgument for an empty or oversized key or value
  // (nothing is appended); kTimeout when the deadline passes first (the write
  // may still land); kClosed after Close(); kDataLoss when the log
  // acknowledged the write at an offset where this client then found another
  // record or none (the log lost it; see lost_writes()).
  virtual Result<log::Offset> Put(std::string_view key, std::string_view value, const CallOptions& options = {}) = 0;
  // Appends a tombstone for key, like Put.
  virtual Result<log::Offset> Delete(std::string_view key, const CallOptions& options = {}) = 0;
  WriteBatch Batch() { return WriteBatch(this); }
  kv::Txn Transaction() { return kv::Txn(this); }

  // Conditional writes. The condition travels in the record and every replica
  // decides it at the record's offset, so all agree without coordination; this
  // client learns the outcome when its own applier reaches the record. On
  // success they return the record's offset (the key's new version). When the
  // condition was false nothing is written and they fail with kConflict, whose
  // message names the key and its version there ("absent" if it had none).
  // kConflict is final: retrying the same call fails the same way. Other
  // errors are those of Put (kTimeout: the outcome is unknown).
  //
  // PutIf and DeleteIf hold when the key's version is `expected_version`
  // (a version from GetEntry, Range or a write's result; kInvalidArgument for
  // a negative one).
  virtual Result<log::Offset> PutIf(std::string_view key, std::string_view value, Version expected_version,
                            const CallOptions& options = {}) = 0;
  virtual Result<log::Offset> DeleteIf(std::string_view key, Version expected_version, const CallOptions& options = {}) = 0;
  // Holds when the key has no value (SetNX).
  virtual Result<log::Offset> PutIfAbsent(std::string_view key, std::string_view value, const CallOptions& options = {}) = 0;

  // An atomic read-modify-write: reads the key's local value and version,
  // calls fn with the value (nullopt when missing), and writes fn's result on
  // condition that the version is unchanged (or the key still absent). On a
  // conflict it reads again (its applier has passed the conflicting write) and
  // retries, up to ClientOptions::update_max_attempts with backoff; then fails
  // with kConflict. When fn returns an error, Update returns it and writes
  // nothing. fn may run several times; it must not call this client's blocking
  // methods. The whole call shares one deadline (CallOptions::timeout).
  using UpdateFn = std::function<Result<std::string>(const std::optional<std::string>& current)>;
  virtual Result<log::Offset> Update(std::string_view key, const UpdateFn& fn, const CallOptions& options = {}) = 0;

  // TTL (see the README, "TTL"). A Put with CallOptions::ttl writes the
  // deadline (writer's wall clock + ttl) into the record; reads hide the key
  // once this client's wall clock reaches it, and a janitor later removes it
  // through the log with a conditional tombstone.
  //
  // Expire sets a new deadline, ttl from now, on the key's current value (a
  // conditional write of the same value: the key's version changes; retried
  // on conflict like Update). Persist removes the deadline (the version is
  // unchanged and nothing is written when there is none). Both fail with
  // kNotFound for a missing or expired key; Expire with kInvalidArgument for
  // a ttl that is not positive.
  virtual Result<log::Offset> Expire(std::string_view key, Duration ttl, const CallOptions& options = {}) = 0;
  virtual Result<log::Offset> Persist(std::string_view key, const CallOptions& options = {}) = 0;
  // The time left before the key expires by this client's wall clock;
  // nullopt when it has no deadline; kNotFound when missing or expired.
  virtual Result<std::optional<Duration>> TimeToLive(std::string_view key) const = 0;

  // Like Put and Delete, but return at once; `done` runs when the write has
  // been applied locally or has failed. One thread can keep many writes in
  // flight this way, and the log batches them. A write's deadline
  // (CallOptions::timeout) is checked whenever the applier wakes, which is at
  // least every ClientOptions::poll_timeout. With max_writes_in_flight writes
  // already in flight, `done` gets kResourceExhausted at once (or the call
  // waits for a slot: ClientOptions::wait_for_write_slot).
  virtual void PutAsync(std::string_view key, std::string_view value, WriteCallback done, const CallOptions& options = {}) = 0;
  virtual void DeleteAsync(std::string_view key, WriteCallback done, const CallOptions& options = {}) = 0;

  // Local reads. Get returns kNotFound for a missing key.
  virtual Result<std::string> Get(std::string_view key) const = 0;
  // The value and its version: the offset of the record that last wrote the
  // key. Every client that has applied that far gives the same version.
  // kNotFound for a missing key.
  virtual Result<VersionedValue> GetEntry(std::string_view key, ReadInfo* info = nullptr) const = 0;

  // Reads at a level (see ReadLevel for each level's promise): waits until
  // the level holds, then reads local state. kTimeout when it cannot hold in
  // time; kInvalidArgument for a negative max_lag or position; the log's
  // error when its end offset cannot be fetched.
  // With `info`, also the position the read was served at (at least the
  // level's bound).
  virtual Result<std::string> Get(std::string_view key, const ReadOptions& options, ReadInfo* info = nullptr) = 0;
  virtual Result<VersionedValue> GetEntry(std::string_view key, const ReadOptions& options, ReadInfo* info = nullptr) = 0;
  virtual Result<std::vector<KeyValue>> Range(const KeyConstraint& range, const QueryOptions& query,
                                      const ReadOptions& options, ReadInfo* info = nullptr) = 0;
  // Waits until a read at `options.level` would keep its promise. Returns the
  // applied position then: a read made now reflects everything below it.
  virtual Result<log::Offset> AwaitReadLevel(const ReadOptions& options, std::string_view what = "read") = 0;
  // The same read into *value, reusing its buffer: no allocation once the
  // buffer is large enough. For hot read loops. With `info`, also where the
  // read was served (set for a missing key too).
  virtual Status Get(std::string_view key, std::string* value, ReadInfo* info = nullptr) const = 0;
  // Reads many keys at once: (*values)[i] is the value of keys[i], or nullopt
  // when missing. Faster per key than Get on a large store, where each lookup
  // waits on memory: the lookups' cache misses overlap. Buffers already in
  // *values are reused. kInvalidArgument names the first empty key.
  virtual Status MultiGet(std::span<const std::string_view> keys, std::vector<std::optional<std::string>>* values) const = 0;
  // With QueryOptions::versions, each pair carries its key's version.
  virtual Result<std::vector<KeyValue>> Range(const KeyConstraint& range, const QueryOptions& options = {},
                                      ReadInfo* info = nullptr) const = 0;
  virtual Result<std::vector<KeyValue>> Prefix(std::string_view prefix, const QueryOptions& options = {}) const = 0;

  // Waits until this client has applied everything the log held when Sync was
  // called. A read after Sync sees every write acknowledged before Sync began.
  virtual Status Sync(const CallOptions& options = {}) = 0;

  // Waits until the applied position is past `offset`.
  virtual Status WaitApplied(log::Offset offset, const CallOptions& options = {}) = 0;

  // The next offset this client will apply: everything below it is applied.
  // It may move between this call and a read that follows it: to know where a
  // read was served, pass a ReadInfo to the read.
  virtual log::Offset AppliedPosition() const = 0;
  virtual const std::string& id() const = 0;
  virtual const Storage& storage() const = 0;
  // Where Open's replay began: 0 for a full replay, a durable store's
  // position when it resumed from one.
  virtual log::Offset resumed_from() const = 0;
  // A consistent copy of a durable store, and the position it reflects
  // (Storage::Checkpoint). A client opened on a store made from it replays
  // only the log past that position.
  virtual Result<int64_t> Checkpoint(const std::string& dir) const = 0;
  // Records the applier could not decode and skipped.
  virtual std::size_t corrupt_records() const = 0;
  // Writes that failed with kDataLoss: acknowledged by the log at an offset
  // where this client found another record, or none.
  virtual std::size_t lost_writes() const = 0;
  // Times the reader reported (and the client logged as an error) that the
  // log lost records: deleted below the reader's position before it read them
  // (retention, DeleteRecords; it moved on to the log's start), or truncated
  // below its position after it had applied them (an unclean election).
  virtual std::size_t reader_data_loss() const = 0;

  // Stops the applier, fails blocked and later calls with kClosed, and closes
  // the log. Idempotent.
  virtual void Close() = 0;

  // A stream of the changes to a key or under a prefix, in log order, from
  // options.start on: see kv/watch.h for its guarantees and why it is a pull
  // iterator. kCompacted when the start is older than this client's watch
  // history window (the message names the oldest start available);
  // kInvalidArgument for bad options; kClosed after Close().
  virtual Result<std::unique_ptr<Watcher>> Watch(const WatchOptions& options) = 0;

  // What this client has done and where it stands (see ClientStats). With
  // options.end_offset, also the log's end offset and the lag behind it (the
  // log's error when that fetch fails). Never blocks on the applier.
  virtual Result<ClientStats> Stats(const StatsOptions& options = {}) const = 0;

  // Small reads over local state. Exists: whether the key has a value.
  // Count: the keys under `prefix` (every key for the empty prefix). Keys:
  // the keys under `prefix` in key order, without their values, at most
  // `limit` of them (0: no limit).
  virtual Result<bool> Exists(std::string_view key) const = 0;
  virtual Result<std::size_t> Count(std::string_view prefix = {}) const = 0;
  virtual Result<std::vector<std::string>> Keys(std::string_view prefix = {}, std::size_t limit = 0) const = 0;

 protected:
  Client() = default;

 private:
  friend class WriteBatch;
  friend class Txn;
  // What WriteBatch::Execute, ExecuteAsync and Txn::Commit do.
  virtual Result<log::Offset> ExecuteBatch(const WriteBatch& batch, const CallOptions& options) = 0;
  virtual void ExecuteBatchAsync(const WriteBatch& batch, WriteCallback done, const CallOptions& options) = 0;
  virtual Result<TxnResult> CommitTxn(const Txn& txn, const CallOptions& options) = 0;
};

}  // namespace kvlog::kv
