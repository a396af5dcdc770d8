// Checker speed.
//   BM_SessionAndConvergence/N: pairing, write index, session and convergence
//     checks on a generated N-operation kvlog history (items/s = operations/s).
//   BM_SessionAndConvergenceTwoThreads/N: the same on two threads, as kvcheck
//     does it (wall time).
//   BM_Phase/N/P: one phase of the above alone (pair, index, session,
//     convergence; 4: the session check split between two threads: read
//     its wall time, the CPU column counts the calling thread alone).
//   BM_Durability/N: the durability check on the same history.
//   BM_LinearizabilityReferenceSet: every history of checker/testdata/reference/MANIFEST.tsv
//     parsed and checked; the counters give rows and agreements with the
//     published verdicts.
//   BM_EndToEndJsonl/N: JSONL text -> streaming reader -> default checks, for a
//     kvsim-shaped N-operation history with range reads (see the function).
#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/convergence.h"
#include "checker/durability.h"
#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/session.h"
#include "checker/testing/generate.h"
#include "checker/testing/reference.h"
#include "checker/writes.h"

namespace kvlog::checker {
namespace {

const History& Generated(size_t ops) {
  static std::map<size_t, std::unique_ptr<History>> cache;
  auto& h = cache[ops];
  if (!h) {
    testing::GenerateOptions g;
    g.seed = 42;
    g.operations = ops;
    g.replicas = 8;
    g.keys = 1000;
    h = std::make_unique<History>(testing::GenerateKvHistory(g));
  }
  return *h;
}

// Pairing, the write index, the session and convergence checks, on one
// thread or as kvcheck does them with two (--threads 2): the write index
// built on two, convergence on a worker beside it, the sessions split
// between two.
void SessionAndConvergence(benchmark::State& state, int threads) {
  const History& h = Generated(static_cast<size_t>(state.range(0)));
  size_t violations = 0;
  for (auto _ : state) {
    auto ops = PairOperations(h, threads);
    if (!ops) {
      state.SkipWithError(ops.error().ToString().c_str());
      return;
    }
    CheckReport c;
    std::thread side;
    if (threads >= 2) side = std::thread([&] { c = CheckConvergence(h); });
    WriteIndex writes(h, *ops, threads);
    CheckReport s = CheckSessions(h, *ops, writes, threads);
    if (side.joinable()) {
      side.join();
    } else {
      c = CheckConvergence(h);
    }
    violations += s.violation_count + c.violation_count;
    benchmark::DoNotOptimize(s);
  }
  if (violations) state.SkipWithError("a generated history should be valid");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.counters["ops/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * state.range(0),
                                               benchmark::Counter::kIsRate);
}

void BM_SessionAndConvergence(benchmark::State& state) { SessionAndConvergence(state, 1); }
BENCHMARK(BM_SessionAndConvergence)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// Wall time (UseRealTime): the CPU time of the main thread alone would
// flatter it.
void BM_SessionAndConvergenceTwoThreads(benchmark::State& state) { SessionAndConvergence(state, 2); }
BENCHMARK(BM_SessionAndConvergenceTwoThreads)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The parts of BM_SessionAndConvergence, to see where the time goes.
void BM_Phase(benchmark::State& state) {
  const History& h = Generated(static_cast<size_t>(state.range(0)));
  auto ops = PairOperations(h);
  WriteIndex writes(h, *ops);
  for (auto _ : state) {
    switch (state.range(1)) {
      case 0:
        benchmark::DoNotOptimize(PairOperations(h));
        break;
      case 1:
        benchmark::DoNotOptimize(WriteIndex(h, *ops));
        break;
      case 2:
        benchmark::DoNotOptimize(CheckSessions(h, *ops, writes));
        break;
      case 3:
        benchmark::DoNotOptimize(CheckConvergence(h));
        break;
      case 4:
        benchmark::DoNotOptimize(CheckSessions(h, *ops, writes, /*threads=*/2));
        break;
      default:
        benchmark::DoNotOptimize(WriteIndex(h, *ops, /*threads=*/2));
    }
  }
  static const char* kNames[] = {"pair",        "index", "session", "convergence", "session on two threads",
                                 "index on two threads"};
  state.SetLabel(kNames[state.range(1)]);
  state.counters["ops/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * state.range(0),
                                               benchmark::Counter::kIsRate);
}
// Wall time: phases 4 and 5 run on two threads.
BENCHMARK(BM_Phase)->ArgsProduct({{1'000'000}, {0, 1, 2, 3, 4, 5}})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Durability(benchmark::State& state) {
  const History& h = Generated(static_cast<size_t>(state.range(0)));
  auto ops = PairOperations(h);
  WriteIndex writes(h, *ops);
  for (auto _ : state) {
    CheckReport d = CheckDurability(h, *ops, writes);
    if (d.violation_count) state.SkipWithError("a generated history should be durable");
    benchmark::DoNotOptimize(d);
  }
  state.counters["ops/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * state.range(0),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Durability)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

std::vector<testing::ReferenceHistory> ReferenceSet() {
  auto rows = testing::LoadReferenceSet();
  if (!rows) {
    fmt::print(stderr, "{}\n", rows.error().ToString());
    return {};
  }
  return std::move(*rows);
}

void BM_LinearizabilityReferenceSet(benchmark::State& state) {
  static const std::vector<testing::ReferenceHistory> rows = ReferenceSet();
  if (rows.empty()) {
    state.SkipWithError("reference histories not found (checker/testdata/reference)");
    return;
  }
  int agree = 0;
  size_t ops_total = 0;
  for (auto _ : state) {
    agree = 0;
    ops_total = 0;
    for (const testing::ReferenceHistory& r : rows) {
      auto h = r.format == "jepsen-log" ? ParseJepsenLog(r.text, r.path) : ParseJepsenEdn(r.text, r.path);
      auto ops = PairOperations(*h);
      auto model = MakeModel(r.model);
      LinearizabilityResult res = CheckLinearizability(*ops, *model);
      ops_total += ops->size();
      if ((res.verdict == Verdict::kValid) == r.linearizable && res.verdict != Verdict::kUnknown) ++agree;
    }
  }
  state.counters["rows"] = static_cast<double>(rows.size());
  state.counters["agree"] = agree;
  state.counters["ops"] = static_cast<double>(ops_total);
}
BENCHMARK(BM_LinearizabilityReferenceSet)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace kvlog::checker


// End to end, as kvcheck runs: a generated kvsim-shaped JSONL history (10
// replicas, 1000 keys, 10% range reads over [k_i, k_j], the rest gets and
// writes) read from its text by the streaming reader (pairing as it reads)
// and checked for session, convergence and durability. items/s = operations
// per second, parsing included. The text is made once, outside the timing.
namespace kvlog::checker {
namespace {

const std::string& GeneratedJsonl(size_t ops) {
  static std::map<size_t, std::string> cache;
  std::string& text = cache[ops];
  if (text.empty()) {
    testing::GenerateOptions g;
    g.seed = 7;
    g.operations = ops;
    g.replicas = 10;
    g.keys = 1000;
    g.range_percent = 10;
    text = WriteJsonl(testing::GenerateKvHistory(g));
  }
  return text;
}

void BM_EndToEndJsonl(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string& text = GeneratedJsonl(n);
  for (auto _ : state) {
    std::istringstream in(text);
    JsonlReadOptions read;
    read.pair_events = true;
    auto h = ReadJsonl(in, "generated", read);
    if (!h) {
      state.SkipWithError(h.error().ToString().c_str());
      return;
    }
    CheckOptions options;
    auto report = CheckHistory(std::move(*h), Format::kJsonl, options);
    if (!report || report->Overall() != Verdict::kValid) {
      state.SkipWithError("a generated history should check valid");
      return;
    }
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EndToEndJsonl)->Arg(100'000)->Arg(800'000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace kvlog::checker

BENCHMARK_MAIN();
