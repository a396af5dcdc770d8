// Times the linearizability check on every row of the reference set
// (checker/testdata/reference/MANIFEST.tsv): parsing and pairing are done
// once, outside the timing; each history is checked --reps times and the
// median CPU time (and wall time) is printed, with totals per folder.
//
//   bazel run --config=opt //checker:time_reference -- [--reps N] [--threads N] [--filter SUBSTRING]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "checker/linearizability.h"
#include "checker/testing/reference.h"

namespace kvlog::checker {
namespace {

// CPU time of the process: on a shared machine, wall time mostly measures the
// other jobs. With --threads 1 it is the check's own time.
double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int Main(int argc, char** argv) {
  int reps = 5, threads = 1;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--reps") {
      reps = std::atoi(next().c_str());
    } else if (a == "--threads") {
      threads = std::atoi(next().c_str());
    } else if (a == "--filter") {
      filter = next();
    } else {
      fmt::print(stderr, "usage: time_reference [--reps N>=1] [--threads N>=1] [--filter SUBSTRING]\n");
      return 2;
    }
  }
  if (reps < 1 || threads < 1) {
    fmt::print(stderr, "--reps and --threads must be at least 1\n");
    return 2;
  }
  auto rows = testing::LoadReferenceSet();
  if (!rows) {
    fmt::print(stderr, "{}\n", rows.error().ToString());
    return 2;
  }
  struct Group {
    double total_ms = 0, worst_ms = 0;
    std::string worst;
    int n = 0;
  };
  std::map<std::string, Group> groups;
  int disagreements = 0;
  for (const testing::ReferenceHistory& r : *rows) {
    if (!filter.empty() && r.path.find(filter) == std::string::npos) continue;
    auto ops = testing::ReferenceOperations(r.text, r.path, r.format);
    if (!ops) {
      fmt::print(stderr, "{}\n", ops.error().ToString());
      return 2;
    }
    auto model = MakeModel(r.model);
    LinearizabilityOptions options;
    options.threads = threads;
    std::vector<double> ms, cpu;
    uint64_t configurations = 0;
    Verdict verdict = Verdict::kUnknown;
    for (int k = 0; k < reps; ++k) {
      const double c0 = CpuMs();
      auto t0 = std::chrono::steady_clock::now();
      LinearizabilityResult res = CheckLinearizability(*ops, *model, options);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      cpu.push_back(CpuMs() - c0);
      verdict = res.verdict;
      configurations = res.configurations;
    }
    std::sort(ms.begin(), ms.end());
    std::sort(cpu.begin(), cpu.end());
    const double wall = ms[ms.size() / 2];
    const double median = cpu[cpu.size() / 2];
    const bool agree = verdict != Verdict::kUnknown && (verdict == Verdict::kValid) == r.linearizable;
    if (!agree) ++disagreements;
    fmt::print("{:<46} cpu {:9.3f} ms  wall {:9.3f} ms  {:10} configurations  {:<8} {}\n", r.path, median, wall,
               configurations, VerdictName(verdict), agree ? "" : "DISAGREES");
    const std::string group = r.path.substr(0, r.path.rfind('/'));
    Group& g = groups[group];
    g.total_ms += median;
    ++g.n;
    if (median > g.worst_ms) {
      g.worst_ms = median;
      g.worst = r.path;
    }
  }
  for (const auto& [name, g] : groups) {
    fmt::print("total {:<30} {:3} histories {:10.3f} ms CPU; worst {} {:.3f} ms\n", name, g.n, g.total_ms, g.worst,
               g.worst_ms);
  }
  fmt::print("{} disagreement(s) with the published verdicts\n", disagreements);
  return disagreements ? 1 : 0;
}

}  // namespace
}  // namespace kvlog::checker

int main(int argc, char** argv) { return kvlog::checker::Main(argc, argv); }
