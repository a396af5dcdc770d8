// Decorators over any Log that let a test hold back acknowledgements, stall
// the reader, corrupt records and count appends.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "log/log.h"
#include "runtime/runtime.h"

namespace kvlog::kv::testing {

// Shared switches; tests flip them while a client runs.
struct LogControls {
  std::atomic<int> appends{0};          // Append calls seen.
  std::atomic<int> records_appended{0};
  std::atomic<bool> hold_acks{false};   // Keep callbacks until released.
  std::atomic<bool> stall_reader{false};  // Poll returns nothing.
  // Polls that returned nothing because the reader was stalled. Once it has
  // risen after stall_reader was set, no poll of the inner log is in flight:
  // a record appended from then on stays unread until the stall ends.
  std::atomic<int> stalled_polls{0};
  // Added to every offset an acknowledgement names: a log that acknowledges
  // a write at an offset where another record (or none) is, as a log that
  // lost the write does.
  std::atomic<int64_t> ack_offset_shift{0};
  // The next this many appends commit twice: the records once with their
  // acknowledgement lost, then again, acknowledged (a retried append the log
  // did not deduplicate, as the librdkafka mock's outage does).
  std::atomic<int> duplicate_appends{0};
  // A leaf lock: held only inside one call, never across a wait.
  std::mutex mu;  // determinism-lint: allow
  std::set<log::Offset> corrupt_offsets;  // Guarded by mu. Read back as kCorrupt.
  // Guarded by mu. When not empty, the log's ReconnectHint (else the inner log's).
  std::string reconnect_hint;
  // An acknowledgement kept back: the inner log's result may arrive before or
  // after the test releases it; whichever comes second delivers it, once.
  struct HeldAck {
    std::optional<log::AppendResult> result;  // Guarded by mu.
    log::AppendCallback done;                 // Guarded by mu; empty once called.
    bool released = false;                    // Guarded by mu.
  };
  std::vector<std::shared_ptr<HeldAck>> held;  // Guarded by mu.

  // Runs every held acknowledgement.
  void ReleaseAcks();
};

// Wraps `inner`; `controls` must outlive the returned log. A stalled reader's
// polls wait on `runtime` (the runtime the log's clients run on).
std::unique_ptr<log::Log> ControlledLog(std::unique_ptr<log::Log> inner, LogControls& controls,
                                        Runtime& runtime = Runtime::Real());

}  // namespace kvlog::kv::testing
