// TTL: the deadline travels in the record; stored state never depends on a
// replica's clock; reads hide expired keys by the local wall clock; the
// janitor removes them through the log with conditional tombstones.
#include "kv/ttl.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/command.h"
#include "kv/memory_storage.h"
#include "log/sim/broker.h"

namespace kvlog::kv {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int64_t kStart = 1'800'000'000'000'000'000;  // A wall time, ns since the epoch.

// Real threads and steady time, with a wall clock the test sets.
class ManualWallRuntime final : public Runtime {
 public:
  explicit ManualWallRuntime(int64_t wall_ns = kStart) : wall_(wall_ns) {}
  void Set(int64_t ns) { wall_.store(ns); }
  void Advance(Duration d) { wall_.fetch_add(d.count()); }
  int64_t wall() const { return wall_.load(); }

  TimePoint Now() override { return base_.Now(); }
  WallTime WallNow() override { return WallTime(Duration(wall_.load())); }
  void SleepUntil(TimePoint deadline) override { base_.SleepUntil(deadline); }
  std::unique_ptr<Task> Spawn(std::string name, std::function<void()> body) override {
    return base_.Spawn(std::move(name), std::move(body));
  }
  std::unique_ptr<Mutex> NewMutex() override { return base_.NewMutex(); }
  std::unique_ptr<CondVar> NewCondVar() override { return base_.NewCondVar(); }

 private:
  Runtime& base_ = Runtime::Real();
  std::atomic<int64_t> wall_;
};

std::unique_ptr<Client> OpenOn(log::sim::Broker& broker, ManualWallRuntime& rt, ClientOptions options = {}) {
  options.runtime = &rt;
  auto client = Client::Open(broker.Connect(), NewMemoryStorage(), std::move(options));
  EXPECT_TRUE(client.has_value()) << client.error().ToString();
  return client ? std::move(*client) : nullptr;
}

ClientOptions NoJanitor() {
  ClientOptions o;
  o.janitor_interval = 0ns;
  return o;
}

std::vector<log::Record> LogRecords(log::sim::Broker& broker) {
  std::vector<log::Record> out;
  broker.VisitLogAsWritten([&](const log::sim::StoredEntry& e) {
    if (e.record) out.push_back(*e.record);
  });
  return out;
}

TEST(TtlValueTest, EnvelopesRoundTripAndPlainValuesStayPlain) {
  const std::string env = internal::EncodeTtlValue(kStart + 5, "hello");
  EXPECT_TRUE(internal::IsTtlEnvelope(env));
  EXPECT_EQ(env.size(), internal::kTtlHeaderBytes + 5);
  auto decoded = internal::DecodeStoredValue(env);
  EXPECT_EQ(decoded.value, "hello");
  EXPECT_EQ(decoded.deadline_ns, kStart + 5);
  EXPECT_FALSE(decoded.ExpiredAt(kStart + 4));
  EXPECT_TRUE(decoded.ExpiredAt(kStart + 5));
  // Plain values: themselves, never expiring, stored as is.
  for (std::string_view plain : {std::string_view(""), std::string_view("v"), internal::kCommandMagic}) {
    auto d = internal::DecodeStoredValue(plain);
    EXPECT_EQ(d.value, plain);
    EXPECT_EQ(d.deadline_ns, 0);
    EXPECT_EQ(internal::StoredForm(plain, 0), plain);
  }
  // A value that looks like an envelope is wrapped in one without deadline.
  const std::string lookalike = std::string(internal::kTtlMagic) + "12345678rest";
  const std::string stored = internal::StoredForm(lookalike, 0);
  EXPECT_NE(stored, lookalike);
  EXPECT_EQ(internal::DecodeStoredValue(stored).value, lookalike);
  EXPECT_EQ(internal::DecodeStoredValue(stored).deadline_ns, 0);
}

TEST(TtlClientTest, APutWithTtlIsHiddenByEveryReadOnceTheWallClockReachesItsDeadline) {
  ManualWallRuntime rt;
  log::sim::Broker broker;
  auto c = OpenOn(broker, rt, NoJanitor());
  auto v = c->Put("k", "v", {.ttl = 10s});
  ASSERT_TRUE(v.has_value()) << v.error().ToString();
  ASSERT_TRUE(c->Put("plain", "p").has_value());
  ASSERT_TRUE(c->Put("a", "1", {.ttl = 1s}).has_value());
  ASSERT_TRUE(c->Put("b", "2", {.ttl = 1s}).has_value());
  ASSERT_TRUE(c->Put("c", "3", {.ttl = 100s}).has_value());
  ASSERT_TRUE(c->Put("y", "4", {.ttl = 1s}).has_value());
  ASSERT_TRUE(c->Put("z", "5", {.ttl = 1s}).has_value());

  EXPECT_EQ(c->Get("k").value_or(""), "v");
  EXPECT_EQ(c->GetEntry("k")->version, *v);
  auto ttl = c->TimeToLive("k");
  ASSERT_TRUE(ttl.has_value());
  EXPECT_EQ(**ttl, 10s);
  EXPECT_EQ(*c->TimeToLive("plain"), std::nullopt);

  rt.Advance(9999ms);
  EXPECT_EQ(c->Get("k").value_or(""), "v");
  // a and b expired: hidden by Get, GetEntry, MultiGet, Range (also with a
  // limit that the hidden keys would have used up), and TimeToLive.
  EXPECT_EQ(c->Get("a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(c->GetEntry("b").error().code(), ErrorCode::kNotFound);
  std::string buffer = "old";
  EXPECT_FALSE(c->Get("a", &buffer).has_value());
  std::vector<std::string_view> keys = {"a", "k", "b", "plain"};
  std::vector<std::optional<std::string>> values;
  ASSERT_TRUE(c->MultiGet(keys, &values).has_value());
  EXPECT_EQ(values, (std::vector<std::optional<std::string>>{std::nullopt, "v", std::nullopt, "p"}));
  auto all = c->Range(KeyConstraint{}, QueryOptions{.limit = 2});
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "c");
  EXPECT_EQ((*all)[0].value, "3");
  EXPECT_EQ((*all)[1].key, "k");
  EXPECT_EQ(c->Range(KeyConstraint{})->size(), 3u);
  // Reverse: the greatest keys (y, z) expired, so the limit reads past them.
  auto last = c->Range(KeyConstraint{}, QueryOptions{.limit = 2, .reverse = true});
  ASSERT_TRUE(last.has_value());
  ASSERT_EQ(last->size(), 2u);
  EXPECT_EQ((*last)[0].key, "plain");
  EXPECT_EQ((*last)[1].key, "k");
  EXPECT_EQ(c->TimeToLive("a").error().code(), ErrorCode::kNotFound);

  rt.Advance(1ms);
  EXPECT_EQ(c->Get("k").error().code(), ErrorCode::kNotFound);
  // The store still holds it: state does not depend on the clock. Only the
  // janitor's tombstone (off here) removes it.
  EXPECT_EQ(c->storage().Size(), 7u);
}

TEST(TtlClientTest, TheDeadlineTravelsInTheRecordSoReplicasStoreTheSameWhateverTheirClocks) {
  ManualWallRuntime writer_clock(kStart), fast_clock(kStart + std::chrono::nanoseconds(5s).count());
  log::sim::Broker broker;
  auto writer = OpenOn(broker, writer_clock, NoJanitor());
  auto fast = OpenOn(broker, fast_clock, NoJanitor());
  auto put = writer->Put("k", "v", {.ttl = 3s});
  ASSERT_TRUE(put.has_value());
  ASSERT_TRUE(fast->WaitApplied(*put).has_value());
  // Same stored bytes (the envelope with the writer's deadline) on both.
  auto a = writer->storage().GetEntry("k");
  auto b = fast->storage().GetEntry("k");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(internal::DecodeStoredValue(a->value).deadline_ns, kStart + std::chrono::nanoseconds(3s).count());
  // Only when each hides it differs: the fast clock is past the deadline.
  EXPECT_EQ(writer->Get("k").value_or(""), "v");
  EXPECT_EQ(fast->Get("k").error().code(), ErrorCode::kNotFound);
  // A replica opened later replays the same state.
  auto later = OpenOn(broker, fast_clock, NoJanitor());
  EXPECT_EQ(*later->storage().GetEntry("k"), *a);
}

TEST(TtlClientTest, RecordsWithoutTtlAreWrittenAsBeforeAndLookalikeValuesSurviveEveryWritePath) {
  ManualWallRuntime rt;
  log::sim::Broker broker;
  auto c = OpenOn(broker, rt, NoJanitor());
  ASSERT_TRUE(c->Put("plain", "value").has_value());
  std::vector<log::Record> records = LogRecords(broker);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "plain");
  EXPECT_EQ(records[0].value, "value");  // No envelope, no marker: a plain Kafka record.

  ASSERT_TRUE(c->Put("ttl", "value", {.ttl = 1s}).has_value());
  records = LogRecords(broker);
  EXPECT_EQ(records[1].key, "ttl");  // Keyed by the user key: compaction supersedes it as usual.
  EXPECT_TRUE(internal::IsTtlEnvelope(*records[1].value));

  const std::string lookalike = std::string(internal::kTtlMagic) + "\x7f\xff\xff\xff\xff\xff\xff\xff" + "tail";
  auto v = c->Put("l1", lookalike);
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(c->PutIf("l1", lookalike + "2", *v).has_value());
  ASSERT_TRUE(c->PutIfAbsent("l2", lookalike).has_value());
  ASSERT_TRUE(c->Transaction().If(Condition::Absent("l3")).Put("l3", lookalike).Commit()->succeeded);
  ASSERT_TRUE(c->Batch().Put("l4", lookalike).Atomic().Execute().has_value());
  ASSERT_TRUE(c->Batch().Put("l5", lookalike).Execute().has_value());
  rt.Advance(1000000h);
  EXPECT_EQ(c->Get("l1").value_or(""), lookalike + "2");
  for (std::string k : {"l2", "l3", "l4", "l5"}) EXPECT_EQ(c->Get(k).value_or(""), lookalike) << k;
  EXPECT_EQ(*c->TimeToLive("l2"), std::nullopt);
}

TEST(TtlClientTest, ExpirePersistAndTheirErrors) {
  ManualWallRuntime rt;
  log::sim::Broker broker;
  auto c = OpenOn(broker, rt, NoJanitor());
  ASSERT_TRUE(c->Put("k", "v").has_value());
  auto expired = c->Expire("k", 2s);
  ASSERT_TRUE(expired.has_value()) << expired.error().ToString();
  EXPECT_EQ(c->GetEntry("k")->version, *expired);
  EXPECT_EQ(**c->TimeToLive("k"), 2s);
  EXPECT_EQ(c->Get("k").value_or(""), "v");

  auto persisted = c->Persist("k");
  ASSERT_TRUE(persisted.has_value());
  EXPECT_GT(*persisted, *expired);
  EXPECT_EQ(*c->TimeToLive("k"), std::nullopt);
  EXPECT_EQ(*c->Persist("k"), *persisted);  // No deadline: nothing written.
  rt.Advance(10s);
  EXPECT_EQ(c->Get("k").value_or(""), "v");

  ASSERT_TRUE(c->Expire("k", 1s).has_value());
  rt.Advance(1s);
  EXPECT_EQ(c->Expire("k", 5s).error().code(), ErrorCode::kNotFound);  // Expired stays expired.
  EXPECT_EQ(c->Persist("k").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(c->Expire("missing", 1s).error().code(), ErrorCode::kNotFound);

  auto zero = c->Expire("k", 0s);
  EXPECT_EQ(zero.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(zero.error().message(), HasSubstr("positive"));
  auto negative = c->Put("n", "v", {.ttl = -1s});
  EXPECT_EQ(negative.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(negative.error().message(), HasSubstr("ttl is negative"));
  auto del = c->Delete("n", {.ttl = 1s});
  EXPECT_EQ(del.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(del.error().message(), HasSubstr("no value"));
  EXPECT_EQ(c->Put("n", "v", {.ttl = std::chrono::nanoseconds(INT64_MAX)}).error().code(),
            ErrorCode::kInvalidArgument);
  auto batch = c->Batch().Put("n", "v").Execute({.ttl = 1s});
  EXPECT_EQ(batch.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(batch.error().message(), HasSubstr("not to a batch"));
  EXPECT_EQ(c->Transaction().Put("n", "v").Commit({.ttl = 1s}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c->DeleteIf("n", 0, {.ttl = 1s}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(c->Get("n").error().code(), ErrorCode::kNotFound);  // Nothing was appended.
}

TEST(TtlClientTest, ConditionalPutsCarryTtlAndHooksSeeTheUsersValue) {
  ManualWallRuntime rt;
  log::sim::Broker broker;
  std::mutex mu;
  std::vector<std::string> seen;
  ClientOptions options = NoJanitor();
  options.on_set = [&](std::string_view key, std::string_view value, log::Offset) {
    std::lock_guard lock(mu);
    seen.push_back(std::string(key) + "=" + std::string(value));
  };
  auto c = OpenOn(broker, rt, options);
  auto v = c->PutIfAbsent("k", "v1", {.ttl = 5s});
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(c->PutIf("k", "v2", *v, {.ttl = 1s}).has_value());
  EXPECT_EQ(**c->TimeToLive("k"), 1s);
  ASSERT_TRUE(c->Update("k", [](const std::optional<std::string>& cur) -> Result<std::string> {
                  return cur.value_or("none") + "+";
                }).has_value());
  EXPECT_EQ(c->Get("k").value_or(""), "v2+");
  EXPECT_EQ(*c->TimeToLive("k"), std::nullopt);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"k=v1", "k=v2", "k=v2+"}));
}

// Polls until `done` or a few seconds pass.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(TtlJanitorTest, TheJanitorRemovesExpiredKeysThroughTheLogOnEveryReplicaAndARestartDoesNotResurrect) {
  ManualWallRuntime rt;
  log::sim::Broker broker;
  std::mutex mu;
  std::vector<std::string> expired;
  ClientOptions options;
  options.janitor_interval = 20ms;
  options.on_expire = [&](std::string_view key, log::Offset version, log::Offset offset) {
    std::lock_guard lock(mu);
    expired.push_back(fmt::format("{}@{}<{}", key, version, offset));
  };
  auto a = OpenOn(broker, rt, options);
  auto b = OpenOn(broker, rt, NoJanitor());
  auto put = a->Put("k", "v", {.ttl = 1s});
  ASSERT_TRUE(put.has_value());
  auto keep = a->Put("keep", "v", {.ttl = 1h});
  ASSERT_TRUE(keep.has_value());
  std::this_thread::sleep_for(100ms);  // Several janitor rounds: nothing is due.
  EXPECT_EQ(a->storage().Size(), 2u);
  rt.Advance(1s);
  ASSERT_TRUE(Eventually([&] { return a->storage().Size() == 1u; }));
  ASSERT_TRUE(b->Sync().has_value());
  EXPECT_FALSE(b->storage().Get("k").has_value());  // Removed through the log on b too.
  EXPECT_TRUE(b->storage().Get("keep").has_value());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_THAT(expired[0], HasSubstr(fmt::format("k@{}<", *put)));
  }
  // The tombstone is a conditional delete at the expired version.
  std::vector<log::Record> records = LogRecords(broker);
  ASSERT_EQ(records.size(), 3u);
  auto command = internal::DecodeCommand(*records[2].value);
  ASSERT_TRUE(command.has_value());
  EXPECT_TRUE(internal::IsExpiryWriter(command->writer));
  ASSERT_EQ(command->compares.size(), 1u);
  EXPECT_EQ(command->compares[0].kind, internal::CommandCompare::Kind::kVersion);
  EXPECT_EQ(command->compares[0].version, *put);
  // A replica that starts now, with a clock far behind, replays the
  // tombstone: the key is not resurrected.
  ManualWallRuntime slow(kStart - std::chrono::nanoseconds(1h).count());
  auto restarted = OpenOn(broker, slow, NoJanitor());
  EXPECT_FALSE(restarted->storage().Get("k").has_value());
  EXPECT_EQ(restarted->Get("k").error().code(), ErrorCode::kNotFound);
}

TEST(TtlJanitorTest, ATombstoneAtAnOldVersionLosesToANewerWriteOnEveryReplica) {
  ManualWallRuntime rt;
  log::sim::Broker broker;
  std::atomic<int> expiries{0};
  ClientOptions options = NoJanitor();
  options.on_expire = [&](std::string_view, log::Offset, log::Offset) { ++expiries; };
  auto a = OpenOn(broker, rt, options);
  auto first = a->Put("k", "v1", {.ttl = 1s});
  ASSERT_TRUE(first.has_value());
  rt.Advance(2s);
  // Another writer puts a new value; a janitor that read the old version
  // appends its tombstone after it. The condition fails everywhere.
  ASSERT_TRUE(a->Put("k", "v2", {.ttl = 1h}).has_value());
  ClientOptions janitor = NoJanitor();
  auto j = OpenOn(broker, rt, janitor);
  auto lost = j->DeleteIf("k", *first);
  EXPECT_EQ(lost.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(a->Get("k").value_or(""), "v2");
  EXPECT_EQ(expiries.load(), 0);
}

}  // namespace
}  // namespace kvlog::kv
