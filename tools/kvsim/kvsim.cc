// kvsim: runs seeded simulations of kvlog clients against the faulty
// simulated log, checks every history, and names each failing seed with the
// command that replays it.
//
//   kvsim --seed 7 --faults latency,lost-ack,crash --out history.jsonl
//   kvsim --seeds 1..200 --faults outage,compaction
//   kvsim --seeds 1..50 --variant early-ack      # a broken client: expect failures
#include <chrono>
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
#include "sim/variants.h"

namespace {

using namespace kvlog;

struct SeedRange {
  uint64_t first = 1;
  uint64_t last = 1;
};

bool ParseSeeds(const std::string& text, SeedRange& range) {
  auto dots = text.find("..");
  try {
    if (dots == std::string::npos) {
      range.first = range.last = std::stoull(text);
    } else {
      range.first = std::stoull(text.substr(0, dots));
      range.last = std::stoull(text.substr(dots + 2));
    }
  } catch (...) {
    return false;
  }
  return range.first <= range.last;
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

std::string ReplayCommand(uint64_t seed, const std::vector<std::string>& argv_rest) {
  std::string cmd = "kvsim --seed " + std::to_string(seed);
  for (const auto& a : argv_rest) cmd += " " + a;
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvsim: deterministic simulation of kvlog clients over a faulty log, checked"};
  std::string seed_text = "1";
  std::string seeds_text;
  sim::Scenario base;
  std::string faults_text;
  std::string out_path, edn_path, html_path;
  bool list_faults = false, quiet = false;
  app.add_option("--seed", seed_text, "one seed to run");
  app.add_option("--seeds", seeds_text, "a sweep, A..B inclusive");
  app.add_option("--clients", base.workload.clients, "clients (replicas)")->check(CLI::Range(1, 64));
  app.add_option("--ops", base.workload.ops_per_client, "operations per client")->check(CLI::Range(1, 1'000'000));
  app.add_option("--keys", base.workload.keys, "size of the key space")->check(CLI::Range(1, 1'000'000));
  app.add_option("--faults", faults_text, "comma-separated faults (see --list-faults)");
  app.add_option("--variant", base.variant, "client variant: correct, early-ack, reorder");
  app.add_option("--out", out_path, "write the (last) history as JSONL");
  app.add_option("--edn", edn_path, "write the (last) history as Jepsen EDN");
  app.add_option("--html", html_path, "write an HTML report of the first failing seed (or the run, for one seed)");
  app.add_flag("--list-faults", list_faults, "list the faults and exit");
  app.add_flag("--quiet", quiet, "no progress bar");
  CLI11_PARSE(app, argc, argv);

  if (list_faults) {
    for (const auto& p : sim::FaultPresets()) {
      std::printf("  %-26s %-6s %s\n", p.name.c_str(), p.safe ? "safe" : "UNSAFE", p.description.c_str());
    }
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

  SeedRange seeds;
  if (!ParseSeeds(seeds_text.empty() ? seed_text : seeds_text, seeds)) {
    std::fprintf(stderr, "kvsim: seeds must be N or A..B with A <= B (got '%s')\n",
                 (seeds_text.empty() ? seed_text : seeds_text).c_str());
    return 2;
  }
  // Everything but the seed options, for replay commands.
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seed" || a == "--seeds" || a == "--out" || a == "--edn" || a == "--html") {
      ++i;
      continue;
    }
    if (a.rfind("--seed=", 0) == 0 || a.rfind("--seeds=", 0) == 0 || a == "--quiet") continue;
    rest.push_back(a);
  }

  const uint64_t total = seeds.last - seeds.first + 1;
  const bool sweep = total > 1;
  std::vector<uint64_t> failing;
  double wall = 0, virtual_seconds = 0;
  int64_t ops = 0;
  bool html_written = false;
  sim::SimRun last;
  for (uint64_t seed = seeds.first;; ++seed) {
    sim::Scenario scenario = base;
    scenario.seed = seed;
    sim::SimRun run = sim::RunScenario(scenario);
    checker::FullReport report = sim::Judge(run);
    bool passed = sim::Passed(run, report);
    wall += run.wall_seconds;
    virtual_seconds += std::chrono::duration<double>(run.outcome.virtual_end.time_since_epoch()).count();
    ops += run.workload.ops_completed + run.workload.ops_unknown;
    if (!passed) failing.push_back(seed);
    if (!sweep) {
      std::printf("seed %llu: %s\n%s", static_cast<unsigned long long>(seed), passed ? "PASS" : "FAIL",
                  sim::Describe(run, report).c_str());
    } else if (!quiet) {
      uint64_t done = seed - seeds.first + 1;
      int width = 40;
      int filled = static_cast<int>(width * done / total);
      std::fprintf(stderr, "\r[%s%s] %llu/%llu seeds, %zu failing", std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total), failing.size());
    }
    if (!html_path.empty() && !html_written && (!passed || !sweep)) {
      html_written = WriteFile(html_path, checker::HtmlReport(report));
    }
    if (seed == seeds.last) {
      last = std::move(run);
      break;
    }
  }
  if (sweep && !quiet) std::fprintf(stderr, "\n");

  if (!out_path.empty() && !WriteFile(out_path, checker::WriteJsonl(last.history))) {
    std::fprintf(stderr, "kvsim: cannot write %s\n", out_path.c_str());
    return 2;
  }
  if (!edn_path.empty()) {
    auto edn = checker::WriteJepsenEdn(last.history);
    if (!edn || !WriteFile(edn_path, *edn)) {
      std::fprintf(stderr, "kvsim: cannot write EDN to %s%s\n", edn_path.c_str(),
                   edn ? "" : (": " + edn.error().ToString()).c_str());
      return 2;
    }
  }

  std::printf("\n%-28s %s\n", "seeds", (std::to_string(seeds.first) + ".." + std::to_string(seeds.last)).c_str());
  std::printf("%-28s %llu passed, %zu failed\n", "verdict", static_cast<unsigned long long>(total - failing.size()),
              failing.size());
  std::printf("%-28s %lld\n", "simulated operations", static_cast<long long>(ops));
  std::printf("%-28s %.3f s virtual, %.3f s wall\n", "time", virtual_seconds, wall);
  std::printf("%-28s %.0fx\n", "virtual / wall", wall > 0 ? virtual_seconds / wall : 0.0);
  std::printf("%-28s %.0f\n", "simulated ops per second", wall > 0 ? ops / wall : 0.0);
  for (std::size_t i = 0; i < failing.size() && i < 20; ++i) {
    std::printf("FAILED seed %llu: replay with: %s\n", static_cast<unsigned long long>(failing[i]),
                ReplayCommand(failing[i], rest).c_str());
  }
  if (failing.size() > 20) std::printf("... and %zu more failing seeds\n", failing.size() - 20);
  return failing.empty() ? 0 : 1;
}
