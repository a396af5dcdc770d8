// The watch workload: writer clients put, delete, write atomic batches and
// transactions over a small key space, while watcher clients (each its own
// replica) watch keys and prefixes from the start, from a version, or from
// now, consume slowly through small buffers so that they fall behind, and
// resume where the fell-behind event says. Every event each watcher received
// is recorded as a checker::WatchHistory beside the log's changes (decided
// from the log as written by a reference model of the applier, independent
// of kv::Client), for checker::CheckWatches.
//
// The broken variant "watch-drop" is a consumer that drops events under load
// (whenever more events wait in its watcher's buffer it discards the event it
// just took); the watch check catches it.
//
// Runs on the simulator (fibers, virtual time): the same options give the
// same history bytes.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "checker/watch.h"
#include "log/record.h"
#include "log/sim/faults.h"
#include "sim/sim_runtime.h"
#include "sim/workload_log.h"

namespace kvlog::sim {

struct WatchWorkloadOptions {
  uint64_t seed = 1;
  int writers = 2;
  int ops_per_writer = 150;
  int keys = 6;  // "k0" .. "k{keys-1}"
  Duration max_think = std::chrono::milliseconds(2);
  int watchers = 3;  // Watcher clients; each runs one watch at a time.
  std::size_t buffer_events = 4;
  // The consumer pauses up to this long (uniform) after each event: slow.
  Duration consumer_think = std::chrono::milliseconds(4);
  Duration progress_interval = std::chrono::milliseconds(20);
  // "correct" or "watch-drop".
  std::string variant = "correct";
  // Faults of the simulated log (ApplyWorkloadFaults, sim/fault_registry.h):
  // the broker's, and client slot i's connection's slot_faults[i % size()]
  // (writers are slots 0..writers-1, watchers the next).
  log::sim::BrokerFaults broker;
  std::vector<log::sim::ConnectionFaults> slot_faults;
  SimLimits limits;
};

struct WatchRun {
  checker::WatchHistory history;
  RunOutcome outcome;
  std::vector<std::string> errors;  // What stopped the workload itself.
  int64_t change_events = 0;        // Recorded change events.
  int64_t fell_behind = 0;
  int64_t resumed = 0;
  int64_t progress = 0;
  int64_t dropped = 0;  // By the watch-drop variant.
  // Of those, the first event of a watch from "now": no history can show
  // that loss (the session's start is not known, so it looks like a later
  // start), so a run whose only drops are these is rightly valid.
  int64_t dropped_unseen = 0;
};

WatchRun RunWatchWorkload(const WatchWorkloadOptions& options);

// The workload itself on any runtime and log: RunWatchWorkload runs it on the
// simulator; sim/live runs it on Kafka with real threads. Call from a task of
// `runtime`, with the variant checked. Fills `run` (not outcome or source).
void RunWatchWorkloadOn(Runtime& runtime, const WorkloadLog& log, const WatchWorkloadOptions& options, WatchRun& run);

// The log's changes as every replica applies them: plain records as they
// are; commands decided against the state the earlier records give (a
// duplicate command, same writer and seq, changes nothing). Corrupt entries
// are left out.
class WatchLogModel {
 public:
  // The changes of the record at `offset` (none for a failed condition with
  // no else writes or a duplicate).
  std::vector<checker::LogChange> Apply(log::Offset offset, const log::Record& record);

 private:
  std::map<std::string, log::Offset> versions_;
  std::set<std::pair<std::string, uint64_t>> seen_;
};

}  // namespace kvlog::sim
