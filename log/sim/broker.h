// An in-process, deterministic single-partition log: the simulated Kafka.
//
//   log::sim::Broker broker(runtime, faults, seed);
//   auto client = kv::Client::Open(broker.Connect(), kv::NewMemoryStorage(), options);
//
// The Broker is the partition every client shares; Connect() gives one client
// its own connection (a producer and readers), which is where per-client
// faults attach. All blocking and time go through the Runtime and all chance
// through the seed, so under the simulator's fiber runtime a run is
// reproducible from its seed. Faults (faults.h) are off by default.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "base/rng.h"
#include "log/log.h"
#include "log/sim/faults.h"
#include "runtime/runtime.h"

namespace kvlog::log::sim {

// What the faults did, for a run's report.
struct BrokerStats {
  int64_t appends = 0;             // Append requests committed (first attempts).
  int64_t records_committed = 0;   // Including duplicates.
  int64_t lost_acks = 0;
  int64_t duplicates_committed = 0;
  int64_t deduplicated_retries = 0;
  int64_t failed_appends = 0;
  int64_t outage_waits = 0;
  int64_t partition_waits = 0;  // Appends held back by a client partition.
  int64_t failovers = 0;
  int64_t truncated_records = 0;
  int64_t compacted_records = 0;
  int64_t corrupted_records = 0;
  int64_t deleted_records = 0;     // By DeleteRecordsBefore (retention).
};

// One stored record with what the simulator knows about it.
struct StoredEntry {
  Offset offset = kNoOffset;
  TimePoint committed_at{};
  Result<Record> record;
  uint64_t producer = 0;  // The connection that wrote it.
  uint64_t sequence = 0;  // That connection's append number.
};

// Invariants:
//  - entries_ is sorted by offset, strictly increasing; committed_at is
//    non-decreasing along it; every offset is below end_.
//  - The high watermark (readable end) is <= end_; a reader never sees an
//    entry at or above it.
//  - Faults happen only at times or with chances the seed and the runtime's
//    clock decide, so the same seed under the same runtime repeats them.
// Thread-safe, through the runtime's mutex.
class Broker {
 public:
  explicit Broker(Runtime& runtime = Runtime::Real(), BrokerFaults faults = {}, uint64_t seed = 0);
  ~Broker();

  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // A new connection to this partition. The broker must outlive it.
  std::unique_ptr<Log> Connect(ConnectionFaults faults = {});

  // The accessors below first apply the failovers and compactions due by
  // now: the simulated world moves with the runtime's clock.
  //
  // The log as it stands: every entry the leader holds, in offset order,
  // including any not yet replicated.
  std::vector<StoredEntry> Entries();
  // The log as written: Entries() plus what compaction removed (compaction is
  // allowed to remove it), but not what a failover truncated (that is lost).
  // A history checker judges durability against this.
  std::vector<StoredEntry> LogAsWritten();
  // Calls `visit` on each entry of LogAsWritten(), in offset order, without
  // copying the log. `visit` runs under the broker's lock: it must not call
  // the broker or block.
  void VisitLogAsWritten(const std::function<void(const StoredEntry&)>& visit);
  // The high watermark: the offset the next readable record would get.
  Offset end_offset();
  // The first offset the log still holds (Kafka's log start offset).
  Offset start_offset();
  // Deletes every record below `offset` and moves the log's start there, as
  // Kafka's retention or DeleteRecords do (never past the high watermark).
  // A reader whose position is below the new start gets kDataLoss from its
  // next Poll and continues from the start. The deleted records still count
  // as written (LogAsWritten), as compacted ones do.
  void DeleteRecordsBefore(Offset offset);
  BrokerStats stats();
  const BrokerFaults& faults() const { return faults_; }
  Runtime& runtime() const { return runtime_; }

 private:
  friend class Connection;
  friend class Reader;

  // All below: called with mu_ held.
  Duration SinceStart() const;
  bool InOutage() const;
  Duration OutageEnd() const;      // End of the outage in force (SinceStart() if none).
  void CatchUp();                  // Applies failovers and compactions due by now.
  Offset HighWatermark() const;    // First offset not yet replicated.
  Offset HighWatermarkAt(TimePoint t) const;
  Offset ReadableEnd(Duration lag) const;
  // The earliest time at which ReadableEnd(lag) will move, if anything is pending.
  std::optional<TimePoint> NextReadable(Duration lag) const;
  // Commits or recognises a retry. Returns the offsets.
  std::vector<Offset> CommitLocked(std::span<const Record> records, uint64_t producer, uint64_t sequence);
  bool StillPresent(const std::vector<Offset>& offsets, uint64_t producer, uint64_t sequence) const;
  void Failover(TimePoint at);
  void NotifyAllWaiters();
  void Compact();
  uint64_t Uniform(uint64_t n);
  bool Chance(double p);

  Runtime& runtime_;
  const BrokerFaults faults_;
  const TimePoint created_;
  std::unique_ptr<Mutex> mu_;
  // Waits on the broker, split so that an append wakes only those it concerns:
  // appended_: readers with nothing pending (an append, truncation or close
  // wakes them); scheduled_: waiters that know when to look again (readers
  // with a record pending, outage, pause, replication, retry backoff),
  // woken early only by a truncation or a close.
  std::unique_ptr<CondVar> appended_;
  std::unique_ptr<CondVar> scheduled_;
  base::Rng rng_;                     // The seed's fork "broker". Guarded by mu_.
  std::vector<StoredEntry> entries_;  // Guarded by mu_.
  std::vector<StoredEntry> compacted_;  // Guarded by mu_. Removed by compaction or deletion.
  bool compacted_sorted_ = true;        // Guarded by mu_. compacted_ is in offset order.
  Offset end_ = 0;                    // Guarded by mu_. Next offset on the leader.
  Offset start_ = 0;                  // Guarded by mu_. First offset still held.
  // Where each failover so far left the leader's log end, in order: a reader
  // past one of them had read records the log no longer holds.
  std::vector<Offset> failover_ends_;  // Guarded by mu_.
  std::size_t next_failover_ = 0;     // Guarded by mu_. Index into faults_.failovers.
  TimePoint next_compaction_{};       // Guarded by mu_.
  uint64_t next_producer_ = 1;        // Guarded by mu_.
  // Per producer: its last committed append's sequence number and offsets, as
  // Kafka's idempotent producer state keeps them (compaction does not touch it).
  std::map<uint64_t, std::pair<uint64_t, std::vector<Offset>>> last_append_;  // Guarded by mu_.
  BrokerStats stats_;                 // Guarded by mu_.
};

}  // namespace kvlog::log::sim
