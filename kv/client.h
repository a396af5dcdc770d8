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

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kv/options.h"
#include "kv/storage.h"
#include "log/log.h"
#include "log/status.h"
#include "runtime/runtime.h"

namespace kvlog::kv {

class Client;

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
// transaction: other clients' records may interleave with a batch's records,
// and readers may see some of it before the rest.
class WriteBatch {
 public:
  WriteBatch& Put(std::string_view key, std::string_view value);
  WriteBatch& Delete(std::string_view key);
  std::size_t size() const { return records_.size(); }
  // Appends every record and blocks until all are applied locally. Returns the
  // highest offset. An empty batch returns log::kNoOffset at once.
  Result<log::Offset> Execute(const CallOptions& options = {});
  // Like Execute, without blocking; see Client::PutAsync.
  void ExecuteAsync(WriteCallback done, const CallOptions& options = {});

 private:
  friend class Client;
  explicit WriteBatch(Client* client) : client_(client) {}
  // The records to append, validated and with the client's headers.
  Result<std::vector<log::Record>> Prepare(const CallOptions& options) const;

  Client* client_;
  std::vector<log::Record> records_;
};

// Invariants:
//  - applied_position_ only increases; every record below it has been applied
//    to storage_ and its hook has run.
//  - A write returns success only after applied_position_ has passed its
//    offsets and the applier found the write's own records there (writer id
//    and kvlog-seq); otherwise it fails with kDataLoss.
//  - Every write started is finished exactly once (applied, failed, timed out
//    or closed); until then it is in writes_by_deadline_, and once the log has
//    acknowledged it, also in writes_by_offset_ (both drop finished writes
//    lazily). writes_in_flight_ counts the unfinished ones.
//  - After Close() returns, no applier, log callback or hook runs again.
// Thread-safe: many threads (or fibers) may call one client at once.
class Client {
 public:
  // Connects to `log`, replays it into `storage` until the applied position
  // reaches the log's end offset taken now, then returns. Fails with kTimeout
  // (after ClientOptions::startup_timeout) or the log's error.
  static Result<std::unique_ptr<Client>> Open(std::unique_ptr<log::Log> log,
                                              std::unique_ptr<Storage> storage,
                                              ClientOptions options = {});
  ~Client();  // Closes.

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Appends key=value and waits until this client has applied it. Returns the
  // record's offset. kInvalidArgument for an empty or oversized key or value
  // (nothing is appended); kTimeout when the deadline passes first (the write
  // may still land); kClosed after Close(); kDataLoss when the log
  // acknowledged the write at an offset where this client then found another
  // record or none (the log lost it; see lost_writes()).
  Result<log::Offset> Put(std::string_view key, std::string_view value, const CallOptions& options = {});
  // Appends a tombstone for key, like Put.
  Result<log::Offset> Delete(std::string_view key, const CallOptions& options = {});
  WriteBatch Batch() { return WriteBatch(this); }

  // Like Put and Delete, but return at once; `done` runs when the write has
  // been applied locally or has failed. One thread can keep many writes in
  // flight this way, and the log batches them. A write's deadline
  // (CallOptions::timeout) is checked whenever the applier wakes, which is at
  // least every ClientOptions::poll_timeout.
  void PutAsync(std::string_view key, std::string_view value, WriteCallback done, const CallOptions& options = {});
  void DeleteAsync(std::string_view key, WriteCallback done, const CallOptions& options = {});

  // Local reads. Get returns kNotFound for a missing key.
  Result<std::string> Get(std::string_view key) const;
  // The same read into *value, reusing its buffer: no allocation once the
  // buffer is large enough. For hot read loops. With `info`, also where the
  // read was served (set for a missing key too).
  Status Get(std::string_view key, std::string* value, ReadInfo* info = nullptr) const;
  // Reads many keys at once: (*values)[i] is the value of keys[i], or nullopt
  // when missing. Faster per key than Get on a large store, where each lookup
  // waits on memory: the lookups' cache misses overlap. Buffers already in
  // *values are reused. kInvalidArgument names the first empty key.
  Status MultiGet(std::span<const std::string_view> keys, std::vector<std::optional<std::string>>* values) const;
  Result<std::vector<KeyValue>> Range(const KeyConstraint& range, const QueryOptions& options = {},
                                      ReadInfo* info = nullptr) const;
  Result<std::vector<KeyValue>> Prefix(std::string_view prefix, const QueryOptions& options = {}) const;

  // Waits until this client has applied everything the log held when Sync was
  // called. A read after Sync sees every write acknowledged before Sync began.
  Status Sync(const CallOptions& options = {});

  // Waits until the applied position is past `offset`.
  Status WaitApplied(log::Offset offset, const CallOptions& options = {});

  // The next offset this client will apply: everything below it is applied.
  // It may move between this call and a read that follows it: to know where a
  // read was served, pass a ReadInfo to the read.
  log::Offset AppliedPosition() const { return applied_position_.load(std::memory_order_acquire); }
  const std::string& id() const { return options_.client_id; }
  const Storage& storage() const { return *storage_; }
  // Records the applier could not decode and skipped.
  std::size_t corrupt_records() const;
  // Writes that failed with kDataLoss: acknowledged by the log at an offset
  // where this client found another record, or none.
  std::size_t lost_writes() const;
  // Times the reader reported (and the client logged as an error) that the
  // log lost records: deleted below the reader's position before it read them
  // (retention, DeleteRecords; it moved on to the log's start), or truncated
  // below its position after it had applied them (an unclean election).
  std::size_t reader_data_loss() const;

  // Stops the applier, fails blocked and later calls with kClosed, and closes
  // the log. Idempotent.
  void Close();

 private:
  friend class WriteBatch;
  struct Write;
  // A min-heap of items by key that drops finished items lazily, so finishing
  // costs nothing and no entry allocates.
  template <typename Key, typename Item>
  class WriteQueue {
   public:
    void Push(Key key, std::shared_ptr<Item> item);
    // The unfinished item with the smallest key (and its key), or null.
    Item* Top(Key* key = nullptr);
    // Drops finished items once they outnumber the `live` ones.
    void Compact(std::size_t live);

   private:
    using Entry = std::pair<Key, std::shared_ptr<Item>>;
    static bool Later(const Entry& a, const Entry& b) { return a.first > b.first; }
    std::vector<Entry> heap_;
  };
  using Completions = std::vector<std::pair<WriteCallback, Result<log::Offset>>>;

  Client(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage, ClientOptions options);

  Status ValidateKey(std::string_view key) const;
  Status ValidateValue(std::string_view value) const;
  log::Record MakeRecord(std::string_view key, std::optional<std::string_view> value, const CallOptions& options);
  Result<log::Record> PrepareOne(std::string_view what, std::string_view key, std::optional<std::string_view> value,
                                 const CallOptions& options);
  // Appends `records` and registers the write; `done` runs when it finishes.
  // Returns null when the client is closed (`done` has run).
  std::shared_ptr<Write> StartWrite(std::span<const log::Record> records, const CallOptions& options,
                                    WriteCallback done);
  // A one-record write: refused at once if `record` is an error.
  Result<log::Offset> WriteOneAndWait(const Result<log::Record>& record, const CallOptions& options);
  void WriteOneAsync(const Result<log::Record>& record, WriteCallback done, const CallOptions& options);
  // StartWrite, then blocks until the write finishes or its deadline passes.
  Result<log::Offset> WriteAndWait(std::span<const log::Record> records, const CallOptions& options);
  void OnAcknowledged(Write& write, log::AppendResult result);
  // The rest take mu_ held and queue the callbacks to run once it is released.
  void FinishLocked(Write& write, Result<log::Offset> result, Completions& out);
  Result<log::Offset> AppliedResultLocked(const Write& write);
  Error TimeoutErrorLocked(const Write& write) const;
  void FinishAppliedLocked(Completions& out);
  void ExpireLocked(Completions& out);
  static void Run(Completions& completions);
  // `timeout` only names the limit in the error message.
  // Data loss the start-up replay met, unless the options skip it.
  Status StartupDataLossLocked(std::string_view what) const;
  // `startup`: also stop at data loss found during the start-up replay.
  Status WaitAppliedUntil(log::Offset offset, TimePoint deadline, Duration timeout, std::string_view what,
                          bool startup = false);
  Duration TimeoutFor(const CallOptions& options) const;
  void ApplyLoop();
  void Log(LogLevel level, std::string_view message) const;

  ClientOptions options_;
  Runtime& runtime_;
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<log::LogReader> reader_;
  std::unique_ptr<Task> applier_;

  std::unique_ptr<Mutex> mu_;
  std::unique_ptr<CondVar> changed_;  // Applied position moved, or closing.
  // Writes not yet finished, by deadline; and those acknowledged, by highest
  // offset, so the applier finishes exactly the ones its position passed.
  WriteQueue<TimePoint, Write> writes_by_deadline_;   // Guarded by mu_.
  WriteQueue<log::Offset, Write> writes_by_offset_;   // Guarded by mu_.
  std::size_t writes_in_flight_ = 0;                   // Guarded by mu_.
  std::atomic<log::Offset> applied_position_{0};
  std::atomic<bool> closed_{false};
  std::set<log::Offset> corrupt_;     // Guarded by mu_. Offsets skipped as corrupt.
  // Unfinished writes' records by kvlog-seq: the write and the record's index.
  absl::flat_hash_map<uint64_t, std::pair<Write*, uint32_t>> pending_seqs_;  // Guarded by mu_.
  std::size_t lost_writes_ = 0;            // Guarded by mu_.
  std::size_t reader_data_loss_ = 0;   // Guarded by mu_.
  bool opened_ = false;                    // Guarded by mu_. Open has returned the client.
  std::optional<Error> startup_data_loss_;  // Guarded by mu_. Data loss met by the start-up replay.
  std::unique_ptr<Mutex> close_mu_;   // Serialises Close().
  // On while any write is in flight: the reader then returns headers.
  std::shared_ptr<std::atomic<bool>> headers_switch_;
  std::atomic<uint64_t> next_seq_{0};
};

}  // namespace kvlog::kv
