// The behaviour every kv::Storage must show. A store's test instantiates the
// suite with a factory that makes an empty store:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StorageConformance,
//       ::testing::Values(StorageParam{"memory", [] { return NewMemoryStorage(); }}),
//       StorageParamName);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kv/storage.h"

namespace kvlog::kv::testing {

struct StorageParam {
  std::string name;
  // A new, empty store. Each call must give an independent store.
  std::function<std::unique_ptr<Storage>()> make;
  // Batches in the concurrent-reader atomicity test.
  int atomic_batches = 2000;
};

std::string StorageParamName(const ::testing::TestParamInfo<StorageParam>& info);

class StorageConformance : public ::testing::TestWithParam<StorageParam> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }
  std::unique_ptr<Storage> store_;
};

}  // namespace kvlog::kv::testing
