// Linearizability: Wing & Gong's search with Lowe's memoisation of
// (set of linearized operations, model state), per P-compositional part.
// States are interned (each distinct state an integer id, each transition
// computed once) and the memo keys on (linearized set, state id). Parts run
// on `threads` workers; once one part is not linearizable the others stop.
//
// Failed operations did not happen and are dropped; info operations (outcome
// unknown, or no completion) may take effect at any point after their
// invocation, or never. Reads with unknown outcome are dropped. Exceeding the
// time budget yields Verdict::kUnknown, never a guess.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "checker/history.h"
#include "checker/model.h"
#include "checker/verdict.h"

namespace kvlog::checker {

struct LinearizabilityOptions {
  std::chrono::milliseconds budget{60'000};  // for the whole history
  int threads = 1;                           // parts checked in parallel; 0 = one per core
  // Limit: memoised configurations per part; beyond it the verdict is unknown.
  size_t max_cache_entries = 4'000'000;
};

// Why a history is not linearizable, for one part.
struct LinearizabilityWitness {
  std::string part;                  // the key, or "" for a single register
  std::vector<size_t> prefix;        // longest linearizable prefix, in order (Operation::index)
  size_t blocking_op = 0;            // the operation that cannot be placed after it
  std::string state_after_prefix;    // the model state the prefix leads to
  std::string explanation;
};

struct LinearizabilityResult {
  Verdict verdict = Verdict::kValid;
  size_t parts = 0;
  size_t ops_checked = 0;
  std::optional<LinearizabilityWitness> witness;  // when invalid
  std::string detail;                            // e.g. which part ran out of time
  uint64_t configurations = 0;                   // memoised configurations, all parts searched
};

LinearizabilityResult CheckLinearizability(const std::vector<Operation>& ops, const Model& model,
                                           const LinearizabilityOptions& options = {});

// As a CheckReport (violation = the witness).
CheckReport LinearizabilityReport(const Model& model, const LinearizabilityResult& result);

}  // namespace kvlog::checker
