// kvsim --workload ttl | watch: the TTL workload (sim/ttl_workload.h, clients
// with skewed clocks and janitors) and the watch workload
// (sim/watch_workload.h, watchers that fall behind and resume) on the
// simulator. Each seed's history is a checker::History (the TTL run's with an
// "expiry" line; the watch run's with its watch sessions) judged by
// checker::CheckHistory with the checks it calls for, as kvcheck judges the
// JSONL file --out writes. With --live the same workload runs on Kafka with
// real threads (sim/live/ttl_watch.h) and is judged the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "checker/history.h"
#include "sim/live/live.h"
#include "tools/cli/cli.h"

namespace kvlog::tools {

struct TtlWatchOptions {
  std::string workload;  // "ttl" or "watch"
  uint64_t first_seed = 1, last_seed = 1;
  // Negative: the workload's default. ttl: clients (the last joins at the
  // end), operations per client, keys. watch: watcher clients, operations
  // per writer, keys.
  int clients = -1, ops = -1, keys = -1;
  std::string variant = "correct";
  std::string out_path, html_path;  // Resolved already.
  // --run-dir (one seed): where the run folder is (made already), and the
  // reports written there besides out_path and html_path. Empty: none.
  std::string run_dir, text_path, json_path;
  std::string replay_rest;          // The command line's other arguments, for replay commands.
  // --live: one seed on Kafka (the embedded mock cluster unless
  // live_options.brokers); no broker nemesis.
  bool live = false;
  sim::live::LiveOptions live_options;
  // --faults: the registry's, on the simulator (sim/ttl_watch_faults.h).
  std::vector<std::string> faults;
};

// The names of the ttl and watch workloads, and their variants.
bool IsTtlWatchWorkload(const std::string& name);
const std::vector<std::string>& TtlWatchVariants(const std::string& workload);

// One seed's history (sim) and whether its run finished cleanly; errors
// name what stopped the workload.
struct TtlWatchRun {
  checker::History history;
  std::vector<std::string> errors;
  std::string account;  // One line: what the run did.
  int64_t ops = 0;
  double virtual_seconds = 0;  // Live: wall seconds.
  // Live: the run could not be made (kvsim's exit code 2 or 3, and why).
  int refused_exit = 0;
  std::string refused;
  std::vector<std::string> warnings;
};
TtlWatchRun RunTtlWatchSeed(const TtlWatchOptions& options, uint64_t seed);

// Runs the seeds, prints a verdict per seed (the report of one seed, the
// failing seeds of a sweep with their replay commands) and returns kvsim's
// exit code: 0 passed, 1 a seed failed, 2 a bad variant, 3 a file could not
// be written.
int RunTtlWatch(const TtlWatchOptions& options);

// kvsim's entry for --workload ttl|watch once its options are parsed: refuses
// what does not apply to these workloads (--mix, --get-level, --edn, the
// --nemesis flags; --faults live; the --live options without --live; a seed
// range live; the sweep options --swarm, --summary, --shard, --jobs) as a
// usage error, then RunTtlWatch. `run_dir` (resolved): one seed's run folder
// (parameters.txt, history.jsonl, report.txt, report.json, report.html,
// replay.sh). `clients`, `ops`, `keys`
// count only if given on the command line; `faults` are the registry's
// (ApplyWorkloadFaults), on the simulator.
int RunTtlWatchCli(const CLI::App& app, int argc, char** argv, const std::string& workload, const std::string& variant,
                   int clients, int ops, int keys, const cli::SeedRange& range, const std::string& out_path,
                   const std::string& html_path, const std::vector<std::string>& faults = {}, bool live = false,
                   const sim::live::LiveOptions& live_options = {}, const std::string& run_dir = "");

}  // namespace kvlog::tools
