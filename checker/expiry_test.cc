#include "checker/expiry.h"

#include <fmt/format.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kvlog::checker {
namespace {

using ::testing::HasSubstr;

LogRecord Put(int64_t offset, std::string key, std::string value, std::optional<int64_t> deadline) {
  LogRecord r;
  r.offset = offset;
  r.key = std::move(key);
  r.value = std::move(value);
  r.deadline = deadline;
  return r;
}

// A janitor's tombstone: delete `key` if it still holds `expected`.
LogRecord DeleteIf(int64_t offset, std::string key, std::string expected) {
  LogRecord r;
  r.offset = offset;
  r.key = std::move(key);
  r.f = "cas";
  r.expected = std::move(expected);
  return r;
}

Operation Get(size_t index, std::string key, std::optional<std::string> got, int64_t applied, int64_t call,
              int64_t ret) {
  Operation o;
  o.index = index;
  o.f = "get";
  o.key = std::move(key);
  o.outcome = EventType::kOk;
  o.output = got ? Value::String(*got) : Value();
  o.applied = applied;
  o.call_time = call;
  o.ret_time = ret;
  o.replica = fmt::format("c{}", index);
  return o;
}

History WithLog(std::vector<LogRecord> log) {
  History h;
  h.log = std::move(log);
  h.has_log = true;
  return h;
}

CheckReport Check(const History& h, const std::vector<Operation>& ops, int64_t bound,
                  std::optional<int64_t> reclaimed_before = std::nullopt) {
  auto r = CheckExpiry(h, ops, ExpiryOptions{bound, 0, reclaimed_before});
  EXPECT_TRUE(r.has_value());
  return r ? *r : CheckReport{};
}

TEST(ExpiryCheckTest, ReadsWithinTheSkewBoundOfTheDeadlineAreValidEitherWay) {
  // k = v until 1000 (deadline), bound 100.
  History h = WithLog({Put(0, "k", "v", 1000), Put(1, "p", "forever", std::nullopt)});
  std::vector<Operation> ops = {
      Get(0, "k", "v", 1, 10, 20),         // long before the deadline
      Get(1, "k", "v", 1, 1050, 1060),     // after it, within the bound: a slow clock
      Get(2, "k", std::nullopt, 1, 900, 910),  // before it, within the bound: a fast clock
      Get(3, "k", std::nullopt, 1, 5000, 5010),
      Get(4, "k", std::nullopt, 0, 10, 20),  // position 0: nothing applied yet
      Get(5, "p", "forever", 2, 1 << 30, (1 << 30) + 1),
  };
  CheckReport r = Check(h, ops, 100);
  EXPECT_EQ(r.verdict, Verdict::kValid) << r.summary;
  EXPECT_THAT(r.summary, HasSubstr("6 get(s)"));
  EXPECT_THAT(r.summary, HasSubstr("2 hid an expired value"));
}

TEST(ExpiryCheckTest, AnExpiredReadAnEarlyExpiryAndAWrongValueAreEachCaught) {
  History h = WithLog({Put(0, "k", "v", 1000), Put(1, "p", "forever", std::nullopt)});
  std::vector<Operation> ops = {
      Get(0, "k", "v", 1, 1100, 1110),         // invoked at deadline + bound: expired
      Get(1, "k", std::nullopt, 1, 880, 899),  // completed before deadline - bound
      Get(2, "p", std::nullopt, 2, 5, 6),      // no deadline, yet hidden
      Get(3, "k", "other", 1, 5, 6),           // not what the log holds
      Get(4, "k", "v", 0, 5, 6),               // the log holds nothing below 0
  };
  CheckReport r = Check(h, ops, 100);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  ASSERT_EQ(r.violation_count, 5u);
  EXPECT_EQ(r.violations[0].kind, "expired-read");
  EXPECT_EQ(r.violations[1].kind, "early-expiry");
  EXPECT_EQ(r.violations[2].kind, "early-expiry");
  EXPECT_EQ(r.violations[3].kind, "wrong-value");
  EXPECT_EQ(r.violations[4].kind, "wrong-value");
  EXPECT_THAT(r.violations[0].message, HasSubstr("get of 'k' by c0 at position 1"));
  EXPECT_EQ(r.violations[1].ops, std::vector<size_t>{1});
}

TEST(ExpiryCheckTest, TheJanitorsTombstoneHoldsOnlyAtTheExpiredValueAndReclamationIsChecked) {
  // k expired at 1000; the janitor's tombstone at offset 2 holds. j was
  // rewritten before its tombstone, which therefore fails.
  History h = WithLog({Put(0, "k", "v", 1000), Put(1, "j", "old", 1000), Put(2, "j", "new", 1 << 30),
                       DeleteIf(3, "k", "v"), DeleteIf(4, "j", "old")});
  h.finals = {FinalState{"c0", 5, "", 0}, FinalState{"c1", 3, "", 0}};
  std::vector<Operation> ops = {Get(0, "j", "new", 5, 2000, 2001), Get(1, "k", std::nullopt, 5, 2000, 2001)};
  CheckReport r = Check(h, ops, 10, /*reclaimed_before=*/1500);
  EXPECT_EQ(r.verdict, Verdict::kInvalid);
  // c1 stopped before the tombstone: it still holds k.
  ASSERT_EQ(r.violation_count, 1u) << r.violations[0].message;
  EXPECT_EQ(r.violations[0].kind, "not-reclaimed");
  EXPECT_THAT(r.violations[0].message, HasSubstr("replica c1 at position 3 still holds 'k'"));
  h.finals.pop_back();
  EXPECT_EQ(Check(h, ops, 10, 1500).verdict, Verdict::kValid);
}

TEST(ExpiryCheckTest, SkipsWithoutDeadlinesAndRefusesANegativeBound) {
  History h = WithLog({Put(0, "k", "v", std::nullopt)});
  EXPECT_EQ(Check(h, {}, 0).verdict, Verdict::kSkipped);
  History none;
  EXPECT_EQ(Check(none, {}, 0).verdict, Verdict::kSkipped);
  auto bad = CheckExpiry(WithLog({Put(0, "k", "v", 5)}), {}, ExpiryOptions{-1, 0, std::nullopt});
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error().reason, HasSubstr("skew bound is negative"));
}

}  // namespace
}  // namespace kvlog::checker
