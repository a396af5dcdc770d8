// The applier of kv::Client: reads the log in order and applies it to the
// store. One job: turn records into the store's state, the same on every
// replica. Internal to kv/.
//
// It decodes each record (plain put or delete, or a command: kv/command.h),
// skips a duplicate (a retried append that the log committed twice: the same
// writer and sequence number again, see "Duplicates" below), decides
// commands' conditions against the store, applies each poll's records to the
// store as one batch together with the position they reach, and then runs
// the hooks (OnSet, OnDelete, OnExpire), feeds the watch hub and tells its
// listener (the client's write tracking) what it applied: the position, this
// client's own records and command outcomes, and the offsets it skipped as
// corrupt.
//
// Invariants (checked with KVLOG_CHECK):
//  - position() only rises; after each poll the store reflects the log below
//    it. (That a log delivers entries in offset order is the log's promise,
//    not checked here: a log that breaks it must be caught by the history
//    checker, as the simulator's `reorder` variant is.)
//  - Hooks run in log order, after the store holds their batch and before the
//    listener learns the position that covers them (so before that record's
//    writer is woken).
//  - Metadata changes (the durable dedup window) travel with the batch they
//    belong to: none is pending after a flush.
//  - A writer's window holds at most kDedupWindow sequence numbers, and at
//    most kDedupWriters writers are remembered; the same log gives the same
//    windows, and so the same decisions, on every replica. This holds for
//    commands (by the command's writer and seq, with their outcomes) and for
//    plain records (by the kvlog-writer and kvlog-seq headers; see
//    kv/dedup_window.h): a second copy of either is skipped everywhere.
//
// Threading: Run() is the applier's task; everything here is touched only
// by it, except the store (which has its own lock) and the listener's own
// state (guarded by the listener).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kv/command.h"
#include "kv/dedup_window.h"
#include "kv/options.h"
#include "kv/stats.h"
#include "kv/storage.h"
#include "kv/watch.h"
#include "log/log.h"
#include "log/status.h"
#include "runtime/runtime.h"

namespace kvlog::kv::internal {

// The outcome of a command record, as every replica decides it.
struct Outcome {
  bool held = true;
  Version version = kNoVersion;  // Where it took effect (a duplicate: the first copy's offset).
  std::string detail;            // Why the condition was false.
};

// What one poll applied, for the listener.
struct AppliedPoll {
  // The store now reflects the log below this.
  log::Offset position = log::kNoOffset;
  // (kvlog-seq, offset) of this client's own records (by the kvlog-writer
  // header), as read.
  std::vector<std::pair<uint64_t, log::Offset>> own;
  // Outcomes of this client instance's command records, by offset.
  std::vector<std::pair<log::Offset, Outcome>> own_outcomes;
  // Offsets of records that could not be decoded and were skipped.
  std::vector<log::Offset> corrupt;
};

// The client's side of the applier.
class ApplierListener {
 public:
  virtual ~ApplierListener() = default;
  // A batch is about to reach the store's readers (the store has it; hooks
  // have not run). The TTL index.
  virtual void OnFlush(std::span<const Mutation> batch) = 0;
  // After each poll, or after the reader moved past lost records: the
  // applied position and what it covers. Wakes the writers.
  virtual void OnApplied(AppliedPoll& poll) = 0;
  // A poll failed with `error` (not kClosed); `lost`: the log lost records
  // below `position`. Returns true to stop the applier (a start-up replay
  // that must fail).
  virtual bool OnPollError(const Error& error, bool lost, log::Offset position) = 0;
};

class Applier {
 public:
  static constexpr std::size_t kDedupWindow = 1024;
  static constexpr std::size_t kDedupWriters = 4096;

  // `writer`: this client instance's command writer name (its outcomes are
  // reported); `options.client_id`: the kvlog-writer header of its records.
  // None of the references is owned; all outlive the applier.
  Applier(const ClientOptions& options, std::string writer, log::Log& log, Storage& storage, WatchHub& hub,
          ClientCounters& counters, ApplierListener& listener);

  // A durable store: the dedup windows persist beside its data, and the
  // log's identity is recorded with the first record applied unless known.
  void SetDurable(bool identity_known);
  // Rebuilds the dedup windows from the durable store's metadata (`meta`:
  // Storage::LoadMeta's, when the caller has read it already).
  Status LoadDedup();
  Status LoadDedup(const std::vector<std::pair<std::string, std::string>>& meta);

  // The last record a durable store applied: its offset and RecordDigest,
  // kept in the store's metadata in the same write as the batch that ends
  // with it. Client::Open checks the store's identity with it through the
  // reader that reads the tail (the record just below the store's position),
  // without a reader of its own at the store's first record.
  struct LastRecord {
    log::Offset offset = log::kNoOffset;
    uint64_t digest = 0;
  };
  // From Storage::LoadMeta's pairs; nullopt when the store recorded none (a
  // store written before this was kept, or one whose last batch ended
  // without a readable record) or its entry is unreadable.
  static std::optional<LastRecord> FindLastRecord(const std::vector<std::pair<std::string, std::string>>& meta);
  // The metadata key under which Client::Open keeps the log's
  // Log::ReconnectHint in a durable store (LoadDedup passes over it).
  static constexpr std::string_view kReconnectHintKey = "t/reconnect";
  // Where the applier starts (the reader's position).
  void Start(log::Offset position);
  log::Offset position() const { return position_; }

  // The applier's task: polls `reader` until `closed` or the listener stops it.
  void Run(log::LogReader& reader, const std::atomic<bool>& closed);

  // Applies one poll's entries; afterwards the store reflects the log below
  // `position`. Fills *out (position, own records, outcomes, corrupt).
  void Apply(std::vector<log::LogEntry>& entries, log::Offset position, AppliedPoll* out);

 private:
  // Applier state: the commands seen per writer, so a duplicate gets the
  // first copy's outcome.
  struct WriterWindow {
    std::map<uint64_t, Outcome> seen;  // The last kDedupWindow seqs.
    log::Offset last = 0;
  };
  // Applies `batch` to storage, which then reflects the log below
  // `position`, and runs its hooks; empties it.
  void Flush(std::vector<Mutation>& batch, log::Offset position);
  Outcome ApplyCommand(const Command& command, log::Offset offset, std::vector<Mutation>& batch);
  void NoteDedup(const std::string& writer, uint64_t seq, const Outcome* outcome);
  void NoteDedupLast(const std::string& writer, log::Offset last);
  void Log(LogLevel level, std::string_view message) const;

  const ClientOptions& options_;
  const std::string writer_;
  log::Log& log_;
  Storage& storage_;
  WatchHub& hub_;
  ClientCounters& counters_;
  ApplierListener& listener_;

  log::Offset position_ = 0;
  std::map<std::string, WriterWindow> dedup_;
  // Plain records' windows (kv/dedup_window.h); with a durable store, the
  // windows changed since the last flush.
  PlainDedup plain_;
  std::vector<PlainDedup::Key> plain_changed_;
  // This client's own plain records by seq: where the first copy was applied
  // (the last kDedupWindow), so a write whose acknowledged copy was a
  // skipped duplicate returns the key's version.
  std::map<uint64_t, log::Offset> own_first_;
  // Durable stores: the store keeps dedup_ beside its data (metadata changes
  // wait here for the next Flush), and records which log it holds once it
  // applies its first record.
  bool durable_ = false;
  bool identity_known_ = true;
  std::vector<MetaMutation> pending_meta_;
  // Janitor tombstones that held in the batch being applied: (index in the
  // batch, the expired version).
  std::vector<std::pair<std::size_t, Version>> expired_in_batch_;
  // Apply's batch, empty between polls; kept for its capacity.
  std::vector<Mutation> batch_;
};

}  // namespace kvlog::kv::internal
