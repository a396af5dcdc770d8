// Small queries over a simulated run and its report, for the simulator's
// tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "checker/check.h"
#include "sim/scenario.h"

namespace kvlog::sim::testing {

// The report of the check named `checker`, or null. Points into `report`:
// keep the report alive while the result is read.
const checker::CheckReport* FindCheck(const checker::FullReport& report, std::string_view checker);

// Operations of function `f` that completed ok (with `result`, when given).
int64_t CountOk(const SimRun& run, std::string_view f, std::optional<bool> result = std::nullopt);

}  // namespace kvlog::sim::testing
