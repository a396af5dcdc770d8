// The default Storage: an ordered in-memory map.
#pragma once

#include <memory>

#include "kv/storage.h"

namespace kvlog::kv {

// Readers run concurrently with each other; Apply holds out readers for the
// whole batch, so a reader never sees half of one.
std::unique_ptr<Storage> NewMemoryStorage();

}  // namespace kvlog::kv
