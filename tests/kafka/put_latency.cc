#include "tests/kafka/put_latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace kvlog::kv::testing {

void ReportPutLatency(Client& client, const char* where) {
  constexpr int kPuts = 200;
  std::vector<double> ms;
  for (int i = 0; i < kPuts; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = client.Put(fmt::format("latency/{}", i % 10), std::string(100, 'v'));
    ASSERT_TRUE(r) << r.error().ToString();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::fprintf(stderr, "%s: sequential Put latency over %d puts: p50 %.2f ms, p99 %.2f ms\n", where, kPuts,
               ms[kPuts / 2], ms[kPuts * 99 / 100]);
}

}  // namespace kvlog::kv::testing
