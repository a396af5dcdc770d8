// The read-levels check: each read that records its level (Event::level,
// "level" in JSONL) is held to that level's promise (kv::ReadLevel), judged
// from the history's own offsets and positions:
//   - at_least (bound = the position token P): served at a position > P,
//     so it reflects every record at or below P;
//   - bounded (bound = the lag L in records): the log's end at the read's
//     invocation was at least E = 1 + the highest offset any write had been
//     acknowledged at before then, and the read must be served at a position
//     >= E - L;
//   - linearizable: as bounded with L = 0 (a necessary condition; the
//     linearizability check judges the values);
//   - local, or no level: nothing promised beyond the session check's.
// Reads need `applied`; one without it is counted, not judged.
#pragma once

#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"

namespace kvlog::checker {

// Errors (not verdicts): an unknown level name, a bounded or at_least read
// without its bound or with a negative one.
Result<CheckReport> CheckReadLevels(const std::vector<Operation>& ops);

}  // namespace kvlog::checker
