#include "tools/kvctl/encoding.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "rapidcheck/gtest.h"

namespace kvlog::kvctl {
namespace {

using namespace std::string_literals;

constexpr Encoding kAll[] = {Encoding::kEscaped, Encoding::kHex, Encoding::kBase64};

// Bytes 0x00 and 0xFF, a truncated UTF-8 sequence, an overlong '/', a UTF-16
// surrogate, valid two-, three- and four-byte characters, and the escapes'
// own characters.
const std::string kAwkward = "a\x00"s + "\xff" + "\xc3" + "\xc0\xaf" + "\xed\xa0\x80" + "\xc3\xa9\xe2\x82\xac" +
                             "\xf0\x9f\x99\x82" + "\\x41\t\n\r\x7f";

TEST(Encoding, EscapedKeepsTextAndEscapesTheRest) {
  EXPECT_EQ(Encode("user/1 ada", Encoding::kEscaped), "user/1 ada");
  EXPECT_EQ(Encode("caf\xc3\xa9", Encoding::kEscaped), "caf\xc3\xa9");  // Valid UTF-8 stays readable.
  EXPECT_EQ(Encode("\x00\xff"s, Encoding::kEscaped), "\\x00\\xff");
  EXPECT_EQ(Encode("a\\b\tc\nd\re\x7f", Encoding::kEscaped), "a\\\\b\\tc\\nd\\re\\x7f");
  EXPECT_EQ(Encode("\xc3", Encoding::kEscaped), "\\xc3");               // Truncated.
  EXPECT_EQ(Encode("\xc0\xaf", Encoding::kEscaped), "\\xc0\\xaf");      // Overlong.
  EXPECT_EQ(Encode("\xed\xa0\x80", Encoding::kEscaped), "\\xed\\xa0\\x80");  // Surrogate.
  EXPECT_EQ(Encode("\xf4\x90\x80\x80", Encoding::kEscaped), "\\xf4\\x90\\x80\\x80");  // Above U+10FFFF.
}

TEST(Encoding, HexAndBase64) {
  EXPECT_EQ(Encode("\x00\xff"s, Encoding::kHex), "00ff");
  EXPECT_EQ(Decode("00FF", Encoding::kHex), "\x00\xff"s);
  EXPECT_EQ(Encode("", Encoding::kBase64), "");
  EXPECT_EQ(Encode("f", Encoding::kBase64), "Zg==");
  EXPECT_EQ(Encode("fo", Encoding::kBase64), "Zm8=");
  EXPECT_EQ(Encode("foo", Encoding::kBase64), "Zm9v");
  EXPECT_EQ(Encode("foobar", Encoding::kBase64), "Zm9vYmFy");
  EXPECT_EQ(Encode("\x00\xff"s, Encoding::kBase64), "AP8=");
  EXPECT_EQ(Decode("Zm8=", Encoding::kBase64), "fo");
}

TEST(Encoding, RefusesMalformedTextSayingWhere) {
  const std::pair<Encoding, std::pair<std::string, std::string>> cases[] = {
      {Encoding::kEscaped, {"ab\\", "a lone '\\' at byte 2"}},
      {Encoding::kEscaped, {"a\\qb", "invalid escape '\\q' at byte 1"}},
      {Encoding::kEscaped, {"\\x4", "'\\x' at byte 0 needs two hex digits"}},
      {Encoding::kEscaped, {"\\xg0", "needs two hex digits"}},
      {Encoding::kHex, {"abc", "odd number of digits (3)"}},
      {Encoding::kHex, {"0g", "not a hex digit at byte 1"}},
      {Encoding::kBase64, {"Zg", "not a multiple of 4"}},
      {Encoding::kBase64, {"Z===", "not a base64 character at byte 1"}},
      {Encoding::kBase64, {"Zg==Zg==", "not a base64 character at byte 2"}},
      {Encoding::kBase64, {"Zh==", "non-canonical base64 padding at byte 0"}},
      {Encoding::kBase64, {"Zm9v\n", "not a multiple of 4"}},
  };
  for (const auto& [encoding, c] : cases) {
    auto r = Decode(c.first, encoding);
    ASSERT_FALSE(r.has_value()) << c.first;
    EXPECT_NE(r.error().find(c.second), std::string::npos) << c.first << ": " << r.error();
  }
}

TEST(Encoding, EscapedTakesRawBytesAsThemselves) {
  EXPECT_EQ(Decode("a\tb\xff", Encoding::kEscaped), "a\tb\xff");
  EXPECT_EQ(Decode("\\x41\\X", Encoding::kEscaped).has_value(), false);
  EXPECT_EQ(Decode("\\x4a\\x4A\\\\", Encoding::kEscaped), "JJ\\");
}

TEST(Encoding, NamesRoundTrip) {
  for (Encoding e : kAll) EXPECT_EQ(ParseEncoding(EncodingName(e)), e);
  EXPECT_FALSE(ParseEncoding("raw").has_value());
  EXPECT_FALSE(ParseEncoding("HEX").has_value());
}

void CheckRoundTrip(const std::string& bytes, Encoding encoding) {
  const std::string text = Encode(bytes, encoding);
  auto back = Decode(text, encoding);
  RC_ASSERT(back.has_value());
  RC_ASSERT(*back == bytes);
  RC_ASSERT(text.find_first_of("\t\n\r") == std::string::npos);
  // Valid UTF-8: JSON carries it unchanged (strict dump throws otherwise).
  const std::string dumped = nlohmann::json(text).dump();
  RC_ASSERT(nlohmann::json::parse(dumped).get<std::string>() == text);
}

TEST(Encoding, AwkwardBytesRoundTripThroughJson) {
  for (Encoding e : kAll) {
    const std::string text = Encode(kAwkward, e);
    auto back = Decode(nlohmann::json::parse(nlohmann::json(text).dump()).get<std::string>(), e);
    ASSERT_TRUE(back.has_value()) << EncodingName(e) << ": " << back.error();
    EXPECT_EQ(*back, kAwkward) << EncodingName(e);
  }
}

RC_GTEST_PROP(Encoding, AnyBytesRoundTrip, (const std::string& bytes)) {
  for (Encoding e : kAll) CheckRoundTrip(bytes, e);
}

RC_GTEST_PROP(Encoding, AnyUtf8ishBytesRoundTrip, ()) {
  // Bias towards the bytes UTF-8 sequences are made of.
  const auto bytes = *rc::gen::container<std::string>(
      rc::gen::oneOf(rc::gen::inRange<char>(0x20, 0x7f), rc::gen::element('\xc3', '\xe2', '\xf0', '\xed', '\xf4'),
                     rc::gen::map(rc::gen::inRange(0x80, 0xc0), [](int b) { return static_cast<char>(b); })));
  for (Encoding e : kAll) CheckRoundTrip(bytes, e);
}

}  // namespace
}  // namespace kvlog::kvctl
