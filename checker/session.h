// Session guarantees, per process (a process is sequential: one operation at a
// time):
//   read-your-writes: a read of key k never sees an older version of k than
//     the last write to k its own replica completed before the read was
//     invoked (a write is its own once acknowledged: the process's own
//     writes, and the replica's async writes, which a history records each as
//     a process of its own; without replicas, the process's writes); with
//     `applied` positions, the read must also be served at a position past
//     that write's offset;
//   monotonic reads: a process's reads of k never go back to an older version,
//     and the positions its reads are served at never decrease.
// A version is the log offset of the write a read names (values are unique):
// taken from the log when the history carries it, else from the offsets the
// writes' completions reported. A read of a value no write produced is also a
// violation. Linear in the number of operations (hash lookups).
#pragma once

#include <vector>

#include "checker/history.h"
#include "checker/verdict.h"
#include "checker/writes.h"

namespace kvlog::checker {

// With `threads` >= 2 and `parallel_min_ops` operations or more, the sessions
// are split among that many threads (the calling one among them), by replica
// (a process without one is a replica of its own): each thread walks every
// operation and write but judges only its replicas' reads. The report is the
// one a single thread gives, violations and their order included.
inline constexpr size_t kSessionParallelMinOps = 65536;
CheckReport CheckSessions(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes,
                          int threads = 1, size_t parallel_min_ops = kSessionParallelMinOps);

}  // namespace kvlog::checker
