// Deliberately broken clients, to show the checker catches real bugs. Each is
// a wrapper over the client's connection, so kv::Client itself stays correct:
//   "early-ack": the reader reports a position one past what it delivered, so
//                a write can return before its record is applied;
//   "reorder":   the reader hands each polled batch over in reverse, so
//                records are applied out of log order;
//   "trust-ack": whatever the log holds at an offset it acknowledged an
//                append at reads as that append's record, so the client
//                cannot check that the record there is its own (the client
//                before issue 11: a write succeeds once the position passes
//                its offset, even if the log lost it);
//   "writer-cas": conditions decided by the writer against its local state,
//                the record appended unconditionally (the log no longer decides);
//   "stale-end": a linearizable read that skips the end-offset fetch (the log
//                answers every EndOffset after the first with the first's);
//   "txn-split": a transaction applied record by record: its first write
//                goes in a record of its own carrying its conditions, each
//                other write in an unconditional record after it.
#pragma once

#include <string>
#include <vector>

#include "sim/workload.h"

namespace kvlog::sim {

std::vector<std::string> BrokenVariantNames();
// The wrapper for `name`; nullptr for "correct". Unknown names: kInvalidArgument.
Result<LogWrapper> VariantWrapper(const std::string& name);

}  // namespace kvlog::sim
