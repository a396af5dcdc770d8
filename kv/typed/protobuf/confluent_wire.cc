#include "kv/typed/protobuf/confluent_wire.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvlog::kv::typed::confluent {

void AppendZigZagVarint(int32_t value, std::string& out) {
  uint32_t bits = (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31);
  while (bits >= 0x80) {
    out.push_back(static_cast<char>((bits & 0x7f) | 0x80));
    bits >>= 7;
  }
  out.push_back(static_cast<char>(bits));
}

Result<int32_t> ReadZigZagVarint(std::string_view& in) {
  uint32_t bits = 0;
  for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
    if (i >= in.size()) {
      return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: varint cut short after {} bytes", i));
    }
    const uint8_t byte = static_cast<uint8_t>(in[i]);
    if (i == kMaxVarintBytes - 1 && byte > 0x0f) {
      return MakeError(ErrorCode::kCorrupt, "confluent: varint does not fit in 32 bits");
    }
    bits |= static_cast<uint32_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      return static_cast<int32_t>((bits >> 1) ^ (~(bits & 1) + 1));
    }
  }
  return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: varint longer than {} bytes", kMaxVarintBytes));
}

std::string EncodeFrame(int32_t schema_id, std::span<const int32_t> message_indexes, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderBytes + 1 + message_indexes.size() + payload.size());
  out.push_back(static_cast<char>(kMagicByte));
  const uint32_t id = static_cast<uint32_t>(schema_id);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((id >> shift) & 0xff));
  if (message_indexes.size() == 1 && message_indexes[0] == 0) {
    out.push_back('\0');  // The short form of [0].
  } else {
    AppendZigZagVarint(static_cast<int32_t>(message_indexes.size()), out);
    for (int32_t index : message_indexes) AppendZigZagVarint(index, out);
  }
  out.append(payload);
  return out;
}

Result<Frame> DecodeFrame(std::string_view bytes) {
  if (bytes.empty()) return MakeError(ErrorCode::kCorrupt, "confluent: empty value, expected magic byte 0");
  if (static_cast<uint8_t>(bytes[0]) != kMagicByte) {
    return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: unknown magic byte {:#04x}, expected 0x00",
                                                      static_cast<uint8_t>(bytes[0])));
  }
  if (bytes.size() < kHeaderBytes) {
    return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: header cut short: {} bytes, expected at least {}",
                                                      bytes.size(), kHeaderBytes));
  }
  Frame frame;
  uint32_t id = 0;
  for (std::size_t i = 1; i < kHeaderBytes; ++i) id = (id << 8) | static_cast<uint8_t>(bytes[i]);
  frame.schema_id = static_cast<int32_t>(id);

  std::string_view rest = bytes.substr(kHeaderBytes);
  auto count = ReadZigZagVarint(rest);
  if (!count) return MakeError(ErrorCode::kCorrupt, fmt::format("{} (message index count)", count.error().message()));
  if (*count < 0 || static_cast<std::size_t>(*count) > kMaxMessageIndexes) {
    return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: message index count {} is not in [0, {}]", *count,
                                                      kMaxMessageIndexes));
  }
  if (*count == 0) {
    frame.message_indexes = {0};
  } else {
    for (int32_t i = 0; i < *count; ++i) {
      auto index = ReadZigZagVarint(rest);
      if (!index) return MakeError(ErrorCode::kCorrupt, fmt::format("{} (message index)", index.error().message()));
      if (*index < 0) {
        return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: negative message index {}", *index));
      }
      frame.message_indexes.push_back(*index);
    }
  }
  frame.payload = rest;
  return frame;
}

std::string FormatIndexes(std::span<const int32_t> message_indexes) {
  return fmt::format("[{}]", fmt::join(message_indexes, ", "));
}

}  // namespace kvlog::kv::typed::confluent
