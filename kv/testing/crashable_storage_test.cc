#include "kv/testing/crashable_storage.h"

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/log_doubles.h"
#include "kv/testing/storage_conformance.h"
#include "log/sim/broker.h"

namespace kvlog::kv::testing {
namespace {

using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<Storage> MustOpen(std::shared_ptr<CrashableDisk> disk, SyncPolicy policy = {}) {
  auto store = OpenCrashableStorage(std::move(disk), policy);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Crashable, StorageConformance,
                         ::testing::Values(StorageParam{
                             "crashable", [] { return MustOpen(std::make_shared<CrashableDisk>()); }, 500}),
                         StorageParamName);

// What a store holds, durable bookkeeping included.
struct Snapshot {
  std::vector<KeyValue> data;
  int64_t position = 0;
  LogIdentity identity;
  Pairs meta;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

Snapshot Take(const Storage& store) {
  return {store.Range(KeyConstraint{}, {.versions = true}), store.Durable()->position, store.Durable()->identity,
          store.LoadMeta()};
}

// A few records of every kind, with the snapshot and disk size after each.
struct History {
  std::vector<Snapshot> after;      // after[i]: state after i records.
  std::vector<std::size_t> bytes;   // bytes[i]: disk size after i records.
};

History Write(Storage& store, const CrashableDisk& disk) {
  History h;
  auto mark = [&] {
    h.after.push_back(Take(store));
    h.bytes.push_back(disk.size());
  };
  mark();
  EXPECT_TRUE(store.SetIdentity({"topic", 0, 77}).has_value());
  mark();
  store.Apply(std::vector<Mutation>{{"a", "1", 0}, {"b", "2", 1}, {"c", "3", 2}}, 3,
              std::vector<MetaMutation>{{"w/1", "x"}});
  mark();
  store.Apply(std::vector<Mutation>{{"b", std::nullopt, 3}, {"d", "4", 4}}, 5,
              std::vector<MetaMutation>{{"w/1", std::nullopt}, {"w/2", "y"}});
  mark();
  store.Apply(std::vector<Mutation>{{"a", "one", 5}, {"e", std::string(40, 'e'), 6}}, 7);
  mark();
  EXPECT_TRUE(store.Clear().has_value());
  mark();
  store.Apply(std::vector<Mutation>{{"z", "26", 7}}, 8);
  mark();
  return h;
}

TEST(CrashableStorageTest, EveryCrashPointRecoversAWholePrefixOfTheRecordsNeverPartOfOne) {
  auto disk = std::make_shared<CrashableDisk>();
  History h;
  {
    auto store = MustOpen(disk, {.sync_every = 0});  // Nothing synced: a crash may cut anywhere.
    h = Write(*store, *disk);
  }
  ASSERT_EQ(disk->synced(), 0u);
  ASSERT_EQ(disk->records(), 6);
  std::size_t torn = 0;
  for (std::size_t cut = 0; cut <= disk->size(); ++cut) {
    auto crashed = std::make_shared<CrashableDisk>(*disk);
    crashed->Crash(cut);
    std::size_t whole = 0;  // Records wholly inside the cut.
    while (whole + 1 < h.bytes.size() && h.bytes[whole + 1] <= cut) ++whole;
    auto store = MustOpen(crashed);
    ASSERT_NE(store, nullptr) << "cut " << cut;
    EXPECT_EQ(Take(*store), h.after[whole]) << "cut at byte " << cut << " should keep " << whole << " records";
    EXPECT_EQ(crashed->size(), h.bytes[whole]) << "the torn tail is cut off the disk";
    EXPECT_EQ(crashed->records(), static_cast<int64_t>(whole));
    if (cut != h.bytes[whole]) ++torn;
    // The recovered store goes on writing after the truncated tail.
    store->Apply(std::vector<Mutation>{{"after", "crash", 100}}, 101);
    store.reset();
    auto reopened = MustOpen(crashed);
    EXPECT_EQ(reopened->Get("after"), "crash");
    EXPECT_EQ(reopened->Durable()->position, 101);
  }
  EXPECT_GT(torn, 100u) << "most cut points tear a record";
}

TEST(CrashableStorageTest, SyncPolicyDecidesWhatACrashLoses) {
  for (int every : {1, 3}) {
    auto disk = std::make_shared<CrashableDisk>();
    {
      auto store = MustOpen(disk, {.sync_every = every});
      for (int i = 0; i < 7; ++i) store->Apply(std::vector<Mutation>{{fmt::format("k{}", i), "v", i}}, i + 1);
    }
    disk->Crash(0);
    auto store = MustOpen(disk);
    const int kept = every == 1 ? 7 : 6;  // Synced after records 3 and 6.
    EXPECT_EQ(store->Durable()->position, kept) << "sync_every " << every;
    EXPECT_EQ(store->Size(), static_cast<std::size_t>(kept));
  }
}

TEST(CrashableStorageTest, AStoreFromBeforeACrashWritesNothing) {
  auto disk = std::make_shared<CrashableDisk>();
  auto old = MustOpen(disk);
  old->Apply(std::vector<Mutation>{{"a", "1", 0}}, 1);
  disk->Crash(0);
  old->Apply(std::vector<Mutation>{{"b", "2", 1}}, 2);  // Its process is dead.
  auto store = MustOpen(disk);
  EXPECT_EQ(store->Range(KeyConstraint{}, {}), (std::vector<KeyValue>{{"a", "1"}}));
  EXPECT_EQ(store->Durable()->position, 1);
}

TEST(CrashableStorageTest, DamageBeforeTheLastRecordIsRefusedNotSkipped) {
  auto disk = std::make_shared<CrashableDisk>();
  History h;
  {
    auto store = MustOpen(disk);
    h = Write(*store, *disk);
  }
  // A byte inside record 2's payload: intact records follow it.
  auto damaged = std::make_shared<CrashableDisk>(*disk);
  damaged->Damage(h.bytes[2] + 14);
  auto refused = OpenCrashableStorage(damaged, {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(refused.error().message(), HasSubstr(fmt::format("record 2 at byte {}", h.bytes[2])));
  EXPECT_THAT(refused.error().message(), HasSubstr("not a torn write"));
  EXPECT_EQ(damaged->size(), disk->size()) << "a refused open leaves the disk alone";

  // The same damage in the last record is indistinguishable from a torn
  // write: dropped, the store holds the records before it.
  auto last = std::make_shared<CrashableDisk>(*disk);
  last->Damage(h.bytes[5] + 14);
  auto store = MustOpen(last);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Take(*store), h.after[5]);

  auto bad = OpenCrashableStorage(std::make_shared<CrashableDisk>(), {.sync_every = -1});
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().message(), HasSubstr("sync_every is -1"));
}

// --- Clients on a crashable store -----------------------------------------

void WriteLog(log::sim::Broker& broker, int from, int to) {
  auto writer = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE((*writer)->Put(fmt::format("k{}", i % 23), fmt::format("v{}", i)).has_value());
    if (i % 4 == 0) {
      ASSERT_TRUE((*writer)->Delete(fmt::format("k{}", (i + 5) % 23)).has_value());
    }
  }
}

std::vector<KeyValue> FreshState(log::sim::Broker& broker) {
  auto fresh = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  EXPECT_TRUE(fresh.has_value()) << fresh.error().ToString();
  return fresh ? *(*fresh)->Range(KeyConstraint{}, {.versions = true}) : std::vector<KeyValue>{};
}

TEST(CrashableStorageClientTest, HintsForGiveADurableStoresLastAppliedRecordAndZeroForANewStore) {
  log::sim::Broker broker;
  auto disk = std::make_shared<CrashableDisk>();
  {
    auto store = MustOpen(disk, {.sync_every = 1});
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(Client::HintsFor(*store).first_read_offset, 0);
    EXPECT_EQ(Client::HintsFor(*store).reconnect_hint, "");
  }
  WriteLog(broker, 0, 30);
  {
    auto client = Client::Open(broker.Connect(), MustOpen(disk, {.sync_every = 1}), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    ASSERT_EQ((*client)->AppliedPosition(), broker.end_offset());
  }
  const int64_t end = broker.end_offset();
  auto store = MustOpen(disk, {.sync_every = 1});
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->Durable()->position, end);
  // Open's reader starts at the last record applied, to check it is the log's.
  EXPECT_EQ(Client::HintsFor(*store).first_read_offset, end - 1);
  EXPECT_EQ(Client::HintsFor(*store).reconnect_hint, "");  // The simulated log gives none.
  auto client = Client::Open(broker.Connect(), std::move(store), {});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  EXPECT_EQ((*client)->resumed_from(), end);
}

TEST(CrashableStorageClientTest, ADurableStoreKeepsTheReconnectHintOfTheLogItWasLastOpenedWith) {
  log::sim::Broker broker;
  auto disk = std::make_shared<CrashableDisk>();
  LogControls controls;
  // Opens a client on the store with a log whose hint is `hint`, writes and
  // closes; returns what the store then gives for the next restart.
  auto open_with = [&](std::string hint, int from, int to) {
    {
      std::lock_guard lock(controls.mu);
      controls.reconnect_hint = std::move(hint);
    }
    WriteLog(broker, from, to);
    {
      auto client = Client::Open(ControlledLog(broker.Connect(), controls), MustOpen(disk, {.sync_every = 1}), {});
      EXPECT_TRUE(client.has_value()) << client.error().ToString();
      if (client) {
        EXPECT_EQ((*client)->AppliedPosition(), broker.end_offset());
      }
    }
    auto store = MustOpen(disk, {.sync_every = 1});
    EXPECT_NE(store, nullptr);
    return store ? Client::HintsFor(*store) : Client::LogHints{};
  };
  Client::LogHints hints = open_with("broker-a:9092", 0, 10);
  EXPECT_EQ(hints.reconnect_hint, "broker-a:9092");
  EXPECT_EQ(hints.first_read_offset, broker.end_offset() - 1);
  // A log that moved: the new hint replaces the old.
  EXPECT_EQ(open_with("broker-b:9093", 10, 20).reconnect_hint, "broker-b:9093");
  // A log with no hint leaves the last one known (a hint is only ever a
  // guess; an older one is as good as none).
  EXPECT_EQ(open_with("", 20, 30).reconnect_hint, "broker-b:9093");
  // The store still resumes from its position: the hint is only metadata
  // (the applier's duplicate detection reads past it).
  auto client = Client::Open(broker.Connect(), MustOpen(disk, {.sync_every = 1}), {});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  EXPECT_EQ((*client)->resumed_from(), broker.end_offset());
}

TEST(CrashableStorageClientTest, AClientRestartedAfterACrashReplaysWhatTheCrashLostAndConverges) {
  log::sim::Broker broker;
  auto disk = std::make_shared<CrashableDisk>();
  // Three rounds of writing and catching up, so the journal holds several
  // applied batches; none of it synced.
  for (int round = 0; round < 3; ++round) {
    WriteLog(broker, 30 * round, 30 * round + 30);
    auto client = Client::Open(broker.Connect(), MustOpen(disk, {.sync_every = 0}), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    ASSERT_EQ((*client)->AppliedPosition(), broker.end_offset());
  }
  ASSERT_GE(disk->records(), 4);
  WriteLog(broker, 90, 120);
  const std::vector<KeyValue> want = FreshState(broker);
  // Crash at several points of the unsynced journal: nothing kept, a torn
  // record, half, all of it.
  std::set<int64_t> positions;
  for (std::size_t keep : {std::size_t{0}, std::size_t{30}, disk->size() / 3, disk->size() * 2 / 3, disk->size()}) {
    auto crashed = std::make_shared<CrashableDisk>(*disk);
    crashed->Crash(keep);
    auto store = MustOpen(crashed, {.sync_every = 1});
    ASSERT_NE(store, nullptr);
    const int64_t recovered = store->Durable()->position;
    positions.insert(recovered);
    auto client = Client::Open(broker.Connect(), std::move(store), {});
    ASSERT_TRUE(client.has_value()) << "keep " << keep << ": " << client.error().ToString();
    EXPECT_EQ((*client)->resumed_from(), recovered) << "keep " << keep;
    EXPECT_EQ((*client)->AppliedPosition(), broker.end_offset());
    EXPECT_EQ(*(*client)->Range(KeyConstraint{}, {.versions = true}), want) << "keep " << keep;
  }
  // From nothing, from the middle rounds and from the last.
  EXPECT_GE(positions.size(), 3u);
  EXPECT_EQ(*positions.begin(), 0);
}

TEST(CrashableStorageClientTest, ARecoveredStoreOpenedOnAnotherLogIsRefused) {
  log::sim::Broker broker;
  WriteLog(broker, 0, 20);
  auto disk = std::make_shared<CrashableDisk>();
  {
    auto client = Client::Open(broker.Connect(), MustOpen(disk, {.sync_every = 2}), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
  }
  disk->Crash(5);
  log::sim::Broker other;
  WriteLog(other, 100, 140);
  auto client = Client::Open(other.Connect(), MustOpen(disk), {});
  ASSERT_FALSE(client.has_value()) << "a store of another log must not be resumed";
  EXPECT_EQ(client.error().code(), ErrorCode::kFailedPrecondition) << client.error().ToString();
}

}  // namespace
}  // namespace kvlog::kv::testing
