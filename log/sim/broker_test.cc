#include "log/sim/broker.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>

namespace kvlog::log::sim {
namespace {

using namespace std::chrono_literals;

Record Put(std::string key, std::string value) { return Record{std::move(key), std::move(value), {}}; }

// Appends and waits for the outcome.
AppendResult AppendSync(Log& log, std::vector<Record> records) {
  std::promise<AppendResult> promise;
  log.Append(records, [&](AppendResult r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

TEST(BrokerTest, AppendsGetDenseIncreasingOffsetsAcrossConnections) {
  Broker broker;
  auto a = broker.Connect();
  auto b = broker.Connect();
  EXPECT_EQ(*AppendSync(*a, {Put("k1", "v1"), Put("k2", "v2")}), (std::vector<Offset>{0, 1}));
  EXPECT_EQ(*AppendSync(*b, {Record{"k1", std::nullopt, {{"h", "x"}}}}), (std::vector<Offset>{2}));
  EXPECT_EQ(broker.end_offset(), 3);
  EXPECT_EQ(*a->EndOffset(1s), 3);
  auto entries = broker.Entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[2].record->is_tombstone());
  EXPECT_EQ(*entries[2].record->FindHeader("h"), "x");
}

TEST(BrokerTest, ReaderReadsFromAnOffsetAndAdvancesItsPosition) {
  Broker broker;
  auto log = broker.Connect();
  ASSERT_TRUE(AppendSync(*log, {Put("a", "1"), Put("b", "2"), Put("c", "3")}).has_value());
  auto reader = *log->OpenReader(1);
  EXPECT_EQ(reader->Position(), 1);
  auto first = *reader->Poll(1, 1s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].offset, 1);
  EXPECT_EQ(reader->Position(), 2);
  auto rest = *reader->Poll(10, 1s);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].record->key, "c");
  EXPECT_EQ(reader->Position(), 3);
  EXPECT_TRUE(reader->Poll(10, 1ms)->empty());
}

TEST(BrokerTest, AReaderReturnsHeadersUnlessAskedNotTo) {
  Broker broker;
  auto log = broker.Connect();
  const Record with_headers{"k", "v", {{"kvlog-writer", "w1"}, {"h", ""}}};
  const Record tombstone{"t", std::nullopt, {{"h", "x"}}};
  ASSERT_TRUE(AppendSync(*log, {with_headers, tombstone}).has_value());
  auto full = *(*log->OpenReader(0))->Poll(10, 1s);
  ASSERT_EQ(full.size(), 2u);
  EXPECT_EQ(*full[0].record, with_headers);
  EXPECT_EQ(*full[1].record, tombstone);
  auto bare = *(*log->OpenReader(0, ReadOptions{.headers = false}))->Poll(10, 1s);
  ASSERT_EQ(bare.size(), 2u);
  EXPECT_EQ(*bare[0].record, (Record{"k", "v", {}}));
  EXPECT_EQ(*bare[1].record, (Record{"t", std::nullopt, {}}));
}

TEST(BrokerTest, APollWaitsForAnAppendAndCloseWakesIt) {
  Broker broker;
  auto log = broker.Connect();
  auto reader = *log->OpenReader(0);
  std::thread writer([&] {
    std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(AppendSync(*log, {Put("late", "1")}).has_value());
  });
  auto got = *reader->Poll(10, 10s);
  writer.join();
  ASSERT_EQ(got.size(), 1u);

  std::thread closer([&] {
    std::this_thread::sleep_for(10ms);
    reader->Close();
  });
  auto closed = reader->Poll(10, std::chrono::minutes(5));
  closer.join();
  ASSERT_FALSE(closed.has_value());
  EXPECT_EQ(closed.error().code(), ErrorCode::kClosed);
}

TEST(BrokerTest, AClosedConnectionRefusesWork) {
  Broker broker;
  auto log = broker.Connect();
  log->Close();
  auto result = AppendSync(*log, {Put("k", "v")});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kClosed);
  EXPECT_EQ(log->OpenReader(0).error().code(), ErrorCode::kClosed);
  EXPECT_EQ(broker.end_offset(), 0);
}

}  // namespace
}  // namespace kvlog::log::sim
