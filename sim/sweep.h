// A sweep: one scenario over a range of seeds, each run judged.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario.h"

namespace kvlog::sim {

// One seed's outcome, as a sweep's summary line (JSON lines, --summary).
struct SeedSummary {
  uint64_t seed = 0;
  bool passed = false;
  std::string verdict;           // checker::VerdictName of the report, or "error" (the run could not be judged).
  std::string outcome;           // "completed", "deadlock" or "time-limit".
  int64_t operations = 0;        // Completed or unknown.
  double virtual_seconds = 0;
  double wall_seconds = 0;       // Varies from run to run; everything else is the seed's.
  std::vector<std::string> faults;
  std::vector<std::string> parameters;  // Swarm choices.
  std::vector<std::string> violations;  // Kinds, for a failing seed.
  std::string replay;            // The command that replays the seed (set by the caller's options).
  uint64_t history_digest = 0;   // FNV-1a of the history's JSONL, if SweepOptions::digest_histories.
};

// One line of JSON (no newline); and back. Bad lines: an error naming what is wrong.
std::string SeedSummaryToJson(const SeedSummary& summary);
Result<SeedSummary> ParseSeedSummary(std::string_view line);

struct SweepOptions {
  // Seeds run on this many threads at once (each run is single-threaded and
  // shares nothing); results are the same as with one.
  int jobs = 1;
  // Of the range, only the seeds s with (s - first) % shards == shard - 1:
  // shards 1..N of N partition the range.
  int shard = 1;
  int shards = 1;
  // Called for each seed once judged (in completion order; serialised).
  std::function<void(const SeedSummary&)> on_seed;
  // Hash each run's history into SeedSummary::history_digest (tests; costs a serialisation per seed).
  bool digest_histories = false;
};

struct SweepResult {
  uint64_t runs = 0;
  std::vector<uint64_t> failing_seeds;
  double wall_seconds = 0;
  double virtual_seconds = 0;
  int64_t operations = 0;  // Completed or unknown, over every run.
  // The first failing seed's run and report (for --out, --edn, --html).
  std::optional<SimRun> first_failing_run;
  std::optional<checker::FullReport> first_failure;
  SimRun last_run;      // The last seed run (the only one of a one-seed sweep).
  checker::FullReport last_report;  // Its report: judged once, here (a streamed history is read back once).
  uint64_t last_seed = 0;
  bool stopped = false;  // `stop` ended the sweep before `last`.
  double elapsed_seconds = 0;  // Wall time of the whole sweep (below wall_seconds with jobs > 1).
  int jobs = 1;

  double VirtualPerWall() const { return wall_seconds > 0 ? virtual_seconds / wall_seconds : 0; }
  double OperationsPerSecond() const { return wall_seconds > 0 ? operations / wall_seconds : 0; }
};

// Called after each run with (runs done, runs in all, failing so far).
using SweepProgress = std::function<void(uint64_t done, uint64_t total, std::size_t failing)>;

// Asked before each seed but the first; true ends the sweep there (SIGINT).
using SweepStop = std::function<bool()>;

// Runs seeds first..last of `base`. Deterministic, seed by seed.
SweepResult Sweep(const Scenario& base, uint64_t first, uint64_t last, const SweepProgress& progress = nullptr,
                  const SweepStop& stop = nullptr);

// The same over the seeds of `options.shard` of first..last, on
// `options.jobs` threads. failing_seeds are in seed order, first_failing_run
// is the lowest failing seed's and last_run the highest seed's, as serially.
SweepResult Sweep(const Scenario& base, uint64_t first, uint64_t last, const SweepOptions& options,
                  const SweepProgress& progress = nullptr, const SweepStop& stop = nullptr);

}  // namespace kvlog::sim
