#include "kv/corrupt_offsets.h"

namespace kvlog::kv::internal {

void CorruptOffsets::Add(std::span<const log::Offset> offsets) {
  for (log::Offset o : offsets) {
    if (kept_.insert(o).second) ++total_;
  }
  while (kept_.size() > kMaxKept) kept_.erase(kept_.begin());
}

}  // namespace kvlog::kv::internal
