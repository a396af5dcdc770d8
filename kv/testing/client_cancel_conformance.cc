// Conformance cases for cancellation (CallOptions::stop, ReadOptions::stop,
// ClientOptions::startup_stop): a stop requested before a call fails it at
// once with kCancelled and writes nothing; during a blocked call it wakes the
// call through the runtime seam; after the call it changes nothing.
#include <atomic>
#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

#include <fmt/format.h>

#include "kv/testing/client_conformance.h"
#include "kv/testing/log_doubles.h"

namespace kvlog::kv::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

void ExpectCancelled(const Error& error) {
  EXPECT_EQ(error.code(), ErrorCode::kCancelled) << error.ToString();
  EXPECT_THAT(error.message(), HasSubstr("cancelled"));
}

}  // namespace

TEST_P(ClientConformance, ACallCancelledBeforeItStartsFailsAtOnceAndWritesNothing) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->Put("k", "before").has_value());
    const int appends_before = controls.appends.load();
    std::stop_source source;
    source.request_stop();
    const CallOptions stopped{.timeout = 10s, .stop = source.get_token()};
    auto put = client->Put("k", "v", stopped);
    ASSERT_FALSE(put.has_value());
    ExpectCancelled(put.error());
    EXPECT_THAT(put.error().message(), HasSubstr("nothing was done"));
    auto batch = client->Batch().Put("a", "1").Delete("b").Execute(stopped);
    ASSERT_FALSE(batch.has_value());
    ExpectCancelled(batch.error());
    auto txn = client->Transaction().If(Condition::Absent("t")).Put("t", "1").Commit(stopped);
    ASSERT_FALSE(txn.has_value());
    ExpectCancelled(txn.error());
    bool fn_ran = false;
    auto update = client->Update(
        "k", [&](const std::optional<std::string>&) -> Result<std::string> { fn_ran = true; return "u"; }, stopped);
    ASSERT_FALSE(update.has_value());
    ExpectCancelled(update.error());
    EXPECT_FALSE(fn_ran);
    std::optional<Result<log::Offset>> async;
    client->PutAsync("k", "v", [&](Result<log::Offset> r) { async = std::move(r); }, stopped);
    ASSERT_TRUE(async.has_value());
    ASSERT_FALSE(async->has_value());
    ExpectCancelled(async->error());
    auto synced = client->Sync(stopped);
    ASSERT_FALSE(synced.has_value());
    ExpectCancelled(synced.error());
    auto waited = client->WaitApplied(0, stopped);
    ASSERT_FALSE(waited.has_value());
    ExpectCancelled(waited.error());
    auto read = client->Get("k", ReadOptions{.level = ReadLevel::Linearizable(), .stop = source.get_token()});
    ASSERT_FALSE(read.has_value());
    ExpectCancelled(read.error());
    EXPECT_EQ(controls.appends.load(), appends_before) << "a cancelled call appended";
    EXPECT_EQ(client->Get("k").value_or(""), "before");
  });
}

TEST_P(ClientConformance, CancellingABlockedPutWakesItAndTheClientStaysUsable) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    controls.hold_acks = true;
    std::stop_source source;
    std::atomic<bool> returned{false};
    Result<log::Offset> result = log::kNoOffset;
    auto writer = Spawn("writer", [&] {
      result = client->Put("k", "v", CallOptions{.timeout = std::chrono::minutes(5), .stop = source.get_token()});
      returned = true;
    });
    while (controls.appends.load() == 0) SleepFor(1ms);
    SleepFor(20ms);
    EXPECT_FALSE(returned.load());
    const TimePoint stopped_at = runtime().Now();
    source.request_stop();
    writer->Join();
    EXPECT_LT(runtime().Now() - stopped_at, 5s) << "the stop did not wake the write promptly";
    ASSERT_FALSE(result.has_value());
    ExpectCancelled(result.error());
    EXPECT_THAT(result.error().message(), HasSubstr("may still take effect"));
    controls.hold_acks = false;
    controls.ReleaseAcks();
    ASSERT_TRUE(client->Put("next", "2").has_value());
    // The cancelled write had been appended: its outcome was unknown, not failed.
    EXPECT_EQ(client->Get("k").value_or("<missing>"), "v");
  });
}

TEST_P(ClientConformance, CancellingAnUpdateDuringItsBackoffWakesIt) {
  RunCase([&] {
    // A back-off far longer than the test: only the stop request can end it.
    ClientOptions options;
    options.update_max_attempts = 3;
    options.update_backoff = std::chrono::minutes(10);
    options.update_max_backoff = std::chrono::minutes(10);
    auto client = OpenClient(options);
    ASSERT_NE(client, nullptr);
    std::stop_source source;
    std::atomic<int> attempts{0};
    std::atomic<bool> returned{false};
    Result<log::Offset> result = log::kNoOffset;
    auto updater = Spawn("updater", [&] {
      result = client->Update(
          "k",
          [&](const std::optional<std::string>&) -> Result<std::string> {
            // A write between the read and the conditional write: every attempt conflicts.
            EXPECT_TRUE(client->Put("k", fmt::format("other {}", attempts.fetch_add(1))).has_value());
            return std::string("updated");
          },
          CallOptions{.timeout = std::chrono::hours(1), .stop = source.get_token()});
      returned = true;
    });
    // Until the first attempt's conditional write has been decided false: the
    // update is then in (or entering) its back-off. A fixed pause raced with a
    // slow Put inside fn on a loaded machine, and the stop then came before the
    // conditional write began.
    bool conflicted = false;
    for (int i = 0; i < 10'000 && !conflicted; ++i) {
      auto stats = client->Stats();
      conflicted = stats && stats->conditional_failures >= 1;
      if (!conflicted) SleepFor(1ms);
    }
    EXPECT_TRUE(conflicted) << "the first attempt's conditional write was not decided within 10 s";
    SleepFor(50ms);
    EXPECT_FALSE(returned.load());
    EXPECT_EQ(attempts.load(), 1) << "the back-off after the first conflict did not hold the update";
    const TimePoint stopped_at = runtime().Now();
    source.request_stop();
    updater->Join();
    EXPECT_LT(runtime().Now() - stopped_at, 5s) << "the stop did not wake the back-off promptly";
    ASSERT_FALSE(result.has_value());
    ExpectCancelled(result.error());
    EXPECT_THAT(result.error().message(), HasSubstr("nothing was written"));
    EXPECT_EQ(client->Get("k").value_or(""), "other 0");
  });
}

TEST_P(ClientConformance, CancellingABlockedLinearizableGetWakesIt) {
  RunCase([&] {
    LogControls controls;
    auto reader = OpenControlledClient(controls);
    auto writer = OpenClient();
    ASSERT_NE(reader, nullptr);
    ASSERT_NE(writer, nullptr);
    const int stalled = controls.stalled_polls.load();
    controls.stall_reader = true;
    while (controls.stalled_polls.load() == stalled) SleepFor(1ms);
    ASSERT_TRUE(writer->Put("k", "v").has_value());  // The reader cannot apply it.
    std::stop_source source;
    std::atomic<bool> returned{false};
    Result<std::string> result = std::string();
    auto task = Spawn("reader", [&] {
      result = reader->Get("k", ReadOptions{.level = ReadLevel::Linearizable(), .timeout = std::chrono::minutes(5),
                                            .stop = source.get_token()});
      returned = true;
    });
    SleepFor(30ms);
    EXPECT_FALSE(returned.load());
    source.request_stop();
    task->Join();
    ASSERT_FALSE(result.has_value());
    ExpectCancelled(result.error());
    controls.stall_reader = false;
    EXPECT_EQ(reader->Get("k", ReadOptions{.level = ReadLevel::Linearizable()}).value_or(""), "v");
  });
}

TEST_P(ClientConformance, CancellingOpenDuringItsReplayWakesIt) {
  RunCase([&] {
    auto writer = OpenClient();
    ASSERT_NE(writer, nullptr);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer->Put(fmt::format("k{}", i), "v").has_value());
    LogControls controls;
    controls.stall_reader = true;  // The replay cannot finish.
    std::stop_source source;
    std::atomic<bool> returned{false};
    std::optional<Result<std::unique_ptr<Client>>> opened;
    auto task = Spawn("open", [&] {
      ClientOptions options;
      options.runtime = &runtime();
      options.startup_timeout = std::chrono::minutes(5);
      options.startup_stop = source.get_token();
      opened.emplace(Client::Open(ControlledLog(backend_->Connect(), controls, runtime()), NewMemoryStorage(),
                                  std::move(options)));
      returned = true;
    });
    while (controls.stalled_polls.load() == 0) SleepFor(1ms);
    SleepFor(20ms);
    EXPECT_FALSE(returned.load());
    source.request_stop();
    task->Join();
    ASSERT_TRUE(opened.has_value());
    ASSERT_FALSE(opened->has_value());
    ExpectCancelled(opened->error());
    EXPECT_THAT(opened->error().message(), HasSubstr("start-up replay"));

    // A stop requested before Open fails it at once.
    ClientOptions options;
    options.runtime = &runtime();
    options.startup_stop = source.get_token();
    auto refused = Client::Open(backend_->Connect(), NewMemoryStorage(), std::move(options));
    ASSERT_FALSE(refused.has_value());
    ExpectCancelled(refused.error());
  });
}

TEST_P(ClientConformance, CancellingAfterACallCompletedChangesNothing) {
  RunCase([&] {
    auto client = OpenClient();
    ASSERT_NE(client, nullptr);
    std::stop_source source;
    const CallOptions call{.stop = source.get_token()};
    auto put = client->Put("k", "v", call);
    ASSERT_TRUE(put.has_value());
    auto read = client->Get("k", ReadOptions{.level = ReadLevel::Linearizable(), .stop = source.get_token()});
    EXPECT_EQ(read.value_or(""), "v");
    source.request_stop();
    EXPECT_EQ(client->Get("k").value_or(""), "v");
    EXPECT_EQ(client->GetEntry("k")->version, *put);
    // Other calls, with no stop or another one, go on as before.
    std::stop_source other;
    EXPECT_TRUE(client->Put("k", "w", CallOptions{.stop = other.get_token()}).has_value());
    EXPECT_TRUE(client->Sync().has_value());
    EXPECT_EQ(client->Get("k").value_or(""), "w");
  });
}

}  // namespace kvlog::kv::testing
