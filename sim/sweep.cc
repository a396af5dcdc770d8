#include "sim/sweep.h"

namespace kvlog::sim {

SweepResult Sweep(const Scenario& base, uint64_t first, uint64_t last, const SweepProgress& progress,
                  const SweepStop& stop) {
  SweepResult result;
  const uint64_t total = last >= first ? last - first + 1 : 0;
  for (uint64_t seed = first; seed <= last && seed >= first; ++seed) {
    if (seed != first && stop && stop()) {
      result.stopped = true;
      break;
    }
    Scenario scenario = base;
    scenario.seed = seed;
    SimRun run = RunScenario(scenario);
    checker::FullReport report = Judge(run);
    ++result.runs;
    result.wall_seconds += run.wall_seconds;
    result.virtual_seconds += std::chrono::duration<double>(run.outcome.virtual_end.time_since_epoch()).count();
    result.operations += run.workload.ops_completed + run.workload.ops_unknown;
    result.last_seed = seed;
    const bool passed = Passed(run, report);
    if (!passed) result.failing_seeds.push_back(seed);
    if (progress) progress(result.runs, total, result.failing_seeds.size());
    const bool first_failure = !passed && !result.first_failing_run;
    if (seed == last) result.last_report = first_failure ? report : std::move(report);
    if (first_failure) {
      result.first_failure = std::move(report);
      result.first_failing_run = seed == last ? run : std::move(run);
    }
    if (seed == last) {
      result.last_run = std::move(run);
      break;
    }
  }
  return result;
}

}  // namespace kvlog::sim
