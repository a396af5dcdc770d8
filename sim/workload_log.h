// Where the ttl and watch workloads' clients connect and how their log is read
// back, so the same workload code runs on the simulated broker (with a
// scenario's faults, on the fiber runtime) and live on Kafka (sim/live, real
// threads and time).
//
//   WorkloadLog on_sim = SimWorkloadLog(broker, faults);  // sim/ttl_workload.h
//   WorkloadLog live = ...;                               // sim/live/ttl_watch.h
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "log/log.h"
#include "log/record.h"
#include "log/sim/broker.h"

namespace kvlog::sim {

struct WorkloadLog {
  // A connection for client slot `slot` (its faults, on the simulator).
  std::function<std::unique_ptr<log::Log>(int slot)> connect;
  // The log's end offset now (where a watcher may stop).
  std::function<Result<log::Offset>()> end_offset;
  // Calls `visit` for every record the log holds as written (before any
  // compaction, on the simulator), in offset order, corrupt entries left out.
  std::function<Status(const std::function<void(log::Offset, const log::Record&)>& visit)> visit;
  // The log's first offset.
  std::function<log::Offset()> start_offset;
};

// The simulated broker as a WorkloadLog: slot i connects with
// slot_faults[i % size()] (none if empty; slot -1 never has faults).
WorkloadLog SimWorkloadLog(log::sim::Broker& broker, const std::vector<log::sim::ConnectionFaults>& slot_faults);

}  // namespace kvlog::sim
