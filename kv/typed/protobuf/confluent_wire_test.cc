// The Confluent wire format against byte vectors written out by hand from the
// format's description (see confluent_wire.h): magic 0x00, big-endian schema
// id, zigzag-varint message indexes with [0] as the single byte 0x00, payload.
#include "kv/typed/protobuf/confluent_wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace kvlog::kv::typed::confluent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

std::string Encode(int32_t id, std::vector<int32_t> indexes, std::string_view payload) {
  return EncodeFrame(id, indexes, payload);
}

TEST(ZigZagVarintTest, MatchesHandEncodedValues) {
  struct Case {
    int32_t value;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {0, Bytes({0x00})},
      {-1, Bytes({0x01})},
      {1, Bytes({0x02})},
      {-2, Bytes({0x03})},
      {2, Bytes({0x04})},
      {63, Bytes({0x7e})},
      {-64, Bytes({0x7f})},
      {64, Bytes({0x80, 0x01})},
      {300, Bytes({0xd8, 0x04})},
      {2147483647, Bytes({0xfe, 0xff, 0xff, 0xff, 0x0f})},
      {-2147483647 - 1, Bytes({0xff, 0xff, 0xff, 0xff, 0x0f})},
  };
  for (const Case& c : cases) {
    std::string out;
    AppendZigZagVarint(c.value, out);
    EXPECT_EQ(out, c.bytes) << "encoding " << c.value;
    std::string_view in = c.bytes;
    auto back = ReadZigZagVarint(in);
    ASSERT_TRUE(back.has_value()) << back.error().ToString();
    EXPECT_EQ(*back, c.value);
    EXPECT_TRUE(in.empty());
  }
}

TEST(ZigZagVarintTest, RejectsTruncatedAndOverlongVarints) {
  std::string_view truncated = "\x80";
  EXPECT_THAT(ReadZigZagVarint(truncated).error().message(), HasSubstr("cut short"));
  const std::string overlong = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  std::string_view in = overlong;
  EXPECT_FALSE(ReadZigZagVarint(in).has_value());
  const std::string too_big = Bytes({0xff, 0xff, 0xff, 0xff, 0x1f});
  in = too_big;
  EXPECT_THAT(ReadZigZagVarint(in).error().message(), HasSubstr("32 bits"));
}

TEST(ConfluentFrameTest, FirstMessageUsesTheSingleZeroByte) {
  // Schema id 1, message [0], payload: field 1 (string) = "Ada".
  const std::string payload = Bytes({0x0a, 0x03, 'A', 'd', 'a'});
  const std::string expected = Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0a, 0x03, 'A', 'd', 'a'});
  EXPECT_EQ(Encode(1, {0}, payload), expected);

  auto frame = DecodeFrame(expected);
  ASSERT_TRUE(frame.has_value()) << frame.error().ToString();
  EXPECT_EQ(frame->schema_id, 1);
  EXPECT_THAT(frame->message_indexes, ElementsAre(0));
  EXPECT_EQ(frame->payload, payload);
}

TEST(ConfluentFrameTest, OtherPathsWriteZigZagCountThenIndexes) {
  // Schema id 0x01020304 (big-endian), message [1]: count 1 -> 0x02, index 1 -> 0x02.
  EXPECT_EQ(Encode(0x01020304, {1}, "P"), Bytes({0x00, 0x01, 0x02, 0x03, 0x04, 0x02, 0x02, 'P'}));
  // Message [1, 0]: count 2 -> 0x04, then 0x02, 0x00.
  EXPECT_EQ(Encode(3, {1, 0}, ""), Bytes({0x00, 0x00, 0x00, 0x00, 0x03, 0x04, 0x02, 0x00}));
  // Message [0, 2]: not the short form. count 2 -> 0x04, 0 -> 0x00, 2 -> 0x04.
  EXPECT_EQ(Encode(7, {0, 2}, "x"), Bytes({0x00, 0x00, 0x00, 0x00, 0x07, 0x04, 0x00, 0x04, 'x'}));
  // Message [64]: index 64 -> 0x80 0x01.
  EXPECT_EQ(Encode(256, {64}, ""), Bytes({0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x80, 0x01}));
  // Largest schema id.
  EXPECT_EQ(Encode(0x7fffffff, {0}, ""), Bytes({0x00, 0x7f, 0xff, 0xff, 0xff, 0x00}));
}

TEST(ConfluentFrameTest, DecodesHandWrittenFrames) {
  // Frame::payload points into the input, so each input outlives its frame.
  const std::string nested_bytes = Bytes({0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x02, 0x00, 0x08, 0x01});
  auto nested = DecodeFrame(nested_bytes);
  ASSERT_TRUE(nested.has_value()) << nested.error().ToString();
  EXPECT_EQ(nested->schema_id, 256);
  EXPECT_THAT(nested->message_indexes, ElementsAre(1, 0));
  EXPECT_EQ(nested->payload, Bytes({0x08, 0x01}));

  // The long form of [0] (count 1, index 0) is accepted too.
  const std::string long_zero_bytes = Bytes({0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x00, 'p'});
  auto long_zero = DecodeFrame(long_zero_bytes);
  ASSERT_TRUE(long_zero.has_value()) << long_zero.error().ToString();
  EXPECT_THAT(long_zero->message_indexes, ElementsAre(0));
  EXPECT_EQ(long_zero->payload, "p");

  // An empty payload is a valid (default) message.
  const std::string empty_bytes = Bytes({0x00, 0x00, 0x00, 0x00, 0x09, 0x00});
  auto empty = DecodeFrame(empty_bytes);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->schema_id, 9);
  EXPECT_TRUE(empty->payload.empty());
}

TEST(ConfluentFrameTest, RejectsWhatIsNotTheFormat) {
  auto error = [](const std::string& bytes) {
    auto frame = DecodeFrame(bytes);
    EXPECT_FALSE(frame.has_value());
    if (frame) return std::string("<decoded>");
    EXPECT_EQ(frame.error().code(), ErrorCode::kCorrupt);
    return frame.error().message();
  };
  EXPECT_THAT(error(""), HasSubstr("empty value"));
  EXPECT_THAT(error(Bytes({0x01, 0x00, 0x00, 0x00, 0x01, 0x00})), HasSubstr("unknown magic byte 0x01"));
  EXPECT_THAT(error("{\"json\": 1}"), HasSubstr("unknown magic byte 0x7b"));
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x01})), HasSubstr("header cut short: 4 bytes"));
  // Header but no message indexes.
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01})), HasSubstr("message index count"));
  // 0x01 is zigzag -1: a count written without zigzag would land here.
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00})), HasSubstr("count -1"));
  // Count 65 (0x82 0x01) is over kMaxMessageIndexes.
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x82, 0x01})), HasSubstr("count 65"));
  // Count 2 but only one index.
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x04, 0x02})), HasSubstr("cut short"));
  // Negative index -1 (0x01).
  EXPECT_THAT(error(Bytes({0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01})), HasSubstr("negative message index -1"));
}

TEST(ConfluentFrameTest, RoundTripsManyPaths) {
  const std::vector<std::vector<int32_t>> paths = {{0}, {1}, {0, 0}, {3, 1, 4}, {200}, {0, 0, 0, 7}};
  for (const auto& path : paths) {
    const std::string bytes = EncodeFrame(-5, path, "payload");
    auto frame = DecodeFrame(bytes);
    ASSERT_TRUE(frame.has_value()) << frame.error().ToString();
    EXPECT_EQ(frame->schema_id, -5);
    EXPECT_EQ(frame->message_indexes, path) << FormatIndexes(path);
    EXPECT_EQ(frame->payload, "payload");
  }
  EXPECT_EQ(FormatIndexes(std::vector<int32_t>{1, 0}), "[1, 0]");
}

}  // namespace
}  // namespace kvlog::kv::typed::confluent
