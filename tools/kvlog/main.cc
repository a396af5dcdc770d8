// The main job: a short simulation sweep with every safe fault, then the same
// workload live on the embedded Kafka mock cluster (or --brokers), each history
// judged by the checker. Prints the verdicts and figures.
//
// Exit codes: 0 every check passed; 1 a check failed; 2 usage error; 3 the
// live run could not be made (brokers unreachable, topic not created);
// 130 interrupted (SIGINT) after a summary of what ran.
#include <algorithm>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "CLI/CLI.hpp"
#include "sim/fault_registry.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "tools/cli/cli.h"
#include "tools/kvsim/live.h"

int main(int argc, char** argv) {
  using namespace kvlog;
  CLI::App app{"kvlog main job: a simulation sweep, then a live run on Kafka", "kvlog"};
  cli::Setup(app, {{cli::kExitFailed, "a check failed (the sweep's replay commands are printed)"},
                   {cli::kExitEnvironment, "the live run could not be made (brokers unreachable, topic not "
                                           "created, workload stopped with no violation found)"},
                   {cli::kExitInterrupted, "interrupted (SIGINT): what ran is summarised"}});
  int seeds = 50;
  int clients = 3;
  int ops = 100;
  bool skip_live = false;
  tools::LiveOptions live_options;
  cli::AddNumber(app, "--seeds", seeds, "seeds in the simulation sweep (1..N)", 1, 1'000'000);
  cli::AddNumber(app, "--clients", clients, "clients (replicas)", 1, 64);
  cli::AddNumber(app, "--ops", ops, "operations per client", 1, 1'000'000);
  app.add_flag("--no-live", skip_live, "only the simulation sweep");
  tools::AddLiveOptions(app, live_options, "live run", "live run on --brokers");
  if (auto rc = cli::Parse(app, argc, argv)) return *rc;
  if (std::string why = tools::ValidateLiveOptions(live_options); !why.empty()) return cli::UsageError(app, why);

  const std::vector<std::string> safe = sim::SafeFaultNames();
  std::string fault_list;
  for (const auto& name : safe) fault_list += (fault_list.empty() ? "" : ",") + name;
  sim::Scenario scenario;
  scenario.workload.clients = clients;
  scenario.workload.ops_per_client = ops;
  if (auto s = sim::ApplyFaults(safe, scenario); !s) {
    fmt::print(stderr, "kvlog: {}\n", s.error().ToString());
    return cli::kExitUsage;
  }

  fmt::print("== 1. simulation: {} seeds, {} clients x {} ops, faults {}\n", seeds, clients, ops, fault_list);
  std::fflush(stdout);
  cli::InstallInterruptHandler();
  cli::Progress bar;
  sim::SweepProgress progress;
  if (bar.active()) {
    progress = [&bar](uint64_t done, uint64_t total, std::size_t failing) {
      bar.Update(fmt::format("   {}/{} seeds, {} failing", done, total, failing));
    };
  }
  sim::SweepResult sweep =
      sim::Sweep(scenario, 1, static_cast<uint64_t>(seeds), progress, [] { return cli::Interrupted(); });
  bar.Finish();
  if (sweep.stopped) {
    fmt::print("   INTERRUPTED after {} of {} seeds\n", sweep.runs, seeds);
  }
  fmt::print("   verdict                   {} passed, {} failed\n", sweep.runs - sweep.failing_seeds.size(),
             sweep.failing_seeds.size());
  fmt::print("   simulated operations      {} in {:.2f} s wall ({:.0f} ops/s)\n", sweep.operations, sweep.wall_seconds,
             sweep.OperationsPerSecond());
  fmt::print("   virtual / wall time       {:.0f}x ({:.1f} s virtual)\n", sweep.VirtualPerWall(), sweep.virtual_seconds);
  for (std::size_t i = 0; i < sweep.failing_seeds.size() && i < 5; ++i) {
    fmt::print("   FAILED seed {0}: replay with: kvsim --seed {0} --clients {1} --ops {2} --faults {3}\n",
               sweep.failing_seeds[i], clients, ops, fault_list);
  }
  bool checks_failed = !sweep.failing_seeds.empty();
  int live_code = cli::kExitOk;

  if (!skip_live && !cli::Interrupted()) {
    sim::Scenario live;
    live.seed = 1;
    live.workload.clients = clients;
    live.workload.ops_per_client = ops;
    std::vector<std::string> live_faults;
    for (const auto& name : sim::live::LiveFaults(live_options)) live_faults.push_back(name);
    (void)sim::ApplyFaults(live_faults, live);
    fmt::print("\n== 2. live: the same workload on {}, real threads and time\n",
               live_options.brokers.empty() ? "the embedded librdkafka mock cluster (3 brokers)"
                                            : live_options.brokers.c_str());
    std::fflush(stdout);
    live_code = tools::RunLive(live, live_options);
    checks_failed = checks_failed || live_code == cli::kExitFailed;
  } else if (!skip_live) {
    fmt::print("\n== 2. live: skipped (interrupted)\n");
  }

  int code = cli::kExitOk;
  if (checks_failed) {
    code = cli::kExitFailed;
  } else if (live_code != cli::kExitOk) {
    code = live_code;  // 2, 3 or 130
  }
  if (cli::Interrupted()) code = cli::kExitInterrupted;
  const char* verdict = code == cli::kExitOk               ? "kvlog: every check passed"
                        : code == cli::kExitFailed         ? "kvlog: SOME CHECKS FAILED"
                        : code == cli::kExitInterrupted    ? "kvlog: INTERRUPTED (the figures above cover what ran)"
                                                           : "kvlog: THE LIVE RUN COULD NOT BE MADE (see above)";
  fmt::print("\n{}\n", verdict);
  return code;
}
