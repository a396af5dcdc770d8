// The durable-store client suites (durable_client_conformance.cc on the
// simulated log, durable_mock_conformance.cc on the librdkafka mock cluster):
// kv::Client resuming from a store's position, the checks on open, rebuild,
// duplicates across a restart, checkpoints. A durable store's test target
// links a suite and defines OpenDurableStore for its store:
//
//   Result<std::unique_ptr<Storage>> kv::testing::OpenDurableStore(const std::string& dir) {
//     return OpenLmdbStorage({.path = dir});  // (converted to Storage)
//   }
#pragma once

#include <memory>
#include <string>

#include "kv/storage.h"
#include "log/status.h"

namespace kvlog::kv::testing {

// Opens (or creates) the store under test in `dir`; a checkpoint it wrote
// (Storage::Checkpoint) must open the same way.
Result<std::unique_ptr<Storage>> OpenDurableStore(const std::string& dir);

}  // namespace kvlog::kv::testing
