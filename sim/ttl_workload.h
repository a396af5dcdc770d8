// The TTL workload: clients with skewed wall clocks (the clock-skew fault)
// put values with and without TTLs, read them and compare-and-set them, with
// every client's janitor on; the last client joins at the end, replays
// records whose deadlines have all passed, and reads every key. The history is judged by the convergence check and
// the expiry check (checker/expiry.h) with the run's skew bound.
//
//   TtlScenario s;
//   s.seed = 7;
//   TtlRun run = RunTtlScenario(s);       // deterministic from s
//   auto reports = JudgeTtl(run);          // convergence, expiry
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"
#include "log/sim/broker.h"
#include "sim/clock_skew.h"
#include "sim/sim_runtime.h"
#include "sim/workload_log.h"

namespace kvlog::sim {

struct TtlScenario {
  uint64_t seed = 1;
  int clients = 3;  // The last one opens once the others are done.
  int ops_per_client = 80;
  int keys = 6;
  int put_percent = 45;    // The rest: get 40 %, and cas.
  int get_percent = 40;
  int ttl_percent = 60;    // Of puts and cas: with a TTL, uniform in [min_ttl, max_ttl].
  Duration min_ttl = std::chrono::milliseconds(2);
  Duration max_ttl = std::chrono::milliseconds(40);
  Duration max_think = std::chrono::milliseconds(4);
  // The clock-skew fault: per client, from the seed.
  Duration max_clock_offset = std::chrono::milliseconds(5);
  int64_t max_drift_ppm = 2000;
  Duration janitor_interval = std::chrono::milliseconds(20);
  Duration op_timeout = std::chrono::seconds(2);
  // "correct", or "apply-time-expiry": a replica that drops records whose
  // deadline has passed by its own clock when it applies them (stored state
  // then depends on the replica's clock).
  std::string variant = "correct";
  SimLimits limits;
  // Faults of the simulated log (ApplyWorkloadFaults, sim/fault_registry.h):
  // the broker's, and client slot i's connection's slot_faults[i % size()].
  log::sim::BrokerFaults broker;
  std::vector<log::sim::ConnectionFaults> slot_faults;
};

struct TtlRun {
  checker::History history;  // Events (times: true virtual ns), finals, the log.
  RunOutcome outcome;
  std::vector<ClockSkew> skews;
  int64_t skew_bound_ns = 0;
  // Every deadline at or before this (true time) had passed long enough
  // before the final states that every janitor had run.
  int64_t reclaimed_before_ns = 0;
  std::vector<std::string> errors;
  int64_t ops = 0;
};

// The variants RunTtlScenario knows.
const std::vector<std::string>& TtlVariants();

// Why the scenario cannot run (an unknown variant, a bad setting); empty if it can.
std::string TtlScenarioError(const TtlScenario& scenario);

TtlRun RunTtlScenario(const TtlScenario& scenario);

// The workload itself, on any runtime and log: RunTtlScenario runs it on the
// simulator; sim/live runs it on Kafka with real threads (clients sharing the
// machine's clock: zero skews, and `clock_margin` added to the bound). Call
// from a task of `runtime`, with run.skews set (one per client) and the
// scenario checked (TtlScenarioError). Fills `run` (not outcome, source, ops).
void RunTtlWorkload(Runtime& runtime, const WorkloadLog& log, const TtlScenario& scenario, Duration clock_margin,
                    TtlRun& run);

// Convergence and expiry reports (a history the checker cannot pair is one
// invalid "history" report).
std::vector<checker::CheckReport> JudgeTtl(const TtlRun& run);

}  // namespace kvlog::sim
