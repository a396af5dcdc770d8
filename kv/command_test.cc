#include "kv/command.h"

#include <gtest/gtest.h>

#include "kv/ttl.h"

namespace kvlog::kv::internal {
namespace {

Command Sample() {
  Command c;
  c.writer = "w@12";
  c.seq = 300;
  c.compares = {{"a", CommandCompare::Kind::kVersion, 1234567890123},
                {std::string("\0b", 2), CommandCompare::Kind::kAbsent, kNoVersion},
                {"c", CommandCompare::Kind::kPresent, kNoVersion}};
  c.then_writes = {{"a", std::string(300, 'x')}, {"b", std::nullopt}};
  c.else_writes = {{"z", ""}};
  return c;
}

TEST(CommandTest, RoundTrips) {
  const Command c = Sample();
  const std::string encoded = EncodeCommand(c);
  EXPECT_TRUE(IsCommand(encoded));
  auto decoded = DecodeCommand(encoded);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, c);
  EXPECT_EQ(CommandRecordKey(c), std::string("\0kvlog-command\0w@12\0" "300", 23));
  Command only_compare;
  only_compare.compares = {{"k", CommandCompare::Kind::kAbsent, kNoVersion}};
  only_compare.else_writes = {{"e", "1"}};
  EXPECT_EQ(DecodeCommand(EncodeCommand(only_compare)).value(), only_compare);
}

TEST(CommandTest, PlainValuesAreNotCommands) {
  EXPECT_FALSE(IsCommand(""));
  EXPECT_FALSE(IsCommand("hello"));
  EXPECT_FALSE(IsCommand(kCommandMagic.substr(0, kCommandMagic.size() - 1)));
}

TEST(CommandTest, EveryTruncationAndDamagedFieldIsCorrupt) {
  const std::string encoded = EncodeCommand(Sample());
  for (std::size_t n = 0; n < encoded.size(); ++n) {
    auto decoded = DecodeCommand(std::string_view(encoded).substr(0, n));
    ASSERT_FALSE(decoded.has_value()) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(decoded.error().code(), ErrorCode::kCorrupt);
  }
  auto trailing = DecodeCommand(encoded + "x");
  ASSERT_FALSE(trailing.has_value());
  EXPECT_NE(trailing.error().message().find("trailing"), std::string::npos);
  // A count far beyond what the bytes can hold is refused, not allocated.
  std::string huge(kCommandMagic);
  huge += std::string("\x00\x00\xff\xff\xff\xff\x0f", 7);
  auto refused = DecodeCommand(huge);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("compare count"), std::string::npos);
}

// The bytes of a command record as kvlog wrote them before TTL existed: they
// must decode the same forever (records stay in the topic).
TEST(CommandTest, RecordsWrittenBeforeTtlDecodeAsBefore) {
  const std::string before("\xff\x00kvlogC\x01" "\x04w@12" "\x05" "\x01" "\x01k" "\x02" "\x07"
                           "\x01" "\x01k" "\x01" "\x02v1" "\x00", 28);
  auto decoded = DecodeCommand(before);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  Command expected;
  expected.writer = "w@12";
  expected.seq = 5;
  expected.compares = {{"k", CommandCompare::Kind::kVersion, 7}};
  expected.then_writes = {{"k", "v1"}};
  EXPECT_EQ(*decoded, expected);
  EXPECT_EQ(EncodeCommand(expected), before);  // And a write without TTL encodes to the same bytes.
  // Its plain write value is not an envelope: no deadline.
  EXPECT_EQ(DecodeStoredValue(*decoded->then_writes[0].value).deadline_ns, 0);
}

TEST(CommandTest, AWriteWithTtlCarriesItsEnvelopeAndTheMarkersNeverMix) {
  Command c;
  c.writer = std::string("w@1") + std::string(kExpiryWriterSuffix);
  c.compares = {{"k", CommandCompare::Kind::kVersion, 3}};
  c.then_writes = {{"k", EncodeTtlValue(42, "v")}};
  auto decoded = DecodeCommand(EncodeCommand(c));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, c);
  EXPECT_TRUE(IsExpiryWriter(decoded->writer));
  EXPECT_FALSE(IsExpiryWriter("w@1"));
  EXPECT_EQ(DecodeStoredValue(*decoded->then_writes[0].value).deadline_ns, 42);
  EXPECT_FALSE(IsCommand(EncodeTtlValue(42, "v")));
  EXPECT_FALSE(IsTtlEnvelope(EncodeCommand(c)));
}

}  // namespace
}  // namespace kvlog::kv::internal
