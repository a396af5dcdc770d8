#include "log/status.h"

#include <string>

#include "gtest/gtest.h"

namespace kvlog {
namespace {

Result<int> Parse(bool ok) {
  if (!ok) return MakeError(ErrorCode::kInvalidArgument, "not a number");
  return 7;
}

Status Check(bool ok) {
  if (!ok) return MakeError(ErrorCode::kUnavailable, "down");
  return OkStatus();
}

Result<int> Twice(bool ok) {
  KVLOG_ASSIGN_OR_RETURN(int n, Parse(ok));
  return 2 * n;
}

Status Both(bool first, bool second) {
  KVLOG_RETURN_IF_ERROR(Check(first));
  KVLOG_RETURN_IF_ERROR(Parse(second));
  return OkStatus();
}

TEST(StatusTest, AssignOrReturnUnwrapsAValueAndPropagatesAnError) {
  EXPECT_EQ(Twice(true), 14);
  Result<int> failed = Twice(false);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), Error(ErrorCode::kInvalidArgument, "not a number"));
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstError) {
  EXPECT_TRUE(Both(true, true));
  EXPECT_EQ(Both(false, false).error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(Both(true, false).error().code(), ErrorCode::kInvalidArgument);
}

TEST(StatusTest, WithContextPrefixesTheMessageAndKeepsTheCode) {
  Error e = WithContext(Error(ErrorCode::kCorrupt, "bad checksum"), "record 4");
  EXPECT_EQ(e, Error(ErrorCode::kCorrupt, "record 4: bad checksum"));
  Result<int> failed = WithContext(Parse(false), "flag --n");
  EXPECT_EQ(failed.error().message(), "flag --n: not a number");
  EXPECT_EQ(WithContext(Parse(true), "flag --n"), 7);
  EXPECT_EQ(WithContext(Check(false), "broker").error().message(), "broker: down");
}

TEST(StatusTest, CancelledHasItsOwnName) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kCancelled), "Cancelled");
  EXPECT_NE(ErrorCodeName(ErrorCode::kCancelled), ErrorCodeName(ErrorCode::kTimeout));
  EXPECT_EQ(Error(ErrorCode::kCancelled, "put: cancelled").ToString(), "Cancelled: put: cancelled");
}

}  // namespace
}  // namespace kvlog
