// The expiry check: TTL reads against the log's deadlines, within the clock
// skew bound.
//
// Every replica stores the same state at a given position (the deadline is in
// the record); only when a replica's read starts hiding a key depends on its
// clock. With `skew_bound` B (every replica's wall clock is within B of true
// time) and each operation's true time (event time + time_origin), for every
// ok `get` served at position P (Event::applied), where the log's state of the
// key below P is value v with deadline d:
//   - it returned v:   it was invoked before d + B (a read that began later
//                      returned an expired value: "expired-read");
//   - it returned nil: it completed at or after d - B (an earlier one missed a
//                      live value: "early-expiry");
//   - anything else:   "wrong-value" (not what the log holds there).
// A key the log holds without deadline must be read as is; one the log does
// not hold must read nil.
// Reclamation: with `reclaimed_before` set, no final state (the log folded to
// each replica's final position) may still hold a value whose deadline is at
// or before it: the janitor ran ("not-reclaimed"). Convergence of the states
// themselves is the convergence check's.
//
// The log's cas records decide by value as in FoldLog; a cas without a value
// is a conditional delete (the janitor's tombstone).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kvlog::checker {

struct ExpiryOptions {
  int64_t skew_bound_ns = 0;  // B: at least 0.
  int64_t time_origin_ns = 0;  // Added to event times to give true wall time.
  std::optional<int64_t> reclaimed_before;  // True wall time, ns.
};

// Needs the log; skipped when the history has none or no record carries a
// deadline. kInvalidArgument for a negative skew bound.
Result<CheckReport> CheckExpiry(const History& history, const std::vector<Operation>& ops,
                                const ExpiryOptions& options);

}  // namespace kvlog::checker
