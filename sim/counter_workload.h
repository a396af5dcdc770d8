// The counter workload: clients add 1 to a few counters with kv::Client::Update
// (a conditional write on the version read, retried on conflict) and read
// them at every read level; after the run every replica reads each counter
// linearizably. Judged by checker/counter.h (the final value lies in
// [acknowledged, acknowledged + unknown] increments, every read within the
// bounds at its time) and checker/read_levels.h (each read kept its level's
// promise).
//
// History: incr (key, value 1; on ok the new value and the offset), get
// (with its level and bound, and the position it was served at).
#pragma once

#include <memory>
#include <vector>

#include "kv/options.h"
#include "sim/workload.h"

namespace kvlog::sim {

struct CounterOptions {
  int counters = 2;       // Keys "n0" .. "n{counters-1}".
  int incr_percent = 50;  // The rest are reads.
  // Reads take these levels in turn. kAtLeast's position is ignored: the
  // token is the highest offset any client's increment has returned so far
  // (local until there is one).
  std::vector<kv::ReadLevel> read_levels = {kv::ReadLevel::Local(), kv::ReadLevel::Bounded(3),
                                            kv::ReadLevel::AtLeast(0), kv::ReadLevel::Linearizable()};
};

std::shared_ptr<const CustomWorkload> CounterWorkload(const CounterOptions& options = {});

}  // namespace kvlog::sim
