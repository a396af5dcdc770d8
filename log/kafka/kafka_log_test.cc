// The librdkafka adapter against the embedded mock cluster: appends, readers,
// end offsets, topic checks, faults and shut-down.
#include "log/kafka/kafka_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "log/kafka/mock_cluster.h"

namespace kvlog::log::kafka {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Generous: the machine is shared; nothing here is a latency assertion.
constexpr auto kWait = 60s;

// Collects AppendCallback results and waits for a count of them.
class Results {
 public:
  AppendCallback Callback() {
    return [this](AppendResult r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  bool WaitFor(std::size_t n, std::chrono::seconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
  }
  std::vector<AppendResult> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AppendResult> results_;
};

Record Put(std::string key, std::string value, std::vector<Header> headers = {}) {
  return Record{std::move(key), std::move(value), std::move(headers)};
}

// Appends k0..k9 (value "v") in one append; false if it failed.
bool AppendTenKeys(Log& log) {
  std::vector<Record> records;
  for (int i = 0; i < 10; ++i) records.push_back(Put(fmt::format("k{}", i), "v"));
  Results results;
  log.Append(records, results.Callback());
  return results.WaitFor(1) && results.Take()[0].has_value();
}

// Reads from `from` until the reader's position reaches `end` (bounded).
std::vector<LogEntry> ReadUntil(LogReader& reader, Offset end) {
  std::vector<LogEntry> all;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (reader.Position() < end && std::chrono::steady_clock::now() < deadline) {
    auto batch = reader.Poll(1000, 200ms);
    if (!batch) continue;  // Transient while brokers come and go.
    for (auto& e : *batch) all.push_back(std::move(e));
  }
  return all;
}

class KafkaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start({.brokers = 3});
    ASSERT_TRUE(cluster) << cluster.error().ToString();
    cluster_ = std::move(*cluster);
    options_ = cluster_->LogOptions();
    options_.logger = nullptr;  // Fault tests make librdkafka noisy on purpose.
  }

  std::unique_ptr<Log> Open() {
    auto log = OpenKafkaLog(options_);
    EXPECT_TRUE(log) << log.error().ToString();
    return log ? std::move(*log) : nullptr;
  }

  std::unique_ptr<MockCluster> cluster_;
  KafkaOptions options_;
};

TEST_F(KafkaLogTest, AppendsAndReadsBackRecordsWithHeadersAndTombstones) {
  auto log = Open();
  ASSERT_TRUE(log);
  std::vector<Record> records = {Put("a", "1", {{"kvlog-writer", "w1"}, {"h", ""}}), Record{"b", std::nullopt, {}},
                                 Put("c", std::string(1000, 'x'))};
  Results results;
  log->Append(records, results.Callback());
  ASSERT_TRUE(results.WaitFor(1));
  auto r = results.Take()[0];
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*r, (std::vector<Offset>{0, 1, 2}));

  auto end = log->EndOffset(10s);
  ASSERT_TRUE(end) << end.error().ToString();
  EXPECT_EQ(*end, 3);

  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader) << reader.error().ToString();
  auto entries = ReadUntil(**reader, 3);
  ASSERT_EQ(entries.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(entries[i].offset, static_cast<Offset>(i));
    ASSERT_TRUE(entries[i].record) << entries[i].record.error().ToString();
    EXPECT_EQ(*entries[i].record, records[i]);
  }
  EXPECT_EQ((*reader)->Position(), 3);

  // A reader that asks for no headers gets the same records without them.
  auto bare_reader = log->OpenReader(0, ReadOptions{.headers = false});
  ASSERT_TRUE(bare_reader) << bare_reader.error().ToString();
  auto bare = ReadUntil(**bare_reader, 3);
  ASSERT_EQ(bare.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(bare[i].record) << bare[i].record.error().ToString();
    EXPECT_EQ(*bare[i].record, (Record{records[i].key, records[i].value, {}}));
  }
}

TEST_F(KafkaLogTest, ManyAppendsInFlightGetDistinctOffsets) {
  auto log = Open();
  ASSERT_TRUE(log);
  constexpr int kAppends = 2000;
  Results results;
  for (int i = 0; i < kAppends; ++i) {
    std::vector<Record> one = {Put(fmt::format("k{}", i % 50), fmt::format("v{}", i))};
    log->Append(one, results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kAppends));
  std::set<Offset> offsets;
  for (auto& r : results.Take()) {
    ASSERT_TRUE(r) << r.error().ToString();
    ASSERT_EQ(r->size(), 1u);
    offsets.insert((*r)[0]);
  }
  EXPECT_EQ(offsets.size(), static_cast<std::size_t>(kAppends));
  EXPECT_EQ(*offsets.begin(), 0);
  EXPECT_EQ(*offsets.rbegin(), kAppends - 1);
  EXPECT_EQ(*log->EndOffset(10s), kAppends);
}

TEST_F(KafkaLogTest, ReaderStartsAtGivenOffsetAndPollTimesOutEmpty) {
  auto log = Open();
  ASSERT_TRUE(log);
  auto empty_reader = log->OpenReader(0);
  ASSERT_TRUE(empty_reader);
  auto nothing = (*empty_reader)->Poll(10, 100ms);
  ASSERT_TRUE(nothing) << nothing.error().ToString();
  EXPECT_TRUE(nothing->empty());
  EXPECT_EQ((*empty_reader)->Position(), 0);

  ASSERT_TRUE(AppendTenKeys(*log));

  auto reader = log->OpenReader(7);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->Position(), 7);
  auto entries = ReadUntil(**reader, 10);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].offset, 7);
  EXPECT_EQ(entries[0].record->key, "k7");
}

TEST_F(KafkaLogTest, AFirstReadOffsetStartsTheFirstReaderThereAndAnyOtherOffsetStillReadsFromItself) {
  {
    auto writer = Open();
    ASSERT_TRUE(writer);
    ASSERT_TRUE(AppendTenKeys(*writer));
  }
  // Reads k{from}..k9 from a log opened with the options as they are.
  auto expect_reads_from = [this](Offset from) {
    auto log = Open();
    ASSERT_TRUE(log);
    auto reader = log->OpenReader(from);
    ASSERT_TRUE(reader) << reader.error().ToString();
    auto entries = ReadUntil(**reader, 10);
    ASSERT_EQ(entries.size(), static_cast<std::size_t>(10 - from));
    EXPECT_EQ(entries[0].offset, from);
    EXPECT_EQ(entries[0].record->key, fmt::format("k{}", from));
  };
  // The first reader at the offset the log was told: its handle started
  // while the log opened.
  options_.first_read_offset = 6;
  expect_reads_from(6);
  // A log told 6 whose first reader asks for 2: it reads from 2, not from
  // where the started handle was.
  expect_reads_from(2);
  // A log told an offset past the end opens, and its readers work.
  options_.first_read_offset = 1'000;
  expect_reads_from(0);
}

TEST_F(KafkaLogTest, AReconnectHintNamesTheLeaderAndTheFirstReaderConnectsThereFirst) {
  std::string hint;
  {
    auto log = Open();
    ASSERT_TRUE(log);
    hint = log->ReconnectHint();
    ASSERT_TRUE(AppendTenKeys(*log));
  }
  // The partition's leader, one of the cluster's brokers.
  ASSERT_FALSE(hint.empty());
  EXPECT_THAT(options_.brokers, HasSubstr(hint));
  // Opens a log with `reconnect_hint` and reads k4..k9 through its first reader;
  // returns the broker librdkafka chose for the reader's first connection.
  auto read_with = [this](std::string reconnect_hint) {
    auto lines = std::make_shared<std::vector<std::string>>();
    auto mu = std::make_shared<std::mutex>();
    KafkaOptions options = options_;
    options.first_read_offset = 4;
    options.reconnect_hint = std::move(reconnect_hint);
    options.consumer_properties.emplace_back("debug", "broker");
    options.logger = [lines, mu](LogLevel, std::string_view line) {
      std::lock_guard lock(*mu);
      lines->emplace_back(line);
    };
    std::string first_connection;
    auto log = OpenKafkaLog(options);
    EXPECT_TRUE(log) << log.error().ToString();
    if (!log) return first_connection;
    auto reader = (*log)->OpenReader(4);
    EXPECT_TRUE(reader) << reader.error().ToString();
    if (!reader) return first_connection;
    auto entries = ReadUntil(**reader, 10);
    EXPECT_EQ(entries.size(), 6u);
    if (!entries.empty()) {
      EXPECT_EQ(entries[0].record->key, "k4");
    }
    std::lock_guard lock(*mu);
    for (const std::string& line : *lines) {
      const std::size_t at = line.find("/bootstrap: Selected for cluster connection");
      if (at == std::string::npos) continue;
      const std::size_t start = line.rfind(' ', at) + 1;
      first_connection = line.substr(start, at - start);
      break;
    }
    return first_connection;
  };
  // Hinted: the leader first, every time (unhinted, a broker at random).
  for (int i = 0; i < 3; ++i) EXPECT_EQ(read_with(hint), hint);
  // A hint that is none of the brokers the log was given is not used (it
  // could name another cluster's broker): here nothing listens on port 1.
  EXPECT_NE(read_with("127.0.0.1:1"), "127.0.0.1:1");
  EXPECT_NE(read_with(hint + "," + hint), hint + "," + hint);
  // One of them that does not answer costs a reconnection: the reader goes
  // on through the others.
  const std::string cluster_brokers = options_.brokers;
  options_.brokers = "127.0.0.1:1," + cluster_brokers;
  EXPECT_EQ(read_with("127.0.0.1:1"), "127.0.0.1:1");
  // Entries with a scheme and spaces name their brokers too.
  options_.brokers = cluster_brokers;
  const std::size_t at = options_.brokers.find(hint);
  ASSERT_NE(at, std::string::npos);
  options_.brokers.insert(at, " PLAINTEXT://");
  EXPECT_EQ(read_with(hint), hint);
}

TEST_F(KafkaLogTest, WithoutDeferProducerTheProducerIsMadeAtOpen) {
  auto log = Open();
  ASSERT_TRUE(log);
  EXPECT_TRUE(testing::HasProducer(*log));
}

TEST_F(KafkaLogTest, ADeferredProducerIsMadeByTheFirstAppendAndReadsNeedNone) {
  options_.defer_producer = true;
  auto log = Open();
  ASSERT_TRUE(log);
  EXPECT_FALSE(testing::HasProducer(*log));
  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader) << reader.error().ToString();
  auto empty = (*reader)->Poll(10, 100ms);
  ASSERT_TRUE(empty) << empty.error().ToString();
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(testing::HasProducer(*log));
  ASSERT_TRUE(AppendTenKeys(*log));
  EXPECT_TRUE(testing::HasProducer(*log));
  auto entries = ReadUntil(**reader, 10);
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries[9].record->key, "k9");
  EXPECT_EQ(*log->EndOffset(kWait), 10);
}

TEST_F(KafkaLogTest, ADeferredProducerIsMadeInTheBackgroundAfterPrepareAppendsOrByEndOffset) {
  options_.defer_producer = true;
  {
    auto writer = Open();
    ASSERT_TRUE(writer);
    writer->PrepareAppends();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!testing::HasProducer(*writer) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(testing::HasProducer(*writer));
    writer->PrepareAppends();  // Again: nothing more to do.
    ASSERT_TRUE(AppendTenKeys(*writer));
    ASSERT_TRUE(AppendTenKeys(*writer));
  }
  auto log = Open();
  ASSERT_TRUE(log);
  auto end = log->EndOffset(kWait);
  ASSERT_TRUE(end) << end.error().ToString();
  EXPECT_EQ(*end, 20);
  EXPECT_TRUE(testing::HasProducer(*log));
}

TEST_F(KafkaLogTest, ClosingADeferredLogWhileItsProducerIsMadeFailsWhatComesAfterWithClosed) {
  options_.defer_producer = true;
  for (bool prepared : {false, true}) {
    SCOPED_TRACE(prepared ? "producer being made when closed" : "no producer when closed");
    auto log = Open();
    ASSERT_TRUE(log);
    if (prepared) log->PrepareAppends();
    log->Close();
    log->PrepareAppends();  // After Close: makes nothing.
    Results after;
    std::vector<Record> one = {Put("late", "1")};
    log->Append(one, after.Callback());
    ASSERT_EQ(after.size(), 1u);
    const AppendResult late = after.Take()[0];
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code(), ErrorCode::kClosed);
    EXPECT_THAT(late.error().message(), HasSubstr("after the log was closed"));
    EXPECT_EQ(log->EndOffset(1s).error().code(), ErrorCode::kClosed);
    log.reset();
  }
}

TEST_F(KafkaLogTest, AppendsEndOffsetsPrepareAndCloseRacingOnADeferredProducerEachEndOnce) {
  options_.defer_producer = true;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(fmt::format("round {}", round));
    auto log = Open();
    ASSERT_TRUE(log);
    constexpr int kThreads = 3;
    constexpr int kAppendsEach = 20;
    Results results;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        if (t == 0) log->PrepareAppends();
        for (int i = 0; i < kAppendsEach; ++i) {
          std::vector<Record> one = {Put(fmt::format("r{}-t{}-{}", round, t, i), "v")};
          log->Append(one, results.Callback());
          if (i % 5 == 0) (void)log->EndOffset(1s);
        }
      });
    }
    // Closed while the others make, wait for or use the producer.
    std::this_thread::sleep_for(std::chrono::milliseconds(round));
    log->Close();
    for (auto& thread : threads) thread.join();
    // Every append ended exactly once: committed, or failed (kClosed once closed).
    ASSERT_TRUE(results.WaitFor(kThreads * kAppendsEach));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(results.size(), static_cast<std::size_t>(kThreads * kAppendsEach));
    for (const AppendResult& r : results.Take()) {
      if (!r) {
        EXPECT_EQ(r.error().code(), ErrorCode::kClosed) << r.error().ToString();
      }
    }
    log.reset();
  }
}

TEST_F(KafkaLogTest, AReaderKnowsTheEndItsLatestFetchSaw) {
  auto log = Open();
  ASSERT_TRUE(log);
  // An empty log: the fetch at offset 0 comes back empty, with the end 0.
  auto empty_reader = log->OpenReader(0);
  ASSERT_TRUE(empty_reader);
  EXPECT_EQ((*empty_reader)->KnownEnd(), std::nullopt);  // Nothing fetched yet.
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!(*empty_reader)->KnownEnd() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE((*empty_reader)->Poll(10, 100ms));
  }
  EXPECT_EQ((*empty_reader)->KnownEnd(), std::optional<Offset>(0));

  ASSERT_TRUE(AppendTenKeys(*log));

  // The fetch that brings offset 7 tells the end, 10, with it: no request.
  auto reader = log->OpenReader(7);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->KnownEnd(), std::nullopt);
  std::vector<LogEntry> first;
  const auto read_deadline = std::chrono::steady_clock::now() + kWait;
  while (first.empty() && std::chrono::steady_clock::now() < read_deadline) {
    auto polled = (*reader)->Poll(1, 200ms);
    if (polled) first = std::move(*polled);
  }
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].offset, 7);
  EXPECT_EQ((*reader)->KnownEnd(), std::optional<Offset>(10));
}

TEST_F(KafkaLogTest, ReaderCloseEndsABlockedPoll) {
  auto log = Open();
  ASSERT_TRUE(log);
  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader);
  std::atomic<bool> done{false};
  Result<std::vector<LogEntry>> result = std::vector<LogEntry>{};
  std::thread poller([&] {
    result = (*reader)->Poll(10, 60s);
    done = true;
  });
  std::this_thread::sleep_for(100ms);
  (*reader)->Close();
  poller.join();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kClosed);
  auto again = (*reader)->Poll(10, 10ms);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kClosed);
}

TEST_F(KafkaLogTest, TopicWithFourPartitionsIsRefusedNamingTopicAndCount) {
  ASSERT_TRUE(cluster_->CreateTopic("four", 4, 1));
  options_.topic = "four";
  auto log = OpenKafkaLog(options_);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(log.error().message().find("'four'"), std::string::npos) << log.error().message();
  EXPECT_NE(log.error().message().find("4 partitions"), std::string::npos) << log.error().message();
}

TEST_F(KafkaLogTest, MissingTopicIsRefusedWhenTheClusterCannotCreateIt) {
  options_.topic = "never-created";
  options_.create_topic = true;  // The mock has no CreateTopics: verification decides.
  options_.admin_timeout = 1500ms;
  auto log = OpenKafkaLog(options_);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code(), ErrorCode::kFailedPrecondition) << log.error().ToString();
  EXPECT_NE(log.error().message().find("never-created"), std::string::npos) << log.error().message();
}

TEST_F(KafkaLogTest, UnreachableBrokerIsUnavailableNamingTheAddress) {
  options_.brokers = "127.0.0.1:1";
  options_.create_topic = true;
  options_.admin_timeout = 1000ms;
  auto log = OpenKafkaLog(options_);
  ASSERT_FALSE(log);
  EXPECT_TRUE(log.error().code() == ErrorCode::kUnavailable || log.error().code() == ErrorCode::kTimeout)
      << log.error().ToString();
  EXPECT_NE(log.error().message().find("127.0.0.1:1"), std::string::npos) << log.error().message();
}

TEST_F(KafkaLogTest, DeleteTopicOnAnUnreachableBrokerIsUnavailable) {
  options_.brokers = "127.0.0.1:1";
  options_.admin_timeout = 1000ms;
  Status deleted = DeleteTopic(options_);
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code(), ErrorCode::kUnavailable) << deleted.error().ToString();
  EXPECT_NE(deleted.error().message().find("127.0.0.1:1"), std::string::npos) << deleted.error().message();
}

TEST_F(KafkaLogTest, BadPropertyIsInvalidArgumentNamingIt) {
  options_.properties = {{"no.such.property", "1"}};
  auto log = OpenKafkaLog(options_);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(log.error().message().find("no.such.property"), std::string::npos) << log.error().message();
}

TEST_F(KafkaLogTest, BadProducerPropertyFailsOpenCleanly) {
  options_.producer_properties = {{"linger.ms", "not-a-number"}};
  auto log = OpenKafkaLog(options_);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(log.error().message().find("linger.ms"), std::string::npos) << log.error().message();
}

TEST_F(KafkaLogTest, CloseFromInsideAnAppendCallbackDoesNotDeadlock) {
  auto log = Open();
  ASSERT_TRUE(log);
  Results first, second;
  std::vector<Record> one = {Put("k", "v")};
  log->Append(one, [&, done = first.Callback()](AppendResult r) {
    log->Close();
    done(std::move(r));
  });
  ASSERT_TRUE(first.WaitFor(1));
  EXPECT_TRUE(first.Take()[0]);
  log->Append(one, second.Callback());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second.Take()[0].error().code(), ErrorCode::kClosed);
  log.reset();
}

TEST_F(KafkaLogTest, CloseFailsAppendsInFlightAndNoCallbackRunsAfterIt) {
  auto log = Open();
  ASSERT_TRUE(log);
  // Warm up so the producer knows the leader, then cut every broker off.
  Results warm;
  std::vector<Record> one = {Put("warm", "1")};
  log->Append(one, warm.Callback());
  ASSERT_TRUE(warm.WaitFor(1));
  ASSERT_TRUE(cluster_->SetBrokerDown(-1));

  constexpr int kAppends = 100;
  Results results;
  for (int i = 0; i < kAppends; ++i) log->Append(one, results.Callback());
  log->Close();
  const std::size_t at_close = results.size();
  EXPECT_EQ(at_close, static_cast<std::size_t>(kAppends));
  for (auto& r : results.Take()) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kClosed) << r.error().ToString();
  }
  Results after;
  log->Append(one, after.Callback());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after.Take()[0].error().code(), ErrorCode::kClosed);
  EXPECT_EQ(log->EndOffset(1s).error().code(), ErrorCode::kClosed);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(results.size(), at_close);
  log.reset();
}

TEST_F(KafkaLogTest, AppendsWaitOutABrokerOutage) {
  auto log = Open();
  ASSERT_TRUE(log);
  Results warm;
  std::vector<Record> one = {Put("warm", "1")};
  log->Append(one, warm.Callback());
  ASSERT_TRUE(warm.WaitFor(1));

  ASSERT_TRUE(cluster_->SetBrokerDown(-1));
  Results results;
  for (int i = 0; i < 20; ++i) {
    std::vector<Record> r = {Put("k", fmt::format("{}", i))};
    log->Append(r, results.Callback());
  }
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(cluster_->SetBrokerUp(-1));
  ASSERT_TRUE(results.WaitFor(20));
  for (auto& r : results.Take()) EXPECT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*log->EndOffset(10s), 21);
}

TEST_F(KafkaLogTest, DeliveryTimeoutFailsAppendsWhileBrokersStayDown) {
  options_.delivery_timeout = 1000ms;
  options_.request_timeout = 500ms;
  auto log = Open();
  ASSERT_TRUE(log);
  ASSERT_TRUE(cluster_->SetBrokerDown(-1));
  Results results;
  std::vector<Record> one = {Put("k", "v")};
  log->Append(one, results.Callback());
  ASSERT_TRUE(results.WaitFor(1));
  auto r = results.Take()[0];
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kTimeout) << r.error().ToString();
}

TEST_F(KafkaLogTest, RetriableProduceErrorsAreRetriedWithoutDuplicates) {
  auto log = Open();
  ASSERT_TRUE(log);
  cluster_->PushRequestErrors(KafkaApi::kProduce,
                              {kafka_errors::kNotEnoughReplicas, kafka_errors::kNotEnoughReplicasAfterAppend,
                               kafka_errors::kRequestTimedOut, kafka_errors::kNotLeaderForPartition});
  constexpr int kAppends = 50;
  Results results;
  for (int i = 0; i < kAppends; ++i) {
    std::vector<Record> r = {Put(fmt::format("k{}", i), "v")};
    log->Append(r, results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kAppends));
  for (auto& r : results.Take()) ASSERT_TRUE(r) << r.error().ToString();
  auto end = log->EndOffset(10s);
  ASSERT_TRUE(end);
  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader);
  auto entries = ReadUntil(**reader, *end);
  std::map<std::string, int> seen;
  for (auto& e : entries) ++seen[e.record->key];
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kAppends));
  for (auto& [key, count] : seen) EXPECT_EQ(count, 1) << key;
}

TEST_F(KafkaLogTest, LeaderMovesDuringWritesLoseAndDuplicateNothing) {
  auto log = Open();
  ASSERT_TRUE(log);
  constexpr int kAppends = 300;
  Results results;
  std::thread mover([&] {
    for (int32_t leader : {2, 3, 1}) {
      std::this_thread::sleep_for(30ms);
      EXPECT_TRUE(cluster_->SetLeader(leader));
    }
  });
  std::mutex acked_mu;
  std::set<std::string> acked;
  for (int i = 0; i < kAppends; ++i) {
    std::string key = fmt::format("k{}", i);
    std::vector<Record> r = {Put(key, "v")};
    log->Append(r, [&, key, done = results.Callback()](AppendResult result) {
      if (result) {
        std::lock_guard<std::mutex> lock(acked_mu);
        acked.insert(key);
      }
      done(std::move(result));
    });
    if (i % 50 == 0) std::this_thread::sleep_for(10ms);
  }
  mover.join();
  ASSERT_TRUE(results.WaitFor(kAppends));
  auto end = log->EndOffset(10s);
  ASSERT_TRUE(end) << end.error().ToString();
  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader);
  std::map<std::string, int> seen;
  for (auto& e : ReadUntil(**reader, *end)) ++seen[e.record->key];
  for (auto& key : acked) EXPECT_EQ(seen[key], 1) << key;
  for (auto& [key, count] : seen) EXPECT_EQ(count, 1) << key;
}

TEST_F(KafkaLogTest, AddedRttSlowsButDoesNotFailAppends) {
  auto log = Open();
  ASSERT_TRUE(log);
  ASSERT_TRUE(cluster_->SetRtt(-1, 50));
  Results results;
  std::vector<Record> one = {Put("k", "v")};
  log->Append(one, results.Callback());
  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_TRUE(results.Take()[0]);
}

TEST_F(KafkaLogTest, RecordWithoutKeyComesBackCorruptWithItsOffset) {
  // A foreign writer puts a keyless record between two of ours.
  auto log = Open();
  ASSERT_TRUE(log);
  Results results;
  std::vector<Record> first = {Put("a", "1")};
  log->Append(first, results.Callback());
  ASSERT_TRUE(results.WaitFor(1));

  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", cluster_->bootstrap().c_str(), errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  ASSERT_NE(raw, nullptr) << errstr;
  char payload[] = "no key";
  ASSERT_EQ(rd_kafka_producev(raw, RD_KAFKA_V_TOPIC(cluster_->topic().c_str()), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(payload, 6), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_flush(raw, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(raw);

  std::vector<Record> second = {Put("b", "2")};
  log->Append(second, results.Callback());
  ASSERT_TRUE(results.WaitFor(2));

  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader);
  auto entries = ReadUntil(**reader, 3);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[0].record);
  ASSERT_FALSE(entries[1].record);
  EXPECT_EQ(entries[1].offset, 1);
  EXPECT_EQ(entries[1].record.error().code(), ErrorCode::kCorrupt);
  EXPECT_TRUE(entries[2].record);
}

TEST_F(KafkaLogTest, DestroyingWithAppendsInFlightLeaksNothing) {
  auto log = Open();
  ASSERT_TRUE(log);
  std::atomic<int> calls{0};
  for (int i = 0; i < 500; ++i) {
    std::vector<Record> one = {Put("k", std::string(100, 'v'))};
    log->Append(one, [&calls](AppendResult) { ++calls; });
  }
  log.reset();  // Closes: every callback has run by now.
  EXPECT_EQ(calls.load(), 500);
}

// librdkafka's idempotent producer turns fatal when a new partition leader
// refuses its sequence; the handle then refuses every produce. The log must
// go on with a new producer, not fail every later append.
TEST_F(KafkaLogTest, AProducerThatTurnsFatalIsReplacedAndLaterAppendsCommit) {
  auto log = Open();
  ASSERT_TRUE(log);
  Results before;
  log->Append(std::vector<Record>{Put("a", "1")}, before.Callback());
  ASSERT_TRUE(before.WaitFor(1));
  ASSERT_TRUE(before.Take()[0]);

  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(testing::RaiseFatalProducerError(*log, "test: sequence refused"));
    Results after;
    log->Append(std::vector<Record>{Put("b", fmt::format("{}", round))}, after.Callback());
    ASSERT_TRUE(after.WaitFor(1));
    auto r = after.Take()[0];
    ASSERT_TRUE(r) << "round " << round << ": " << r.error().ToString();
    EXPECT_EQ(*r, (std::vector<Offset>{round + 1}));
  }
  auto end = log->EndOffset(10s);
  ASSERT_TRUE(end) << end.error().ToString();
  EXPECT_EQ(*end, 4);
  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader);
  auto entries = ReadUntil(**reader, 4);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[3].record->value, std::optional<std::string>("2"));
}

TEST_F(KafkaLogTest, AppendsInFlightOnAProducerThatTurnsFatalFailAsUnknownNeverAsSuccess) {
  auto log = Open();
  ASSERT_TRUE(log);
  Results warm;
  log->Append(std::vector<Record>{Put("warm", "1")}, warm.Callback());
  ASSERT_TRUE(warm.WaitFor(1));
  ASSERT_TRUE(cluster_->SetBrokerDown(-1));  // Keeps the next appends on the producer.
  Results held;
  for (int i = 0; i < 20; ++i) log->Append(std::vector<Record>{Put("k", fmt::format("{}", i))}, held.Callback());
  ASSERT_TRUE(testing::RaiseFatalProducerError(*log, "test: sequence refused"));
  Results next;
  log->Append(std::vector<Record>{Put("k", "next")}, next.Callback());  // Replaces the producer.
  ASSERT_TRUE(cluster_->SetBrokerUp(-1));
  ASSERT_TRUE(held.WaitFor(20));
  for (const AppendResult& r : held.Take()) {
    ASSERT_FALSE(r) << "an append the fatal producer held reported success";
    EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable) << r.error().ToString();
    EXPECT_NE(r.error().message().find("fatal error"), std::string::npos) << r.error().message();
  }
  ASSERT_TRUE(next.WaitFor(1));
  EXPECT_TRUE(next.Take()[0]);
}

TEST_F(KafkaLogTest, AProducerThatKeepsTurningFatalIsGivenUpNamingTheLimit) {
  auto log = Open();
  ASSERT_TRUE(log);
  std::optional<Error> last;
  for (int i = 0; i < 40 && !last; ++i) {
    ASSERT_TRUE(testing::RaiseFatalProducerError(*log, "test: sequence refused"));
    Results r;
    log->Append(std::vector<Record>{Put("k", fmt::format("{}", i))}, r.Callback());
    ASSERT_TRUE(r.WaitFor(1));
    if (auto got = r.Take()[0]; !got) last = got.error();
  }
  ASSERT_TRUE(last) << "every append succeeded";
  EXPECT_EQ(last->code(), ErrorCode::kInternal);
  EXPECT_NE(last->message().find("limit 16 replacements"), std::string::npos) << last->message();
}

}  // namespace
}  // namespace kvlog::log::kafka

namespace kvlog::log::kafka {
namespace {

TEST_F(KafkaLogTest, UnsafeProducerSettingsAreRefusedUnlessOptedIn) {
  for (KafkaProperties unsafe : {KafkaProperties{{"acks", "1"}}, KafkaProperties{{"request.required.acks", "0"}},
                                 KafkaProperties{{"enable.idempotence", "false"}}}) {
    KafkaOptions options = options_;
    options.properties = unsafe;
    auto refused = OpenKafkaLog(options);
    ASSERT_FALSE(refused) << unsafe[0].first;
    EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(refused.error().message().find(unsafe[0].first + "=" + unsafe[0].second), std::string::npos)
        << refused.error().message();
    EXPECT_NE(refused.error().message().find("allow_unsafe_acks"), std::string::npos);
    // Producer-only properties are checked too; the later setting wins.
    options.properties.clear();
    options.producer_properties = unsafe;
    EXPECT_FALSE(OpenKafkaLog(options)) << unsafe[0].first;
    options.properties = {{unsafe[0].first, unsafe[0].first == "enable.idempotence" ? "true" : "all"}};
    EXPECT_TRUE(OpenKafkaLog(options)) << unsafe[0].first;

  }
  // Opted in. (librdkafka itself refuses acks other than all with idempotence.)
  KafkaOptions options = options_;
  options.properties = {{"acks", "1"}, {"enable.idempotence", "false"}};
  options.allow_unsafe_acks = true;
  auto opted_in = OpenKafkaLog(options);
  ASSERT_TRUE(opted_in) << opted_in.error().ToString();
  KafkaOptions safe = options_;
  safe.properties = {{"acks", "-1"}, {"enable.idempotence", "true"}};
  EXPECT_TRUE(OpenKafkaLog(safe));
}

// The mock keeps about 5 MiB per partition (it has no DeleteRecords in
// librdkafka 2.0.2): writing past that moves the log's start, as retention
// does on real brokers. A reader below it gets kDataLoss, then continues from
// the start; before, auto.offset.reset=earliest moved it there silently.
TEST_F(KafkaLogTest, AReaderBelowTheLogStartGetsDataLossAndContinuesFromTheStart) {
  auto log = Open();
  ASSERT_TRUE(log);
  constexpr int kRecords = 800;  // 800 x 10 KB = 8 MB, past the mock's cap.
  std::vector<Record> records;
  for (int i = 0; i < kRecords; ++i) records.push_back(Put(fmt::format("k{}", i), std::string(10'000, 'v')));
  Results results;
  for (int i = 0; i < kRecords; i += 100) {
    log->Append(std::span<const Record>(records).subspan(static_cast<std::size_t>(i), 100), results.Callback());
  }
  ASSERT_TRUE(results.WaitFor(kRecords / 100));
  for (auto& r : results.Take()) ASSERT_TRUE(r) << r.error().ToString();
  auto end = log->EndOffset(kWait);
  ASSERT_TRUE(end);
  ASSERT_EQ(*end, kRecords);

  auto reader = log->OpenReader(0);
  ASSERT_TRUE(reader);
  std::optional<Error> lost;
  std::vector<LogEntry> read;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while ((*reader)->Position() < *end && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*reader)->Poll(1000, 200ms);
    if (!batch) {
      if (batch.error().code() == ErrorCode::kDataLoss) {
        ASSERT_FALSE(lost) << "reported twice: " << batch.error().ToString();
        lost = batch.error();
      }
      continue;
    }
    for (auto& e : *batch) read.push_back(std::move(e));
  }
  ASSERT_TRUE(lost) << "no data loss reported; read " << read.size() << " records from offset "
                    << (read.empty() ? -1 : read.front().offset);
  EXPECT_NE(lost->message().find("were deleted before this reader read them"), std::string::npos)
      << lost->message();
  ASSERT_FALSE(read.empty());
  EXPECT_GT(read.front().offset, 0);  // The deleted prefix never came back.
  EXPECT_NE(lost->message().find(fmt::format("[0, {})", read.front().offset)), std::string::npos)
      << lost->message();
  EXPECT_EQ(read.back().offset, kRecords - 1);
  EXPECT_EQ((*reader)->Position(), *end);
}

}  // namespace
}  // namespace kvlog::log::kafka
