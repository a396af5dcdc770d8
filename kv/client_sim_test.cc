// The client conformance suite over the simulated log, with real threads.
#include "kv/testing/client_conformance.h"
#include "log/sim/broker.h"
#include "kv/client.h"
#include "kv/memory_storage.h"

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
    return std::to_string((current ? std::stoi(*current) : 0) + 1);
  };
  for (int i = 0; i < 60; ++i) {
    auto r = c.Update("counter", increment);
    ASSERT_TRUE(r.has_value()) << i << ": " << r.error().ToString();
    EXPECT_EQ(c.GetEntry("counter").value().version, *r);
  }
  for (int i = 0; i < 20; ++i) {
    auto created = c.PutIfAbsent("once" + std::to_string(i), "v");
    ASSERT_TRUE(created.has_value()) << i << ": " << created.error().ToString();
    EXPECT_EQ(c.GetEntry("once" + std::to_string(i)).value().version, *created);
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
