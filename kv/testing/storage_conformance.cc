#include "kv/testing/storage_conformance.h"

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace kvlog::kv::testing {

std::string StorageParamName(const ::testing::TestParamInfo<StorageParam>& info) { return info.param.name; }

namespace {

// Keys a, ab, abc, abd, b, b\xff, c, each valued "v" + key at version 1.
void ApplySevenKeys(Storage& store) {
  std::vector<Mutation> batch;
  for (std::string k : {"a", "ab", "abc", "abd", "b", "b\xff", "c"}) batch.push_back({k, "v" + k, 1});
  store.Apply(batch, 1);
}

std::vector<std::string> KeysOf(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> out;
  for (const KeyValue& kv : kvs) out.push_back(kv.key);
  return out;
}

TEST_P(StorageConformance, OrdersKeysAsUnsignedBytes) {
  Storage& store = *store_;
  store.Set("\x80", "high");
  store.Set("\x01", "low");
  store.Set("a", "mid");
  auto all = store.Range(KeyConstraint{}, {});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].key, "\x01");
  EXPECT_EQ(all[1].key, "a");
  EXPECT_EQ(all[2].key, "\x80");
  store.Delete("a");
  EXPECT_EQ(store.Get("a"), std::nullopt);
  EXPECT_EQ(store.Size(), 2u);
}

TEST_P(StorageConformance, KeepsEachKeysVersion) {
  Storage& store = *store_;
  std::vector<Mutation> batch = {{"a", "1", 10}, {"b", "2", 11}, {"a", std::string(100, 'x'), 12}};
  store.Apply(batch);
  EXPECT_EQ(store.GetEntry("a"), (VersionedValue{std::string(100, 'x'), 12}));
  EXPECT_EQ(store.GetEntry("b"), (VersionedValue{"2", 11}));
  EXPECT_EQ(store.GetEntry("c"), std::nullopt);
  store.Set("b", "3", 20);
  EXPECT_EQ(store.GetEntry("b"), (VersionedValue{"3", 20}));
  // Without QueryOptions::versions a range leaves versions out.
  EXPECT_EQ(store.Range(KeyConstraint{}, {}), (std::vector<KeyValue>{{"a", std::string(100, 'x')}, {"b", "3"}}));
  EXPECT_EQ(store.Range(KeyConstraint{}, {.versions = true}),
            (std::vector<KeyValue>{{"a", std::string(100, 'x'), 12}, {"b", "3", 20}}));
  std::vector<Mutation> del = {{"a", std::nullopt, 21}, {"a", "again", 22}};
  store.Apply(del);
  EXPECT_EQ(store.GetEntry("a"), (VersionedValue{"again", 22}));
  // Empty values are values, not deletions.
  store.Set("e", "", 23);
  EXPECT_EQ(store.GetEntry("e"), (VersionedValue{"", 23}));
}

TEST_P(StorageConformance, RangeHonoursBoundsPrefixesAndLimits) {
  Storage& store = *store_;
  ApplySevenKeys(store);
  using V = std::vector<std::string>;
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"ab", "b"}, {})), (V{"ab", "abc", "abd"}));
  EXPECT_EQ(KeysOf(store.Range(Prefix("ab"), {})), (V{"ab", "abc", "abd"}));
  EXPECT_EQ(KeysOf(store.Range(Prefix("b"), {})), (V{"b", "b\xff"}));
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"abc", std::nullopt}, {.limit = 2})), (V{"abc", "abd"}));
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"b", "b"}, {})), V{});
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"c", "a"}, {})), V{});
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"zz", std::nullopt}, {})), V{});
  EXPECT_EQ(store.Range(Prefix("abd"), {})[0].value, "vabd");
}

TEST_P(StorageConformance, ReverseRangeWalksBackwardsFromTheUpperBound) {
  Storage& store = *store_;
  ApplySevenKeys(store);
  using V = std::vector<std::string>;
  const QueryOptions reverse{.reverse = true};
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{}, reverse)), (V{"c", "b\xff", "b", "abd", "abc", "ab", "a"}));
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"ab", "b"}, reverse)), (V{"abd", "abc", "ab"}));
  EXPECT_EQ(KeysOf(store.Range(Prefix("ab"), {.limit = 2, .reverse = true})), (V{"abd", "abc"}));
  EXPECT_EQ(KeysOf(store.Range(Prefix("b"), reverse)), (V{"b\xff", "b"}));
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"abc", std::nullopt}, {.limit = 1, .reverse = true})), V{"c"});
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"b", "b"}, reverse)), V{});
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"zz", std::nullopt}, reverse)), V{});
  EXPECT_EQ(KeysOf(store.Range(KeyConstraint{"", "a"}, reverse)), V{});
  const std::vector<KeyValue> last = store.Range(Prefix("abd"), {.versions = true, .reverse = true});
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].value, "vabd");
  EXPECT_EQ(last[0].version, 1);
}

TEST_P(StorageConformance, PositionedReadsReturnThePositionOfTheirBatch) {
  Storage& store = *store_;
  int64_t position = -7;
  std::string value;
  EXPECT_FALSE(store.Get("a", &value, &position));
  EXPECT_EQ(position, 0);
  store.Apply(std::vector<Mutation>{{"a", "1", 4}}, 5);
  EXPECT_TRUE(store.Get("a", &value, &position));
  EXPECT_EQ(value, "1");
  EXPECT_EQ(position, 5);
  store.Apply({}, 9);  // The position moves past a gap with no change.
  EXPECT_EQ(store.GetEntry("a", &position), (VersionedValue{"1", 4}));
  EXPECT_EQ(position, 9);
  EXPECT_EQ(store.Range(KeyConstraint{}, {}, &position).size(), 1u);
  EXPECT_EQ(position, 9);
}

TEST_P(StorageConformance, ApplyIsAtomicForConcurrentReaders) {
  Storage& store = *store_;
  constexpr int kKeys = 32;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> bad_position{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Every batch writes the same generation to every key and moves the
      // position to generation + 1, so a reader seeing two generations at
      // once, or a position other than its data's, saw half a batch.
      int64_t position = 0;
      auto all = store.Range(KeyConstraint{}, {}, &position);
      for (const auto& kv : all) {
        if (kv.value != all.front().value) {
          ++torn;
          break;
        }
      }
      if (!all.empty() && std::to_string(position - 1) != all.front().value) ++bad_position;
    }
  });
  for (int gen = 0; gen < GetParam().atomic_batches; ++gen) {
    std::vector<Mutation> batch;
    for (int k = 0; k < kKeys; ++k) batch.push_back({fmt::format("k{}", k), std::to_string(gen), gen});
    store.Apply(batch, gen + 1);
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(bad_position.load(), 0);
}

// Against a std::map model: values that grow, shrink, vanish and come back,
// keys with NUL and 0xFF bytes, read through every Get form and Range.
TEST_P(StorageConformance, MatchesAnOrderedMapModelThroughGrowthShrinkAndDelete) {
  Storage& store = *store_;
  std::map<std::string, std::string> model;
  std::mt19937 rng(7);
  const std::vector<std::string> keys = {"a", std::string("a\0b", 3), "\xff", "b", "ab", "zz", "k1", "k2"};
  std::string buffer = "stale";
  std::vector<std::optional<std::string>> multi;
  for (int step = 0; step < 3000; ++step) {
    const std::string& key = keys[rng() % keys.size()];
    if (rng() % 4 == 0) {
      store.Delete(key);
      model.erase(key);
    } else {
      std::string value(rng() % 70, static_cast<char>('a' + step % 26));
      store.Apply(std::vector<Mutation>{{key, value}});
      model[key] = value;
    }
    const std::string& probe = keys[rng() % keys.size()];
    auto it = model.find(probe);
    ASSERT_EQ(store.Get(probe), it == model.end() ? std::nullopt : std::optional<std::string>(it->second));
    ASSERT_EQ(store.Get(probe, &buffer), it != model.end());
    if (it != model.end()) {
      ASSERT_EQ(buffer, it->second);
    }
    if (step % 50 == 0) {
      ASSERT_EQ(store.Size(), model.size());
      std::vector<std::string_view> probes;
      for (int r = 0; r < 3; ++r) probes.insert(probes.end(), keys.begin(), keys.end());
      multi.resize(probes.size());
      store.MultiGet(probes, multi);
      for (std::size_t i = 0; i < probes.size(); ++i) {
        auto m = model.find(std::string(probes[i]));
        ASSERT_EQ(multi[i], m == model.end() ? std::nullopt : std::optional<std::string>(m->second)) << i;
      }
    }
  }
  std::vector<KeyValue> expected;
  for (const auto& [k, v] : model) expected.push_back({k, v});
  EXPECT_EQ(store.Range(KeyConstraint{}, {}), expected);
}

TEST_P(StorageConformance, ClearEmptiesTheStoreAndResetsThePosition) {
  Storage& store = *store_;
  store.Apply(std::vector<Mutation>{{"a", "1", 1}, {"\xff\xff", "2", 2}, {"", "3", 3}}, 4);
  ASSERT_TRUE(store.Clear().has_value());
  int64_t position = -1;
  EXPECT_EQ(store.Range(KeyConstraint{}, {}, &position), std::vector<KeyValue>{});
  EXPECT_EQ(position, 0);
  EXPECT_EQ(store.Size(), 0u);
  if (auto durable = store.Durable()) {
    EXPECT_EQ(durable->position, 0);
    EXPECT_FALSE(durable->identity.known());
  }
  // Usable afterwards.
  store.Apply(std::vector<Mutation>{{"b", "1", 7}}, 8);
  EXPECT_EQ(store.GetEntry("b"), (VersionedValue{"1", 7}));
}

}  // namespace
}  // namespace kvlog::kv::testing
