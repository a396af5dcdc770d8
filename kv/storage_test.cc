#include <map>

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

}  // namespace
}  // namespace kvlog::kv
