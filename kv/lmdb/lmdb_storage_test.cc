#include "kv/lmdb/lmdb_storage.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <xxhash.h>

#include "kv/testing/durable_storage_conformance.h"
#include "kv/testing/scratch_dir.h"
#include "kv/testing/storage_conformance.h"

namespace kvlog::kv::lmdb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using testing::NewScratchDir;

std::unique_ptr<LmdbStorage> MustOpen(const LmdbOptions& options) {
  auto store = OpenLmdbStorage(options);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

std::unique_ptr<LmdbStorage> MustOpen(const std::string& path) { return MustOpen(LmdbOptions{.path = path}); }

using testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(Lmdb, StorageConformance,
                         ::testing::Values(testing::StorageParam{
                             "lmdb", [] { return std::unique_ptr<Storage>(MustOpen(NewScratchDir("conformance"))); },
                             /*atomic_batches=*/500}),
                         testing::StorageParamName);

using testing::DurableStorageConformance;
INSTANTIATE_TEST_SUITE_P(Lmdb, DurableStorageConformance,
                         ::testing::Values(testing::DurableStorageParam{
                             "lmdb", [](const std::string& dir) { return std::unique_ptr<Storage>(MustOpen(dir)); }}),
                         testing::DurableStorageParamName);

// The store's "data" database opened behind its back, through LMDB itself
// (what the file holds): `use` runs in one transaction, committed when
// `write`, else aborted.
void WithDataDb(const std::string& dir, bool write, const std::function<void(MDB_txn*, MDB_dbi)>& use) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 2), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), write ? 0 : MDB_RDONLY, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn), 0);
  MDB_dbi data = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "data", 0, &data), 0);
  use(txn, data);
  if (write) {
    EXPECT_EQ(mdb_txn_commit(txn), 0);
  } else {
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
}

std::optional<std::string> RawGet(const std::string& dir, std::string_view key) {
  std::optional<std::string> out;
  WithDataDb(dir, /*write=*/false, [&](MDB_txn* txn, MDB_dbi data) {
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v;
    if (mdb_get(txn, data, &k, &v) == 0) out.emplace(static_cast<const char*>(v.mv_data), v.mv_size);
  });
  return out;
}

void RawPut(const std::string& dir, std::string_view key, std::string_view value) {
  WithDataDb(dir, /*write=*/true, [&](MDB_txn* txn, MDB_dbi data) {
    MDB_val k{key.size(), const_cast<char*>(key.data())}, v{value.size(), const_cast<char*>(value.data())};
    EXPECT_EQ(mdb_put(txn, data, &k, &v, 0), 0);
  });
}

// The stored value of a key is the RocksDB store's encoding (kv/stored_entry.h).
TEST(LmdbStorageTest, StoresEachValueInTheSharedEntryEncoding) {
  const std::string dir = NewScratchDir("encoding");
  {
    auto store = MustOpen(dir);
    store->Apply(std::vector<Mutation>{{"k", "value", 1234567890123}}, 7);
  }
  EXPECT_EQ(RawGet(dir, std::string_view("k\0", 2)), EncodeEntry("value", 1234567890123));
}

// Keys longer than LMDB's 511 bytes, and range bounds of any length, beside
// keys at the old limit (510 bytes, stored as before). The conformance suite
// (StoresKeysUpTo16KiBInOrder) checks ranges over them against a model.
TEST(LmdbStorageTest, KeysOfAnyLengthAndRangeBounds) {
  auto store = MustOpen(NewScratchDir("long"));
  const std::string at_limit(510, 'k');
  const std::string shorter(509, 'k');
  const std::string longer(511, 'k');
  const std::string huge(16 * 1024, 'k');
  store->Apply(std::vector<Mutation>{{at_limit, "L", 1}, {shorter, "S", 2}, {"l", "after", 3}, {longer, "M", 4},
                                     {huge, "H", 5}},
               6);
  EXPECT_EQ(store->Get(at_limit), "L");
  EXPECT_EQ(store->Get(longer), "M");
  EXPECT_EQ(store->GetEntry(huge), (VersionedValue{"H", 5}));
  EXPECT_EQ(store->Get(huge + "k"), std::nullopt);
  EXPECT_EQ(store->Size(), 5u);
  const std::string beyond = huge + "z";  // Greater than every k-key.
  auto values = [](const std::vector<KeyValue>& kvs) {
    std::vector<std::string> out;
    for (const KeyValue& kv : kvs) out.push_back(kv.value);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(values(store->Range(KeyConstraint{"", beyond}, {})), (V{"S", "L", "M", "H"}));
  EXPECT_EQ(values(store->Range(KeyConstraint{"", beyond}, {.reverse = true})), (V{"H", "M", "L", "S"}));
  EXPECT_EQ(values(store->Range(KeyConstraint{beyond, std::nullopt}, {})), (V{"after"}));
  EXPECT_EQ(values(store->Range(KeyConstraint{at_limit, huge}, {.reverse = true})), (V{"M", "L"}));
  EXPECT_EQ(values(store->Range(KeyConstraint{longer, std::nullopt}, {.limit = 2})), (V{"M", "H"}));
  store->Delete(longer);
  store->Delete(huge + "k");  // Never stored.
  EXPECT_EQ(values(store->Range(KeyConstraint{}, {})), (V{"S", "L", "H", "after"}));
  EXPECT_EQ(store->Size(), 4u);
}

// A short key keeps its bytes (key and a 0 byte, as format 1 stores have
// always held); a long one is stored under its first 496 bytes, its 64-bit
// hash, a chain index and the tag byte 1, its record carrying the whole key.
// Two long keys with the same prefix and hash (made here by writing the
// record of a colliding key by hand) are chained, never mixed.
TEST(LmdbStorageTest, LongKeysAreStoredUnderAStandInAndChainedOnACollision) {
  const std::string dir = NewScratchDir("chain");
  const std::string prefix(496, 'p');
  const std::string mine = prefix + std::string(1000, 'm');
  const std::string other = prefix + std::string(900, 'o');  // Pretends to hash as `mine` does.
  std::string stem = prefix;
  const uint64_t hash = XXH3_64bits(mine.data(), mine.size());
  for (int i = 7; i >= 0; --i) stem.push_back(static_cast<char>(hash >> (8 * i)));
  auto stand_in = [&](uint32_t index) {
    std::string out = stem;
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(index >> (8 * i)));
    out.push_back('\x01');
    return out;
  };
  auto record = [](const std::string& key, std::string_view value, Version version) {
    std::string out(1, '\xff');
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(key.size() >> (8 * i)));
    return out + key + EncodeEntry(value, version);
  };
  {
    auto store = MustOpen(dir);
    store->Apply(std::vector<Mutation>{{"short", "s", 1}}, 1);
  }
  {
    // The colliding key's record, at index 0 of `mine`'s chain.
    RawPut(dir, stand_in(0), record(other, "theirs", 2));
  }
  {
    auto store = MustOpen(dir);
    // `mine`'s chain holds `other` only: not `mine`.
    EXPECT_EQ(store->Get(mine), std::nullopt);
    store->Apply(std::vector<Mutation>{{mine, "mine", 3}}, 3);
    EXPECT_EQ(store->GetEntry(mine), (VersionedValue{"mine", 3}));
    EXPECT_EQ(store->Range(KeyConstraint{prefix, prefix + "\xff"}, {.versions = true}),
              (std::vector<KeyValue>{{mine, "mine", 3}, {other, "theirs", 2}}));
    EXPECT_EQ(store->Range(KeyConstraint{}, {.limit = 1, .reverse = true}), (std::vector<KeyValue>{{"short", "s"}}));
    store->Apply(std::vector<Mutation>{{mine, "again", 4}}, 4);  // Rewritten in place, not chained again.
    EXPECT_EQ(store->Size(), 3u);
  }
  // What the file holds.
  EXPECT_EQ(RawGet(dir, std::string("short\0", 6)), EncodeEntry("s", 1));
  EXPECT_EQ(RawGet(dir, stand_in(0)), record(other, "theirs", 2));
  EXPECT_EQ(RawGet(dir, stand_in(1)), record(mine, "again", 4));
  // Deleting `mine` leaves `other`.
  auto store = MustOpen(dir);
  store->Delete(mine);
  EXPECT_EQ(store->Get(mine), std::nullopt);
  EXPECT_EQ(store->Range(KeyConstraint{prefix, prefix + "\xff"}, {}), (std::vector<KeyValue>{{other, "theirs"}}));
}

// Long keys and applier metadata keys too long for LMDB survive reopening;
// LoadMeta gives every pair in key order.
TEST(LmdbStorageTest, LongKeysAndLongMetadataKeysSurviveReopening) {
  const std::string dir = NewScratchDir("long-reopen");
  const std::string group(2000, 'g');
  std::map<std::string, std::string> model;
  const std::string long_meta = "p/" + std::string(3000, 'w') + "/7";
  {
    auto store = MustOpen(dir);
    std::vector<Mutation> batch;
    for (int i = 0; i < 200; ++i) {
      const std::string key = group + fmt::format("{:04}", (i * 71) % 200) + std::string(i % 5, '\0');
      batch.push_back({key, fmt::format("v{}", i), i + 1});
      model[key] = fmt::format("v{}", i);
    }
    batch.push_back({group.substr(0, 496), "prefix", 300});
    model[group.substr(0, 496)] = "prefix";
    std::vector<MetaMutation> meta = {{long_meta, "window"}, {"l/w", "1"}, {"p/" + std::string(600, 'v') + "/1", "x"},
                                      {"z/" + std::string(600, 'z'), "gone"}};
    store->Apply(batch, 301, meta);
    store->Apply(std::vector<Mutation>{}, 302, std::vector<MetaMutation>{{"z/" + std::string(600, 'z'), std::nullopt}});
  }
  auto store = MustOpen(dir);
  EXPECT_EQ(store->Durable()->position, 302);
  EXPECT_EQ(store->Size(), model.size());
  std::vector<std::string> expected;
  for (const auto& [k, v] : model) expected.push_back(v);
  std::vector<std::string> got;
  for (const KeyValue& kv : store->Range(KeyConstraint{}, {})) got.push_back(kv.value);
  EXPECT_EQ(got, expected);
  for (const auto& [k, v] : model) EXPECT_EQ(store->Get(k), v);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(store->LoadMeta(),
            (Pairs{{"l/w", "1"}, {"p/" + std::string(600, 'v') + "/1", "x"}, {long_meta, "window"}}));
  store->Apply(std::vector<Mutation>{}, 303, std::vector<MetaMutation>{{long_meta, "window 2"}});
  EXPECT_EQ(store->LoadMeta()[2], (std::pair<std::string, std::string>{long_meta, "window 2"}));
  EXPECT_EQ(store->LoadMeta().size(), 3u);
}

TEST(LmdbStorageTest, AFullMapGrowsAndKeepsEveryBatch) {
  const std::string dir = NewScratchDir("grow");
  {
    auto store = MustOpen(LmdbOptions{.path = dir, .map_size = 256 << 10});
    const std::string value(1000, 'v');
    for (int b = 0; b < 20; ++b) {
      std::vector<Mutation> batch;
      for (int i = 0; i < 100; ++i) batch.push_back({fmt::format("k{:02}-{:03}", b, i), value, b});
      store->Apply(batch, b + 1);
    }
    EXPECT_EQ(store->Size(), 2000u);  // 2 MB of values in a 256 KiB map at first.
  }
  auto store = MustOpen(LmdbOptions{.path = dir, .map_size = 256 << 10});
  EXPECT_EQ(store->Size(), 2000u);
  EXPECT_EQ(store->Durable()->position, 20);
  EXPECT_DEATH(
      {
        auto small = MustOpen(LmdbOptions{.path = NewScratchDir("full"), .map_size = 64 << 10, .max_map_size = 128 << 10});
        std::vector<Mutation> batch;
        for (int i = 0; i < 1000; ++i) batch.push_back({fmt::format("k{:04}", i), std::string(1000, 'v'), i});
        small->Apply(batch, 1);
      },
      "max_map_size");
}

// Reads reuse reset read transactions; a reused one must see the map as
// grown since its last read and every batch applied before it began.
TEST(LmdbStorageTest, ReadersSeeWholeBatchesWhileTheMapGrows) {
  auto store = MustOpen(LmdbOptions{.path = NewScratchDir("grow-readers"), .map_size = 128 << 10});
  ASSERT_NE(store, nullptr);
  const std::string value(1000, 'v');
  std::atomic<int> applied{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const int before = applied.load();
        const std::size_t size = store->Size();
        if (size % 100 != 0 || size < static_cast<std::size_t>(before) * 100) bad.fetch_add(1);
        if (before > 0) {
          std::string got;
          if (!store->Get(fmt::format("k{:02}-099", before - 1), &got) || got != value) bad.fetch_add(1);
        }
      }
    });
  }
  for (int b = 0; b < 30; ++b) {
    std::vector<Mutation> batch;
    for (int i = 0; i < 100; ++i) batch.push_back({fmt::format("k{:02}-{:03}", b, i), value, b});
    store->Apply(batch, b + 1);
    applied.store(b + 1);
    std::string got;
    ASSERT_TRUE(store->Get(fmt::format("k{:02}-000", b), &got));  // From this thread's pooled transactions too.
  }
  done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(store->Size(), 3000u);  // 3 MB of values in a 128 KiB map at first: it grew several times.
}

TEST(LmdbStorageTest, OpenGivesClearErrors) {
  auto empty = OpenLmdbStorage({.path = ""});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);

  const std::string missing = NewScratchDir("missing");
  auto absent = OpenLmdbStorage({.path = missing, .create_if_missing = false});
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(absent.error().message(), HasSubstr(missing));

  // A second open of a store in use, in this process.
  const std::string dir = NewScratchDir("locked");
  auto first = MustOpen(dir);
  auto second = OpenLmdbStorage({.path = dir});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(second.error().message(), HasSubstr("open already"));
  first.reset();
  EXPECT_TRUE(OpenLmdbStorage({.path = dir}).has_value());  // Closing released it.

  // A RocksDB store's directory.
  const std::string rocks = NewScratchDir("rocks");
  fs::create_directories(rocks);
  std::ofstream(fs::path(rocks) / "CURRENT") << "MANIFEST-000001\n";
  auto wrong_engine = OpenLmdbStorage({.path = rocks});
  ASSERT_FALSE(wrong_engine.has_value());
  EXPECT_EQ(wrong_engine.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(wrong_engine.error().message(), HasSubstr("RocksDB"));

  // A data.mdb that is not LMDB's.
  const std::string garbage = NewScratchDir("garbage");
  fs::create_directories(garbage);
  std::ofstream(fs::path(garbage) / "data.mdb") << std::string(8192, 'x');
  auto unreadable = OpenLmdbStorage({.path = garbage});
  ASSERT_FALSE(unreadable.has_value());
  EXPECT_EQ(unreadable.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(unreadable.error().message(), HasSubstr("LMDB environment"));

  // An LMDB environment of someone else's (records in its main database).
  const std::string foreign = NewScratchDir("foreign");
  fs::create_directories(foreign);
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_open(env, foreign.c_str(), 0, 0644), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi main = 0;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &main), 0);
    MDB_val k{3, const_cast<char*>("foo")}, v{3, const_cast<char*>("bar")};
    ASSERT_EQ(mdb_put(txn, main, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto not_kvlog = OpenLmdbStorage({.path = foreign});
  ASSERT_FALSE(not_kvlog.has_value());
  EXPECT_EQ(not_kvlog.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(not_kvlog.error().message(), HasSubstr("not a kvlog store"));
}

TEST(LmdbStorageTest, EverySyncSettingKeepsWhatItApplied) {
  for (LmdbSync sync : {LmdbSync::kNoSync, LmdbSync::kNoMetaSync, LmdbSync::kFull}) {
    const std::string dir = NewScratchDir("sync");
    {
      auto store = MustOpen(LmdbOptions{.path = dir, .sync = sync});
      store->Apply(std::vector<Mutation>{{"a", "1", 1}}, 2);
    }
    auto store = MustOpen(dir);
    EXPECT_EQ(store->Get("a"), "1");
    EXPECT_EQ(store->Durable()->position, 2);
  }
}

}  // namespace
}  // namespace kvlog::kv::lmdb
