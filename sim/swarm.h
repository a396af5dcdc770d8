// Swarm testing (after TigerBeetle's options_swarm and FoundationDB's
// BUGGIFY): the seed picks which of the requested faults are on, their
// magnitudes, windows and probabilities, and the client's knobs, so a sweep
// explores configurations as well as interleavings. The same seed gives the
// same choices, hence the same run.
//
//   Scenario s;
//   s.swarm = {"latency", "outage", "client-partition", "crash"};
//   SimRun run = RunScenario(s);   // applies ApplySwarm(s.seed, ...) first
//   run.parameters                  // what was chosen, for the report
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/scenario.h"

namespace kvlog::sim {

struct SwarmChoice {
  std::vector<std::string> faults;      // The requested faults turned on.
  std::vector<std::string> parameters;  // "name=value" items, faults' and the client's.
};

// Turns on, in `s`, a subset of `requested` (registry names: each on with
// probability 1/2, at least one when any was requested) at magnitudes drawn
// from the seed, and draws the client knobs (poll size, poll timeout, error
// back-off, operation timeout, think time, batch size, writes in flight,
// async puts in the mix and how many in flight, waiting at the in-flight
// limit). Draws come from
// base::Rng(seed).Fork("swarm"), one fork per fault and one for the client, so a
// fault's magnitudes do not depend on which others are on. Unknown names:
// kInvalidArgument.
Result<SwarmChoice> ApplySwarm(uint64_t seed, const std::vector<std::string>& requested, Scenario& s);

}  // namespace kvlog::sim
