// kvsim: runs seeded simulations of kvlog clients against the faulty
// simulated log, checks every history, and names each failing seed with the
// command that replays it. --live runs the same workload on Kafka.
//
//   kvsim --seed 7 --faults latency,lost-ack,crash --out history.jsonl
//   kvsim --seeds 1..200 --faults outage,compaction
//   kvsim --seeds 1..50 --variant early-ack      # a broken client: expect failures
//   kvsim --live --faults outage,crash            # embedded mock cluster
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/report.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/variants.h"
#include "tools/kvsim/live.h"

namespace {

using namespace kvlog;

bool ParseSeeds(const std::string& text, uint64_t& first, uint64_t& last) {
  auto dots = text.find("..");
  try {
    std::size_t used = 0;
    if (dots == std::string::npos) {
      first = last = std::stoull(text, &used);
      if (used != text.size()) return false;
    } else {
      first = std::stoull(text.substr(0, dots));
      last = std::stoull(text.substr(dots + 2));
    }
  } catch (...) {
    return false;
  }
  return first <= last;
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvsim: deterministic simulation of kvlog clients over a faulty log, checked"};
  std::string seed_text = "1";
  std::string seeds_text;
  sim::Scenario base;
  std::string faults_text;
  std::string out_path, edn_path, html_path;
  bool list_faults = false, quiet = false, live = false;
  std::string brokers;
  app.add_option("--seed", seed_text, "one seed to run");
  app.add_option("--seeds", seeds_text, "a sweep, A..B inclusive");
  app.add_option("--clients", base.workload.clients, "clients (replicas)")->check(CLI::Range(1, 64));
  app.add_option("--ops", base.workload.ops_per_client, "operations per client")->check(CLI::Range(1, 1'000'000));
  app.add_option("--keys", base.workload.keys, "size of the key space")->check(CLI::Range(1, 1'000'000));
  app.add_option("--faults", faults_text, "comma-separated faults (see --list-faults)");
  app.add_option("--variant", base.variant, "client variant: correct, early-ack, reorder");
  app.add_option("--out", out_path, "write the (last) history as JSONL");
  app.add_option("--edn", edn_path, "write the (last) history as Jepsen EDN");
  app.add_option("--html", html_path, "write an HTML report of the first failing seed (of the run, for one seed)");
  app.add_flag("--list-faults", list_faults, "list the faults and exit");
  app.add_flag("--quiet", quiet, "no progress bar");
  app.add_flag("--live", live, "run the workload on Kafka with real threads (embedded mock cluster by default)");
  app.add_option("--brokers", brokers, "with --live: bootstrap servers of a real cluster");
  CLI11_PARSE(app, argc, argv);

  if (list_faults) {
    std::printf("faults (simulated log):\n");
    for (const auto& p : sim::FaultPresets()) {
      std::printf("  %-26s %-6s %s\n", p.name.c_str(), p.safe ? "safe" : "UNSAFE", p.description.c_str());
    }
    std::printf("faults with --live on the mock cluster:");
    for (const auto& f : tools::LiveFaultNames(true)) std::printf(" %s", f.c_str());
    std::printf("\nclient variants: correct");
    for (const auto& v : sim::BrokenVariantNames()) std::printf(", %s", v.c_str());
    std::printf("\n");
    return 0;
  }
  if (auto s = sim::ApplyFaults(Split(faults_text), base); !s) {
    std::fprintf(stderr, "kvsim: %s\n", s.error().message().c_str());
    return 2;
  }
  if (auto v = sim::VariantWrapper(base.variant); !v) {
    std::fprintf(stderr, "kvsim: %s\n", v.error().message().c_str());
    return 2;
  }
  uint64_t first = 0, last = 0;
  const std::string& seed_arg = seeds_text.empty() ? seed_text : seeds_text;
  if (!ParseSeeds(seed_arg, first, last)) {
    std::fprintf(stderr, "kvsim: seeds must be N or A..B with A <= B (got '%s')\n", seed_arg.c_str());
    return 2;
  }
  if (live) {
    if (first != last) {
      std::fprintf(stderr, "kvsim: --live runs one seed (real time is not replayable); got %s\n", seed_arg.c_str());
      return 2;
    }
    base.seed = first;
    return tools::RunLive(base, tools::LiveOptions{brokers, out_path, edn_path, html_path});
  }
  if (!brokers.empty()) {
    std::fprintf(stderr, "kvsim: --brokers needs --live\n");
    return 2;
  }

  // Everything but the seed and output options, for replay commands.
  std::string replay_rest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seed" || a == "--seeds" || a == "--out" || a == "--edn" || a == "--html") {
      ++i;
      continue;
    }
    if (a.rfind("--seed", 0) == 0 || a.rfind("--out=", 0) == 0 || a.rfind("--edn=", 0) == 0 ||
        a.rfind("--html=", 0) == 0 || a == "--quiet") {
      continue;
    }
    replay_rest += " " + a;
  }

  const bool sweep = last > first;
  // One seed with --out (and no --edn, which needs the events): the history
  // goes to the file as it is recorded and is checked from there, so a long
  // run never holds its events in memory.
  const bool streamed = !sweep && !out_path.empty() && edn_path.empty();
  if (streamed) base.stream_history_to = out_path;
  sim::SweepProgress progress;
  if (sweep && !quiet) {
    progress = [](uint64_t done, uint64_t total, std::size_t failing) {
      const int width = 40;
      int filled = static_cast<int>(width * done / total);
      std::fprintf(stderr, "\r[%s%s] %llu/%llu seeds, %zu failing", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total), failing);
      if (done == total) std::fprintf(stderr, "\n");
    };
  }
  sim::SweepResult result = sim::Sweep(base, first, last, progress);
  const sim::SimRun& run = result.last_run;
  if (!sweep) {
    checker::FullReport report = sim::Judge(run);
    std::printf("seed %llu: %s\n%s", static_cast<unsigned long long>(first),
                result.failing_seeds.empty() ? "PASS" : "FAIL", sim::Describe(run, report).c_str());
    if (!html_path.empty() && !WriteFile(html_path, checker::HtmlReport(report))) {
      std::fprintf(stderr, "kvsim: cannot write %s\n", html_path.c_str());
      return 2;
    }
  } else if (!html_path.empty() && result.first_failure &&
             !WriteFile(html_path, checker::HtmlReport(*result.first_failure))) {
    std::fprintf(stderr, "kvsim: cannot write %s\n", html_path.c_str());
    return 2;
  }
  if (!streamed && !out_path.empty() && !WriteFile(out_path, checker::WriteJsonl(run.history))) {
    std::fprintf(stderr, "kvsim: cannot write %s\n", out_path.c_str());
    return 2;
  }
  if (!edn_path.empty()) {
    auto edn = checker::WriteJepsenEdn(run.history);
    if (!edn || !WriteFile(edn_path, *edn)) {
      std::fprintf(stderr, "kvsim: cannot write EDN to %s%s\n", edn_path.c_str(),
                   edn ? "" : (": " + edn.error().ToString()).c_str());
      return 2;
    }
  }

  std::printf("\n%-26s %llu..%llu\n", "seeds", static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(last));
  std::printf("%-26s %s\n", "faults", faults_text.empty() ? "none" : faults_text.c_str());
  std::printf("%-26s %llu passed, %zu failed\n", "verdict",
              static_cast<unsigned long long>(result.runs - result.failing_seeds.size()), result.failing_seeds.size());
  std::printf("%-26s %lld\n", "simulated operations", static_cast<long long>(result.operations));
  std::printf("%-26s %.3f s virtual, %.3f s wall\n", "time", result.virtual_seconds, result.wall_seconds);
  std::printf("%-26s %.0fx\n", "virtual / wall", result.VirtualPerWall());
  std::printf("%-26s %.0f\n", "simulated ops per second", result.OperationsPerSecond());
  for (std::size_t i = 0; i < result.failing_seeds.size() && i < 20; ++i) {
    std::printf("FAILED seed %llu: replay with: kvsim --seed %llu%s\n",
                static_cast<unsigned long long>(result.failing_seeds[i]),
                static_cast<unsigned long long>(result.failing_seeds[i]), replay_rest.c_str());
  }
  if (result.failing_seeds.size() > 20) {
    std::printf("... and %zu more failing seeds\n", result.failing_seeds.size() - 20);
  }
  return result.failing_seeds.empty() ? 0 : 1;
}
