// The Confluent Schema Registry wire format for Protobuf values, as Confluent's
// serializers write it ("Wire format" in Confluent's Schema Registry serdes
// documentation):
//
//   byte 0     magic byte, always 0
//   bytes 1-4  schema id, 4-byte big-endian, as the Schema Registry assigned it
//   then       message indexes: which message of the schema file the payload is,
//              as a path (top-level message index, then nested message indexes)
//   then       the Protobuf-encoded message
//
// The message indexes are written as an array: its length, then each index,
// every number a zigzag varint (Kafka's ByteUtils.writeVarint; 0 -> 0x00,
// 1 -> 0x02, -1 -> 0x01, 64 -> 0x80 0x01). The most common path, [0] (the first
// message in the file), is written as the single byte 0x00 (a length of 0);
// a reader also accepts the long form 0x02 0x00.
//
// This file is only the framing; kv/typed/protobuf/protobuf_serde.h uses it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/status.h"

namespace kvlog::kv::typed::confluent {

inline constexpr uint8_t kMagicByte = 0;
// Magic byte plus schema id.
inline constexpr std::size_t kHeaderBytes = 5;
// A zigzag varint of a 32-bit number takes at most 5 bytes.
inline constexpr std::size_t kMaxVarintBytes = 5;
// Longest message-index path a reader accepts: the nesting depth of the
// message in its file. A longer count means the bytes are not this format.
inline constexpr std::size_t kMaxMessageIndexes = 64;

// A decoded frame. `payload` points into the bytes given to DecodeFrame.
struct Frame {
  int32_t schema_id = 0;
  std::vector<int32_t> message_indexes;
  std::string_view payload;
};

// Appends `value` as a zigzag varint.
void AppendZigZagVarint(int32_t value, std::string& out);
// Reads a zigzag varint from the front of `in` and advances past it.
// kCorrupt when `in` ends inside it or it is longer than kMaxVarintBytes.
Result<int32_t> ReadZigZagVarint(std::string_view& in);

// Magic byte, big-endian schema id, the message indexes (the short form for
// [0]) and the payload. `message_indexes` must not be empty.
std::string EncodeFrame(int32_t schema_id, std::span<const int32_t> message_indexes, std::string_view payload);

// The inverse of EncodeFrame. kCorrupt, saying what was wrong, for an empty
// input, a magic byte other than 0, a header cut short, a negative or too long
// index count, or a negative index.
Result<Frame> DecodeFrame(std::string_view bytes);

// "[1, 0]", for messages.
std::string FormatIndexes(std::span<const int32_t> message_indexes);

}  // namespace kvlog::kv::typed::confluent
