// kv::Client over a durable store on the simulated log (real threads): resume
// from the stored position, the checks on open, rebuild, duplicates across a
// restart, checkpoints. Every durable store runs it (kv/rocksdb, kv/lmdb):
// its test target links this suite and defines OpenDurableStore.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/command.h"
#include "kv/memory_storage.h"
#include "kv/testing/scratch_dir.h"
#include "kv/testing/durable_conformance.h"
#include "log/sim/broker.h"

namespace kvlog::kv::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;


std::unique_ptr<Storage> Store(const std::string& dir) {
  auto store = OpenDurableStore(dir);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store ? std::move(*store) : nullptr;
}

// Options that count the records a client applies (its hooks fire once per
// applied write, start-up replay included).
ClientOptions Counting(std::atomic<int>* applied) {
  ClientOptions options;
  options.on_set = [applied](std::string_view, std::string_view, log::Offset) { ++*applied; };
  options.on_delete = [applied](std::string_view, log::Offset) { ++*applied; };
  return options;
}

void Write(log::sim::Broker& broker, int from, int to, std::string_view prefix = "k") {
  auto writer = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE((*writer)->Put(fmt::format("{}{}", prefix, i % 37), fmt::format("v{}", i)).has_value());
    if (i % 5 == 0) {
      ASSERT_TRUE((*writer)->Delete(fmt::format("{}{}", prefix, (i + 3) % 37)).has_value());
    }
  }
}

// Every key with its version, as a fresh in-memory replay of the log sees it.
std::vector<KeyValue> FreshState(log::sim::Broker& broker, ClientOptions options = {}) {
  auto fresh = Client::Open(broker.Connect(), NewMemoryStorage(), options);
  EXPECT_TRUE(fresh.has_value()) << fresh.error().ToString();
  if (!fresh) return {};
  return *(*fresh)->Range(KeyConstraint{}, {.versions = true});
}

std::vector<KeyValue> State(Client& client) { return *client.Range(KeyConstraint{}, {.versions = true}); }

// A log that records where each of its readers was opened.
class ReaderCountingLog final : public log::Log {
 public:
  ReaderCountingLog(std::unique_ptr<log::Log> log, std::vector<log::Offset>* opened)
      : log_(std::move(log)), opened_(opened) {}
  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    log_->Append(records, std::move(done));
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    opened_->push_back(from);
    return log_->OpenReader(from, options);
  }
  Result<log::Offset> EndOffset(Duration timeout) override { return log_->EndOffset(timeout); }
  void Close() override { log_->Close(); }
  std::string Name() const override { return log_->Name(); }

 private:
  std::unique_ptr<log::Log> log_;
  std::vector<log::Offset>* opened_;
};

// A log whose end offset cannot be read (a producer that cannot reach the
// leader): only a reader's fetch tells the end.
class NoEndOffsetLog final : public log::Log {
 public:
  NoEndOffsetLog(std::unique_ptr<log::Log> log, std::atomic<int>* asked) : log_(std::move(log)), asked_(asked) {}
  void Append(std::span<const log::Record> records, log::AppendCallback done) override {
    log_->Append(records, std::move(done));
  }
  using log::Log::OpenReader;
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset from, const log::ReadOptions& options) override {
    return log_->OpenReader(from, options);
  }
  Result<log::Offset> EndOffset(Duration) override {
    ++*asked_;
    return MakeError(ErrorCode::kUnavailable, "test: the end offset cannot be read");
  }
  void Close() override { log_->Close(); }
  std::string Name() const override { return log_->Name(); }

 private:
  std::unique_ptr<log::Log> log_;
  std::atomic<int>* asked_;
};

TEST(DurableClientTest, ARestartTakesTheEndFromTheTailReadersFetch) {
  log::sim::Broker broker;
  Write(broker, 0, 60);
  const std::string dir = NewScratchDir("known-end");
  log::Offset position = 0;
  {
    auto client = Client::Open(broker.Connect(), Store(dir), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    position = (*client)->AppliedPosition();
  }
  Write(broker, 60, 80);
  ASSERT_GT(broker.end_offset(), position);
  std::atomic<int> asked{0};
  auto client = Client::Open(std::make_unique<NoEndOffsetLog>(broker.Connect(), &asked), Store(dir), {});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  EXPECT_EQ(asked.load(), 0);  // Never asked: the reader's fetch told the end.
  EXPECT_EQ((*client)->resumed_from(), position);
  EXPECT_EQ((*client)->AppliedPosition(), broker.end_offset());  // The whole tail, not less.
  EXPECT_EQ(State(**client), FreshState(broker));

  // A fresh store has no last record: the end is queried, and its error stands.
  auto fresh = Client::Open(std::make_unique<NoEndOffsetLog>(broker.Connect(), &asked), NewMemoryStorage(), {});
  ASSERT_FALSE(fresh.has_value());
  EXPECT_THAT(fresh.error().message(), HasSubstr("the end offset cannot be read"));
  EXPECT_EQ(asked.load(), 1);
}

TEST(DurableClientTest, AStorePastTheEndAReaderSawIsRefused) {
  log::sim::Broker long_log;
  Write(long_log, 0, 40);
  const std::string dir = NewScratchDir("past-known-end");
  ASSERT_TRUE(Client::Open(long_log.Connect(), Store(dir), {}).has_value());

  log::sim::Broker short_log;
  Write(short_log, 0, 5, "other");
  std::atomic<int> asked{0};
  auto refused = Client::Open(std::make_unique<NoEndOffsetLog>(short_log.Connect(), &asked), Store(dir), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(asked.load(), 0);
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr(fmt::format("position {} is past the end of the log ({})",
                                                               long_log.end_offset(), short_log.end_offset())));
}

TEST(DurableClientTest, ReopeningReplaysOnlyTheTailAndMatchesAFullReplay) {
  log::sim::Broker broker;
  Write(broker, 0, 100);
  const std::string dir = NewScratchDir("tail");
  log::Offset first_end = 0;
  {
    std::atomic<int> applied{0};
    auto client = Client::Open(broker.Connect(), Store(dir), Counting(&applied));
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    EXPECT_EQ((*client)->resumed_from(), 0);
    first_end = (*client)->AppliedPosition();
    EXPECT_EQ(first_end, broker.end_offset());
    EXPECT_EQ(applied.load(), first_end);  // Every record, once.
  }
  Write(broker, 100, 130);
  const int tail = static_cast<int>(broker.end_offset() - first_end);
  ASSERT_GT(tail, 30);
  std::atomic<int> applied{0};
  auto client = Client::Open(broker.Connect(), Store(dir), Counting(&applied));
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  EXPECT_EQ((*client)->resumed_from(), first_end);
  EXPECT_EQ(applied.load(), tail);  // Only the tail.
  EXPECT_EQ((*client)->AppliedPosition(), broker.end_offset());
  EXPECT_EQ(State(**client), FreshState(broker));
  // It keeps applying (and storing) as an ordinary client.
  ASSERT_TRUE((*client)->Put("after", "1").has_value());
  EXPECT_EQ((*client)->storage().Durable()->position, broker.end_offset());
}

TEST(DurableClientTest, ARestartChecksTheStoreWithTheTailsReaderAlone) {
  log::sim::Broker broker;
  Write(broker, 0, 50);
  const std::string dir = NewScratchDir("one-reader");
  log::Offset position = 0;
  {
    auto client = Client::Open(broker.Connect(), Store(dir), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    position = (*client)->AppliedPosition();
  }
  Write(broker, 50, 60);
  ASSERT_GT(broker.end_offset(), position);
  std::vector<log::Offset> opened;
  auto client = Client::Open(std::make_unique<ReaderCountingLog>(broker.Connect(), &opened), Store(dir), {});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  EXPECT_EQ((*client)->resumed_from(), position);
  // One reader, at the store's last record (just below its position): it
  // checks the store's identity and then reads the tail. No probe at the
  // store's first record.
  EXPECT_EQ(opened, std::vector<log::Offset>{position - 1});
  EXPECT_EQ((*client)->AppliedPosition(), broker.end_offset());
  EXPECT_EQ(State(**client), FreshState(broker));
}

TEST(DurableClientTest, AStoreOfALogThatDivergedAfterItsFirstRecordIsRefusedByItsLastRecord) {
  log::sim::Broker mine;
  Write(mine, 0, 10);
  const std::string dir = NewScratchDir("diverged");
  log::Offset position = 0;
  {
    auto client = Client::Open(mine.Connect(), Store(dir), {});
    ASSERT_TRUE(client.has_value()) << client.error().ToString();
    position = (*client)->AppliedPosition();
  }
  // The same first records (same keys and values), then others: longer than
  // the store's position, so only the last record tells them apart.
  log::sim::Broker other;
  Write(other, 0, 5);
  Write(other, 5, 60, "other");
  ASSERT_GT(other.end_offset(), position);
  auto refused = Client::Open(other.Connect(), Store(dir), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(),
              HasSubstr(fmt::format("record at offset {} of the log is not the one the store applied last",
                                    position - 1)));

  ClientOptions rebuild;
  rebuild.rebuild_mismatched_store = true;
  rebuild.logger = [](LogLevel, std::string_view) {};
  auto rebuilt = Client::Open(other.Connect(), Store(dir), rebuild);
  ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().ToString();
  EXPECT_EQ((*rebuilt)->resumed_from(), 0);
  EXPECT_EQ(State(**rebuilt), FreshState(other));
}

TEST(DurableClientTest, AStorePastTheLogsEndIsRefusedOrRebuilt) {
  log::sim::Broker long_log;
  Write(long_log, 0, 40);
  const std::string dir = NewScratchDir("past-end");
  ASSERT_TRUE(Client::Open(long_log.Connect(), Store(dir), {}).has_value());

  log::sim::Broker short_log;
  Write(short_log, 0, 5, "other");
  auto refused = Client::Open(short_log.Connect(), Store(dir), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr(fmt::format("position {} is past the end of the log ({})",
                                                               long_log.end_offset(), short_log.end_offset())));
  // Refusing left the store alone: it still opens against its own log.
  ASSERT_TRUE(Client::Open(long_log.Connect(), Store(dir), {}).has_value());

  ClientOptions rebuild;
  rebuild.rebuild_mismatched_store = true;
  std::vector<std::string> warnings;
  rebuild.logger = [&](LogLevel, std::string_view m) { warnings.emplace_back(m); };
  auto rebuilt = Client::Open(short_log.Connect(), Store(dir), rebuild);
  ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().ToString();
  EXPECT_EQ((*rebuilt)->resumed_from(), 0);
  EXPECT_EQ(State(**rebuilt), FreshState(short_log));
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings.front(), HasSubstr("rebuilding the store"));
}

TEST(DurableClientTest, AStoreOfAnotherLogIsRefusedByItsFirstRecord) {
  log::sim::Broker mine;
  Write(mine, 0, 10);
  const std::string dir = NewScratchDir("other-log");
  ASSERT_TRUE(Client::Open(mine.Connect(), Store(dir), {}).has_value());

  // Longer than the store's position, so only the identity tells them apart.
  log::sim::Broker other;
  Write(other, 0, 60, "other");
  auto refused = Client::Open(other.Connect(), Store(dir), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(refused.error().message(), HasSubstr("record at offset 0 of the log is not the one the store applied first"));

  ClientOptions rebuild;
  rebuild.rebuild_mismatched_store = true;
  rebuild.logger = [](LogLevel, std::string_view) {};
  auto rebuilt = Client::Open(other.Connect(), Store(dir), rebuild);
  ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().ToString();
  EXPECT_EQ(State(**rebuilt), FreshState(other));
  // The rebuilt store now belongs to `other`, and refuses `mine`.
  rebuilt->reset();
  auto back = Client::Open(mine.Connect(), Store(dir), {});
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().code(), ErrorCode::kFailedPrecondition);
}

TEST(DurableClientTest, ALogWhoseStartMovedPastTheStoreIsRefusedOrRebuilt) {
  log::sim::Broker broker;
  Write(broker, 0, 10);
  const std::string dir = NewScratchDir("start-moved");
  log::Offset stored = 0;
  {
    auto client = Client::Open(broker.Connect(), Store(dir), {});
    ASSERT_TRUE(client.has_value());
    stored = (*client)->AppliedPosition();
  }
  Write(broker, 10, 30);
  broker.DeleteRecordsBefore(stored + 5);
  ClientOptions quiet;
  quiet.logger = [](LogLevel, std::string_view) {};
  auto refused = Client::Open(broker.Connect(), Store(dir), quiet);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kDataLoss);
  EXPECT_THAT(refused.error().message(),
              HasSubstr(fmt::format("moved past the store's position {}: records the store never applied were deleted",
                                    stored)));

  // Rebuilt as a new replica would be: from the log's start, skipping what
  // was deleted when asked to.
  ClientOptions rebuild = quiet;
  rebuild.rebuild_mismatched_store = true;
  auto without_skip = Client::Open(broker.Connect(), Store(dir), rebuild);
  ASSERT_FALSE(without_skip.has_value());
  EXPECT_EQ(without_skip.error().code(), ErrorCode::kDataLoss);  // A new replica fails the same way.
  rebuild.skip_deleted_records = true;
  auto rebuilt = Client::Open(broker.Connect(), Store(dir), rebuild);
  ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().ToString();
  EXPECT_EQ(State(**rebuilt), FreshState(broker, rebuild));
}

// A new store on a log whose start moved: Open fails, and the store keeps
// no position past the records it lacks (a later open must not resume there).
TEST(DurableClientTest, AFailedStartUpReplayLeavesNoPositionPastDeletedRecords) {
  log::sim::Broker broker;
  Write(broker, 0, 30);
  broker.DeleteRecordsBefore(10);
  const std::string dir = NewScratchDir("fresh-deleted");
  ClientOptions quiet;
  quiet.logger = [](LogLevel, std::string_view) {};
  auto refused = Client::Open(broker.Connect(), Store(dir), quiet);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kDataLoss);
  auto store = Store(dir);
  EXPECT_LT(store->Durable()->position, 10);
  auto again = Client::Open(broker.Connect(), std::move(store), quiet);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), ErrorCode::kDataLoss);
}

// A conditional write's duplicate (a producer retry committed twice) must be
// recognised after a restart too: the store keeps the applier's record of
// decided commands beside its data.
TEST(DurableClientTest, ADuplicateCommandAfterARestartIsStillIgnored) {
  log::sim::Broker broker;
  auto log = broker.Connect();
  auto append = [&](const log::Record& record) {
    std::atomic<bool> done{false};
    log->Append(std::span(&record, 1), [&](log::AppendResult r) {
      EXPECT_TRUE(r.has_value());
      done = true;
    });
    while (!done.load()) broker.runtime().SleepFor(std::chrono::milliseconds(1));
  };
  internal::Command txn;
  txn.writer = "w@1";
  txn.seq = 7;
  txn.compares.push_back({"a", internal::CommandCompare::Kind::kPresent, kNoVersion});
  txn.then_writes.push_back({"then", "1"});
  txn.else_writes.push_back({"else", "1"});
  const log::Record command{internal::CommandRecordKey(txn), internal::EncodeCommand(txn), {}};
  append(command);                              // 'a' absent: the else branch.
  append(log::Record{"a", "present", {}});
  const std::string dir = NewScratchDir("dedup");
  ASSERT_TRUE(Client::Open(broker.Connect(), Store(dir), {}).has_value());
  append(command);  // The duplicate: 'a' is present now, but it was decided already.
  auto resumed = Client::Open(broker.Connect(), Store(dir), {});
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ((*resumed)->resumed_from(), 2);
  EXPECT_EQ((*resumed)->Get("then").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(State(**resumed), FreshState(broker));
}

TEST(DurableClientTest, ANewReplicaStartsFromACopiedCheckpointAndReplaysOnlyTheTail) {
  log::sim::Broker broker;
  Write(broker, 0, 80);
  const std::string origin = NewScratchDir("replica-a");
  const std::string copy = NewScratchDir("checkpoint");
  log::Offset at = 0;
  {
    auto a = Client::Open(broker.Connect(), Store(origin), {});
    ASSERT_TRUE(a.has_value());
    auto checkpoint = (*a)->Checkpoint(copy);
    ASSERT_TRUE(checkpoint.has_value()) << checkpoint.error().ToString();
    at = *checkpoint;
    EXPECT_EQ(at, (*a)->AppliedPosition());
    Write(broker, 80, 95);  // While replica a keeps going.
  }
  // Moved elsewhere: a copy of the directory opens like the original.
  const std::string moved = NewScratchDir("replica-b");
  fs::copy(copy, moved, fs::copy_options::recursive);
  std::atomic<int> applied{0};
  auto b = Client::Open(broker.Connect(), Store(moved), Counting(&applied));
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_EQ((*b)->resumed_from(), at);
  EXPECT_EQ(applied.load(), broker.end_offset() - at);
  EXPECT_EQ(State(**b), FreshState(broker));

  // A memory store has nothing to copy.
  auto memory = Client::Open(broker.Connect(), NewMemoryStorage(), {});
  ASSERT_TRUE(memory.has_value());
  auto refused = (*memory)->Checkpoint(NewScratchDir("nothing"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kvlog::kv::testing
