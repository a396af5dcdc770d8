// What every durable store (one with a position: kv/rocksdb, kv/lmdb) must
// keep across a close and a reopen, and give in a checkpoint. A store's test
// instantiates the suite with a function that opens (creating if absent) the
// store in a folder:
//
//   INSTANTIATE_TEST_SUITE_P(Lmdb, DurableStorageConformance,
//       ::testing::Values(DurableStorageParam{"lmdb", [](const std::string& dir) { ... }}),
//       DurableStorageParamName);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kv/storage.h"

namespace kvlog::kv::testing {

struct DurableStorageParam {
  std::string name;
  // The store in `dir`, opened or created; nullptr after a failed assertion.
  std::function<std::unique_ptr<Storage>(const std::string& dir)> open;
};

std::string DurableStorageParamName(const ::testing::TestParamInfo<DurableStorageParam>& info);

class DurableStorageConformance : public ::testing::TestWithParam<DurableStorageParam> {
 protected:
  std::unique_ptr<Storage> Open(const std::string& dir) const { return GetParam().open(dir); }
};

}  // namespace kvlog::kv::testing
