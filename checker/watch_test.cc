// The watch check on hand-made histories, valid and invalid.
#include "checker/watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kvlog::checker {
namespace {

using ::testing::HasSubstr;

// A log: k1=a at 3, a transaction at 5 (k1=b, k2=c, x=z), k2 deleted at 8, k1=d at 9.
const std::string kLog = R"({"log_start": 0}
{"change": 3, "key": "k1", "value": "a"}
{"change": 5, "key": "k1", "value": "b"}
{"change": 5, "key": "k2", "value": "c"}
{"change": 5, "key": "x", "value": "z"}
{"change": 8, "key": "k2", "value": null}
{"change": 9, "key": "k1", "value": "d"}
)";

CheckReport Check(const std::string& sessions) {
  auto h = ParseWatchJsonl(kLog + sessions, "test");
  EXPECT_TRUE(h.has_value()) << h.error().ToString();
  if (!h) return {};
  // The JSONL round trip keeps everything the check reads.
  auto again = ParseWatchJsonl(WatchToJsonl(*h), "again");
  EXPECT_TRUE(again.has_value());
  CheckReport a = CheckWatches(*h), b = CheckWatches(*again);
  EXPECT_EQ(a.verdict, b.verdict);
  EXPECT_EQ(a.violation_count, b.violation_count);
  return a;
}

std::vector<std::string> Kinds(const CheckReport& r) {
  std::vector<std::string> out;
  for (const auto& v : r.violations) out.push_back(v.kind);
  return out;
}

TEST(WatchCheck, ACompleteOrderedPrefixWatchWithProgressIsValid) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k", "prefix": true, "from_start": true}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "a"]]}
{"watch": "w1", "event": "changes", "version": 5, "changes": [["k1", "b"], ["k2", "c"]]}
{"watch": "w1", "event": "changes", "version": 8, "changes": [["k2", null]]}
{"watch": "w1", "event": "progress", "version": 9}
{"watch": "w1", "event": "changes", "version": 9, "changes": [["k1", "d"]]}
{"watch": "w1", "event": "progress", "version": 10}
{"watch": "w1", "event": "end"}
)");
  EXPECT_EQ(r.verdict, Verdict::kValid) << (r.violations.empty() ? "" : r.violations[0].message);
}

TEST(WatchCheck, AFellBehindSessionResumedWhereItSaidIsValid) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k1", "after": 2}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "a"]]}
{"watch": "w1", "event": "fell-behind", "version": 4}
{"watch": "w2", "replica": "c0", "key": "k1", "after": 4, "resumes": "w1"}
{"watch": "w2", "event": "changes", "version": 5, "changes": [["k1", "b"]]}
{"watch": "w2", "event": "changes", "version": 9, "changes": [["k1", "d"]]}
{"watch": "w3", "replica": "c1", "key": "k2"}
{"watch": "w3", "event": "changes", "version": 8, "changes": [["k2", null]]}
{"watch": "w3", "event": "progress", "version": 10}
)");
  EXPECT_EQ(r.verdict, Verdict::kValid) << (r.violations.empty() ? "" : r.violations[0].message);
}

TEST(WatchCheck, ADroppedEventIsASkip) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k1", "after": -1}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "a"]]}
{"watch": "w1", "event": "changes", "version": 9, "changes": [["k1", "d"]]}
)");
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  EXPECT_THAT(Kinds(r), ::testing::ElementsAre("skipped"));
  EXPECT_THAT(r.violations[0].message, HasSubstr("version(s) 5"));
}

TEST(WatchCheck, ADropAtTheEndIsCaughtByTheProgressThatFollows) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k2", "after": 4}
{"watch": "w1", "event": "changes", "version": 5, "changes": [["k2", "c"]]}
{"watch": "w1", "event": "progress", "version": 10}
)");
  EXPECT_THAT(Kinds(r), ::testing::ElementsAre("early-progress"));
  EXPECT_THAT(r.violations[0].message, HasSubstr("8"));
}

TEST(WatchCheck, DuplicatesReorderingAndATornTransactionAreInvalid) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k", "prefix": true, "after": 2}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "a"]]}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "a"]]}
{"watch": "w1", "event": "changes", "version": 5, "changes": [["k1", "b"]]}
{"watch": "w1", "event": "changes", "version": 9, "changes": [["k1", "d"]]}
{"watch": "w1", "event": "changes", "version": 8, "changes": [["k2", null]]}
)");
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  // The half-delivered transaction at 5 is a mismatch; 9 skips 8; 8 after 9 is out of order.
  EXPECT_THAT(Kinds(r), ::testing::ElementsAre("duplicate", "mismatch", "skipped", "out-of-order"));
}

TEST(WatchCheck, AValueTheLogNeverHadOrAnUnwatchedKeyIsInvalid) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k1", "after": 2}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "WRONG"]]}
{"watch": "w1", "event": "changes", "version": 4, "changes": [["k1", "x"]]}
)");
  EXPECT_THAT(Kinds(r), ::testing::ElementsAre("mismatch", "phantom"));
}

TEST(WatchCheck, AWrongResumePointAndAFellBehindThatSkipsAreInvalid) {
  auto r = Check(R"({"watch": "w1", "replica": "c0", "key": "k1", "after": 2}
{"watch": "w1", "event": "changes", "version": 3, "changes": [["k1", "a"]]}
{"watch": "w1", "event": "fell-behind", "version": 6}
{"watch": "w1", "event": "changes", "version": 9, "changes": [["k1", "d"]]}
{"watch": "w2", "replica": "c0", "key": "k1", "after": 5, "resumes": "w1"}
{"watch": "w2", "event": "changes", "version": 9, "changes": [["k1", "d"]]}
)");
  // w1 said resume after 6 but never delivered 5; then it went on after the end.
  // w2 resumed after 5, not 6.
  EXPECT_THAT(Kinds(r), ::testing::ElementsAre("fell-behind", "after-end", "resume"));
}

TEST(WatchCheck, NoSessionsIsSkippedAndBadLinesAreErrorsNamingTheLine) {
  auto empty = ParseWatchJsonl(kLog, "t");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(CheckWatches(*empty).verdict, Verdict::kSkipped);
  auto bad = ParseWatchJsonl(kLog + R"({"watch": "nope", "event": "changes", "version": 1, "changes": []})" "\n", "t");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().line, 8);
  EXPECT_THAT(bad.error().reason, HasSubstr("before its declaration"));
  auto kind = ParseWatchJsonl(R"({"watch": "w", "key": "k"}
{"watch": "w", "event": "bogus", "version": 1}
)",
                              "t");
  ASSERT_FALSE(kind.has_value());
  EXPECT_THAT(kind.error().reason, HasSubstr("known: changes"));
}

}  // namespace
}  // namespace kvlog::checker
