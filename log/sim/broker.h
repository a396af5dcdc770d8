// An in-process, deterministic single-partition log: the simulated Kafka.
//
//   log::sim::Broker broker(runtime);
//   auto client = kv::Client::Open(broker.Connect(), kv::NewMemoryStorage(), options);
//
// The Broker is the partition every client shares; Connect() gives one client
// its own connection (producer + reader), which is where per-client faults
// attach. All blocking and time go through the Runtime, so under the
// simulator's fiber runtime a run is reproducible from its seed.
#pragma once

#include <memory>
#include <vector>

#include "log/log.h"
#include "runtime/runtime.h"

namespace kvlog::log::sim {

// Invariants:
//  - entries_ is sorted by offset, strictly increasing; every offset is below end_.
//  - end_ only increases; start_ <= end_.
// Thread-safe, through the runtime's mutex.
class Broker {
 public:
  explicit Broker(Runtime& runtime = Runtime::Real());
  ~Broker();

  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // A new connection to this partition. The broker must outlive it.
  std::unique_ptr<Log> Connect();

  // The committed log as it stands: every entry, in offset order.
  std::vector<LogEntry> Entries() const;
  Offset end_offset() const;

  Runtime& runtime() const { return runtime_; }

 private:
  friend class Connection;
  friend class Reader;

  // Appends under mu_, returns each record's offset.
  std::vector<Offset> Commit(std::span<const Record> records);
  // Copies up to `max` entries at or after `position` into `out`, returns the new position.
  Offset ReadLocked(Offset position, std::size_t max, std::vector<LogEntry>& out) const;

  Runtime& runtime_;
  std::unique_ptr<Mutex> mu_;
  std::unique_ptr<CondVar> appended_;  // end_ moved, or a reader closed.
  std::vector<LogEntry> entries_;     // Guarded by mu_.
  Offset start_ = 0;                  // Guarded by mu_.
  Offset end_ = 0;                    // Guarded by mu_.
};

}  // namespace kvlog::log::sim
