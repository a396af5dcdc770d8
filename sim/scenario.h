// A simulation scenario: a seed, a workload, a fault schedule and a client
// variant, run on the fiber runtime against the simulated log, then judged by
// the checker. This is what kvsim and the property tests run.
//
//   Scenario s;
//   s.seed = 7;
//   ApplyFaults({"latency", "lost-ack", "crash"}, s);
//   SimRun run = RunScenario(s);          // history bytes depend only on s
//   auto report = Judge(run);             // read-your-writes, convergence, ...
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checker/check.h"
#include "checker/history.h"
#include "log/sim/broker.h"
#include "sim/sim_runtime.h"
#include "sim/durable_storage.h"
#include "sim/workload.h"

namespace kvlog::sim {

// Client slot `slot` cut off from the log during `window` (the
// client-partition fault): its connection's appends, reads and end offsets
// stall, the other clients go on.
struct ClientPartition {
  int slot = 0;
  log::sim::Window window;
};

// Faults of one client slot's connection (slow-applier, stalled-applier),
// added to those slot_faults gives it: windows appended, delays the larger.
struct SlotFaults {
  int slot = 0;
  log::sim::ConnectionFaults faults;
};

struct Scenario {
  uint64_t seed = 1;
  WorkloadOptions workload;
  log::sim::BrokerFaults broker;
  // Faults of client slot i's connection: slot_faults[i % size()]; none if empty.
  std::vector<log::sim::ConnectionFaults> slot_faults;
  // Client partitions, added to their slot's connection faults.
  std::vector<ClientPartition> client_partitions;
  std::vector<SlotFaults> client_faults;
  std::string variant = "correct";  // See variants.h.
  SimLimits limits;
  std::vector<std::string> fault_names;  // As given to ApplyFaults, for the report.
  // If set, the history is written to this JSONL file as it is recorded (the
  // events are not kept in memory; SimRun::history holds the log and final
  // states) and Judge reads it back from there. The bytes are those
  // checker::WriteJsonl would give for the in-memory history.
  std::string stream_history_to;
  // The checks Judge runs (checker::CheckOptions::checks); empty: session,
  // convergence and durability. A custom workload names its own (e.g.
  // counter, read-levels, convergence).
  std::vector<std::string> checks;
  // Set: swarm testing (sim/swarm.h). RunScenario first lets the seed choose
  // which of these faults are on, their magnitudes and the client's knobs
  // (ApplySwarm), over the rest of this scenario.
  std::optional<std::vector<std::string>> swarm;
  // Set (and workload.storage unset): each client slot keeps a durable store
  // on a simulated disk that crashes with it (sim/durable_storage.h; kvsim
  // --storage durable). Unset: a restarted client starts from an empty store.
  std::optional<DurableStorageOptions> durable_storage;
};

struct FaultPreset {
  std::string name;
  std::string description;
  bool safe;  // The store promises its guarantees under this fault.
};

// Every fault ApplyFaults knows, with its default magnitude.
const std::vector<FaultPreset>& FaultPresets();

// Turns on the named faults. Unknown names: kInvalidArgument listing the known.
Status ApplyFaults(const std::vector<std::string>& names, Scenario& scenario);

struct SimRun {
  checker::History history;  // Events, final states and the log as written.
  RunOutcome outcome;
  log::sim::BrokerStats stats;
  WorkloadResult workload;     // Counts and errors (its history moved out).
  std::vector<std::string> faults;  // Names of the faults in force.
  double wall_seconds = 0;
  bool live = false;  // Real threads and time on Kafka: no broker statistics.
  // Live on brokers the harness does not control: faults from outside it (a
  // broker killed by hand) happen unseen, so the report does not claim none.
  bool external_faults_untracked = false;
  // Scenario::stream_history_to, once written whole; history.events and
  // history.log are then empty (Judge reads them back from the file, and a
  // large run would otherwise hold its log twice while it is judged).
  std::string history_file;
  std::vector<std::string> checks;  // Scenario::checks, for Judge.
  // Records in the log as written (history.log.size() unless streamed).
  std::size_t log_records = 0;
  // Swarm runs: the parameters the seed chose ("fault.name=value",
  // "client.name=value"), for the report.
  std::vector<std::string> parameters;
  // Scenario::durable_storage: what the crashes did to the stores.
  std::string storage;
};

// The scenario's fault schedule as nemesis actions, timed in ns from the
// start, in time order: broker outages (start-outage/stop-outage), leader
// failovers (failover), reader pauses (pause-reader-N/resume-reader-N).
// RunScenario records them in the history (client crashes and restarts too,
// as they happen), so reports shade the fault windows.
std::vector<checker::NemesisEvent> PlannedNemesis(const Scenario& scenario);

// Runs the scenario. Deterministic: the same scenario gives the same history.
SimRun RunScenario(const Scenario& scenario);

// Runs the session, convergence and durability checks on a run's history
// (read back from SimRun::history_file when it was streamed there).
checker::FullReport Judge(const SimRun& run);

// True when the run completed, the workload raised no error and no check is invalid.
bool Passed(const SimRun& run, const checker::FullReport& report);

// A one-paragraph account: outcome, fault names, stats, verdicts.
std::string Describe(const SimRun& run, const checker::FullReport& report);

}  // namespace kvlog::sim
