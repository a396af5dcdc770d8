// Conformance cases for deadlines with Go-context semantics: an unset timeout
// is ClientOptions::default_timeout; zero or negative is a deadline already
// past, so the call fails at once with kTimeout and writes nothing.
#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "kv/testing/client_conformance.h"
#include "kv/testing/log_doubles.h"

namespace kvlog::kv::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

void ExpectPastDeadline(const Error& error, std::string_view names) {
  EXPECT_EQ(error.code(), ErrorCode::kTimeout) << error.ToString();
  EXPECT_THAT(error.message(), HasSubstr(std::string(names)));
  EXPECT_THAT(error.message(), HasSubstr("deadline already past"));
}

}  // namespace

TEST_P(ClientConformance, AZeroOrNegativeTimeoutFailsAtOnceAndWritesNothing) {
  RunCase([&] {
    LogControls controls;
    auto client = OpenControlledClient(controls);
    ASSERT_NE(client, nullptr);
    const int appends_before = controls.appends.load();
    for (Duration timeout : {Duration::zero(), Duration(-5ms)}) {
      const std::string ms =
          fmt::format("{} ms", std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
      const CallOptions past{.timeout = timeout};
      auto put = client->Put("k", "v", past);
      ASSERT_FALSE(put.has_value());
      ExpectPastDeadline(put.error(), ms);
      auto del = client->Delete("k", past);
      ASSERT_FALSE(del.has_value());
      ExpectPastDeadline(del.error(), ms);
      auto cas = client->PutIfAbsent("k", "v", past);
      ASSERT_FALSE(cas.has_value());
      ExpectPastDeadline(cas.error(), ms);
      auto batch = client->Batch().Put("a", "1").Put("b", "2").Execute(past);
      ASSERT_FALSE(batch.has_value());
      ExpectPastDeadline(batch.error(), ms);
      auto txn = client->Transaction().If(Condition::Absent("t")).Put("t", "1").Commit(past);
      ASSERT_FALSE(txn.has_value());
      ExpectPastDeadline(txn.error(), ms);
      bool fn_ran = false;
      auto update = client->Update(
          "u", [&](const std::optional<std::string>&) -> Result<std::string> { fn_ran = true; return "1"; }, past);
      ASSERT_FALSE(update.has_value());
      ExpectPastDeadline(update.error(), ms);
      EXPECT_FALSE(fn_ran);
      // An async write is refused before PutAsync returns.
      std::optional<Result<log::Offset>> async;
      client->PutAsync("k", "v", [&](Result<log::Offset> r) { async = std::move(r); }, past);
      ASSERT_TRUE(async.has_value());
      ASSERT_FALSE(async->has_value());
      ExpectPastDeadline(async->error(), ms);

      auto synced = client->Sync(past);
      ASSERT_FALSE(synced.has_value());
      ExpectPastDeadline(synced.error(), ms);
      auto waited = client->WaitApplied(0, past);
      ASSERT_FALSE(waited.has_value());
      ExpectPastDeadline(waited.error(), ms);
      for (ReadLevel level : {ReadLevel::Local(), ReadLevel::AtLeast(0), ReadLevel::Linearizable()}) {
        auto read = client->Get("k", ReadOptions{.level = level, .timeout = timeout});
        ASSERT_FALSE(read.has_value()) << ReadLevelName(level);
        ExpectPastDeadline(read.error(), ms);
      }
      auto stats = client->Stats({.end_offset = true, .timeout = timeout});
      ASSERT_FALSE(stats.has_value());
      ExpectPastDeadline(stats.error(), ms);
    }
    EXPECT_EQ(controls.appends.load(), appends_before) << "a call with a past deadline appended";
    EXPECT_TRUE(client->Range(KeyConstraint{})->empty());
    // Unset: the default; the same calls succeed.
    ASSERT_TRUE(client->Put("k", "v", CallOptions{}).has_value());
    ASSERT_TRUE(client->Sync().has_value());
    EXPECT_EQ(client->Get("k", ReadOptions{.level = ReadLevel::Linearizable()}).value_or(""), "v");
  });
}

TEST_P(ClientConformance, AnUnsetTimeoutIsTheClientsDefault) {
  RunCase([&] {
    LogControls controls;
    ClientOptions options;
    options.default_timeout = 40ms;
    auto client = OpenControlledClient(controls, options);
    ASSERT_NE(client, nullptr);
    controls.hold_acks = true;
    auto late = client->Put("late", "1");
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error().code(), ErrorCode::kTimeout);
    EXPECT_THAT(late.error().message(), HasSubstr("40 ms"));
    // A timeout of its own overrides the default.
    controls.hold_acks = false;
    controls.ReleaseAcks();
    EXPECT_TRUE(client->Put("next", "2", CallOptions{.timeout = 10s}).has_value());
  });
}

}  // namespace kvlog::kv::testing
