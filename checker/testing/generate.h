// Generated histories for tests and benchmarks: a small, deterministic model
// of kvlog (replicas applying one log at their own pace; a write waits until
// its own replica has applied it; reads are local) that records what it does
// as a History, with the log and final states. Generated histories are valid
// for every checker; InjectViolation then breaks exactly one property.
#pragma once

#include <cstdint>
#include <string>

#include "checker/history.h"

namespace kvlog::checker::testing {

struct GenerateOptions {
  uint64_t seed = 1;
  size_t operations = 1000;
  int replicas = 4;  // one process per replica
  int keys = 16;
  int read_percent = 50;
  int delete_percent = 5;  // of writes
  int range_percent = 0;   // of operations: range reads over [k_i, k_j]
};

History GenerateKvHistory(const GenerateOptions& options);

enum class Breakage {
  kStaleOwnRead,    // session: read-your-writes
  kNonMonotonic,    // session: monotonic reads
  kLostWrite,       // durability: an acknowledged write missing from the log
  kDuplicateWrite,  // durability: a record twice
  kPhantomWrite,    // durability: a record nobody invoked
  kDivergence,      // convergence: a replica's digest differs
};

// Breaks `history` in the given way; false if the history offers no place to
// do it (too short).
bool InjectViolation(History* history, Breakage breakage, uint64_t seed);

// A linearizable single-register (read/write/cas) history with overlapping
// operations from `processes` processes, built from a sequential execution.
History GenerateRegisterHistory(uint64_t seed, size_t operations, int processes);

// A linearizable kv history (put, get, delete, batch, range over `keys`
// keys) from `processes` processes, built from a sequential execution in
// which a batch's records take effect one at a time with other processes'
// operations between them (a batch is not atomic). Some writes end `info`
// (each record of such a batch took effect or not) or `fail` (no effect).
// A range's invocation carries its lower bound as `key`.
History GenerateKvLinearizableHistory(uint64_t seed, size_t operations, int processes, int keys);

}  // namespace kvlog::checker::testing
