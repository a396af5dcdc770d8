// kvctl's --read and txn syntax.
#include "tools/kvctl/syntax.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kvlog::kvctl {
namespace {

using ::testing::HasSubstr;

TEST(ParseReadLevelTest, EveryLevel) {
  EXPECT_EQ(ParseReadLevel("local").value(), kv::ReadLevel::Local());
  EXPECT_EQ(ParseReadLevel("linearizable").value(), kv::ReadLevel::Linearizable());
  EXPECT_EQ(ParseReadLevel("bounded:0").value(), kv::ReadLevel::Bounded(0));
  EXPECT_EQ(ParseReadLevel("bounded:25").value(), kv::ReadLevel::Bounded(25));
  EXPECT_EQ(ParseReadLevel("at_least:42").value(), kv::ReadLevel::AtLeast(42));
  EXPECT_EQ(ParseReadLevel("at-least:7").value(), kv::ReadLevel::AtLeast(7));
}

TEST(ParseReadLevelTest, BadLevelsSayWhatIsExpected) {
  for (const char* bad : {"", "Local", "lin", "bounded", "bounded:", "bounded:-1", "bounded:1x", "at_least:+3",
                          "stale:5", "linearizable:1"}) {
    auto r = ParseReadLevel(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_THAT(r.error(), HasSubstr("--read '" + std::string(bad) + "'")) << bad;
  }
  EXPECT_THAT(ParseReadLevel("fresh").error(), HasSubstr("expected local, linearizable, bounded:N or at_least:POSITION"));
  EXPECT_THAT(ParseReadLevel("bounded:-1").error(), HasSubstr("lag in records"));
}

TEST(ParseTxnTest, ThreeSections) {
  auto spec = ParseTxn(
      "version(\"a\") = 5\n"
      "absent(b)\n"
      "  present( c )  # a comment\n"
      "mod(d)==0\n"
      "\n"
      "# writes if they hold\n"
      "put a 1\n"
      "put b \"two words\"\n"
      "\n"
      "del c\r\n"
      "delete d\n",
      Encoding::kEscaped);
  ASSERT_TRUE(spec.has_value()) << spec.error();
  using K = TxnCompare::Kind;
  EXPECT_EQ(spec->compares, (std::vector<TxnCompare>{{K::kVersion, "a", 5}, {K::kAbsent, "b", 0},
                                                     {K::kPresent, "c", 0}, {K::kVersion, "d", 0}}));
  EXPECT_EQ(spec->then_writes, (std::vector<TxnWrite>{{"a", "1"}, {"b", "two words"}}));
  EXPECT_EQ(spec->else_writes, (std::vector<TxnWrite>{{"c", std::nullopt}, {"d", std::nullopt}}));
}

TEST(ParseTxnTest, NoComparesAndNoElse) {
  auto spec = ParseTxn("\nput a=b (x)\n", Encoding::kEscaped);
  ASSERT_TRUE(spec.has_value()) << spec.error();
  EXPECT_TRUE(spec->compares.empty());
  EXPECT_EQ(spec->then_writes, (std::vector<TxnWrite>{{"a=b", "(x)"}}));
  EXPECT_TRUE(spec->else_writes.empty());
}

TEST(ParseTxnTest, KeysAndValuesAreInTheEncoding) {
  auto escaped = ParseTxn("absent(\"k\\x00\\x22\")\n\nput \"k\\x00\\x22\" a\\tb\n", Encoding::kEscaped);
  ASSERT_TRUE(escaped.has_value()) << escaped.error();
  EXPECT_EQ(escaped->compares[0].key, std::string("k\0\"", 3));
  EXPECT_EQ(escaped->then_writes[0].value, "a\tb");
  auto hex = ParseTxn("version(6b00) = 3\n\nput 6b00 ff\n", Encoding::kHex);
  ASSERT_TRUE(hex.has_value()) << hex.error();
  EXPECT_EQ(hex->compares[0].key, std::string("k\0", 2));
  EXPECT_EQ(hex->then_writes[0].value, "\xff");
  auto bad = ParseTxn("\nput 6b0 ff\n", Encoding::kHex);
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error(), HasSubstr("line 2: key '6b0' is not valid --encoding hex text"));
}

TEST(ParseTxnTest, ErrorsNameTheLineAndTheProblem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "writes nothing"},
      {"absent(a)\n", "writes nothing"},
      {"put a 1\n", "line 1: 'put' in the compares section"},
      {"version(a) > 5\n\nput a 1\n", "line 1: only '=' compares a version"},
      {"version(a)\n\nput a 1\n", "line 1: version(KEY) needs a version"},
      {"version(a) = -1\n\nput a 1\n", "line 1: version '-1'"},
      {"version(a) = 5x\n\nput a 1\n", "line 1: version '5x'"},
      {"version(a) = 5 6\n\nput a 1\n", "line 1: unexpected '6'"},
      {"absent a\n\nput a 1\n", "line 1: absent takes one key in parentheses"},
      {"absent(a) = 3\n\nput a 1\n", "line 1: unexpected '='"},
      {"exists(a)\n\nput a 1\n", "line 1: unknown compare 'exists'"},
      {"absent(\"a)\n\nput a 1\n", "line 1: a quote opened at column 8 is not closed"},
      {"\nput a\n", "line 2: put takes KEY VALUE (1 given)"},
      {"\nput a b c\n", "line 2: put takes KEY VALUE (3 given)"},
      {"\ndel a b\n", "line 2: del takes KEY (2 given)"},
      {"\nget a\n", "line 2: get is not part of a transaction"},
      {"\nset a 1\n", "line 2: unknown write 'set'"},
      {"\nput a 1\n\ndel b\n\nput c 1\n", "line 6: a transaction has three sections"},
      {"\nput a\\q 1\n", "line 2: key 'a\\q' is not valid --encoding escaped text"},
  };
  for (const auto& [text, want] : cases) {
    auto r = ParseTxn(text, Encoding::kEscaped);
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_THAT(r.error(), HasSubstr(want)) << text;
  }
}

}  // namespace
}  // namespace kvlog::kvctl
