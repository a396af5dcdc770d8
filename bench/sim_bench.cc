// Simulator speed: one scenario per iteration (a new seed each time) on the
// fiber runtime and the simulated log, without judging the history.
//
//   sim_bench [--smoke] [benchmark flags]
//
//   BM_Simulator/0   no faults
//   BM_Simulator/1   every safe fault preset at once (sim/fault_registry.h)
//   BM_Simulator/2   swarm over every safe fault (sim/swarm.h): each seed
//                    picks which are on, their magnitudes and the client's knobs
// Counters: sim_ops/s  simulated operations completed (or unknown) per wall second
//           virtual/wall  virtual seconds simulated per wall second
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_main.h"
#include "sim/fault_registry.h"
#include "sim/scenario.h"

namespace kvlog::sim {
namespace {

bool g_smoke = false;

void BM_Simulator(benchmark::State& state) {
  const int64_t mode = state.range(0);
  Scenario base;
  base.workload.clients = 4;
  base.workload.ops_per_client = g_smoke ? 20 : 500;
  base.workload.keys = 20;
  if (mode == 2) base.swarm = SafeFaultNames();
  if (mode == 1) {
    if (auto s = ApplyFaults(SafeFaultNames(), base); !s) {
      state.SkipWithError(s.error().ToString().c_str());
      return;
    }
  }
  double wall = 0, virtual_seconds = 0;
  int64_t ops = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    Scenario s = base;
    s.seed = seed++;
    const auto start = std::chrono::steady_clock::now();
    SimRun run = RunScenario(s);
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run.outcome.kind != RunOutcome::Kind::kCompleted || !run.workload.errors.empty()) {
      state.SkipWithError(fmt::format("seed {} did not complete: {}", s.seed,
                                      run.workload.errors.empty() ? std::string("time limit or deadlock")
                                                                  : run.workload.errors.front())
                              .c_str());
      return;
    }
    virtual_seconds += std::chrono::duration<double>(run.outcome.virtual_end.time_since_epoch()).count();
    ops += run.workload.ops_completed + run.workload.ops_unknown;
  }
  state.SetItemsProcessed(ops);
  state.counters["sim_ops/s"] = static_cast<double>(ops) / wall;
  state.counters["virtual/wall"] = virtual_seconds / wall;
  state.counters["ops/run"] = static_cast<double>(ops) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Simulator)->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvlog::sim

int main(int argc, char** argv) {
  return kvlog::bench::RunBenchmarkMain(argc, argv, &kvlog::sim::g_smoke,
                                        "simulated log (log/sim) on the fiber runtime");
}
