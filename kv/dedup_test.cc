// The applier skips a second copy of a plain record (same kvlog-writer and
// kvlog-seq) on every replica, and only that (kv/dedup_window.h).
#include "kv/dedup_window.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/log_doubles.h"
#include "log/sim/broker.h"

namespace kvlog::kv {
namespace {

using internal::PlainDedup;

log::Record Plain(std::string key, std::optional<std::string> value, std::string writer, uint64_t seq) {
  log::Record r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.headers.push_back({std::string(kWriterHeader), std::move(writer)});
  r.headers.push_back({std::string(kSeqHeader), std::to_string(seq)});
  return r;
}

void AppendAll(log::Log& log, const std::vector<log::Record>& records) {
  for (const log::Record& r : records) {
    std::promise<log::AppendResult> done;
    log.Append({&r, 1}, [&](log::AppendResult result) { done.set_value(std::move(result)); });
    ASSERT_TRUE(done.get_future().get().has_value());
  }
}

std::unique_ptr<Client> Open(log::sim::Broker& broker, std::string id) {
  ClientOptions options;
  options.client_id = std::move(id);
  options.janitor_interval = std::chrono::nanoseconds(0);
  auto client = Client::Open(broker.Connect(), NewMemoryStorage(), std::move(options));
  EXPECT_TRUE(client.has_value()) << client.error().ToString();
  return std::move(*client);
}

TEST(PlainDedupTest, WindowIsASetNotAMaximum) {
  PlainDedup d;
  EXPECT_FALSE(d.Check("w", 10, 0));
  EXPECT_FALSE(d.Check("w", 8, 1));  // Out of order: new.
  EXPECT_FALSE(d.Check("w", 9, 2));
  EXPECT_TRUE(d.Check("w", 8, 3));   // Seen: a duplicate.
  EXPECT_TRUE(d.Check("w", 10, 4));
  EXPECT_FALSE(d.Check("v", 10, 5));  // Another writer.
  EXPECT_FALSE(d.Check("w", (uint64_t{7} << 32) + 10, 6));  // Another instance of w.
  // Far ahead: the window moves; a seq more than kWindow below is too old
  // to judge and is taken as new.
  EXPECT_FALSE(d.Check("w", 10 + 5000, 7));
  EXPECT_FALSE(d.Check("w", 10, 8));
  EXPECT_TRUE(d.Check("w", 10 + 5000, 9));
  EXPECT_FALSE(d.Check("w", 10 + 5000 - 1023, 10));
  EXPECT_TRUE(d.Check("w", 10 + 5000 - 1023, 11));
}

TEST(PlainDedupTest, ShiftKeepsBitsAcrossWords) {
  PlainDedup d;
  for (uint64_t s = 0; s < 300; s += 3) ASSERT_FALSE(d.Check("w", s, 0));
  for (uint64_t s = 0; s < 300; ++s) EXPECT_EQ(d.Check("w", s, 0), s % 3 == 0) << s;
}

TEST(PlainDedupTest, EncodeDecodeRoundTripsAndRefusesGarbage) {
  PlainDedup d;
  for (uint64_t s : {5, 70, 130, 700, 1000}) d.Check("w", s, 42);
  const PlainDedup::Window* w = d.Find({"w", 0});
  ASSERT_NE(w, nullptr);
  std::optional<PlainDedup::Window> back = PlainDedup::Decode(PlainDedup::Encode(*w));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->high, 1000u);
  EXPECT_EQ(back->last, 42);
  for (uint64_t s = 0; s <= 1000; ++s) EXPECT_EQ(back->Has(s), w->Has(s)) << s;
  EXPECT_FALSE(PlainDedup::Decode("1|2|3").has_value());
  EXPECT_FALSE(PlainDedup::Decode("").has_value());
}

TEST(PlainDedupTest, ForgetsTheWriterIdleLongest) {
  PlainDedup d;
  for (std::size_t i = 0; i <= PlainDedup::kWriters; ++i) d.Check(fmt::format("w{}", i), 1, 100 + i);
  EXPECT_EQ(d.size(), PlainDedup::kWriters);
  EXPECT_EQ(d.Find({"w0", 0}), nullptr);  // Idle longest.
  EXPECT_NE(d.Find({"w1", 0}), nullptr);
}

// A copy of a plain put appended again after other records: every replica
// skips it (without dedup the stale value would win), and all agree.
TEST(ClientDedupTest, EveryReplicaSkipsASecondCopyOfAPlainPut) {
  log::sim::Broker broker;
  auto before = Open(broker, "reader-before");
  auto log = broker.Connect();
  AppendAll(*log, {Plain("k", "v1", "w", 5), Plain("k", "v2", "w", 6), Plain("k", "v1", "w", 5),
                   Plain("gone", std::nullopt, "w", 7), Plain("gone", "back", "w", 4), Plain("gone", std::nullopt, "w", 7)});
  auto after = Open(broker, "reader-after");
  ASSERT_TRUE(before->Sync().has_value());
  for (Client* c : {before.get(), after.get()}) {
    Result<VersionedValue> k = c->GetEntry("k");
    ASSERT_TRUE(k.has_value()) << c->id();
    EXPECT_EQ(k->value, "v2") << c->id();
    EXPECT_EQ(k->version, 1) << c->id();
    Result<VersionedValue> gone = c->GetEntry("gone");  // seq 4 is new (out of order); the second tombstone a copy.
    ASSERT_TRUE(gone.has_value()) << c->id();
    EXPECT_EQ(gone->value, "back");
    EXPECT_EQ(gone->version, 4);
    EXPECT_EQ(c->AppliedPosition(), 6);
  }
}

// A write whose append committed twice (first acknowledgement lost) returns
// the first copy's offset, the key's version, on the writer; replicas agree.
TEST(ClientDedupTest, ARetriedPutThatCommittedTwiceTakesEffectOnce) {
  log::sim::Broker broker;
  testing::LogControls controls;
  ClientOptions options;
  options.client_id = "writer";
  auto writer = Client::Open(testing::ControlledLog(broker.Connect(), controls), NewMemoryStorage(), options);
  ASSERT_TRUE(writer.has_value());
  auto other = Open(broker, "other");
  ASSERT_TRUE((*writer)->Put("k", "v1").has_value());
  controls.duplicate_appends = 1;
  Result<log::Offset> put = (*writer)->Put("k", "v2");
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  EXPECT_EQ(*put, 1);  // The first copy; the second is at 2.
  Result<log::Offset> next = (*writer)->Put("k", "v3");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, 3);
  ASSERT_TRUE(other->WaitApplied(3).has_value());
  auto late = Open(broker, "late");
  for (Client* c : {writer->get(), other.get(), late.get()}) {
    Result<VersionedValue> k = c->GetEntry("k");
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->value, "v3") << c->id();
    EXPECT_EQ(k->version, 3) << c->id();
  }
  EXPECT_EQ((*writer)->lost_writes(), 0u);
}

// The same append committed twice, and the log acknowledges the FIRST copy,
// late: this client's applier has read both copies (and skipped the second)
// before the acknowledgement arrives. The write took effect once, at the
// first copy: it returns that offset, and no data was lost.
TEST(ClientDedupTest, ADuplicateAcknowledgedAtItsFirstCopyAfterBothWereReadIsNoLoss) {
  log::sim::Broker broker;
  testing::LogControls controls;
  ClientOptions options;
  options.client_id = "writer";
  auto writer = Client::Open(testing::ControlledLog(broker.Connect(), controls), NewMemoryStorage(), options);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)->Put("k", "v1").has_value());  // Offset 0.
  controls.duplicate_appends = 1;  // Copies at 1 (acknowledgement lost) and 2.
  controls.ack_offset_shift = -1;  // The acknowledgement names the first, 1.
  controls.hold_acks = true;
  std::promise<Result<log::Offset>> done;
  (*writer)->PutAsync("k", "v2", [&](Result<log::Offset> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE((*writer)->WaitApplied(2).has_value());  // Both copies read.
  controls.hold_acks = false;
  controls.ReleaseAcks();
  Result<log::Offset> put = done.get_future().get();
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  EXPECT_EQ(*put, 1);
  EXPECT_EQ((*writer)->lost_writes(), 0u);
  Result<VersionedValue> k = (*writer)->GetEntry("k");
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->value, "v2");
  EXPECT_EQ(k->version, 1);
}

// The same, acknowledged at another write's record (offset 0, v1): the
// copies do not make that a sighting of this write, which is reported lost.
TEST(ClientDedupTest, ADuplicateAcknowledgedAtAnotherRecordIsStillALoss) {
  log::sim::Broker broker;
  testing::LogControls controls;
  ClientOptions options;
  options.client_id = "writer";
  auto writer = Client::Open(testing::ControlledLog(broker.Connect(), controls), NewMemoryStorage(), options);
  ASSERT_TRUE(writer.has_value());
  ASSERT_TRUE((*writer)->Put("k", "v1").has_value());  // Offset 0.
  controls.duplicate_appends = 1;  // Copies at 1 and 2.
  controls.ack_offset_shift = -2;  // The acknowledgement names 0.
  controls.hold_acks = true;
  std::promise<Result<log::Offset>> done;
  (*writer)->PutAsync("k", "v2", [&](Result<log::Offset> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE((*writer)->WaitApplied(2).has_value());
  controls.hold_acks = false;
  controls.ReleaseAcks();
  Result<log::Offset> put = done.get_future().get();
  ASSERT_FALSE(put.has_value()) << *put;
  EXPECT_EQ(put.error().code(), ErrorCode::kDataLoss) << put.error().ToString();
  EXPECT_EQ((*writer)->lost_writes(), 1u);
}

// A restarted writer with the same client id starts a new window: its new
// writes, numbered from a new base, are all applied.
TEST(ClientDedupTest, ARestartedWriterIsNotTakenForItsOldSelf) {
  log::sim::Broker broker;
  for (int life = 0; life < 3; ++life) {
    auto c = Open(broker, "same");
    for (int i = 0; i < 5; ++i) {
      const std::string key = fmt::format("k{}", i);
      ASSERT_TRUE(c->Put(key, fmt::format("life{}", life)).has_value());
    }
  }
  auto reader = Open(broker, "reader");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*reader->Get(fmt::format("k{}", i)), "life2");
  EXPECT_EQ(reader->AppliedPosition(), 15);
}

}  // namespace
}  // namespace kvlog::kv
