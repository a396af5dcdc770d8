#include "kv/rocksdb/rocksdb_storage.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/testing/durable_storage_conformance.h"
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

using testing::DurableStorageConformance;
INSTANTIATE_TEST_SUITE_P(RocksDb, DurableStorageConformance,
                         ::testing::Values(testing::DurableStorageParam{
                             "rocksdb", [](const std::string& dir) { return std::unique_ptr<Storage>(MustOpen(dir)); }}),
                         testing::DurableStorageParamName);

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
