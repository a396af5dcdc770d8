// Durability, judged against the log the history carries:
//   - every acknowledged write appears in the log exactly once, at the offset
//     its completion reported (if it reported one);
//   - a failed write does not appear; an unknown (info) write appears at most
//     once;
//   - nothing appears in the log that was never invoked;
//   - no two acknowledged writes report the same offset.
// Without a log only the last rule is checked. Writes are matched to records
// as writes.h describes; a write appears once a record of it took effect (a
// cas record whose condition failed, an Update attempt that conflicted, is
// no copy of it). An atomic batch's record holds only the last write to each
// key: the writes it overwrote are not looked for once the history shows the
// batch was atomic (see checker/README.md). The log must be the uncompacted
// one.
#pragma once

#include "checker/history.h"
#include "checker/verdict.h"
#include "checker/writes.h"

namespace kvlog::checker {

CheckReport CheckDurability(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes);

}  // namespace kvlog::checker
