#include <atomic>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "kv/memory_storage.h"

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

TEST(MemoryStorageTest, OrdersKeysAsUnsignedBytes) {
  auto store = NewMemoryStorage();
  store->Set("\x80", "high");
  store->Set("\x01", "low");
  store->Set("a", "mid");
  auto all = store->Range(KeyConstraint{}, {});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].key, "\x01");
  EXPECT_EQ(all[1].key, "a");
  EXPECT_EQ(all[2].key, "\x80");
  store->Delete("a");
  EXPECT_EQ(store->Get("a"), std::nullopt);
  EXPECT_EQ(store->Size(), 2u);
}

TEST(MemoryStorageTest, KeepsEachKeysVersion) {
  auto store = NewMemoryStorage();
  std::vector<Mutation> batch = {{"a", "1", 10}, {"b", "2", 11}, {"a", std::string(100, 'x'), 12}};
  store->Apply(batch);
  EXPECT_EQ(store->GetEntry("a"), (VersionedValue{std::string(100, 'x'), 12}));  // moved to a larger block
  EXPECT_EQ(store->GetEntry("b"), (VersionedValue{"2", 11}));
  EXPECT_EQ(store->GetEntry("c"), std::nullopt);
  store->Set("b", "3", 20);  // rewritten in place
  EXPECT_EQ(store->GetEntry("b"), (VersionedValue{"3", 20}));
  // Without QueryOptions::versions a range leaves versions out.
  EXPECT_EQ(store->Range(KeyConstraint{}, {}),
            (std::vector<KeyValue>{{"a", std::string(100, 'x')}, {"b", "3"}}));
  EXPECT_EQ(store->Range(KeyConstraint{}, {.versions = true}),
            (std::vector<KeyValue>{{"a", std::string(100, 'x'), 12}, {"b", "3", 20}}));
  std::vector<Mutation> del = {{"a", std::nullopt, 21}, {"a", "again", 22}};
  store->Apply(del);
  EXPECT_EQ(store->GetEntry("a"), (VersionedValue{"again", 22}));
}

TEST(MemoryStorageTest, ApplyIsAtomicForConcurrentReaders) {
  auto store = NewMemoryStorage();
  constexpr int kKeys = 32;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Every batch writes the same generation to every key, so a reader
      // seeing two generations at once saw half a batch.
      auto all = store->Range(KeyConstraint{}, {});
      for (const auto& kv : all) {
        if (kv.value != all.front().value) {
          ++torn;
          break;
        }
      }
    }
  });
  for (int gen = 0; gen < 2000; ++gen) {
    std::vector<Mutation> batch;
    for (int k = 0; k < kKeys; ++k) batch.push_back({"k" + std::to_string(k), std::to_string(gen)});
    store->Apply(batch);
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

// Against a std::map model: values that grow past their block, shrink, vanish
// and come back, keys with NUL and 0xFF bytes, read through both Get forms and
// Range after every step.
TEST(MemoryStorageTest, MatchesAnOrderedMapModelThroughGrowthShrinkAndDelete) {
  auto store = NewMemoryStorage();
  std::map<std::string, std::string> model;
  std::mt19937 rng(7);
  const std::vector<std::string> keys = {"a", std::string("a\0b", 3), "\xff", "b", "ab", "zz", "k1", "k2"};
  std::string buffer = "stale";
  std::vector<std::optional<std::string>> multi;
  for (int step = 0; step < 5000; ++step) {
    const std::string& key = keys[rng() % keys.size()];
    if (rng() % 4 == 0) {
      store->Delete(key);
      model.erase(key);
    } else {
      std::string value(rng() % 70, static_cast<char>('a' + step % 26));
      store->Apply(std::vector<Mutation>{{key, value}});
      model[key] = value;
    }
    const std::string& probe = keys[rng() % keys.size()];
    auto it = model.find(probe);
    ASSERT_EQ(store->Get(probe), it == model.end() ? std::nullopt : std::optional<std::string>(it->second));
    ASSERT_EQ(store->Get(probe, &buffer), it != model.end());
    if (it != model.end()) {
      ASSERT_EQ(buffer, it->second);
    }
    ASSERT_EQ(store->Size(), model.size());
    if (step % 50 == 0) {
      // MultiGet over every key (and more than one prefetch group), reusing
      // the buffers of the last call.
      std::vector<std::string_view> probes;
      for (int r = 0; r < 3; ++r) probes.insert(probes.end(), keys.begin(), keys.end());
      multi.resize(probes.size());
      store->MultiGet(probes, multi);
      for (std::size_t i = 0; i < probes.size(); ++i) {
        auto m = model.find(std::string(probes[i]));
        ASSERT_EQ(multi[i], m == model.end() ? std::nullopt : std::optional<std::string>(m->second)) << i;
      }
    }
  }
  std::vector<KeyValue> expected;
  for (const auto& [k, v] : model) expected.push_back({k, v});
  EXPECT_EQ(store->Range(KeyConstraint{}, {}), expected);
}

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
