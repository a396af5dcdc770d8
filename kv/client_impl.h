// The implementation behind kv::Client (kv/client.h), as LevelDB's db_impl.h
// is behind db.h. Internal to kv/: include kv/client.h instead.
//
// The parts with one job each: write tracking (kv/write_tracking.h: a write
// from start to finish and the queues that finish it), corrupt-record
// bookkeeping (kv/corrupt_offsets.h), the applier (kv/applier.h: records to
// the store, dedup, commands, hooks), and this class, which joins them with
// TTL and the durable store's checks, and finishes writes as the applier
// reports what it applied.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kv/applier.h"
#include "kv/client.h"
#include "kv/command.h"
#include "kv/corrupt_offsets.h"
#include "kv/options.h"
#include "kv/stats.h"
#include "kv/storage.h"
#include "kv/watch.h"
#include "kv/write_tracking.h"
#include "log/log.h"
#include "log/status.h"
#include "runtime/runtime.h"

namespace kvlog::kv::internal {

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
class ClientImpl final : public Client, private ApplierListener {
 public:
  // Client::Open: the implementation itself.
  static Client::LogHints HintsFor(Storage& storage);
  static Result<std::unique_ptr<ClientImpl>> Open(std::unique_ptr<log::Log> log,
                                                  std::unique_ptr<Storage> storage,
                                                  ClientOptions options = {});
  ~ClientImpl() override;  // Closes.

  // Client's methods, documented in kv/client.h (same default arguments).
  Result<log::Offset> Put(std::string_view key, std::string_view value, const CallOptions& options = {}) override;
  Result<log::Offset> Delete(std::string_view key, const CallOptions& options = {}) override;
  Result<log::Offset> PutIf(std::string_view key, std::string_view value, Version expected_version,
                            const CallOptions& options = {}) override;
  Result<log::Offset> DeleteIf(std::string_view key, Version expected_version, const CallOptions& options = {}) override;
  Result<log::Offset> PutIfAbsent(std::string_view key, std::string_view value, const CallOptions& options = {}) override;
  using UpdateFn = Client::UpdateFn;
  Result<log::Offset> Update(std::string_view key, const UpdateFn& fn, const CallOptions& options = {}) override;
  Result<log::Offset> Expire(std::string_view key, Duration ttl, const CallOptions& options = {}) override;
  Result<log::Offset> Persist(std::string_view key, const CallOptions& options = {}) override;
  Result<std::optional<Duration>> TimeToLive(std::string_view key) const override;
  void PutAsync(std::string_view key, std::string_view value, WriteCallback done, const CallOptions& options = {}) override;
  void DeleteAsync(std::string_view key, WriteCallback done, const CallOptions& options = {}) override;
  Result<std::string> Get(std::string_view key) const override;
  Result<VersionedValue> GetEntry(std::string_view key, ReadInfo* info = nullptr) const override;
  Result<std::string> Get(std::string_view key, const ReadOptions& options, ReadInfo* info = nullptr) override;
  Result<VersionedValue> GetEntry(std::string_view key, const ReadOptions& options, ReadInfo* info = nullptr) override;
  Result<std::vector<KeyValue>> Range(const KeyConstraint& range, const QueryOptions& query,
                                      const ReadOptions& options, ReadInfo* info = nullptr) override;
  Result<log::Offset> AwaitReadLevel(const ReadOptions& options, std::string_view what = "read") override;
  Status Get(std::string_view key, std::string* value, ReadInfo* info = nullptr) const override;
  Status MultiGet(std::span<const std::string_view> keys, std::vector<std::optional<std::string>>* values) const override;
  Result<std::vector<KeyValue>> Range(const KeyConstraint& range, const QueryOptions& options = {},
                                      ReadInfo* info = nullptr) const override;
  Result<std::vector<KeyValue>> Prefix(std::string_view prefix, const QueryOptions& options = {}) const override;
  Status Sync(const CallOptions& options = {}) override;
  Status WaitApplied(log::Offset offset, const CallOptions& options = {}) override;
  log::Offset AppliedPosition() const override { return applied_position_.load(std::memory_order_acquire); }
  const std::string& id() const override { return options_.client_id; }
  const Storage& storage() const override { return *storage_; }
  log::Offset resumed_from() const override { return resumed_from_; }
  Result<int64_t> Checkpoint(const std::string& dir) const override { return storage_->Checkpoint(dir); }
  std::size_t corrupt_records() const override;
  std::size_t lost_writes() const override;
  std::size_t reader_data_loss() const override;
  void Close() override;
  Result<std::unique_ptr<Watcher>> Watch(const WatchOptions& options) override;
  Result<ClientStats> Stats(const StatsOptions& options = {}) const override;
  Result<bool> Exists(std::string_view key) const override;
  Result<std::size_t> Count(std::string_view prefix = {}) const override;
  Result<std::vector<std::string>> Keys(std::string_view prefix = {}, std::size_t limit = 0) const override;

 private:
  ClientImpl(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage, ClientOptions options);

  Result<log::Offset> ExecuteBatch(const WriteBatch& batch, const CallOptions& options) override;
  void ExecuteBatchAsync(const WriteBatch& batch, WriteCallback done, const CallOptions& options) override;
  Result<TxnResult> CommitTxn(const Txn& txn, const CallOptions& options) override;
  // A batch's records, validated and with this client's headers: one command
  // record when atomic.
  Result<std::vector<log::Record>> PrepareBatch(const WriteBatch& batch, const CallOptions& options);
  Result<std::vector<log::Record>> PreparePlainBatch(const WriteBatch& batch, const CallOptions& options);

  Status ValidateKey(std::string_view key) const;
  Status ValidateValue(std::string_view value) const;
  // `deadline_ns`: the value's TTL deadline (0: none); see kv/ttl.h.
  log::Record MakeRecord(std::string_view key, std::optional<std::string_view> value, const CallOptions& options,
                         int64_t deadline_ns = 0);
  // A command record for `command`, with this client's identity, after
  // checking its keys, values and encoded size against the limits.
  // `expiry`: a janitor's tombstone; its writer identity says so, so every
  // replica fires OnExpire when it holds.
  Result<log::Record> PrepareCommand(std::string_view what, internal::Command command, const CallOptions& options,
                                     bool expiry = false);
  Result<log::Offset> WriteIf(std::string_view what, const Condition& condition, std::string_view key,
                              std::optional<std::string_view> value, const CallOptions& options);
  Result<log::Record> PrepareOne(std::string_view what, std::string_view key, std::optional<std::string_view> value,
                                 const CallOptions& options);
  // TTL: the deadline (ns on the wall clock; 0 none) a call's ttl gives, or
  // kInvalidArgument naming `what` for a negative one.
  Result<int64_t> DeadlineFor(std::string_view what, const CallOptions& options) const;
  // Rewrites key's current value with `deadline_ns` on condition that its
  // version is unchanged, retrying on conflict (Expire, Persist).
  Result<log::Offset> SetDeadline(std::string_view what, std::string_view key, int64_t deadline_ns,
                                  const CallOptions& options);
  // Unwraps a stored value in place; false (and empties it) when it has
  // expired by the wall clock.
  bool VisibleNow(std::string* stored) const;
  // Keeps the expiry index up to date for a batch about to be flushed.
  void IndexDeadlines(std::span<const Mutation> batch);
  void JanitorLoop();
  void JanitorRound();
  // What a write does at ClientOptions::max_writes_in_flight.
  enum class AtLimit { kWait, kFail };
  // Appends `records` and registers the write; `done` runs when it finishes.
  // Returns null when the client is closed or the write was refused at the
  // in-flight limit (`done` has run). `at_limit`: kWait for blocking calls.
  // `sync`: a blocking caller's wait, which takes the write's result in
  // place of `done` once the write is registered (see SyncWait).
  std::shared_ptr<Write> StartWrite(std::span<const log::Record> records, const CallOptions& options,
                                    WriteCallback done, bool txn = false, AtLimit at_limit = AtLimit::kWait,
                                    std::shared_ptr<SyncWait> sync = nullptr);
  // The policy of an async call (ClientOptions::wait_for_write_slot).
  AtLimit AsyncAtLimit() const { return options_.wait_for_write_slot ? AtLimit::kWait : AtLimit::kFail; }
  // With mu_ held: waits (per `at_limit`) until a write may start; the error
  // when it may not (closed, refused at the limit, timed out or cancelled
  // through `stop` while waiting). Waiters take slots in arrival order.
  std::optional<Error> AcquireWriteSlotLocked(std::unique_lock<Mutex>& lock, const Write& write,
                                              const std::stop_token& stop, AtLimit at_limit);
  // Counts an accepted write's records in Stats (puts, deletes, commands).
  void CountAccepted(std::span<const log::Record> records);
  // A one-record write: refused at once if `record` is an error.
  Result<log::Offset> WriteOneAndWait(const Result<log::Record>& record, const CallOptions& options);
  void WriteOneAsync(const Result<log::Record>& record, WriteCallback done, const CallOptions& options);
  // StartWrite, then blocks until the write finishes or its deadline passes.
  // For a transaction (`txn`), a false condition is not an error: the write
  // succeeds and *condition_held says which branch was applied.
  Result<log::Offset> WriteAndWait(std::span<const log::Record> records, const CallOptions& options,
                                   bool* condition_held = nullptr);
  void OnAcknowledged(Write& write, log::AppendResult result);
  // The rest take mu_ held and queue the callbacks to run once it is released.
  void FinishLocked(Write& write, Result<log::Offset> result, Completions& out);
  Result<log::Offset> AppliedResultLocked(Write& write);
  Error TimeoutErrorLocked(const Write& write) const;
  void FinishAppliedLocked(Completions& out);
  void ExpireLocked(Completions& out);
  // `timeout` only names the limit in the error message.
  // Data loss the start-up replay met, unless the options skip it.
  Status StartupDataLossLocked(std::string_view what) const;
  // `startup`: also stop at data loss found during the start-up replay.
  // A stop requested on `stop` wakes the wait: kCancelled.
  Status WaitAppliedUntil(log::Offset offset, TimePoint deadline, Duration timeout, std::string_view what,
                          bool startup = false, const std::stop_token& stop = {});
  // A call's timeout: default_timeout when unset; kTimeout naming `what`
  // when zero or negative (a deadline already past).
  Result<Duration> TimeoutFor(const std::optional<Duration>& timeout, std::string_view what) const;
  // kCancelled naming `what` when `stop` has been requested before the call
  // did anything.
  Status CheckNotStopped(const std::stop_token& stop, std::string_view what) const;
  Error CancelledErrorLocked(const Write& write) const;
  // ApplierListener: the applier's reports (kv/applier.h).
  void OnFlush(std::span<const Mutation> batch) override { IndexDeadlines(batch); }
  void OnApplied(AppliedPoll& poll) override;
  bool OnPollError(const Error& error, bool lost, log::Offset position) override;
  static constexpr std::size_t kMaxOutcomes = 1 << 16;
  void Log(LogLevel level, std::string_view message) const;
  // kClosed: "<what>: client <id> is closed".
  std::unexpected<Error> ClosedError(std::string_view what) const;
  // kInvalidArgument: a ttl on a write of no value (a delete).
  static std::unexpected<Error> TtlWithoutValueError(std::string_view what);
  // kConflict after update_max_attempts, with the last conflict's message.
  std::unexpected<Error> AllAttemptsConflictedError(std::string_view what, std::string_view last) const;
  // Durable stores: whether `durable` fits the log (see Open), and the first
  // entry a reader from `from` returns (nullopt: none below `end`). Each
  // takes a probe reader already opened where it reads first (Open's early
  // one), or opens its own when given none or one elsewhere. With `last` (the
  // store's last record) and `*tail` (Open's reader, opened at its offset),
  // CheckStore checks the identity with that record and leaves *tail at the
  // store's position; when it cannot, it resets *tail and checks the first
  // record as before.
  // `tail_read`, when set, is *tail's first entry, read already (TailFirst).
  Status CheckStore(const DurableState& durable, log::Offset end, TimePoint deadline,
                    std::unique_ptr<log::LogReader> first_probe = nullptr,
                    std::unique_ptr<log::LogReader>* tail = nullptr,
                    std::optional<Applier::LastRecord> last = std::nullopt,
                    std::optional<Result<std::optional<log::LogEntry>>> tail_read = std::nullopt);
  // Open's tail reader, read before the log's end is known: its first entry
  // comes with the end its fetch saw (LogReader::KnownEnd), which spares the
  // end offset's query (on Kafka, the producer's, which reaches the leader only
  // after its InitProducerId reply). `end` unset: the reader could not tell
  // (an error, or an empty poll without a known end), and the end is queried.
  // `entry` unset: not read yet (CheckStore reads it).
  struct TailFirst {
    std::optional<Result<std::optional<log::LogEntry>>> entry;
    std::optional<log::Offset> end;
  };
  TailFirst ReadTailFirst(log::LogReader& tail, TimePoint deadline);
  Result<std::optional<log::LogEntry>> FirstEntryFrom(log::Offset from, log::Offset end, TimePoint deadline,
                                                      std::unique_ptr<log::LogReader> reader = nullptr);
  // The next entry `reader` returns (nullopt once it reached `end`), polling
  // until startup_timeout's `deadline`; `from` names the offset in errors.
  Result<std::optional<log::LogEntry>> NextEntry(log::LogReader& reader, log::Offset from, log::Offset end,
                                                 TimePoint deadline);

  ClientOptions options_;
  Runtime& runtime_;
  std::unique_ptr<log::Log> log_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<log::LogReader> reader_;
  std::unique_ptr<Applier> applier_;
  std::unique_ptr<Task> applier_task_;
  // TTL. The keys with a deadline, by deadline, for the janitor; written by
  // the applier. Guarded by ttl_mu_.
  std::unique_ptr<Mutex> ttl_mu_;
  std::set<std::pair<int64_t, std::string>> expiry_queue_;
  absl::flat_hash_map<std::string, int64_t> deadlines_;
  // Started by the applier when it first stores a deadline. Guarded by mu_.
  std::unique_ptr<Task> janitor_;
  std::unique_ptr<CondVar> janitor_wake_;  // With mu_: closing.
  // Janitor only: the tombstones of the last rounds, (version, round).
  std::map<std::string, std::pair<Version, uint64_t>> janitor_issued_;
  uint64_t janitor_rounds_ = 0;                    // Janitor only.
  std::unique_ptr<Mutex> mu_;
  std::unique_ptr<CondVar> changed_;  // Applied position moved, or closing.
  // Writes not yet finished, by deadline; and those acknowledged, by highest
  // offset, so the applier finishes exactly the ones its position passed.
  WriteQueue<TimePoint, Write> writes_by_deadline_;   // Guarded by mu_.
  WriteQueue<log::Offset, Write> writes_by_offset_;   // Guarded by mu_.
  std::size_t writes_in_flight_ = 0;                   // Guarded by mu_.
  // max_writes_in_flight: the tickets of the callers waiting for a slot, in
  // arrival order (the front one takes the next free slot), and their wake-up
  // (a write finished, a waiter left, a stop requested, or closing). Guarded
  // by mu_.
  std::deque<uint64_t> slot_queue_;
  uint64_t next_slot_ticket_ = 0;
  std::unique_ptr<CondVar> slot_freed_;
  uint64_t writes_refused_at_limit_ = 0;   // Guarded by mu_.
  uint64_t writes_waited_at_limit_ = 0;    // Guarded by mu_.
  std::atomic<log::Offset> applied_position_{0};
  std::atomic<bool> closed_{false};
  CorruptOffsets corrupt_;  // Guarded by mu_.
  // Outcomes of this client's own command records, by offset, until their
  // writes take them. Guarded by mu_.
  std::map<log::Offset, Outcome> outcomes_;
  log::Offset resumed_from_ = 0;
  // Names this client instance in command records: client_id plus the time it
  // opened, so two processes using one client_id are still told apart.
  std::string writer_;
  // Unfinished writes' records by kvlog-seq: the write and the record's index.
  absl::flat_hash_map<uint64_t, std::pair<Write*, uint32_t>> pending_seqs_;  // Guarded by mu_.
  std::size_t lost_writes_ = 0;            // Guarded by mu_.
  std::size_t reader_data_loss_ = 0;   // Guarded by mu_.
  bool opened_ = false;                    // Guarded by mu_. Open has returned the client.
  std::optional<Error> startup_data_loss_;  // Guarded by mu_. Data loss met by the start-up replay.
  std::unique_ptr<Mutex> close_mu_;   // Serialises Close().
  std::atomic<uint64_t> next_seq_{0};
  // The watch history window and watchers; fed by the applier in Flush.
  std::shared_ptr<internal::WatchHub> watch_hub_;
  mutable internal::ClientCounters counters_;
};

}  // namespace kvlog::kv::internal
