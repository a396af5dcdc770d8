#include "kv/rocksdb/rocksdb_storage.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/testing/scratch_dir.h"
#include "kv/testing/storage_conformance.h"

namespace kvlog::kv::rocksdb {
namespace {

namespace fs = std::filesystem;

using testing::NewScratchDir;

std::unique_ptr<RocksDbStorage> MustOpen(const std::string& path) {
  auto store = OpenRocksDbStorage({.path = path});
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

using testing::StorageConformance;
INSTANTIATE_TEST_SUITE_P(RocksDb, StorageConformance,
                         ::testing::Values(testing::StorageParam{
                             "rocksdb", [] { return std::unique_ptr<Storage>(MustOpen(NewScratchDir("conformance"))); },
                             /*atomic_batches=*/500}),
                         testing::StorageParamName);

TEST(EntryEncodingTest, RoundTripsAndRejectsUnknownFormats) {
  const std::string stored = EncodeEntry("value", 1234567890123);
  EXPECT_EQ(stored.size(), 1u + 8u + 5u);
  EXPECT_EQ(DecodeEntry(stored), (VersionedValue{"value", 1234567890123}));
  EXPECT_EQ(DecodeEntry(EncodeEntry("", kNoVersion)), (VersionedValue{"", kNoVersion}));
  auto short_entry = DecodeEntry(stored.substr(0, 5));
  ASSERT_FALSE(short_entry.has_value());
  EXPECT_EQ(short_entry.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(short_entry.error().message(), ::testing::HasSubstr("at least 9"));
  std::string newer = stored;
  newer[0] = 2;
  auto unknown = DecodeEntry(newer);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message(), ::testing::HasSubstr("format 2"));
  EXPECT_FALSE(DecodeEntry("").has_value());
}

// Apply writes only the last mutation of each key in a batch, in key order:
// the outcome must be the batch applied in its own order, also after reopening.
TEST(RocksDbStorageTest, ABatchThatWritesAKeySeveralTimesLeavesItsLastWrite) {
  const std::string dir = NewScratchDir("repeats");
  const std::vector<Mutation> batch = {
      {"b", "b1", 10}, {"a", "a1", 11}, {"b", std::nullopt, 12}, {"c", std::nullopt, 13}, {"a", "a2", 14},
      {"c", "c1", 15}, {"b", "b2", 16}, {"d", "d1", 17},        {"d", std::nullopt, 18}, {"a", "a3", 19},
  };
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    const std::vector<Mutation> first = {{"d", "d0", 1}};
    store->Apply(first, 5);
    store->Apply(batch, 20);
    EXPECT_EQ(store->GetEntry("a"), (VersionedValue{"a3", 19}));
    EXPECT_EQ(store->GetEntry("b"), (VersionedValue{"b2", 16}));
    EXPECT_EQ(store->GetEntry("c"), (VersionedValue{"c1", 15}));
    EXPECT_EQ(store->GetEntry("d"), std::nullopt);
    // The next batch reuses the store's buffers: nothing of the last one leaks in.
    const std::vector<Mutation> next = {{"e", "e1", 21}, {"a", std::nullopt, 22}};
    store->Apply(next, 23);
  }
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Durable()->position, 23);
  EXPECT_EQ(store->Range(KeyConstraint{}, QueryOptions{.versions = true}),
            (std::vector<KeyValue>{{"b", "b2", 16}, {"c", "c1", 15}, {"e", "e1", 21}}));
}

TEST(RocksDbStorageTest, DataPositionIdentityAndMetadataSurviveReopening) {
  const std::string dir = NewScratchDir("reopen");
  const LogIdentity identity{"topic-a", 3, 0xfeedULL};
  {
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Durable()->position, 0);
    EXPECT_FALSE(store->Durable()->identity.known());
    ASSERT_TRUE(store->SetIdentity(identity).has_value());
    std::vector<MetaMutation> meta = {{"w/x", "1"}, {"w/y", "2"}};
    store->Apply(std::vector<Mutation>{{"a", "1", 3}, {"b", "2", 4}}, 5, meta);
    std::vector<MetaMutation> meta2 = {{"w/x", std::nullopt}, {"w/z", "3"}};
    store->Apply(std::vector<Mutation>{{"a", std::nullopt, 5}, {"c", "3", 6}}, 9, meta2);
  }
  auto store = MustOpen(dir);
  ASSERT_NE(store, nullptr);
  auto durable = store->Durable();
  ASSERT_TRUE(durable.has_value());
  EXPECT_EQ(durable->position, 9);
  EXPECT_EQ(durable->identity, identity);
  EXPECT_EQ(store->Range(KeyConstraint{}, {.versions = true}), (std::vector<KeyValue>{{"b", "2", 4}, {"c", "3", 6}}));
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

// Bytes of the store's write-ahead log files (RocksDB's *.log) in `dir`.
std::uintmax_t WalBytes(const std::string& dir) {
  std::uintmax_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".log") bytes += entry.file_size();
  }
  return bytes;
}

TEST(RocksDbStorageTest, AStoreClosedCleanlyLeavesNoLogToReplayUnlessAskedNotToFlush) {
  for (const bool flush : {true, false}) {
    SCOPED_TRACE(flush ? "flush_on_close" : "no flush on close");
    const std::string dir = NewScratchDir("close");
    {
      auto store = OpenRocksDbStorage({.path = dir, .flush_on_close = flush});
      ASSERT_TRUE(store.has_value()) << store.error().ToString();
      for (int i = 0; i < 100; ++i) {
        (*store)->Apply(std::vector<Mutation>{{fmt::format("k{:03}", i), "v", i}}, i + 1,
                        std::vector<MetaMutation>{{"w/x", fmt::format("{}", i)}});
      }
      EXPECT_GT(WalBytes(dir), 0u);  // The writes are in the log until a flush.
    }
    if (flush) {
      EXPECT_EQ(WalBytes(dir), 0u);
    } else {
      EXPECT_GT(WalBytes(dir), 0u);
    }
    // Either way the reopened store holds every write and its position.
    auto store = MustOpen(dir);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Durable()->position, 100);
    EXPECT_EQ(store->Size(), 100u);
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(store->LoadMeta(), (Pairs{{"w/x", "99"}}));
  }
}

TEST(RocksDbStorageTest, CheckpointIsAConsistentCopyWithItsPosition) {
  const std::string dir = NewScratchDir("origin");
  const std::string copy = NewScratchDir("checkpoint");
  auto store = MustOpen(dir);
  ASSERT_TRUE(store->SetIdentity({"t", 0, 42}).has_value());
  store->Apply(std::vector<Mutation>{{"a", "1", 0}, {"b", "2", 1}}, 2);
  auto position = store->Checkpoint(copy);
  ASSERT_TRUE(position.has_value()) << position.error().ToString();
  EXPECT_EQ(*position, 2);
  // Later writes stay out of the copy.
  store->Apply(std::vector<Mutation>{{"c", "3", 2}}, 3);
  auto again = store->Checkpoint(copy);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(again.error().message(), ::testing::HasSubstr("already exists"));

  auto copied = MustOpen(copy);
  ASSERT_NE(copied, nullptr);
  EXPECT_EQ(copied->Durable()->position, 2);
  EXPECT_EQ(copied->Durable()->identity, (LogIdentity{"t", 0, 42}));
  EXPECT_EQ(copied->Range(KeyConstraint{}, {}), (std::vector<KeyValue>{{"a", "1"}, {"b", "2"}}));
}

TEST(RocksDbStorageTest, OpenGivesClearErrors) {
  auto empty = OpenRocksDbStorage({.path = ""});
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);

  const std::string missing = NewScratchDir("missing");
  auto absent = OpenRocksDbStorage({.path = missing, .create_if_missing = false});
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(absent.error().message(), ::testing::HasSubstr(missing));

  // A second open of a store in use: RocksDB's lock refuses it.
  const std::string dir = NewScratchDir("locked");
  auto first = MustOpen(dir);
  auto second = OpenRocksDbStorage({.path = dir});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(second.error().message(), ::testing::HasSubstr("lock"));

  // An LMDB store's directory (kv/lmdb) is refused, not turned into a RocksDB one beside it.
  const std::string lmdb = NewScratchDir("lmdb");
  fs::create_directories(lmdb);
  { std::FILE* f = std::fopen((fs::path(lmdb) / "data.mdb").c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  auto wrong_engine = OpenRocksDbStorage({.path = lmdb});
  ASSERT_FALSE(wrong_engine.has_value());
  EXPECT_EQ(wrong_engine.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(wrong_engine.error().message(), ::testing::HasSubstr("LMDB"));
  EXPECT_FALSE(fs::exists(fs::path(lmdb) / "CURRENT"));
}

}  // namespace
}  // namespace kvlog::kv::rocksdb
