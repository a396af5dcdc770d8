// The compact fields of an Operation: FunctionName (its f in one byte),
// OptionalInt (its times and positions in eight bytes each) and
// OptionalString (its key and ids in sixteen bytes each). Each must read
// exactly like the std::string / std::optional it replaced. Its own
// test binary: a test fills the process-wide table of unknown names.
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "checker/function_name.h"
#include "checker/history.h"
#include "checker/jsonl.h"
#include "checker/optional_int.h"
#include "checker/optional_string.h"
#include "gtest/gtest.h"

namespace kvlog::checker {
namespace {

TEST(FunctionName, EachKnownNameHasItsOwnCodeAndReadsBackAsWritten) {
  static_assert(sizeof(FunctionName) == 1);
  const struct {
    const char* name;
    FunctionName::Code code;
    bool read;
  } known[] = {{"put", FunctionName::kPut, false},       {"get", FunctionName::kGet, true},
               {"delete", FunctionName::kDelete, false}, {"batch", FunctionName::kBatch, false},
               {"range", FunctionName::kRange, true},    {"cas", FunctionName::kCas, false},
               {"read", FunctionName::kRead, true},      {"write", FunctionName::kWrite, false},
               {"append", FunctionName::kAppend, false}, {"incr", FunctionName::kIncr, false},
               {"transfer", FunctionName::kTransfer, false}};
  for (const auto& k : known) {
    SCOPED_TRACE(k.name);
    const FunctionName f = k.name;
    EXPECT_EQ(f.code(), k.code);
    EXPECT_EQ(FunctionName(k.code).str(), k.name);  // the table's order is the enum's
    EXPECT_TRUE(f.known());
    EXPECT_TRUE(KnownFunction(f));
    EXPECT_TRUE(KnownFunction(std::string_view(k.name)));
    EXPECT_EQ(f.is_read(), k.read);
    EXPECT_EQ(IsReadFunction(f), IsReadFunction(std::string_view(k.name)));
    EXPECT_TRUE(f == k.name);
    EXPECT_TRUE(f == std::string(k.name));
    EXPECT_EQ(std::string_view(f), k.name);
    EXPECT_EQ(f.size(), std::string(k.name).size());
    EXPECT_EQ(fmt::format("[{}]", f), fmt::format("[{}]", k.name));
    std::ostringstream out;
    out << f;
    EXPECT_EQ(out.str(), k.name);
    for (const auto& other : known) {
      EXPECT_EQ(f == other.name, std::string_view(k.name) == other.name) << other.name;
      EXPECT_EQ(f == FunctionName(other.name), std::string_view(k.name) == other.name) << other.name;
    }
  }
}

TEST(FunctionName, TheEmptyNameAndUnknownNamesAreKeptAsWritten) {
  const FunctionName none;
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.known());
  EXPECT_EQ(none.str(), "");
  EXPECT_TRUE(none == "");
  EXPECT_FALSE(none == "put");
  const FunctionName a = "frobnicate", b = std::string("frobnicate"), c = "gets";
  EXPECT_FALSE(a.known());
  EXPECT_FALSE(KnownFunction(a));
  EXPECT_FALSE(a.is_read());
  EXPECT_EQ(a.str(), "frobnicate");
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a == "frobnicate");
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(c == "get");  // a prefix of a known name is another name
  // A known name with a zero byte after it is another name (it packs alike).
  const std::string put_nul("put\0", 4);
  EXPECT_FALSE(KnownFunction(std::string_view(put_nul)));
  EXPECT_FALSE(FunctionName(put_nul).known());
  EXPECT_FALSE(FunctionName(put_nul) == "put");
  EXPECT_EQ(FunctionName(put_nul).size(), 4u);
  EXPECT_FALSE(KnownFunction(std::string_view("pu")));
  EXPECT_FALSE(KnownFunction(std::string_view("transfers")));
  EXPECT_FALSE(FunctionName("put") == "frobnicate");
  EXPECT_FALSE(a == "put");
}

TEST(FunctionName, TooManyDistinctUnknownNamesThrowRatherThanMixThemUp) {
  int made = 0;
  try {
    for (int i = 0; i < 2 * FunctionName::kMaxOtherNames; ++i) {
      const FunctionName f = fmt::format("fn-{}", i);
      EXPECT_EQ(f.str(), fmt::format("fn-{}", i));
      ++made;
    }
  } catch (const std::length_error& e) {
    EXPECT_NE(std::string(e.what()).find("distinct unknown operation functions"), std::string::npos) << e.what();
  }
  EXPECT_LE(made, FunctionName::kMaxOtherNames);
  EXPECT_GE(made, FunctionName::kMaxOtherNames - 3);  // the test above added three
  EXPECT_EQ(FunctionName("fn-0").str(), "fn-0");       // names seen before still work
  EXPECT_EQ(FunctionName("transfer").code(), FunctionName::kTransfer);
}

TEST(OptionalInt, ReadsLikeAnOptionalInt64) {
  static_assert(sizeof(OptionalInt) == 8);
  const int64_t values[] = {std::numeric_limits<int64_t>::min() + 1, -5, 0, 7, std::numeric_limits<int64_t>::max()};
  std::vector<std::optional<int64_t>> all = {std::nullopt};
  for (int64_t v : values) all.emplace_back(v);
  for (const auto& x : all) {
    const OptionalInt a = x;
    EXPECT_EQ(a.has_value(), x.has_value());
    EXPECT_EQ(static_cast<bool>(a), x.has_value());
    EXPECT_EQ(a.value_or(42), x.value_or(42));
    EXPECT_EQ(std::optional<int64_t>(a), x);
    EXPECT_EQ(a == std::nullopt, x == std::nullopt);
    if (x) {
      EXPECT_EQ(*a, *x);
    }
    for (const auto& y : all) {
      const OptionalInt b = y;
      EXPECT_EQ(a == b, x == y);
      EXPECT_EQ(a == y, x == y);
      EXPECT_EQ(a < b, x < y);  // absent orders first, as for std::optional
      EXPECT_EQ(a <= b, x <= y);
    }
  }
  OptionalInt c = 3;
  c.reset();
  EXPECT_FALSE(c);
}

TEST(OptionalString, ReadsLikeAnOptionalString) {
  static_assert(sizeof(OptionalString) == 16);
  // What the compact fields are for (history.h).
  static_assert(sizeof(Operation) == 152);
  static_assert(sizeof(LogRecord) == 120);
  // Absent, empty, held in place (up to 15 bytes), and on the heap (16 on),
  // with a zero byte inside.
  std::vector<std::optional<std::string>> all = {std::nullopt,        "",
                                                 "k7",                "fifteen bytes..",
                                                 "sixteen bytes...",  std::string("a\0b", 3),
                                                 std::string(300, 'x')};
  for (const auto& x : all) {
    SCOPED_TRACE(x ? *x : "(absent)");
    const OptionalString a = x;
    EXPECT_EQ(a.has_value(), x.has_value());
    EXPECT_EQ(static_cast<bool>(a), x.has_value());
    EXPECT_EQ(a.value_or("none"), x.value_or("none"));
    EXPECT_EQ(a.ToOptional(), x);
    EXPECT_EQ(a == std::nullopt, x == std::nullopt);
    if (x) {
      EXPECT_EQ(*a, *x);
      EXPECT_EQ(a->size(), x->size());
      EXPECT_TRUE(a == *x);
      EXPECT_TRUE(a == std::string_view(*x));
    }
    for (const auto& y : all) {
      const OptionalString b = y;
      EXPECT_EQ(a == b, x == y);
      EXPECT_EQ(a == y, x == y);
      EXPECT_EQ(a != b, x != y);
    }
    // Copies own their bytes (a heap string too); a move leaves the source absent.
    OptionalString copy = a;
    OptionalString assigned;
    assigned = copy;
    OptionalString moved = std::move(copy);
    EXPECT_FALSE(copy.has_value());  // NOLINT: checked on purpose
    EXPECT_EQ(moved, x);
    EXPECT_EQ(assigned, x);
    if (x && x->size() > OptionalString::kInline) {
      EXPECT_NE((*assigned).data(), (*a).data());
    }
    assigned = OptionalString("other");
    EXPECT_EQ(assigned, "other");
    EXPECT_EQ(a, x);
  }
  OptionalString c = "some key long enough for the heap";
  c.emplace("short");
  EXPECT_EQ(*c, "short");
  c.emplace(std::string(40, 'y'));
  EXPECT_EQ(*c, std::string(40, 'y'));
  c.reset();
  EXPECT_FALSE(c);
  EXPECT_EQ(*c, "");  // absent reads as empty, not as garbage
  EXPECT_FALSE(c == "");  // but is not equal to the empty string
}

// INT64_MIN is how an OptionalInt says "absent": a history that uses it is
// refused, naming the line, not read as a missing time or offset.
TEST(OptionalInt, TheReservedValueInAHistoryIsAnErrorNamingTheLine) {
  for (const char* field : {"time", "offset", "applied", "bound"}) {
    SCOPED_TRACE(field);
    const std::string text = fmt::format(
        "{{\"f\":\"put\",\"key\":\"k\",\"process\":0,\"type\":\"invoke\",\"value\":\"v\"}}\n"
        "{{\"f\":\"put\",\"key\":\"k\",\"{}\":-9223372036854775808,\"process\":0,\"type\":\"ok\",\"value\":\"v\"}}\n",
        field);
    // Paired after reading, and while reading (the scanner and the general parser).
    std::vector<Error> errors;
    auto whole = ParseJsonl(text, "reserved.jsonl");
    ASSERT_TRUE(whole.has_value()) << whole.error().ToString();  // events alone are not judged
    auto ops = PairOperations(*whole);
    ASSERT_FALSE(ops.has_value());
    errors.push_back(ops.error());
    for (bool fast_path : {false, true}) {
      JsonlReadOptions options;
      options.pair_events = true;
      options.fast_path = fast_path;
      std::istringstream in(text);
      auto paired = ReadJsonl(in, "reserved.jsonl", options);
      ASSERT_FALSE(paired.has_value()) << "fast_path " << fast_path;
      errors.push_back(paired.error());
    }
    for (const Error& error : errors) {
      EXPECT_EQ(error.line, 2);
      EXPECT_NE(error.reason.find("-9223372036854775808 is out of range"), std::string::npos) << error.ToString();
    }
  }
  // A log record's deadline too (the record's OptionalInt).
  const std::string log_line =
      "{\"log\":{\"offset\":0,\"key\":\"k\",\"value\":\"v\",\"deadline\":-9223372036854775808}}\n";
  for (bool fast_path : {false, true}) {
    JsonlReadOptions options;
    options.fast_path = fast_path;
    std::istringstream in("{\"meta\":{\"log_captured\":true}}\n" + log_line);
    auto h = ReadJsonl(in, "reserved.jsonl", options);
    ASSERT_FALSE(h.has_value()) << "fast_path " << fast_path;
    EXPECT_EQ(h.error().line, 2);
    EXPECT_NE(h.error().reason.find("deadline -9223372036854775808 is out of range"), std::string::npos)
        << h.error().ToString();
  }
  // One above it is a value like any other.
  auto h = ParseJsonl(
      "{\"f\":\"put\",\"key\":\"k\",\"process\":0,\"time\":-9223372036854775807,\"type\":\"invoke\",\"value\":\"v\"}\n"
      "{\"f\":\"put\",\"key\":\"k\",\"offset\":0,\"process\":0,\"type\":\"ok\",\"value\":\"v\"}\n",
      "edge.jsonl");
  ASSERT_TRUE(h.has_value()) << h.error().ToString();
  auto ops = PairOperations(*h);
  ASSERT_TRUE(ops.has_value()) << ops.error().ToString();
  EXPECT_EQ((*ops)[0].call_time, std::optional<int64_t>(-9223372036854775807));
  EXPECT_EQ((*ops)[0].offset, std::optional<int64_t>(0));
  EXPECT_FALSE((*ops)[0].applied);
}

}  // namespace
}  // namespace kvlog::checker
