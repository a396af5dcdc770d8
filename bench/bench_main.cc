#include "bench/bench_main.h"

#include <string_view>

#include "benchmark/benchmark.h"

namespace kvlog::bench {

int RunBenchmarkMain(int argc, char** argv, bool* smoke, const std::string& log) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--smoke") {
      *smoke = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::AddCustomContext("log", log);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace kvlog::bench
