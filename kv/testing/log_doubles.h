// Decorators over any Log that let a test hold back acknowledgements, stall
// the reader, corrupt records and count appends.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "log/log.h"

namespace kvlog::kv::testing {

// Shared switches; tests flip them while a client runs.
struct LogControls {
  std::atomic<int> appends{0};          // Append calls seen.
  std::atomic<int> records_appended{0};
  std::atomic<bool> hold_acks{false};   // Keep callbacks until released.
  std::atomic<bool> stall_reader{false};  // Poll returns nothing.
  std::mutex mu;
  std::set<log::Offset> corrupt_offsets;  // Guarded by mu. Read back as kCorrupt.
  struct HeldAck {
    std::shared_ptr<log::AppendResult> result;
    log::AppendCallback done;
  };
  std::vector<HeldAck> held;  // Guarded by mu.

  // Runs every held acknowledgement.
  void ReleaseAcks();
};

// Wraps `inner`; `controls` must outlive the returned log.
std::unique_ptr<log::Log> ControlledLog(std::unique_ptr<log::Log> inner, LogControls& controls);

}  // namespace kvlog::kv::testing
