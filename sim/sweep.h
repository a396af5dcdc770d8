// A sweep: one scenario over a range of seeds, each run judged.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "sim/scenario.h"

namespace kvlog::sim {

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
  // Its report, so that a caller printing it does not judge the run again
  // (minutes for a large streamed history).
  std::optional<checker::FullReport> last_report;
  uint64_t last_seed = 0;
  bool stopped = false;  // `stop` ended the sweep before `last`.

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

}  // namespace kvlog::sim
