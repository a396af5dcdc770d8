// TTL and watch histories in the native JSONL format: the "deadline" of a log
// record, the {"expiry": ...} line and the watch lines survive a write and a
// read, and CheckHistory (what kvcheck runs) judges them with the expiry and
// watch checks, valid and invalid alike.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/propagate.h"
#include "checker/check.h"
#include "checker/jsonl.h"

namespace kvlog::checker {
namespace {

using ::testing::HasSubstr;

// k = v until 1000 (true ns), written at offset 0; the clocks' bound is 100.
// Reads: one long before the deadline sees v, one long after sees nothing.
constexpr const char* kTtlHistory = R"({"process":0,"type":"invoke","f":"put","key":"k","value":"v","time":0,"replica":"c0"}
{"process":0,"type":"ok","f":"put","key":"k","value":"v","time":5,"offset":0,"replica":"c0"}
{"process":1,"type":"invoke","f":"get","key":"k","value":null,"time":10,"replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":"v","time":20,"applied":1,"replica":"c1"}
{"process":1,"type":"invoke","f":"get","key":"k","value":null,"time":5000,"replica":"c1"}
{"process":1,"type":"ok","f":"get","key":"k","value":null,"time":5010,"applied":1,"replica":"c1"}
{"expiry":{"skew_bound":100,"reclaimed_before":0}}
{"log":{"offset":0,"key":"k","value":"v","f":"put","writer":"c0","deadline":1000}}
)";

// What three watchers received of a three-change log.
constexpr const char* kWatchHistory = R"({"log_start":0}
{"change":0,"key":"k1","value":"a"}
{"change":1,"key":"k2","value":"b"}
{"change":2,"key":"k1","value":null}
{"watch":"c0-0","replica":"c0","key":"k","prefix":true,"from_start":true}
{"watch":"c0-0","event":"changes","version":0,"changes":[["k1","a"]]}
{"watch":"c0-0","event":"changes","version":1,"changes":[["k2","b"]]}
{"watch":"c0-0","event":"progress","version":2}
{"watch":"c0-0","event":"changes","version":2,"changes":[["k1",null]]}
{"watch":"c0-0","event":"progress","version":3}
{"watch":"c0-0","event":"end"}
{"watch":"c1-0","replica":"c1","key":"k1","prefix":false,"after":0}
{"watch":"c1-0","event":"changes","version":2,"changes":[["k1",null]]}
{"watch":"c1-0","event":"end"}
)";

Result<FullReport> Judge(const std::string& text, std::vector<std::string> checks = {}) {
  KVLOG_ASSIGN_OR_RETURN(const History h, ParseJsonl(text, "h.jsonl"));
  CheckOptions options;
  options.checks = std::move(checks);
  return CheckHistory(h, Format::kJsonl, options);
}

const CheckReport* Find(const FullReport& r, const std::string& checker) {
  for (const auto& c : r.reports) {
    if (c.checker == checker) return &c;
  }
  return nullptr;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST(TtlJsonlTest, DeadlinesAndTheExpiryLineSurviveAWriteAndARead) {
  auto h = ParseJsonl(kTtlHistory, "h.jsonl");
  ASSERT_TRUE(h) << h.error().ToString();
  ASSERT_TRUE(h->expiry);
  EXPECT_EQ(h->expiry->skew_bound_ns, 100);
  EXPECT_EQ(h->expiry->time_origin_ns, 0);
  EXPECT_EQ(h->expiry->reclaimed_before, 0);
  EXPECT_EQ(h->expiry->line, 7);
  ASSERT_EQ(h->log.size(), 1u);
  EXPECT_EQ(h->log[0].deadline, std::optional<int64_t>(1000));
  const std::string written = WriteJsonl(*h);
  EXPECT_THAT(written, HasSubstr(R"("deadline":1000)"));
  EXPECT_THAT(written, HasSubstr(R"({"expiry":{"reclaimed_before":0,"skew_bound":100}})"));
  auto again = ParseJsonl(written, "again.jsonl");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(WriteJsonl(*again), written);
  // A record without a deadline writes none.
  EXPECT_THAT(LogRecordToJsonl(LogRecord{.offset = 3, .key = "p", .value = "x"}), ::testing::Not(HasSubstr("deadline")));
}

TEST(TtlJsonlTest, ATtlHistoryGetsConvergenceAndExpiryAndPasses) {
  auto r = Judge(kTtlHistory);
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_NE(Find(*r, "expiry"), nullptr);
  ASSERT_NE(Find(*r, "convergence"), nullptr);
  EXPECT_EQ(Find(*r, "session"), nullptr);  // Hidden expired values are not lost writes.
  EXPECT_EQ(Find(*r, "expiry")->verdict, Verdict::kValid) << Find(*r, "expiry")->summary;
  EXPECT_EQ(r->Overall(), Verdict::kValid);
}

TEST(TtlJsonlTest, AReadOfAnExpiredValueAndAnEarlyExpiryAreCaughtFromTheFile) {
  // The late read returns v, 4000 ns past deadline + bound.
  auto late = Judge(Replace(kTtlHistory, R"("value":null,"time":5010)", R"("value":"v","time":5010)"));
  ASSERT_TRUE(late) << late.error().ToString();
  EXPECT_EQ(late->Overall(), Verdict::kInvalid);
  ASSERT_FALSE(Find(*late, "expiry")->violations.empty());
  EXPECT_EQ(Find(*late, "expiry")->violations[0].kind, "expired-read");
  // The same reads judged with a bound that covers the lateness pass.
  auto wide = Judge(Replace(Replace(kTtlHistory, R"("value":null,"time":5010)", R"("value":"v","time":5010)"),
                            R"("skew_bound":100)", R"("skew_bound":10000)"));
  ASSERT_TRUE(wide) << wide.error().ToString();
  EXPECT_EQ(wide->Overall(), Verdict::kValid);
  // The early read misses v long before its deadline.
  auto early = Judge(Replace(kTtlHistory, R"("value":"v","time":20)", R"("value":null,"time":20)"));
  ASSERT_TRUE(early) << early.error().ToString();
  EXPECT_EQ(Find(*early, "expiry")->violations.at(0).kind, "early-expiry");
}

TEST(TtlJsonlTest, TheExpiryCheckWithoutTheLineIsUnknownAndABadLineIsAnErrorNamingIt) {
  auto without = Judge(Replace(kTtlHistory, "{\"expiry\":{\"skew_bound\":100,\"reclaimed_before\":0}}\n", ""),
                       {"expiry"});
  ASSERT_TRUE(without) << without.error().ToString();
  EXPECT_EQ(Find(*without, "expiry")->verdict, Verdict::kUnknown);
  EXPECT_THAT(Find(*without, "expiry")->summary, HasSubstr("skew bound"));

  auto negative = ParseJsonl(Replace(kTtlHistory, R"("skew_bound":100)", R"("skew_bound":-1)"), "h.jsonl");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().line, 7);
  EXPECT_THAT(negative.error().reason, HasSubstr("skew_bound"));
  EXPECT_THAT(negative.error().reason, HasSubstr(">= 0"));
  auto missing = ParseJsonl(Replace(kTtlHistory, R"("skew_bound":100,)", ""), "h.jsonl");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().reason, HasSubstr("missing field \"skew_bound\""));
  auto twice = ParseJsonl(std::string(kTtlHistory) + "{\"expiry\":{\"skew_bound\":5}}\n", "h.jsonl");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().line, 9);
  EXPECT_THAT(twice.error().reason, HasSubstr("second \"expiry\" line (the first is line 7)"));
  auto bad_deadline = ParseJsonl(Replace(kTtlHistory, R"("deadline":1000)", R"("deadline":"soon")"), "h.jsonl");
  ASSERT_FALSE(bad_deadline);
  EXPECT_THAT(bad_deadline.error().reason, HasSubstr("\"deadline\" must be an integer"));
}

TEST(WatchJsonlTest, WatchLinesSurviveAWriteAndAReadBesideOperations) {
  auto h = ParseJsonl(kWatchHistory, "w.jsonl");
  ASSERT_TRUE(h) << h.error().ToString();
  ASSERT_TRUE(h->watch);
  EXPECT_EQ(h->watch->log.size(), 3u);
  ASSERT_EQ(h->watch->sessions.size(), 2u);
  EXPECT_EQ(h->watch->sessions[0].received.size(), 6u);
  EXPECT_EQ(h->watch->sessions[1].after, 0);
  const std::string written = WriteJsonl(*h);
  EXPECT_EQ(written, WatchToJsonl(*h->watch));  // Nothing else in it.
  auto again = ParseJsonl(written, "again.jsonl");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(WriteJsonl(*again), written);
  // Beside a TTL history's lines: both come back.
  auto both = ParseJsonl(std::string(kTtlHistory) + kWatchHistory, "both.jsonl");
  ASSERT_TRUE(both) << both.error().ToString();
  EXPECT_TRUE(both->expiry);
  EXPECT_EQ(both->events.size(), 6u);
  ASSERT_TRUE(both->watch);
  EXPECT_EQ(both->watch->sessions.size(), 2u);
  auto both_again = ParseJsonl(WriteJsonl(*both), "both.jsonl");
  ASSERT_TRUE(both_again) << both_again.error().ToString();
  EXPECT_EQ(WriteJsonl(*both_again), WriteJsonl(*both));
}

TEST(WatchJsonlTest, AWatchHistoryWithoutOperationsIsJudgedByTheWatchCheck) {
  auto r = Judge(kWatchHistory);
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->reports.size(), 1u);
  EXPECT_EQ(r->reports[0].checker, "watch");
  EXPECT_EQ(r->reports[0].verdict, Verdict::kValid) << r->reports[0].summary;
}

TEST(WatchJsonlTest, ASkippedEventAndADuplicateAreCaughtFromTheFile) {
  auto skipped = Judge(Replace(kWatchHistory, "{\"watch\":\"c0-0\",\"event\":\"changes\",\"version\":1,\"changes\":[[\"k2\",\"b\"]]}\n", ""));
  ASSERT_TRUE(skipped) << skipped.error().ToString();
  EXPECT_EQ(skipped->Overall(), Verdict::kInvalid);
  bool found = false;
  for (const auto& v : Find(*skipped, "watch")->violations) found |= v.kind == "skipped" || v.kind == "early-progress";
  EXPECT_TRUE(found) << Find(*skipped, "watch")->summary;

  auto duplicate = Judge(Replace(kWatchHistory, "{\"watch\":\"c1-0\",\"event\":\"end\"}",
                                 "{\"watch\":\"c1-0\",\"event\":\"changes\",\"version\":2,\"changes\":[[\"k1\",null]]}\n"
                                 "{\"watch\":\"c1-0\",\"event\":\"end\"}"));
  ASSERT_TRUE(duplicate) << duplicate.error().ToString();
  EXPECT_EQ(duplicate->Overall(), Verdict::kInvalid);
}

TEST(WatchJsonlTest, MalformedWatchLinesAreErrorsNamingTheLine) {
  auto undeclared = ParseJsonl(Replace(kWatchHistory, R"({"watch":"c1-0","replica":"c1","key":"k1","prefix":false,"after":0})",
                                       R"({"meta":{}})"),
                               "w.jsonl");
  ASSERT_FALSE(undeclared);
  EXPECT_EQ(undeclared.error().line, 13);
  EXPECT_THAT(undeclared.error().reason, HasSubstr("before its declaration"));
  auto kind = ParseJsonl(Replace(kWatchHistory, R"("event":"progress","version":2)", R"("event":"nap","version":2)"),
                         "w.jsonl");
  ASSERT_FALSE(kind);
  EXPECT_EQ(kind.error().line, 8);
  EXPECT_THAT(kind.error().reason, HasSubstr("unknown watch event 'nap'"));
  auto back = ParseJsonl(Replace(kWatchHistory, R"({"change":2,)", R"({"change":-1,)"), "w.jsonl");
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().line, 4);
  EXPECT_THAT(back.error().reason, HasSubstr("goes back"));
  // The watch check alone, asked of a history without watchers: skipped.
  auto none = Judge(kTtlHistory, {"watch"});
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_EQ(Find(*none, "watch")->verdict, Verdict::kSkipped);
  // An unknown check names the new ones among the known.
  auto unknown = Judge(kTtlHistory, {"ttl"});
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().reason, HasSubstr("expiry, watch"));
}

}  // namespace
}  // namespace kvlog::checker
