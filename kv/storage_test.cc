#include <map>
#include <memory>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "kv/memory_storage.h"
#include "kv/testing/storage_conformance.h"

namespace kvlog::kv {
namespace {

TEST(PrefixTest, EndIsTheNextKeyAfterEveryKeyWithThePrefix) {
  EXPECT_EQ(Prefix("ab").start, "ab");
  EXPECT_EQ(Prefix("ab").end, "ac");
  EXPECT_EQ(Prefix("a\xff").end, "b");
  EXPECT_EQ(Prefix("a\xff\xff").end, "b");
  EXPECT_EQ(Prefix("\xff\xff").end, std::nullopt);
  EXPECT_EQ(Prefix("").start, "");
  EXPECT_EQ(Prefix("").end, std::nullopt);
  EXPECT_TRUE(Prefix("a\xff").Contains("a\xff\xff\xff"));
  EXPECT_FALSE(Prefix("a\xff").Contains("b"));
  EXPECT_FALSE(Prefix("ab").Contains("a"));
  EXPECT_TRUE(Prefix("").Contains(std::string("\0", 1)));
}

// The storage conformance suite (kv/testing/storage_conformance.cc) on the
// in-memory store; kv/rocksdb runs it on RocksDB.
using testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(Memory, StorageConformance,
                         ::testing::Values(testing::StorageParam{"memory", [] { return NewMemoryStorage(); }}),
                         testing::StorageParamName);

// The default Apply of the optional batch interface applies in order; the
// default buffer Get and MultiGet read through the store's own Get.
class MapOnlyStorage final : public Storage {
 public:
  std::optional<std::string> Get(std::string_view key) const override {
    auto it = map_.find(std::string(key));
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<VersionedValue> GetEntry(std::string_view key) const override {
    auto it = map_.find(std::string(key));
    if (it == map_.end()) return std::nullopt;
    return VersionedValue{it->second, versions_.at(it->first)};
  }
  using Storage::Set;
  void Set(std::string_view key, std::string_view value, Version version) override {
    map_[std::string(key)] = value;
    versions_[std::string(key)] = version;
  }
  void Delete(std::string_view key) override { map_.erase(std::string(key)); }
  std::vector<KeyValue> Range(const KeyConstraint&, const QueryOptions&) const override { return {}; }
  std::size_t Size() const override { return map_.size(); }

 private:
  std::map<std::string, std::string> map_;
  std::map<std::string, Version> versions_;
};

TEST(StorageTest, DefaultApplyAppliesMutationsInOrder) {
  MapOnlyStorage store;
  std::vector<Mutation> batch = {{"a", "1", 1}, {"a", std::nullopt, 2}, {"b", "2", 3}, {"b", "3", 4}};
  store.Apply(batch);
  EXPECT_EQ(store.Get("a"), std::nullopt);
  EXPECT_EQ(store.Get("b"), "3");
  EXPECT_EQ(store.GetEntry("b"), (VersionedValue{"3", 4}));
  const Storage& base = store;
  std::string buffer = "old";
  EXPECT_TRUE(base.Get("b", &buffer));
  EXPECT_EQ(buffer, "3");
  EXPECT_FALSE(base.Get("a", &buffer));
  std::vector<std::string_view> keys = {"a", "b"};
  std::vector<std::optional<std::string>> values = {"stale", std::nullopt};
  base.MultiGet(keys, values);
  EXPECT_EQ(values, (std::vector<std::optional<std::string>>{std::nullopt, "3"}));
}

// The replay's path through the memory store: reserved for the records to
// come, filled past the size whose index lives in huge pages (300 K keys:
// an 8 MB table), rewritten and mostly deleted, then shrunk by Reserve(0).
// Every step must read back exactly what was applied.
TEST(MemoryStorageTest, ReservedIndexHoldsALargeReplayAndShrinksAfterIt) {
  std::unique_ptr<Storage> store = NewMemoryStorage();
  constexpr int kKeys = 300'000;
  auto key = [](int i) { return fmt::format("key/{:08}", i); };
  store->Reserve(kKeys);
  std::vector<Mutation> batch;
  for (int i = 0; i < kKeys; ++i) {
    batch.push_back({key(i), fmt::format("v{}", i), i});
    if (batch.size() == 10'000) {
      store->Apply(batch, i + 1);
      batch.clear();
    }
  }
  ASSERT_EQ(store->Size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(store->GetEntry(key(0)), (VersionedValue{"v0", 0}));
  EXPECT_EQ(store->GetEntry(key(kKeys - 1)), (VersionedValue{fmt::format("v{}", kKeys - 1), kKeys - 1}));
  EXPECT_EQ(store->Get("key/absent"), std::nullopt);
  // Every key but one in a hundred deleted; one in a hundred rewritten larger.
  for (int i = 0; i < kKeys; ++i) {
    if (i % 100 == 0) {
      batch.push_back({key(i), std::string(64, 'x'), kKeys + i});
    } else {
      batch.push_back({key(i), std::nullopt, kKeys + i});
    }
  }
  store->Apply(batch, 2 * kKeys);
  store->Reserve(0);
  ASSERT_EQ(store->Size(), static_cast<std::size_t>(kKeys / 100));
  for (int i = 0; i < kKeys; i += 7) {
    std::optional<VersionedValue> got = store->GetEntry(key(i));
    if (i % 100 == 0) {
      EXPECT_EQ(got, (VersionedValue{std::string(64, 'x'), kKeys + i})) << key(i);
    } else {
      EXPECT_EQ(got, std::nullopt) << key(i);
    }
  }
  const std::vector<KeyValue> range = store->Range(KeyConstraint{key(100), key(301)}, {});
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[2].key, key(300));
  // A reservation far beyond any replay is capped, and the store stays usable.
  store->Reserve(std::size_t{1} << 40);
  store->Set("late", "value", 1);
  EXPECT_EQ(store->Get("late"), "value");
  store->Reserve(0);
  EXPECT_EQ(store->Get("late"), "value");
  EXPECT_EQ(store->Size(), static_cast<std::size_t>(kKeys / 100) + 1);
}

}  // namespace
}  // namespace kvlog::kv
