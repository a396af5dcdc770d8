// LevelName: the one-byte read level of events and operations. Its own test
// binary: the last test fills the process-wide table of unknown names.
#include "checker/level.h"

#include <string>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/history.h"
#include "checker/jsonl.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

TEST(LevelName, IsOneByteAndReadsLikeAnOptionalString) {
  static_assert(sizeof(LevelName) == 1);
  LevelName none;
  EXPECT_FALSE(none);
  EXPECT_FALSE(none.has_value());
  EXPECT_EQ(none.kind(), LevelName::Kind::kNone);
  EXPECT_FALSE(none == "local");  // as an empty optional: equal to no name
  EXPECT_EQ(none.value_or("local"), "local");
  const struct {
    const char* name;
    LevelName::Kind kind;
  } known[] = {{"local", LevelName::Kind::kLocal},
               {"bounded", LevelName::Kind::kBounded},
               {"at_least", LevelName::Kind::kAtLeast},
               {"linearizable", LevelName::Kind::kLinearizable}};
  for (const auto& k : known) {
    LevelName level = k.name;
    EXPECT_TRUE(level);
    EXPECT_EQ(level.kind(), k.kind);
    EXPECT_EQ(*level, k.name);
    EXPECT_TRUE(level == k.name);
    EXPECT_TRUE(level == std::string(k.name));
    EXPECT_EQ(level.value_or("x"), k.name);
    level.reset();
    EXPECT_FALSE(level);
  }
  EXPECT_FALSE(LevelName("local") == "bounded");
  EXPECT_FALSE(LevelName("local") == LevelName("bounded"));
}

TEST(LevelName, AnUnknownNameIsKeptAsWritten) {
  LevelName a = "eventual", b = std::string("eventual"), c = "causal";
  EXPECT_EQ(a.kind(), LevelName::Kind::kOther);
  EXPECT_EQ(*a, "eventual");
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_EQ(*c, "causal");
}

// The JSONL text of every level, known or not, survives a read and a write.
TEST(LevelName, JsonlRoundTripsTheLevelText) {
  const std::string text =
      "{\"bound\":3,\"f\":\"get\",\"key\":\"k\",\"level\":\"bounded\",\"process\":0,\"type\":\"invoke\",\"value\":null}\n"
      "{\"applied\":5,\"f\":\"get\",\"key\":\"k\",\"process\":0,\"type\":\"ok\",\"value\":null}\n"
      "{\"f\":\"get\",\"key\":\"k\",\"level\":\"eventual\",\"process\":1,\"type\":\"invoke\",\"value\":null}\n"
      "{\"f\":\"get\",\"key\":\"k\",\"process\":1,\"type\":\"fail\",\"value\":null}\n";
  auto h = ParseJsonl(text, "levels.jsonl");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  ASSERT_EQ(h->events.size(), 4u);
  EXPECT_EQ(h->events[0].level.kind(), LevelName::Kind::kBounded);
  EXPECT_EQ(h->events[0].bound, 3);
  EXPECT_FALSE(h->events[1].level);
  EXPECT_EQ(*h->events[2].level, "eventual");
  const std::string again = WriteJsonl(*h);
  EXPECT_EQ(again.substr(0, text.size()), text);
  // The operation carries its invocation's level.
  auto ops = PairOperations(*h);
  ASSERT_TRUE(ops.has_value());
  EXPECT_TRUE((*ops)[0].level == "bounded");
  EXPECT_TRUE((*ops)[1].level == "eventual");
}

// More distinct unknown names than a byte can index: the reader says so,
// naming the line, rather than mixing names up.
TEST(LevelName, TooManyDistinctUnknownNamesIsAnErrorNamingTheLine) {
  int made = 0;
  for (int i = 0; i < 2 * LevelName::kMaxOtherNames; ++i) {
    auto level = LevelName::TryMake(fmt::format("level-{}", i));
    if (!level) break;
    EXPECT_EQ(**level, fmt::format("level-{}", i));
    ++made;
  }
  EXPECT_LE(made, LevelName::kMaxOtherNames);
  EXPECT_GE(made, LevelName::kMaxOtherNames - 2);  // the tests above added two
  // Names seen before still work; a new one does not.
  EXPECT_TRUE(LevelName::TryMake("level-0").has_value());
  EXPECT_TRUE(LevelName::TryMake("linearizable").has_value());
  EXPECT_FALSE(LevelName::TryMake("one-more").has_value());
  auto h = ParseJsonl(
      "{\"f\":\"get\",\"key\":\"k\",\"level\":\"local\",\"process\":0,\"type\":\"invoke\",\"value\":null}\n"
      "{\"f\":\"get\",\"key\":\"k\",\"level\":\"one-more\",\"process\":1,\"type\":\"invoke\",\"value\":null}\n",
      "many.jsonl");
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().line, 2);
  EXPECT_NE(h.error().reason.find("distinct unknown read levels"), std::string::npos) << h.error().ToString();
}

}  // namespace
}  // namespace kvlog::checker
