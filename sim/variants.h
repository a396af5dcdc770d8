// Deliberately broken clients, to show the checker catches real bugs. Each is
// a wrapper over the client's connection, so kv::Client itself stays correct:
//   "early-ack": the reader reports a position one past what it delivered, so
//                a write can return before its record is applied;
//   "reorder":   the reader hands each polled batch over in reverse, so
//                records are applied out of log order.
#pragma once

#include <string>
#include <vector>

#include "sim/workload.h"

namespace kvlog::sim {

std::vector<std::string> BrokenVariantNames();
// The wrapper for `name`; nullptr for "correct". Unknown names: kInvalidArgument.
Result<LogWrapper> VariantWrapper(const std::string& name);

}  // namespace kvlog::sim
