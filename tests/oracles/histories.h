// Simulator-recorded histories for the oracle tests (Porcupine, Knossos):
// correct clients under every safe fault, unsafe configurations, deliberately
// broken clients, and several clients reading locally (kvlog's local reads are
// not linearizable by design, so some of these histories are not, and
// single-client ones are).
#pragma once

#include <string>
#include <vector>

#include "checker/history.h"

namespace kvlog::oracles {

struct RecordedHistory {
  std::string name;  // e.g. "c3-point-failover-acks1-s2": a file name stem
  bool batches_and_ranges = false;  // recorded with the default mix (batch and range too)
  checker::History history;
};

// The set, deterministic, recorded once per process. `point_only`: only
// put/get/delete histories. On a failure (a fault name unknown, a run that did
// not complete) returns nothing and says why in *error.
const std::vector<RecordedHistory>& RecordHistories(bool point_only, std::string* error);

}  // namespace kvlog::oracles
