// The fault registry's faults (sim/fault_registry.h) for the ttl and watch
// workloads on the simulator: the knobs a fault sets on the simulated log
// (broker faults, each client slot's connection faults and partitions),
// without the Scenario those workloads do not use.
//
//   sim::WatchWorkloadOptions w;
//   std::string why = ApplyTtlWatchFaults(SafeTtlWatchFaultNames(), w.broker, w.slot_faults,
//                                         w.writers + w.watchers);
#pragma once

#include <string>
#include <vector>

#include "log/sim/faults.h"

namespace kvlog::sim {

// Sets the named faults' knobs (default magnitudes) on `broker` and on the
// connections of client slots 0..clients-1 (`slot_faults` gets one entry per
// slot when any slot has faults). Returns why not, naming the fault: an
// unknown name, a fault that runs only live, or "crash" (these workloads do
// not restart their clients). Empty on success.
std::string ApplyTtlWatchFaults(const std::vector<std::string>& names, log::sim::BrokerFaults& broker,
                                std::vector<log::sim::ConnectionFaults>& slot_faults, int clients);

// The registry's safe faults that apply to these workloads (all but crash).
std::vector<std::string> SafeTtlWatchFaultNames();

}  // namespace kvlog::sim
