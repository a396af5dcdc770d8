// The durable stores' shared behaviour (durable_storage_conformance.h): what
// a close and a reopen keep, the last write of a key a batch repeats, checkpoints.
#include "kv/testing/durable_storage_conformance.h"

#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>

#include "kv/testing/scratch_dir.h"

namespace kvlog::kv::testing {

std::string DurableStorageParamName(const ::testing::TestParamInfo<DurableStorageParam>& info) {
  return info.param.name;
}

namespace {

using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_P(DurableStorageConformance, DataPositionIdentityAndMetadataSurviveReopening) {
  const std::string dir = NewScratchDir("reopen");
  const LogIdentity identity{"topic-a", 3, 0xfeedULL};
  {
    auto store = Open(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Durable()->position, 0);
    EXPECT_FALSE(store->Durable()->identity.known());
    ASSERT_TRUE(store->SetIdentity(identity).has_value());
    std::vector<MetaMutation> meta = {{"w/x", "1"}, {"w/y", "2"}};
    store->Apply(std::vector<Mutation>{{"a", "1", 3}, {"b", "2", 4}, {"", "empty key", 4}}, 5, meta);
    // Deleting a key or a metadata entry that was never there is a no-op.
    std::vector<MetaMutation> meta2 = {{"w/x", std::nullopt}, {"w/z", "3"}, {"w/never", std::nullopt}};
    store->Apply(std::vector<Mutation>{{"a", std::nullopt, 5}, {"c", "3", 6}, {"zz", std::nullopt, 7}}, 9, meta2);
  }
  auto store = Open(dir);
  ASSERT_NE(store, nullptr);
  auto durable = store->Durable();
  ASSERT_TRUE(durable.has_value());
  EXPECT_EQ(durable->position, 9);
  EXPECT_EQ(durable->identity, identity);
  EXPECT_EQ(store->Range(KeyConstraint{}, {.versions = true}),
            (std::vector<KeyValue>{{"", "empty key", 4}, {"b", "2", 4}, {"c", "3", 6}}));
  EXPECT_EQ(store->LoadMeta(), (Pairs{{"w/y", "2"}, {"w/z", "3"}}));
  ASSERT_TRUE(store->Clear().has_value());
  EXPECT_EQ(store->LoadMeta(), Pairs{});
  store.reset();
  store = Open(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Durable()->position, 0);
  EXPECT_FALSE(store->Durable()->identity.known());
  EXPECT_EQ(store->Size(), 0u);
}

// A store may write only the last mutation of each key in a batch, in key
// order: the outcome must be the batch applied in its own order, also after
// reopening.
TEST_P(DurableStorageConformance, ABatchThatWritesAKeySeveralTimesLeavesItsLastWrite) {
  const std::string dir = NewScratchDir("repeats");
  const std::vector<Mutation> batch = {
      {"b", "b1", 10}, {"a", "a1", 11}, {"b", std::nullopt, 12}, {"c", std::nullopt, 13}, {"a", "a2", 14},
      {"c", "c1", 15}, {"b", "b2", 16}, {"d", "d1", 17},        {"d", std::nullopt, 18}, {"a", "a3", 19},
  };
  {
    auto store = Open(dir);
    ASSERT_NE(store, nullptr);
    const std::vector<Mutation> first = {{"d", "d0", 1}};
    store->Apply(first, 5);
    store->Apply(batch, 20);
    EXPECT_EQ(store->GetEntry("a"), (VersionedValue{"a3", 19}));
    EXPECT_EQ(store->GetEntry("b"), (VersionedValue{"b2", 16}));
    EXPECT_EQ(store->GetEntry("c"), (VersionedValue{"c1", 15}));
    EXPECT_EQ(store->GetEntry("d"), std::nullopt);
    // The next batch may reuse the store's buffers: nothing of the last one leaks in.
    const std::vector<Mutation> next = {{"e", "e1", 21}, {"a", std::nullopt, 22}};
    store->Apply(next, 23);
  }
  auto store = Open(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Durable()->position, 23);
  EXPECT_EQ(store->Range(KeyConstraint{}, QueryOptions{.versions = true}),
            (std::vector<KeyValue>{{"b", "b2", 16}, {"c", "c1", 15}, {"e", "e1", 21}}));
}

TEST_P(DurableStorageConformance, CheckpointIsAConsistentCopyWithItsPosition) {
  const std::string dir = NewScratchDir("origin");
  const std::string copy = NewScratchDir("checkpoint");
  auto store = Open(dir);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SetIdentity({"t", 0, 42}).has_value());
  store->Apply(std::vector<Mutation>{{"a", "1", 0}, {"b", "2", 1}}, 2, std::vector<MetaMutation>{{"w", "x"}});
  auto position = store->Checkpoint(copy);
  ASSERT_TRUE(position.has_value()) << position.error().ToString();
  EXPECT_EQ(*position, 2);
  // Later writes stay out of the copy.
  store->Apply(std::vector<Mutation>{{"c", "3", 2}}, 3);
  auto again = store->Checkpoint(copy);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(again.error().message(), HasSubstr("already exists"));

  auto copied = Open(copy);
  ASSERT_NE(copied, nullptr);
  EXPECT_EQ(copied->Durable()->position, 2);
  EXPECT_EQ(copied->Durable()->identity, (LogIdentity{"t", 0, 42}));
  EXPECT_EQ(copied->Range(KeyConstraint{}, {}), (std::vector<KeyValue>{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(copied->LoadMeta(), (Pairs{{"w", "x"}}));
  // The copy is a store of its own: it takes writes and reopens.
  copied->Apply(std::vector<Mutation>{{"d", "4", 9}}, 10);
  copied.reset();
  auto reopened = Open(copy);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Durable()->position, 10);
}

}  // namespace
}  // namespace kvlog::kv::testing
