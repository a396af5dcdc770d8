// kv::Client over a durable store on the embedded librdkafka mock cluster
// (every durable store runs it, defining OpenDurableStore):
// the real log adapter resumes from the stored position, and a store is
// refused by a log of another name even when their records are the same.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/scratch_dir.h"
#include "kv/testing/durable_conformance.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"

namespace kvlog::kv::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;


class DurableMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = log::kafka::MockCluster::Start({.brokers = 1, .topic = "orders"});
    ASSERT_TRUE(cluster.has_value()) << cluster.error().ToString();
    cluster_ = std::move(*cluster);
    ASSERT_TRUE(cluster_->CreateTopic("invoices", 1, 1).has_value());
  }

  std::unique_ptr<log::Log> Connect(const std::string& topic) {
    log::kafka::KafkaOptions options = cluster_->LogOptions(topic);
    options.logger = nullptr;
    auto log = log::kafka::OpenKafkaLog(options);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log ? std::move(*log) : nullptr;
  }

  void Write(const std::string& topic, int from, int to) {
    auto writer = Client::Open(Connect(topic), NewMemoryStorage(), {});
    ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
    auto batch = (*writer)->Batch();
    for (int i = from; i < to; ++i) batch.Put(fmt::format("k{}", i % 50), fmt::format("v{}", i));
    ASSERT_TRUE(batch.Execute().has_value());
  }

  std::unique_ptr<log::kafka::MockCluster> cluster_;
};

std::unique_ptr<Storage> Store(const std::string& dir) {
  auto store = OpenDurableStore(dir);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

TEST_F(DurableMockTest, ResumesOnTheKafkaAdapterAndRefusesAnotherTopic) {
  // The same records in both topics (digests leave headers out): only the
  // name tells the logs apart.
  Write("orders", 0, 200);
  Write("invoices", 0, 300);
  const std::string dir = NewScratchDir("orders-store");
  log::Offset stored = 0;
  {
    auto client = Client::Open(Connect("orders"), Store(dir), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    stored = (*client)->AppliedPosition();
    EXPECT_EQ((*client)->storage().Durable()->identity.name, "orders");
  }
  Write("orders", 200, 260);
  std::atomic<int> applied{0};
  ClientOptions counting;
  counting.on_set = [&](std::string_view, std::string_view, log::Offset) { ++applied; };
  auto resumed = Client::Open(Connect("orders"), Store(dir), counting);
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ((*resumed)->resumed_from(), stored);
  EXPECT_EQ(applied.load(), 60);
  auto fresh = Client::Open(Connect("orders"), NewMemoryStorage(), {});
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(*(*resumed)->Range(KeyConstraint{}, {.versions = true}),
            *(*fresh)->Range(KeyConstraint{}, {.versions = true}));
  resumed->reset();

  auto refused = Client::Open(Connect("invoices"), Store(dir), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr("the store holds the log 'orders', not the log 'invoices'"));
}

TEST_F(DurableMockTest, AResumeOnADeferredProducerMakesItAfterTheReplayAndWrites) {
  Write("orders", 0, 200);
  const std::string dir = NewScratchDir("deferred-store");
  log::Offset stored = 0;
  {
    auto client = Client::Open(Connect("orders"), Store(dir), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    stored = (*client)->AppliedPosition();
  }
  Write("orders", 200, 260);
  // As a restart does it: the store first, its hints to the log, the
  // producer left for after the replay.
  std::unique_ptr<Storage> store = Store(dir);
  ASSERT_NE(store, nullptr);
  const Client::LogHints hints = Client::HintsFor(*store);
  log::kafka::KafkaOptions options = cluster_->LogOptions("orders");
  options.logger = nullptr;
  options.first_read_offset = hints.first_read_offset;
  options.reconnect_hint = hints.reconnect_hint;
  options.defer_producer = true;
  auto log = log::kafka::OpenKafkaLog(options);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  const log::Log* raw = log->get();
  EXPECT_FALSE(log::kafka::testing::HasProducer(*raw));
  std::atomic<int> applied{0};
  ClientOptions counting;
  counting.on_set = [&](std::string_view, std::string_view, log::Offset) { ++applied; };
  auto resumed = Client::Open(std::move(*log), std::move(store), counting);
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ((*resumed)->resumed_from(), stored);
  EXPECT_EQ(applied.load(), 60);
  // Open said appends may come: the producer is made without a write.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);  // Within the test's timeout.
  while (!log::kafka::testing::HasProducer(*raw) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(log::kafka::testing::HasProducer(*raw));
  auto put = (*resumed)->Put("after-restart", "written");
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  auto fresh = Client::Open(Connect("orders"), NewMemoryStorage(), {});
  ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
  EXPECT_EQ(*(*fresh)->Get("after-restart"), "written");
  EXPECT_EQ(*(*resumed)->Range(KeyConstraint{}, {.versions = true}),
            *(*fresh)->Range(KeyConstraint{}, {.versions = true}));
}

}  // namespace
}  // namespace kvlog::kv::testing
