// The counter check: judges a history of increments and reads of integer
// counters (the counter workload: kv::Client::Update adding to a key).
//
//   incr: input the amount added (an integer > 0); on ok, the counter's new
//         value (optional); fail = not applied; info = unknown.
//   get:  on ok, the counter's value as a decimal string (nil = 0).
//
// For a read of key k served over [call, ret]:
//   upper bound: the amounts of every incr of k invoked before the read
//     returned that did not fail (acknowledged plus unknown ones);
//   lower bound: the amounts of every incr of k acknowledged before the read
//     was invoked, for a read at level "linearizable"; for a read at another
//     level, only those of the reader's own process (read-your-writes), as a
//     local read may lag other clients' increments.
// The final read (read after the run, every replica, linearizable) then lies
// in [acknowledged, acknowledged + unknown]. Also: two acknowledged
// increments of one key that report the same new value (a lost update), and
// a new value outside the bounds at its completion, are violations.
#pragma once

#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kvlog::checker {

// Errors (not verdicts): an incr whose amount is not an integer > 0.
Result<CheckReport> CheckCounter(const std::vector<Operation>& ops);

}  // namespace kvlog::checker
