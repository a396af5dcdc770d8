#include "tools/kvctl/encoding.h"

#include <array>
#include <cstdint>

#include <fmt/format.h>

namespace kvlog::kvctl {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The length of the well-formed UTF-8 sequence of two to four bytes starting
// at bytes[i] (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF),
// or 0.
std::size_t MultibyteLength(std::string_view bytes, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<uint8_t>(bytes[k]); };
  const uint8_t b0 = at(i);
  std::size_t n = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // The range of the second byte.
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // Overlong.
    if (b0 == 0xED) hi = 0x9F;  // Surrogates.
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // Overlong.
    if (b0 == 0xF4) hi = 0x8F;  // Above U+10FFFF.
  } else {
    return 0;
  }
  if (i + n > bytes.size()) return 0;
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return n;
}

std::string EncodeEscaped(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    if (b == '\\') {
      out += "\\\\";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b == '\n') {
      out += "\\n";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b >= 0x20 && b < 0x7F) {
      out += static_cast<char>(b);
    } else if (std::size_t n = b >= 0x80 ? MultibyteLength(bytes, i) : 0; n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
      continue;
    } else {
      out += "\\x";
      out += kHexDigits[b >> 4];
      out += kHexDigits[b & 0xF];
    }
    ++i;
  }
  return out;
}

std::expected<std::string, std::string> DecodeEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 == text.size()) {
      return std::unexpected(fmt::format("a lone '\\' at byte {} (write \\\\ for a backslash)", i));
    }
    switch (text[i + 1]) {
      case '\\': out += '\\'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'x': {
        const int hi = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
        const int lo = i + 3 < text.size() ? HexValue(text[i + 3]) : -1;
        if (hi < 0 || lo < 0) {
          return std::unexpected(fmt::format("'\\x' at byte {} needs two hex digits", i));
        }
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
        break;
      }
      default:
        return std::unexpected(fmt::format(
            "invalid escape '\\{}' at byte {} (escapes are \\\\, \\t, \\n, \\r and \\xHH)", text[i + 1], i));
    }
    ++i;
  }
  return out;
}

std::string EncodeHex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 0xF];
  }
  return out;
}

std::expected<std::string, std::string> DecodeHex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return std::unexpected(fmt::format("hex text has an odd number of digits ({})", text.size()));
  }
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return std::unexpected(fmt::format("not a hex digit at byte {}", hi < 0 ? i : i + 1));
    }
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kBase64Alphabet[(v >> shift) & 0x3F];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
    out += kBase64Alphabet[(v >> 18) & 0x3F];
    out += kBase64Alphabet[(v >> 12) & 0x3F];
    out += rest == 2 ? kBase64Alphabet[(v >> 6) & 0x3F] : '=';
    out += '=';
  }
  return out;
}

std::expected<std::string, std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) {
    return std::unexpected(
        fmt::format("base64 text is {} characters, not a multiple of 4 (padding with '=' is required)", text.size()));
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int pad = 0;
    if (last && text[i + 3] == '=') pad = text[i + 2] == '=' ? 2 : 1;
    std::array<int, 4> v{};
    for (int k = 0; k < 4 - pad; ++k) {
      v[k] = Base64Value(text[i + k]);
      if (v[k] < 0) return std::unexpected(fmt::format("not a base64 character at byte {}", i + k));
    }
    const uint32_t bits = static_cast<uint32_t>(v[0]) << 18 | static_cast<uint32_t>(v[1]) << 12 |
                          static_cast<uint32_t>(v[2]) << 6 | static_cast<uint32_t>(v[3]);
    // Canonical form only: the bits a padded group leaves over must be zero.
    if ((pad == 1 && (bits & 0xFF) != 0) || (pad == 2 && (bits & 0xFFFF) != 0)) {
      return std::unexpected(fmt::format("non-canonical base64 padding at byte {}", i));
    }
    out += static_cast<char>(bits >> 16);
    if (pad < 2) out += static_cast<char>((bits >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

}  // namespace

std::string_view EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kEscaped: return "escaped";
    case Encoding::kHex: return "hex";
    case Encoding::kBase64: return "base64";
  }
  return "?";
}

std::optional<Encoding> ParseEncoding(std::string_view name) {
  for (Encoding e : {Encoding::kEscaped, Encoding::kHex, Encoding::kBase64}) {
    if (name == EncodingName(e)) return e;
  }
  return std::nullopt;
}

std::string Encode(std::string_view bytes, Encoding encoding) {
  switch (encoding) {
    case Encoding::kEscaped: return EncodeEscaped(bytes);
    case Encoding::kHex: return EncodeHex(bytes);
    case Encoding::kBase64: return EncodeBase64(bytes);
  }
  return {};
}

std::expected<std::string, std::string> Decode(std::string_view text, Encoding encoding) {
  switch (encoding) {
    case Encoding::kEscaped: return DecodeEscaped(text);
    case Encoding::kHex: return DecodeHex(text);
    case Encoding::kBase64: return DecodeBase64(text);
  }
  return std::unexpected(std::string("unknown encoding"));
}

}  // namespace kvlog::kvctl
