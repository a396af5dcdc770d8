#include "sim/testing/run_queries.h"

namespace kvlog::sim::testing {

const checker::CheckReport* FindCheck(const checker::FullReport& report, std::string_view checker) {
  for (const auto& r : report.reports) {
    if (r.checker == checker) return &r;
  }
  return nullptr;
}

int64_t CountOk(const SimRun& run, std::string_view f, std::optional<bool> result) {
  int64_t n = 0;
  for (const auto& e : run.history.events) {
    if (e.type == checker::EventType::kOk && e.f == f && (!result || e.result == result)) ++n;
  }
  return n;
}

}  // namespace kvlog::sim::testing
