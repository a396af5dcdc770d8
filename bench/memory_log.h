// A log held in memory with fixed contents: the fastest source a kv::Client
// can replay from. Benchmarks use it to fill a client with millions of keys
// (the mock cluster keeps only about 5 MB per partition) and to measure what
// start-up replay costs in the KV layer alone.
#pragma once

#include <memory>
#include <vector>

#include "log/log.h"

namespace kvlog::bench {

// Records at offsets 0..n-1. Appends fail with kUnavailable.
std::unique_ptr<log::Log> MemoryLog(std::shared_ptr<const std::vector<log::Record>> records);

}  // namespace kvlog::bench
