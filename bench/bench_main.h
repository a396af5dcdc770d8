// The main() a benchmark binary shares: takes kvlog's --smoke flag beside
// Google Benchmark's own, names the log measured in the JSON context, runs.
#pragma once

#include <string>

namespace kvlog::bench {

// Removes every "--smoke" from argv and sets *smoke when one was there,
// records `log` as the report's "log" context, then runs the registered
// benchmarks. Returns main()'s exit status (1 on an unknown flag).
int RunBenchmarkMain(int argc, char** argv, bool* smoke, const std::string& log);

}  // namespace kvlog::bench
