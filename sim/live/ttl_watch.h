// Live runs of the ttl and watch workloads (kvsim --live --workload ttl|watch):
// the same workload code as on the simulator (sim/ttl_workload.h,
// sim/watch_workload.h) on Kafka (the embedded librdkafka mock cluster by
// default, real brokers with LiveOptions::brokers), with real threads and real
// time, recording the same history (deadlines, the skew bound and its time
// origin, watch sessions) for the same checks.
//
// The clients of a live run share this machine's clock: their skews are zero,
// and the skew bound is the machine's own, how far the wall clock (which
// deadlines are written in) moved against the steady clock (which the history
// is timed with) during the run, plus kLiveClockMargin.
//
//   sim::TtlScenario s;                 // s.seed, s.variant, sizes
//   sim::TtlRun run;
//   LiveTtlWatchResult r = RunTtlLive(s, options, run);
//   if (r.kind == LiveTtlWatchResult::Kind::kRan) ... judge run.history ...
#pragma once

#include <string>
#include <vector>

#include "sim/live/live.h"
#include "sim/ttl_workload.h"
#include "sim/watch_workload.h"

namespace kvlog::sim::live {

// Added to a live TTL run's skew bound: reading the two clocks, and the
// history's times taken around (not at) each read's own clock read.
inline constexpr Duration kLiveClockMargin = std::chrono::milliseconds(1);

struct LiveTtlWatchResult {
  enum class Kind {
    kRan,          // The workload ran; its run holds the history to judge.
    kUsage,        // Settings refused (faults, unsafe acks, a topic that exists, a bad scenario).
    kEnvironment,  // The run could not be made (brokers unreachable, topic not created).
  };
  Kind kind = Kind::kEnvironment;
  std::string message;  // Why, for kUsage and kEnvironment.
  std::string where;    // "the embedded mock cluster" or the bootstrap servers.
  std::string topic;
  std::vector<std::string> warnings;  // E.g. the topic could not be deleted.
  double wall_seconds = 0;
};

// Faults do not run live for these workloads: options.broker_nemesis is
// refused (kUsage) if set. The run's history is in `run` (source says live).
LiveTtlWatchResult RunTtlLive(const TtlScenario& scenario, const LiveOptions& options, TtlRun& run);
LiveTtlWatchResult RunWatchLive(const WatchWorkloadOptions& workload, const LiveOptions& options, WatchRun& run);

}  // namespace kvlog::sim::live
