// Write tracking for kv::Client: a write from start to finish, and the queues
// that finish each write once (by deadline, and by the highest offset the log
// acknowledged). Internal to kv/.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "kv/client.h"
#include "log/log.h"
#include "log/status.h"
#include "runtime/runtime.h"

namespace kvlog::kv::internal {

// A blocking caller's wait for its write (ClientImpl::WriteAndWait). The write
// is finished with the client's lock held, so its result is stored there at
// once; the caller is woken after the lock is released, and takes the result
// without a second pass through the lock by the finishing thread (one hand-off
// per finished write, none of it contending for the lock).
struct SyncWait {
  std::unique_ptr<CondVar> finished;
  std::optional<Result<log::Offset>> result;  // Guarded by ClientImpl::mu_.
};

// A write from start to finish. `offsets` and `highest` are known once the
// log has acknowledged it.
struct Write {
  std::size_t records = 0;
  TimePoint deadline;
  Duration timeout{0};
  WriteCallback done;
  // A blocking caller: finishing stores the result here and wakes it; `done`
  // then only serves a refusal before the write was registered.
  std::shared_ptr<SyncWait> sync;
  bool txn = false;           // A false condition is an outcome, not an error.
  // Each record's kvlog-seq: with the writer id, the record's identity. Empty
  // when ClientOptions::writer_headers is off (nothing to check against).
  absl::InlinedVector<uint64_t, 1> seqs;
  bool finished = false;      // The rest are guarded by ClientImpl::mu_.
  bool acknowledged = false;
  bool condition_held = true;
  std::vector<log::Offset> offsets;
  log::Offset highest = log::kNoOffset;
  // Where the applier read each record of this write (kNoOffset: not yet).
  absl::InlinedVector<log::Offset, 1> seen;
  // Keeps the write alive until the log's callback, which runs exactly once,
  // takes it. The callback then captures only raw pointers, which
  // std::function stores without allocating.
  std::shared_ptr<Write> self_until_acknowledged;
};

// A min-heap of items by key that drops finished items lazily, so finishing
// costs nothing and no entry allocates.
template <typename Key, typename Item>
class WriteQueue {
 public:
  void Push(Key key, std::shared_ptr<Item> item) {
    heap_.emplace_back(key, std::move(item));
    std::push_heap(heap_.begin(), heap_.end(), Later);
  }

  // The unfinished item with the smallest key (and its key), or null.
  Item* Top(Key* key = nullptr) {
    while (!heap_.empty() && heap_.front().second->finished) {
      std::pop_heap(heap_.begin(), heap_.end(), Later);
      heap_.pop_back();
    }
    if (heap_.empty()) return nullptr;
    if (key != nullptr) *key = heap_.front().first;
    return heap_.front().second.get();
  }

  // Drops finished items once they outnumber the `live` ones.
  void Compact(std::size_t live) {
    // Finished entries are dropped when they reach the top; this bounds how
    // many can wait for that (a finished write may sit behind a 30 s deadline).
    if (heap_.size() <= 2 * live + 64) return;
    std::erase_if(heap_, [](const auto& entry) { return entry.second->finished; });
    std::make_heap(heap_.begin(), heap_.end(), Later);
  }

 private:
  using Entry = std::pair<Key, std::shared_ptr<Item>>;
  static bool Later(const Entry& a, const Entry& b) { return a.first > b.first; }
  std::vector<Entry> heap_;
};

// A finished write's callback, or the blocking caller to wake (whose result
// is in SyncWait::result already), queued under the client's lock and run
// once it is released.
struct Completion {
  WriteCallback done;
  Result<log::Offset> result;
  std::shared_ptr<SyncWait> wake;
};
using Completions = std::vector<Completion>;

inline void RunCompletions(Completions& completions) {
  for (Completion& c : completions) {
    if (c.wake != nullptr) {
      c.wake->finished->NotifyOne();
    } else {
      c.done(std::move(c.result));
    }
  }
  completions.clear();
}

}  // namespace kvlog::kv::internal
