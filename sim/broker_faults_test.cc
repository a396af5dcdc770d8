// Each fault of the simulated log, one at a time, in virtual time.
#include <gtest/gtest.h>

#include <optional>

#include "log/sim/broker.h"
#include "sim/sim_runtime.h"

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;
using log::AppendResult;
using log::Record;
using log::sim::Broker;
using log::sim::BrokerFaults;
using log::sim::ConnectionFaults;
using log::sim::Window;

Record Put(std::string key, std::string value) { return Record{std::move(key), std::move(value), {}}; }

// Appends and waits (in virtual time) for the outcome.
AppendResult AppendAndWait(SimRuntime& rt, log::Log& log, std::vector<Record> records) {
  std::optional<AppendResult> result;
  log.Append(records, [&](AppendResult r) { result = std::move(r); });
  while (!result) rt.SleepFor(1ms);
  return std::move(*result);
}

Duration Since(SimRuntime& rt, TimePoint t) { return rt.Now() - t; }

TEST(BrokerFaultsTest, LatencyDelaysTheCommitAndKeepsOrder) {
  SimRuntime rt(1);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.append_latency = 7ms});
    auto log = broker.Connect();
    TimePoint start = rt.Now();
    std::vector<log::Offset> order;
    std::vector<Record> a = {Put("a", "1")}, b = {Put("b", "2")};
    log->Append(a, [&](AppendResult r) { order.push_back(r->front()); });
    log->Append(b, [&](AppendResult r) { order.push_back(r->front()); });
    while (order.size() < 2) rt.SleepFor(1ms);
    EXPECT_GE(Since(rt, start), Duration(7ms));
    EXPECT_LT(Since(rt, start), Duration(10ms));  // Pipelined, not 14 ms.
    EXPECT_EQ(order, (std::vector<log::Offset>{0, 1}));
    log->Close();
  });
}

TEST(BrokerFaultsTest, LostAcksAreRetriedAndIdempotenceDeduplicates) {
  for (bool idempotent : {true, false}) {
    SimRuntime rt(2);
    rt.Run([&] {
      Broker broker(rt, BrokerFaults{.lost_ack_probability = 1.0, .idempotent_producer = idempotent,
                                     .retry_backoff = 10ms, .delivery_timeout = 35ms});
      auto log = broker.Connect();
      auto result = AppendAndWait(rt, *log, {Put("k", "v")});
      // Every ack is lost, so the producer retries until delivery_timeout.
      ASSERT_FALSE(result.has_value());
      EXPECT_EQ(result.error().code(), ErrorCode::kTimeout);
      auto stats = broker.stats();
      EXPECT_GE(stats.lost_acks, 3);
      if (idempotent) {
        EXPECT_EQ(broker.Entries().size(), 1u);
        EXPECT_EQ(stats.deduplicated_retries, stats.lost_acks - 1);
      } else {
        EXPECT_EQ(broker.Entries().size(), static_cast<std::size_t>(stats.lost_acks));
        EXPECT_GT(stats.duplicates_committed, 0);
      }
      log->Close();
    });
  }
}

TEST(BrokerFaultsTest, AFailedAppendDoesNotCommit) {
  SimRuntime rt(3);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.failed_append_probability = 1.0});
    auto log = broker.Connect();
    auto result = AppendAndWait(rt, *log, {Put("k", "v")});
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
    EXPECT_TRUE(broker.Entries().empty());
    log->Close();
  });
}

TEST(BrokerFaultsTest, AnOutageHoldsAppendsAndFailsEndOffset) {
  SimRuntime rt(4);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.outages = {Window{10ms, 50ms}}});
    auto log = broker.Connect();
    rt.SleepFor(20ms);
    auto end = log->EndOffset(5ms);
    ASSERT_FALSE(end.has_value());
    EXPECT_EQ(end.error().code(), ErrorCode::kUnavailable);
    auto result = AppendAndWait(rt, *log, {Put("k", "v")});
    ASSERT_TRUE(result.has_value());
    EXPECT_GE(rt.Now() - TimePoint{}, Duration(60ms));  // Committed once the outage ended.
    EXPECT_EQ(*log->EndOffset(5ms), 1);
    log->Close();
  });
}

TEST(BrokerFaultsTest, AFailoverWithAcksOneLosesTheUnreplicatedTail) {
  SimRuntime rt(5);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.acks = log::sim::Acks::kLeader, .replication_delay = 20ms,
                                   .failovers = {5ms}});
    auto log = broker.Connect();
    auto acked = AppendAndWait(rt, *log, {Put("k", "lost")});
    ASSERT_TRUE(acked.has_value());  // Acknowledged by the leader alone...
    rt.SleepFor(10ms);
    EXPECT_TRUE(broker.Entries().empty());  // ...and truncated by the failover.
    EXPECT_EQ(broker.stats().truncated_records, 1);
    auto next = AppendAndWait(rt, *log, {Put("k", "new")});
    EXPECT_EQ(next->front(), acked->front());  // The offset is reused.
    log->Close();
  });
}

TEST(BrokerFaultsTest, AFailoverWithAcksAllLosesNothingAcknowledged) {
  SimRuntime rt(6);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.acks = log::sim::Acks::kAll, .replication_delay = 20ms, .failovers = {5ms}});
    auto log = broker.Connect();
    auto result = AppendAndWait(rt, *log, {Put("k", "v")});
    ASSERT_FALSE(result.has_value());  // Not replicated before the failover: failed, not acknowledged.
    EXPECT_EQ(result.error().code(), ErrorCode::kUnavailable);
    auto later = AppendAndWait(rt, *log, {Put("k", "w")});
    ASSERT_TRUE(later.has_value());
    ASSERT_EQ(broker.Entries().size(), 1u);
    EXPECT_EQ(*broker.Entries()[0].record->value, "w");
    log->Close();
  });
}

TEST(BrokerFaultsTest, CompactionKeepsTheLatestRecordPerKeyOnceOldEnough) {
  SimRuntime rt(7);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.compaction_interval = 10ms, .min_compaction_lag = 100ms,
                                   .tombstone_retention = 1h});
    auto log = broker.Connect();
    AppendAndWait(rt, *log, {Put("a", "1"), Put("b", "1"), Put("a", "2"), Record{"b", std::nullopt, {}}});
    rt.SleepFor(50ms);
    EXPECT_EQ(broker.end_offset(), 4);
    EXPECT_EQ(broker.Entries().size(), 4u);  // Younger than min_compaction_lag: untouched.
    rt.SleepFor(100ms);
    broker.end_offset();  // Lets the broker catch up with due compactions.
    auto entries = broker.Entries();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].offset, 2);
    EXPECT_TRUE(entries[1].record->is_tombstone());
    EXPECT_EQ(broker.LogAsWritten().size(), 4u);
    log->Close();
  });
}

TEST(BrokerFaultsTest, CorruptRecordsReadBackAsCorrupt) {
  SimRuntime rt(8);
  rt.Run([&] {
    Broker broker(rt, BrokerFaults{.corrupt_probability = 1.0});
    auto log = broker.Connect();
    ASSERT_TRUE(AppendAndWait(rt, *log, {Put("k", "v")}).has_value());
    auto reader = *log->OpenReader(0);
    auto entries = *reader->Poll(10, 1s);
    ASSERT_EQ(entries.size(), 1u);
    ASSERT_FALSE(entries[0].record.has_value());
    EXPECT_EQ(entries[0].record.error().code(), ErrorCode::kCorrupt);
    EXPECT_EQ(reader->Position(), 1);
    reader->Close();
    log->Close();
  });
}

TEST(BrokerFaultsTest, ALaggingReaderSeesRecordsLateAndAPausedOneNotAtAll) {
  SimRuntime rt(9);
  rt.Run([&] {
    Broker broker(rt);
    auto writer = broker.Connect();
    auto lagging = broker.Connect(ConnectionFaults{.reader_lag = 30ms});
    auto paused = broker.Connect(ConnectionFaults{.reader_pauses = {Window{0ms, 100ms}}});
    ASSERT_TRUE(AppendAndWait(rt, *writer, {Put("k", "v")}).has_value());
    TimePoint start = rt.Now();
    auto lag_reader = *lagging->OpenReader(0);
    auto got = *lag_reader->Poll(10, 1s);
    EXPECT_EQ(got.size(), 1u);
    EXPECT_GE(Since(rt, start), Duration(29ms));
    auto pause_reader = *paused->OpenReader(0);
    EXPECT_TRUE(pause_reader->Poll(10, 20ms)->empty());
    EXPECT_EQ(pause_reader->Poll(10, 1s)->size(), 1u);
    EXPECT_GE(rt.Now() - TimePoint{}, Duration(100ms));
    lag_reader->Close();
    pause_reader->Close();
    for (auto* l : {writer.get(), lagging.get(), paused.get()}) l->Close();
  });
}

}  // namespace
}  // namespace kvlog::sim
