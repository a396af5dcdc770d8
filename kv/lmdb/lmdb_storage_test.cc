#include "kv/lmdb/lmdb_storage.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lmdb.h>

#include "kv/testing/storage_conformance.h"

namespace kvlog::kv::lmdb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh directory under the test's temporary directory.
std::string NewDir(std::string_view name) {
  static std::atomic<int> n{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(tmp != nullptr ? tmp : "/tmp") / fmt::format("{}-{}", name, n++);
  fs::remove_all(dir);
  return dir.string();
}

std::unique_ptr<LmdbStorage> MustOpen(const LmdbOptions& options) {
  auto store = OpenLmdbStorage(options);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

std::unique_ptr<LmdbStorage> MustOpen(const std::string& path) { return MustOpen(LmdbOptions{.path = path}); }

using testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(Lmdb, StorageConformance,
                         ::testing::Values(testing::StorageParam{
                             "lmdb", [] { return std::unique_ptr<Storage>(MustOpen(NewDir("conformance"))); },
                             /*atomic_batches=*/500}),
                         testing::StorageParamName);

TEST(LmdbStorageTest, DataPositionIdentityAndMetadataSurviveReopening) {
  const std::string dir = NewDir("reopen");
  const LogIdentity identity{"topic-a", 3, 0xfeedULL};
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Durable()->position, 0);
    EXPECT_FALSE(store->Durable()->identity.known());
    ASSERT_TRUE(store->SetIdentity(identity).has_value());
    std::vector<MetaMutation> meta = {{"w/x", "1"}, {"w/y", "2"}};
    store->Apply(std::vector<Mutation>{{"a", "1", 3}, {"b", "2", 4}, {"", "empty key", 4}}, 5, meta);
    std::vector<MetaMutation> meta2 = {{"w/x", std::nullopt}, {"w/z", "3"}, {"w/never", std::nullopt}};
    store->Apply(std::vector<Mutation>{{"a", std::nullopt, 5}, {"c", "3", 6}, {"zz", std::nullopt, 7}}, 9, meta2);
  }
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  auto durable = store->Durable();
  ASSERT_TRUE(durable.has_value());
  EXPECT_EQ(durable->position, 9);
  EXPECT_EQ(durable->identity, identity);
  EXPECT_EQ(store->Range(KeyConstraint{}, {.versions = true}),
            (std::vector<KeyValue>{{"", "empty key", 4}, {"b", "2", 4}, {"c", "3", 6}}));
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(store->LoadMeta(), (Pairs{{"w/y", "2"}, {"w/z", "3"}}));
  ASSERT_TRUE(store->Clear().has_value());
  EXPECT_EQ(store->LoadMeta(), Pairs{});
  store.reset();
  store = MustOpen(dir);
  EXPECT_EQ(store->Durable()->position, 0);
  EXPECT_FALSE(store->Durable()->identity.known());
  EXPECT_EQ(store->Size(), 0u);
}

// The stored value of a key is the RocksDB store's encoding (kv/stored_entry.h).
TEST(LmdbStorageTest, StoresEachValueInTheSharedEntryEncoding) {
  const std::string dir = NewDir("encoding");
  {
    auto store = MustOpen(dir);
    store->Apply(std::vector<Mutation>{{"k", "value", 1234567890123}}, 7);
  }
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 2), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0644), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi data = 0;
  ASSERT_EQ(mdb_dbi_open(txn, "data", 0, &data), 0);
  MDB_val k{2, const_cast<char*>("k\0")}, v;
  ASSERT_EQ(mdb_get(txn, data, &k, &v), 0);
  EXPECT_EQ(std::string(static_cast<const char*>(v.mv_data), v.mv_size), EncodeEntry("value", 1234567890123));
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

// Long keys: up to kMaxKeyBytes are stored; range bounds may be longer.
TEST(LmdbStorageTest, KeysUpToTheLimitAndLongerRangeBounds) {
  auto store = MustOpen(NewDir("long"));
  const std::string longest(kMaxKeyBytes, 'k');
  const std::string shorter(kMaxKeyBytes - 1, 'k');
  store->Apply(std::vector<Mutation>{{longest, "L", 1}, {shorter, "S", 2}, {"l", "after", 3}}, 4);
  EXPECT_EQ(store->Get(longest), "L");
  EXPECT_EQ(store->Get(longest + "k"), std::nullopt);
  const std::string beyond = longest + "z";  // Greater than `longest`, longer than any key.
  auto keys = [](const std::vector<KeyValue>& kvs) {
    std::vector<std::string> out;
    for (const KeyValue& kv : kvs) out.push_back(kv.value);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(keys(store->Range(KeyConstraint{"", beyond}, {})), (V{"S", "L"}));
  EXPECT_EQ(keys(store->Range(KeyConstraint{"", beyond}, {.reverse = true})), (V{"L", "S"}));
  EXPECT_EQ(keys(store->Range(KeyConstraint{beyond, std::nullopt}, {})), (V{"after"}));
  EXPECT_EQ(keys(store->Range(KeyConstraint{longest, beyond}, {.reverse = true})), (V{"L"}));
  EXPECT_DEATH(store->Set(longest + "k", "too long", 5), "at most 510");
}

TEST(LmdbStorageTest, AFullMapGrowsAndKeepsEveryBatch) {
  const std::string dir = NewDir("grow");
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
        auto small = MustOpen(LmdbOptions{.path = NewDir("full"), .map_size = 64 << 10, .max_map_size = 128 << 10});
        std::vector<Mutation> batch;
        for (int i = 0; i < 1000; ++i) batch.push_back({fmt::format("k{:04}", i), std::string(1000, 'v'), i});
        small->Apply(batch, 1);
      },
      "max_map_size");
}

TEST(LmdbStorageTest, CheckpointIsAConsistentCopyWithItsPosition) {
  const std::string dir = NewDir("origin");
  const std::string copy = NewDir("checkpoint");
  auto store = MustOpen(dir);
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

  auto copied = MustOpen(copy);
  ASSERT_NE(copied, nullptr);
  EXPECT_EQ(copied->Durable()->position, 2);
  EXPECT_EQ(copied->Durable()->identity, (LogIdentity{"t", 0, 42}));
  EXPECT_EQ(copied->Range(KeyConstraint{}, {}), (std::vector<KeyValue>{{"a", "1"}, {"b", "2"}}));
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(copied->LoadMeta(), (Pairs{{"w", "x"}}));
  // The copy is a store of its own: it takes writes and reopens.
  copied->Apply(std::vector<Mutation>{{"d", "4", 9}}, 10);
  copied.reset();
  EXPECT_EQ(MustOpen(copy)->Durable()->position, 10);
}

TEST(LmdbStorageTest, OpenGivesClearErrors) {
  auto empty = OpenLmdbStorage({.path = ""});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);

  const std::string missing = NewDir("missing");
  auto absent = OpenLmdbStorage({.path = missing, .create_if_missing = false});
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(absent.error().message(), HasSubstr(missing));

  // A second open of a store in use, in this process.
  const std::string dir = NewDir("locked");
  auto first = MustOpen(dir);
  auto second = OpenLmdbStorage({.path = dir});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(second.error().message(), HasSubstr("open already"));
  first.reset();
  EXPECT_TRUE(OpenLmdbStorage({.path = dir}).has_value());  // Closing released it.

  // A RocksDB store's directory.
  const std::string rocks = NewDir("rocks");
  fs::create_directories(rocks);
  std::ofstream(fs::path(rocks) / "CURRENT") << "MANIFEST-000001\n";
  auto wrong_engine = OpenLmdbStorage({.path = rocks});
  ASSERT_FALSE(wrong_engine.has_value());
  EXPECT_EQ(wrong_engine.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(wrong_engine.error().message(), HasSubstr("RocksDB"));

  // A data.mdb that is not LMDB's.
  const std::string garbage = NewDir("garbage");
  fs::create_directories(garbage);
  std::ofstream(fs::path(garbage) / "data.mdb") << std::string(8192, 'x');
  auto unreadable = OpenLmdbStorage({.path = garbage});
  ASSERT_FALSE(unreadable.has_value());
  EXPECT_EQ(unreadable.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(unreadable.error().message(), HasSubstr("LMDB environment"));

  // An LMDB environment of someone else's (records in its main database).
  const std::string foreign = NewDir("foreign");
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
    const std::string dir = NewDir("sync");
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
