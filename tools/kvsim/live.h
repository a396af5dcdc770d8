// kvsim --live: the simulator's workload on Kafka, with real threads and real
// time, checked the same way. Against the embedded mock cluster (the default)
// the faults map to its fault API; against --brokers only client crashes do.
#pragma once

#include <string>

#include "sim/scenario.h"

namespace kvlog::tools {

struct LiveOptions {
  std::string brokers;  // Empty: start an embedded mock cluster.
  std::string out_path, edn_path, html_path;
  bool print = true;    // Print the run's account to stdout.
};

// The faults a live run can inject, by name.
std::vector<std::string> LiveFaultNames(bool mock);

// Runs the scenario's workload live. Returns kvsim's exit code: 0 passed,
// 1 a check failed or the workload could not run, 2 bad arguments.
int RunLive(const sim::Scenario& scenario, const LiveOptions& options);

}  // namespace kvlog::tools
