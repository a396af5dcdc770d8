#include "kv/corrupt_offsets.h"

#include <vector>

#include "gtest/gtest.h"

namespace kvlog::kv::internal {
namespace {

TEST(CorruptOffsetsTest, RemembersWhatWasAddedAndCountsEachOffsetOnce) {
  CorruptOffsets corrupt;
  const std::vector<log::Offset> first = {3, 7};
  corrupt.Add(first);
  const std::vector<log::Offset> again = {7, 9};
  corrupt.Add(again);
  EXPECT_TRUE(corrupt.Contains(3));
  EXPECT_TRUE(corrupt.Contains(9));
  EXPECT_FALSE(corrupt.Contains(4));
  EXPECT_EQ(corrupt.total(), 3u);
}

TEST(CorruptOffsetsTest, ForgettingKeepsTheTotal) {
  CorruptOffsets corrupt;
  const std::vector<log::Offset> some = {1, 2};
  corrupt.Add(some);
  corrupt.ForgetKept();
  EXPECT_FALSE(corrupt.Contains(1));
  EXPECT_EQ(corrupt.kept(), 0u);
  EXPECT_EQ(corrupt.total(), 2u);
}

TEST(CorruptOffsetsTest, KeepsAtMostTheLimitDroppingTheLowest) {
  CorruptOffsets corrupt;
  std::vector<log::Offset> many;
  for (log::Offset o = 0; o < static_cast<log::Offset>(CorruptOffsets::kMaxKept) + 10; ++o) many.push_back(o);
  corrupt.Add(many);
  EXPECT_EQ(corrupt.kept(), CorruptOffsets::kMaxKept);
  EXPECT_EQ(corrupt.total(), many.size());
  EXPECT_FALSE(corrupt.Contains(9));
  EXPECT_TRUE(corrupt.Contains(10));
  EXPECT_TRUE(corrupt.Contains(many.back()));
}

}  // namespace
}  // namespace kvlog::kv::internal
