// Memory per stored key: the default in-memory store filled with N keys
// (12-byte keys, 100-byte values) the way the applier fills it, in batches of
// 10,000. Run it in a process of its own: peak RSS is the whole process's.
// BM_StoreMemory/N/1 stores the same values with a TTL: each value in the
// envelope a Put with a TTL writes (kv/ttl.h: 17 bytes of magic and deadline),
// as the applier keeps it; its peak RSS includes the plain row's if both run in
// one process, so compare rss_growth_B/key.
//
//   memory_bench [--smoke] [benchmark flags]
//
// Counters: rss_growth_B/key  resident set growth while filling, per key
//           peak_rss_B/key    the process's peak RSS (getrusage), per key
//           payload_B/key     key + value bytes, for comparison
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_main.h"
#include "kv/memory_storage.h"
#include "kv/ttl.h"

namespace kvlog::kv {
namespace {

bool g_smoke = false;

double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double PeakResidentBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports KiB.
}

void BM_StoreMemory(benchmark::State& state) {
  const int64_t keys = g_smoke ? 10'000 : state.range(0);
  const bool ttl = state.range(1) != 0;
  // An hour from a fixed instant: the deadline's value does not change the size.
  constexpr int64_t kDeadlineNs = int64_t{1'800'000'000} * 1'000'000'000 + 3'600'000'000'000;
  double growth = 0;
  for (auto _ : state) {
    const double before = ResidentBytes();
    std::unique_ptr<Storage> store = NewMemoryStorage();
    std::vector<Mutation> batch;
    for (int64_t i = 0; i < keys; ++i) {
      std::string key = fmt::format("key/{:08}", i);
      std::string value = fmt::format("v{}-", i);
      value.resize(100, 'x');
      if (ttl) value = internal::EncodeTtlValue(kDeadlineNs, value);
      batch.push_back(Mutation{std::move(key), std::move(value)});
      if (batch.size() == 10'000) {
        store->Apply(batch);
        batch.clear();
      }
    }
    store->Apply(batch);
    growth = ResidentBytes() - before;
    benchmark::DoNotOptimize(store->Size());
  }
  state.counters["keys"] = static_cast<double>(keys);
  state.counters["rss_growth_B/key"] = growth / static_cast<double>(keys);
  state.counters["peak_rss_B/key"] = PeakResidentBytes() / static_cast<double>(keys);
  state.counters["payload_B/key"] = 12 + 100 + (ttl ? static_cast<double>(internal::kTtlHeaderBytes) : 0);
}
BENCHMARK(BM_StoreMemory)
    ->ArgNames({"keys", "ttl"})
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvlog::kv

int main(int argc, char** argv) {
  return kvlog::bench::RunBenchmarkMain(argc, argv, &kvlog::kv::g_smoke, "none (kv::NewMemoryStorage only)");
}
