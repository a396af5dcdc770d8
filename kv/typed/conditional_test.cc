// ResourceClient's versions, conditional writes, Update and read levels over
// the simulated log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "kv/memory_storage.h"
#include "kv/typed/json_serde.h"
#include "kv/typed/resource_client.h"
#include "log/sim/broker.h"

namespace kvlog::kv::typed {

struct Counter {
  int64_t n = 0;
  friend bool operator==(const Counter&, const Counter&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Counter, n)

struct Note {
  std::string text;
  friend bool operator==(const Note&, const Note&) = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Note, text)

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class TypedConditionalTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> Open(ClientOptions options = {}, log::sim::ConnectionFaults faults = {}) {
    auto client = Client::Open(broker_.Connect(std::move(faults)), NewMemoryStorage(), std::move(options));
    EXPECT_TRUE(client.has_value()) << client.error().ToString();
    return client ? std::move(*client) : nullptr;
  }

  log::sim::Broker broker_;
};

TEST_F(TypedConditionalTest, GetEntryReturnsTheValueAndTheVersionOfItsLastWrite) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient notes(*client, JsonSerde<Note>{});
  ASSERT_TRUE(notes.Put("n/1", Note{"first"}).has_value());
  auto second = notes.Put("n/1", Note{"second"});
  ASSERT_TRUE(second.has_value());

  auto entry = notes.GetEntry("n/1");
  ASSERT_TRUE(entry.has_value()) << entry.error().ToString();
  EXPECT_EQ(entry->key, "n/1");
  EXPECT_EQ(entry->value, Note{"second"});
  EXPECT_EQ(entry->version, *second);
  EXPECT_EQ(entry->version, client->GetEntry("n/1")->version);

  EXPECT_EQ(notes.GetEntry("n/none").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(client->Put("n/bad", "{").has_value());
  auto bad = notes.GetEntry("n/bad");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(bad.error().message(), HasSubstr("get-entry: value at key \"n/bad\" does not decode"));
}

TEST_F(TypedConditionalTest, PutIfHoldsOnlyAtTheExpectedVersion) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient notes(*client, JsonSerde<Note>{});
  auto v1 = notes.Put("n/1", Note{"a"});
  ASSERT_TRUE(v1.has_value());
  auto v2 = notes.PutIf("n/1", Note{"b"}, *v1);
  ASSERT_TRUE(v2.has_value()) << v2.error().ToString();
  EXPECT_GT(*v2, *v1);

  // The version moved on: a write expecting the old one changes nothing.
  auto stale = notes.PutIf("n/1", Note{"c"}, *v1);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_THAT(stale.error().message(), HasSubstr(fmt::format("version {}", *v2)));
  EXPECT_EQ(notes.Get("n/1").value(), Note{"b"});

  // A value that does not encode appends nothing.
  const log::Offset end = broker_.end_offset();
  auto unencodable = notes.PutIf("n/1", Note{"\xff"}, *v2);
  ASSERT_FALSE(unencodable.has_value());
  EXPECT_EQ(unencodable.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(unencodable.error().message(), HasSubstr("put-if: value for key \"n/1\" does not encode"));
  EXPECT_EQ(broker_.end_offset(), end);

  auto stale_delete = notes.DeleteIf("n/1", *v1);
  EXPECT_EQ(stale_delete.error().code(), ErrorCode::kConflict);
  ASSERT_TRUE(notes.DeleteIf("n/1", *v2).has_value());
  EXPECT_EQ(notes.Get("n/1").error().code(), ErrorCode::kNotFound);
}

TEST_F(TypedConditionalTest, PutIfAbsentWritesOnlyAMissingKey) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient notes(*client, JsonSerde<Note>{});
  auto first = notes.PutIfAbsent("lock", Note{"mine"});
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  auto second = notes.PutIfAbsent("lock", Note{"theirs"});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
  EXPECT_THAT(second.error().message(), HasSubstr("expected absent"));
  EXPECT_EQ(notes.Get("lock").value(), Note{"mine"});
}

TEST_F(TypedConditionalTest, UpdateOnAPresentValueAppliesFnAndReturnsTheNewVersion) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient counters(*client, JsonSerde<Counter>{});
  ASSERT_TRUE(counters.Put("c", Counter{41}).has_value());
  auto v = counters.Update("c", [](const Counter& c) { return Counter{c.n + 1}; });
  ASSERT_TRUE(v.has_value()) << v.error().ToString();
  auto entry = counters.GetEntry("c");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value, Counter{42});
  EXPECT_EQ(entry->version, *v);

  // fn(const T&) needs a value: a missing key is kNotFound and writes nothing.
  const log::Offset end = broker_.end_offset();
  auto missing = counters.Update("none", [](const Counter& c) { return Counter{c.n + 1}; });
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message(), HasSubstr("\"none\" has no value"));
  EXPECT_EQ(broker_.end_offset(), end);
}

TEST_F(TypedConditionalTest, UpdateWithAnOptionalCreatesAMissingKey) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient counters(*client, JsonSerde<Counter>{});
  std::vector<bool> saw_value;
  const auto increment = [&](const std::optional<Counter>& c) -> Result<Counter> {
    saw_value.push_back(c.has_value());
    return Counter{c ? c->n + 1 : 1};
  };
  ASSERT_TRUE(counters.Update("c", increment).has_value());
  ASSERT_TRUE(counters.Update("c", increment).has_value());
  EXPECT_EQ(counters.Get("c").value(), Counter{2});
  EXPECT_EQ(saw_value, (std::vector<bool>{false, true}));
}

TEST_F(TypedConditionalTest, UpdateWhoseFnFailsOrMeetsACorruptValueWritesNothing) {
  auto client = Open();
  ASSERT_NE(client, nullptr);
  ResourceClient counters(*client, JsonSerde<Counter>{});
  ASSERT_TRUE(counters.Put("c", Counter{5}).has_value());
  const log::Offset end = broker_.end_offset();
  auto refused = counters.Update("c", [](const Counter& c) -> Result<Counter> {
    if (c.n < 10) return MakeError(ErrorCode::kFailedPrecondition, "balance too low");
    return Counter{c.n - 10};
  });
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(refused.error().message(), "balance too low");
  EXPECT_EQ(broker_.end_offset(), end);
  EXPECT_EQ(counters.Get("c").value(), Counter{5});

  ResourceClient notes(*client, JsonSerde<Note>{});
  ASSERT_TRUE(notes.Put("n", Note{"ok"}).has_value());
  const log::Offset end2 = broker_.end_offset();
  auto bad_result = notes.Update("n", [](const Note&) { return Note{"\xc3"}; });
  ASSERT_FALSE(bad_result.has_value());
  EXPECT_EQ(bad_result.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad_result.error().message(), HasSubstr("update: value for key \"n\" does not encode"));
  EXPECT_EQ(broker_.end_offset(), end2);

  ASSERT_TRUE(client->Put("raw", "not json").has_value());
  const log::Offset end3 = broker_.end_offset();
  int calls = 0;
  auto corrupt = counters.Update("raw", [&](const std::optional<Counter>&) {
    ++calls;
    return Counter{1};
  });
  ASSERT_FALSE(corrupt.has_value());
  EXPECT_EQ(corrupt.error().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(corrupt.error().message(), HasSubstr("update: value at key \"raw\" does not decode"));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(broker_.end_offset(), end3);
}

// Two clients, four threads each, incrementing one counter: every
// successful Update is counted exactly once.
TEST_F(TypedConditionalTest, ConcurrentUpdatesFromTwoClientsLoseNoIncrement) {
  ClientOptions options;
  options.update_max_attempts = 1000;
  options.update_max_backoff = 2ms;
  auto a = Open(options);
  auto b = Open(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ResourceClient ca(*a, JsonSerde<Counter>{});
  ResourceClient cb(*b, JsonSerde<Counter>{});
  constexpr int kThreads = 8, kPerThread = 10;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& counters = t % 2 == 0 ? ca : cb;
      for (int i = 0; i < kPerThread; ++i) {
        auto r = counters.Update("hits", [](const std::optional<Counter>& c) { return Counter{c ? c->n + 1 : 1}; });
        (r ? ok : failed).fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_TRUE(a->Sync().has_value());
  EXPECT_EQ(ca.Get("hits").value(), Counter{ok.load()});
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
}

// A reader whose log lags: a local read misses the other client's write, a
// linearizable or at-least read waits for it.
TEST_F(TypedConditionalTest, ReadLevelsPassThroughToTheClient) {
  auto writer = Open();
  ASSERT_NE(writer, nullptr);
  auto lagging = Open({}, log::sim::ConnectionFaults{.reader_lag = 400ms});
  ASSERT_NE(lagging, nullptr);
  ResourceClient w(*writer, JsonSerde<Note>{});
  ResourceClient r(*lagging, JsonSerde<Note>{});
  auto v1 = w.Put("n/1", Note{"one"});
  ASSERT_TRUE(v1.has_value());

  EXPECT_EQ(r.Get("n/1").error().code(), ErrorCode::kNotFound);  // Local: not there yet.
  ReadInfo info;
  auto linear = r.Get("n/1", ReadOptions{.level = ReadLevel::Linearizable(), .timeout = 10s}, &info);
  ASSERT_TRUE(linear.has_value()) << linear.error().ToString();
  EXPECT_EQ(*linear, Note{"one"});
  EXPECT_GT(info.position, *v1);

  auto v2 = w.Put("n/2", Note{"two"});
  ASSERT_TRUE(v2.has_value());
  auto at_least = r.GetEntry("n/2", ReadOptions{.level = ReadLevel::AtLeast(*v2), .timeout = 10s});
  ASSERT_TRUE(at_least.has_value()) << at_least.error().ToString();
  EXPECT_EQ(at_least->value, Note{"two"});
  EXPECT_EQ(at_least->version, *v2);

  auto v3 = w.Put("n/3", Note{"three"});
  ASSERT_TRUE(v3.has_value());
  auto listed = r.Prefix("n/", {}, ReadOptions{.level = ReadLevel::Linearizable(), .timeout = 10s});
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  EXPECT_EQ(listed->size(), 3u);

  auto entries = r.RangeEntries(KeyConstraint{"n/", "n0"}, {}, ReadOptions{.level = ReadLevel::AtLeast(*v3)});
  ASSERT_TRUE(entries.has_value());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].version, *v1);
  EXPECT_EQ((*entries)[2].key, "n/3");
  EXPECT_EQ((*entries)[2].version, *v3);

  // The client's errors for a level pass through unchanged.
  auto negative = r.Get("n/1", ReadOptions{.level = ReadLevel::Bounded(-1)});
  ASSERT_FALSE(negative.has_value());
  EXPECT_EQ(negative.error().code(), ErrorCode::kInvalidArgument);
  auto too_far = r.Range(KeyConstraint{}, {}, ReadOptions{.level = ReadLevel::AtLeast(*v3 + 1000), .timeout = 50ms});
  ASSERT_FALSE(too_far.has_value());
  EXPECT_EQ(too_far.error().code(), ErrorCode::kTimeout);
}

}  // namespace
}  // namespace kvlog::kv::typed
