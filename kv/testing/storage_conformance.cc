#include "kv/testing/storage_conformance.h"

#include <algorithm>
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

// Keys of every length the client takes (kv/options.h: 16 KiB), many sharing
// a long prefix, beside the prefix itself and its short extensions: a store
// with a key-size limit of its own (LMDB's 511 bytes) must store them all and
// keep their order. Every range over them, forward and reverse, with bounds
// inside the shared run and with limits, reads as an ordered map does.
TEST_P(StorageConformance, StoresKeysUpTo16KiBInOrder) {
  Storage& store = *store_;
  std::map<std::string, std::pair<std::string, Version>> model;
  const std::string stem(600, 'k');
  std::vector<std::string> keys = {"", "a", "z", std::string(16 * 1024, 'k'), std::string(16 * 1024, 'j'),
                                   stem + std::string(15 * 1024, '\xff')};
  for (std::size_t n : {1, 200, 399, 400, 401, 480, 495, 496, 497, 500, 508, 509, 510, 511, 512, 600}) {
    keys.push_back(stem.substr(0, n));
  }
  // Extensions of the 496- and 400-byte prefixes and of the whole stem: long
  // keys that differ only past those bytes, some by a 0 or 0xff byte.
  for (int i = 0; i < 40; ++i) {
    const std::string suffix = fmt::format("{:03}", (i * 37) % 40) + std::string(i % 7, i % 2 == 0 ? '\0' : '\xff');
    keys.push_back(stem.substr(0, 496) + suffix);
    keys.push_back(stem + suffix + std::string(static_cast<std::size_t>(i) * 50, 'x'));
    if (i % 4 == 0) keys.push_back(stem.substr(0, 400) + "\x01" + suffix + std::string(200, 'y'));
  }
  Version version = 1;
  auto put = [&](const std::string& key, const std::string& value) {
    store.Apply(std::vector<Mutation>{{key, value, version}});
    model[key] = {value, version++};
  };
  for (std::size_t i = 0; i < keys.size(); ++i) put(keys[i], fmt::format("v{}-{}", i, keys[i].size()));

  // Range bounds: keys, neighbours of keys, prefixes that are not keys.
  std::vector<std::string> bounds = {"", "b", std::string(16 * 1024 + 1, 'k'), stem.substr(0, 496) + "\x01"};
  for (std::size_t i = 0; i < keys.size(); i += 4) {
    bounds.push_back(keys[i]);
    bounds.push_back(keys[i] + std::string(1, '\0'));
    if (keys[i].size() > 498) bounds.push_back(keys[i].substr(0, keys[i].size() - 2) + "\xff");
  }
  auto check = [&](std::string_view when) {
    ASSERT_EQ(store.Size(), model.size()) << when;
    for (const std::string& key : keys) {
      auto it = model.find(key);
      ASSERT_EQ(store.GetEntry(key),
                it == model.end() ? std::nullopt
                                  : std::optional<VersionedValue>(VersionedValue{it->second.first, it->second.second}))
          << when << ": key of " << key.size() << " bytes";
    }
    EXPECT_EQ(store.Get(stem + "not a key"), std::nullopt);
    EXPECT_EQ(store.Get(std::string(16 * 1024 + 1, 'k')), std::nullopt);
    for (std::size_t b = 0; b < bounds.size(); ++b) {
      for (std::size_t e = b % 7; e <= bounds.size(); e += 7) {
        const KeyConstraint range{bounds[b], e == bounds.size() ? std::nullopt : std::optional(bounds[e])};
        std::vector<KeyValue> all;
        for (auto it = model.lower_bound(range.start);
             it != model.end() && (!range.end || it->first < *range.end); ++it) {
          all.push_back({it->first, it->second.first, it->second.second});
        }
        for (bool reverse : {false, true}) {
          for (std::size_t limit : {0, 1, 3}) {
            std::vector<KeyValue> expected = all;
            if (reverse) std::reverse(expected.begin(), expected.end());
            if (limit != 0 && expected.size() > limit) expected.resize(limit);
            const auto got = store.Range(range, {.limit = limit, .versions = true, .reverse = reverse});
            ASSERT_EQ(got.size(), expected.size())
                << when << ": bounds " << b << ", " << e << " reverse " << reverse << " limit " << limit;
            for (std::size_t i = 0; i < got.size(); ++i) {
              ASSERT_EQ(got[i], expected[i]) << when << ": bounds " << b << ", " << e << " reverse " << reverse
                                             << " limit " << limit << " item " << i << " (key of "
                                             << expected[i].key.size() << " bytes)";
            }
          }
        }
      }
    }
  };
  check("written");
  // Delete every third key, rewrite every fifth, write some back.
  for (std::size_t i = 0; i < keys.size(); i += 3) {
    store.Apply(std::vector<Mutation>{{keys[i], std::nullopt, version++}});
    model.erase(keys[i]);
  }
  for (std::size_t i = 0; i < keys.size(); i += 5) put(keys[i], std::string(i % 3 == 0 ? 0 : 3000, 'r'));
  check("after deletes and rewrites");
  for (std::size_t i = 0; i < keys.size(); i += 6) put(keys[i], "back");
  check("written back");
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
