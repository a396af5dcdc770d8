#include "base/propagate.h"

#include <expected>
#include <string>

#include <fmt/format.h>

#include "gtest/gtest.h"

namespace kvlog::base {
namespace {

// An error type of a package's own, as checker/ has.
struct OwnError {
  int line = 0;
  std::string reason;
};

std::expected<int, OwnError> ParseOwn(const std::string& text) {
  if (text.empty()) return std::unexpected(OwnError{7, "empty"});
  return static_cast<int>(text.size());
}

std::expected<int, OwnError> SumOwn(const std::string& a, const std::string& b) {
  KVLOG_ASSIGN_OR_RETURN(int first, ParseOwn(a));
  KVLOG_ASSIGN_OR_RETURN(int second, ParseOwn(b));
  return first + second;
}

std::expected<void, std::string> CheckPositive(int n) {
  if (n <= 0) return std::unexpected(fmt::format("not positive: {}", n));
  return {};
}

std::expected<void, std::string> CheckBoth(int a, int b) {
  KVLOG_RETURN_IF_ERROR(CheckPositive(a));
  KVLOG_RETURN_IF_ERROR(WithContext(CheckPositive(b), "second"));
  return {};
}

TEST(PropagateTest, AssignOrReturnPassesValuesAndReturnsAnOwnErrorType) {
  EXPECT_EQ(SumOwn("ab", "cde"), 5);
  auto failed = SumOwn("ab", "");
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().line, 7);
  EXPECT_EQ(failed.error().reason, "empty");
}

TEST(PropagateTest, ReturnIfErrorStopsAtTheFirstFailure) {
  EXPECT_TRUE(CheckBoth(1, 2).has_value());
  EXPECT_EQ(CheckBoth(0, -1).error(), "not positive: 0");
  EXPECT_EQ(CheckBoth(1, -1).error(), "second: not positive: -1");
}

TEST(PropagateTest, WithContextPrefixesStringErrorsAndKeepsValues) {
  EXPECT_EQ(WithContext(std::string("gone"), "broker 2"), "broker 2: gone");
  std::expected<int, std::string> ok = 3;
  EXPECT_EQ(WithContext(ok, "unused"), 3);
}

}  // namespace
}  // namespace kvlog::base
