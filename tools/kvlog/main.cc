// The main job: a short simulation sweep with every safe fault, then the same
// workload live on the embedded Kafka mock cluster (or --brokers), each history
// judged by the checker. Prints the verdicts and figures; exits non-zero if
// any check failed.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "tools/kvsim/live.h"

int main(int argc, char** argv) {
  using namespace kvlog;
  CLI::App app{"kvlog main job: a simulation sweep, then a live run on Kafka"};
  int seeds = 50;
  int clients = 3;
  int ops = 100;
  std::string brokers;
  bool skip_live = false;
  app.add_option("--seeds", seeds, "seeds in the simulation sweep")->check(CLI::Range(1, 1'000'000));
  app.add_option("--clients", clients, "clients (replicas)")->check(CLI::Range(1, 64));
  app.add_option("--ops", ops, "operations per client")->check(CLI::Range(1, 1'000'000));
  app.add_option("--brokers", brokers, "live run on these bootstrap servers instead of the embedded mock");
  app.add_flag("--no-live", skip_live, "only the simulation sweep");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> safe;
  std::string fault_list;
  for (const auto& p : sim::FaultPresets()) {
    if (!p.safe) continue;
    safe.push_back(p.name);
    fault_list += (fault_list.empty() ? "" : ",") + p.name;
  }
  sim::Scenario scenario;
  scenario.workload.clients = clients;
  scenario.workload.ops_per_client = ops;
  if (auto s = sim::ApplyFaults(safe, scenario); !s) {
    std::fprintf(stderr, "kvlog: %s\n", s.error().ToString().c_str());
    return 2;
  }

  std::printf("== 1. simulation: %d seeds, %d clients x %d ops, faults %s\n", seeds, clients, ops,
              fault_list.c_str());
  sim::SweepResult sweep = sim::Sweep(scenario, 1, static_cast<uint64_t>(seeds));
  std::printf("   verdict                   %llu passed, %zu failed\n",
              static_cast<unsigned long long>(sweep.runs - sweep.failing_seeds.size()), sweep.failing_seeds.size());
  std::printf("   simulated operations      %lld in %.2f s wall (%.0f ops/s)\n",
              static_cast<long long>(sweep.operations), sweep.wall_seconds, sweep.OperationsPerSecond());
  std::printf("   virtual / wall time       %.0fx (%.1f s virtual)\n", sweep.VirtualPerWall(), sweep.virtual_seconds);
  for (std::size_t i = 0; i < sweep.failing_seeds.size() && i < 5; ++i) {
    std::printf("   FAILED seed %llu: replay with: kvsim --seed %llu --clients %d --ops %d --faults %s\n",
                static_cast<unsigned long long>(sweep.failing_seeds[i]),
                static_cast<unsigned long long>(sweep.failing_seeds[i]), clients, ops, fault_list.c_str());
  }
  bool ok = sweep.failing_seeds.empty();

  if (!skip_live) {
    sim::Scenario live;
    live.seed = 1;
    live.workload.clients = clients;
    live.workload.ops_per_client = ops;
    std::vector<std::string> live_faults = tools::LiveFaultNames(brokers.empty());
    (void)sim::ApplyFaults(live_faults, live);
    std::printf("\n== 2. live: the same workload on %s, real threads and time\n",
                brokers.empty() ? "the embedded librdkafka mock cluster (3 brokers)" : brokers.c_str());
    int code = tools::RunLive(live, tools::LiveOptions{brokers, "", "", "", true});
    ok = ok && code == 0;
  }
  std::printf("\n%s\n", ok ? "kvlog: every check passed" : "kvlog: SOME CHECKS FAILED");
  return ok ? 0 : 1;
}
