// The durable-store client suites (kv/testing/durable_conformance.h) on LMDB.
#include "kv/lmdb/lmdb_storage.h"
#include "kv/testing/durable_conformance.h"

namespace kvlog::kv::testing {

Result<std::unique_ptr<Storage>> OpenDurableStore(const std::string& dir) {
  auto store = lmdb::OpenLmdbStorage({.path = dir});
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<Storage>(std::move(*store));
}

}  // namespace kvlog::kv::testing
