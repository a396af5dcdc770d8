// The client conformance suite over the simulated log, with real threads
// (client_simulated_test runs it in the simulator's runtime), and the client's
// behaviour under the simulated broker's deletions and faults.
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/client_conformance.h"
#include "log/sim/broker.h"

namespace kvlog::kv::testing {
namespace {

class SimBackend final : public Backend {
 public:
  explicit SimBackend(Runtime& runtime) : broker_(runtime) {}
  std::unique_ptr<log::Log> Connect() override { return broker_.Connect(); }

 private:
  log::sim::Broker broker_;
};

INSTANTIATE_TEST_SUITE_P(SimLog, ClientConformance,
                         ::testing::Values(BackendParam{
                             "sim", [](Runtime& rt) { return std::make_unique<SimBackend>(rt); }}),
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

namespace kvlog::kv {
namespace {

// A producer retry after a lost acknowledgement commits a command twice (no
// idempotent producer): every replica gives the copy the first one's outcome,
// so nothing applies twice and the writer hears the true outcome.
TEST(ClientSimTest, ARetriedCommandAfterALostAckAppliesOnceAndReportsItsOutcome) {
  log::sim::BrokerFaults faults;
  faults.lost_ack_probability = 0.4;
  faults.idempotent_producer = false;
  faults.retry_backoff = std::chrono::milliseconds(1);
  log::sim::Broker broker(Runtime::Real(), faults, 7);
  auto client = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  Client& c = **client;
  auto increment = [](const std::optional<std::string>& current) -> Result<std::string> {
    return fmt::format("{}", (current ? std::stoi(*current) : 0) + 1);
  };
  for (int i = 0; i < 60; ++i) {
    auto r = c.Update("counter", increment);
    ASSERT_TRUE(r.has_value()) << i << ": " << r.error().ToString();
    EXPECT_EQ(c.GetEntry("counter").value().version, *r);
  }
  for (int i = 0; i < 20; ++i) {
    auto created = c.PutIfAbsent(fmt::format("once{}", i), "v");
    ASSERT_TRUE(created.has_value()) << i << ": " << created.error().ToString();
    EXPECT_EQ(c.GetEntry(fmt::format("once{}", i)).value().version, *created);
  }
  EXPECT_GT(broker.stats().duplicates_committed, 5) << "the fault did not fire; the test proves nothing";
  EXPECT_EQ(c.Get("counter").value_or(""), "60");
  // A replica replaying the log with the duplicates agrees.
  auto replay = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(*(*replay)->Range(KeyConstraint{}, {.versions = true}), *c.Range(KeyConstraint{}, {.versions = true}));
}

// A failed conditional write must not let compaction delete the value it failed
// against: command records have keys of their own, so they never supersede a
// user key's plain records.
TEST(ClientSimTest, CompactionKeepsTheValueAFailedConditionalWriteFailedAgainst) {
  log::sim::BrokerFaults faults;
  faults.compaction_interval = std::chrono::milliseconds(1);
  faults.min_compaction_lag = std::chrono::nanoseconds(0);
  log::sim::Broker broker(Runtime::Real(), faults, 3);
  auto client = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  ASSERT_TRUE((*client)->Put("k", "old").has_value());
  auto kept = (*client)->Put("k", "kept");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ((*client)->PutIfAbsent("k", "intruder").error().code(), ErrorCode::kConflict);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(broker.stats().compacted_records, 1);  // "old" went; the proof that compaction ran.
  auto replay = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(replay.has_value()) << replay.error().ToString();
  EXPECT_EQ((*replay)->GetEntry("k").value(), (VersionedValue{"kept", *kept}));
}

}  // namespace
}  // namespace kvlog::kv
