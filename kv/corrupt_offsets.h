// The offsets kv::Client's applier skipped as corrupt (undecodable records),
// kept so a write whose record landed on one fails with kCorrupt instead of
// succeeding. Internal to kv/.
//
// Bounded: only a write still in flight can ask about an offset, so the set
// is emptied whenever no write is in flight, and otherwise keeps at most
// kMaxKept offsets, dropping the lowest (the oldest: a write whose record is
// that far behind the applier timed out long ago). The total count is kept
// apart from the set.
#pragma once

#include <cstddef>
#include <set>
#include <span>

#include "log/log.h"

namespace kvlog::kv::internal {

class CorruptOffsets {
 public:
  // At most this many offsets are kept for writes in flight.
  static constexpr std::size_t kMaxKept = 1 << 16;

  void Add(std::span<const log::Offset> offsets);
  bool Contains(log::Offset offset) const { return kept_.contains(offset); }
  // No write is in flight: none can ask about an offset skipped so far.
  void ForgetKept() { kept_.clear(); }
  // Every offset ever added (Client::corrupt_records()).
  std::size_t total() const { return total_; }
  std::size_t kept() const { return kept_.size(); }

 private:
  std::set<log::Offset> kept_;
  std::size_t total_ = 0;
};

}  // namespace kvlog::kv::internal
