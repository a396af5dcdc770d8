// The client conformance suite over the simulated log, with real threads.
#include "kv/testing/client_conformance.h"
#include "log/sim/broker.h"

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace kvlog::kv::testing {
namespace {

class SimBackend final : public Backend {
 public:
  std::unique_ptr<log::Log> Connect() override { return broker_.Connect(); }

 private:
  log::sim::Broker broker_;
};

INSTANTIATE_TEST_SUITE_P(SimLog, ClientConformance,
                         ::testing::Values(BackendParam{"sim", [] { return std::make_unique<SimBackend>(); }}),
                         BackendParamName);

}  // namespace
}  // namespace kvlog::kv::testing

// Records deleted below a client's position (retention, DeleteRecords): the
// simulated broker's DeleteRecordsBefore, with real threads.
namespace kvlog::kv::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Logged(std::mutex& mu, const std::vector<std::string>& lines) {
  std::lock_guard lock(mu);
  return lines;
}

TEST(ClientDeletedRecords, OpenFailsWhenTheLogNoLongerStartsAtZeroUnlessAskedToSkip) {
  log::sim::Broker broker;
  {
    auto writer = Client::Open(broker.Connect(), NewMemoryStorage(), {});
    ASSERT_TRUE(writer.has_value());
    ASSERT_TRUE((*writer)->Put("old", "1").has_value());
    ASSERT_TRUE((*writer)->Put("old2", "2").has_value());
    ASSERT_TRUE((*writer)->Put("kept", "3").has_value());
  }
  broker.DeleteRecordsBefore(2);
  EXPECT_EQ(broker.start_offset(), 2);

  auto refused = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kDataLoss);
  EXPECT_THAT(refused.error().message(), ::testing::HasSubstr("[0, 2)"));
  EXPECT_THAT(refused.error().message(), ::testing::HasSubstr("skip_deleted_records"));

  std::mutex mu;
  std::vector<std::string> lines;
  ClientOptions options;
  options.skip_deleted_records = true;
  options.logger = [&](LogLevel level, std::string_view message) {
    std::lock_guard lock(mu);
    lines.push_back(std::string(LogLevelName(level)) + ": " + std::string(message));
  };
  auto skipped = Client::Open(broker.Connect(), NewMemoryStorage(), options);
  ASSERT_TRUE(skipped.has_value()) << skipped.error().ToString();
  EXPECT_EQ((*skipped)->reader_data_loss(), 1u);
  EXPECT_EQ((*skipped)->Get("kept").value_or(""), "3");
  EXPECT_FALSE((*skipped)->Get("old").has_value());
  auto logged = Logged(mu, lines);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], ::testing::HasSubstr("DataLoss"));
}

TEST(ClientDeletedRecords, APendingWriteWhoseRecordWasDeletedUnreadFailsWithDataLoss) {
  log::sim::Broker broker;
  LogControls controls;
  ClientOptions options;
  options.logger = nullptr;
  auto client = Client::Open(ControlledLog(broker.Connect(), controls), NewMemoryStorage(), options);
  ASSERT_TRUE(client.has_value());
  controls.stall_reader = true;  // The write commits; its writer does not read it yet.
  // A poll already waiting on the broker would catch the record: wait until
  // one stalled poll shows none is in flight.
  for (const int before = controls.stalled_polls.load(); controls.stalled_polls.load() == before;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::promise<Result<log::Offset>> done;
  (*client)->PutAsync("k", "v", [&](Result<log::Offset> r) { done.set_value(std::move(r)); });
  auto other = Client::Open(broker.Connect(), NewMemoryStorage(), options);
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE((*other)->WaitApplied(0).has_value());  // Committed at offset 0.
  ASSERT_TRUE((*other)->Put("later", "x").has_value());
  broker.DeleteRecordsBefore(1);
  controls.stall_reader = false;

  auto result = done.get_future().get();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code(), ErrorCode::kDataLoss);
  EXPECT_EQ((*client)->reader_data_loss(), 1u);
  EXPECT_EQ((*client)->lost_writes(), 1u);
  // The client goes on from the log's start; its state misses the deleted record.
  ASSERT_TRUE((*client)->Sync().has_value());
  EXPECT_EQ((*client)->Get("later").value_or(""), "x");
  EXPECT_FALSE((*client)->Get("k").has_value());
  EXPECT_EQ((*other)->Get("k").value_or(""), "v");  // Read before the deletion.
}

}  // namespace
}  // namespace kvlog::kv::testing
