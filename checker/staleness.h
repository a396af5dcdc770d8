// Staleness figures (reported, not judged):
//   read offsets behind: for a read served at position P, how far the log's
//     acknowledged end (highest offset acknowledged before the read was
//     invoked, plus one) was ahead of P;
//   read time behind: how long before the read's invocation the oldest
//     acknowledged write the replica had not yet applied was acknowledged;
//   write visibility: per acknowledged write, from its acknowledgement until
//     every replica was seen (by a read's `applied`) past its offset. Replicas
//     are observed only through reads, so this is an upper bound; writes some
//     replica was never seen to pass are counted apart. A replica counts for
//     a write only if it had invoked some operation by the write's
//     acknowledgement: one opened later (a late joiner, a restarted process
//     under a new name) replays the write rather than lagging behind it.
// Needs `time`, `offset` and `applied` fields; O(n log n).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checker/history.h"

namespace kvlog::checker {

struct Quantiles {
  size_t count = 0;
  int64_t p50 = 0, p90 = 0, p99 = 0, max = 0;
  static Quantiles Of(std::vector<int64_t> samples);
  std::string ToString() const;
};

struct StalenessFigures {
  Quantiles read_offsets_behind;
  Quantiles read_ns_behind;
  Quantiles write_visibility_ns;
  size_t writes_never_seen_everywhere = 0;
  bool available = false;  // false when the history lacks the fields
};

StalenessFigures MeasureStaleness(const std::vector<Operation>& ops);

}  // namespace kvlog::checker
