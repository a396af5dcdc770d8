// Workloads by name, for kvsim --workload and the tests:
//   kv:      the operation mix of WorkloadOptions (session, convergence,
//            durability);
//   counter: sim/counter_workload.h (counter, read-levels, convergence);
//   bank:    sim/bank_workload.h (bank, read-levels, convergence).
#pragma once

#include <string>
#include <vector>

#include "sim/scenario.h"

namespace kvlog::sim {

std::vector<std::string> WorkloadNames();

// Workloads that run on their own, not as a Scenario: ttl
// (sim/ttl_workload.h) and watch (sim/watch_workload.h); kvsim runs them with
// tools/kvsim/ttl_watch.h.
std::vector<std::string> StandaloneWorkloadNames();

// Sets the scenario's workload and the checks that judge it. Unknown names:
// kInvalidArgument listing the known.
Status UseWorkload(const std::string& name, Scenario& scenario);

}  // namespace kvlog::sim
