// Command records: writes whose effect the applier decides at their offset.
//
// A plain Put or Delete is a plain Kafka record (key, value or tombstone), as
// other Kafka tools expect. A conditional write, a transaction or an atomic
// batch is ONE record whose value is a command:
//
//   magic (8 bytes) | writer | seq | compares | then-writes | else-writes
//
// The applier reads records without headers (they cost librdkafka a parse per
// record), so the marker lives in the value: a value that starts with
// kCommandMagic is a command. A user value that itself starts with the magic is
// written as a command too (one unconditional write), so no plain value is ever
// mistaken for one; every other plain value costs one 8-byte comparison.
//
// Compaction cannot keep conditions sound: a replica replaying after
// compaction removed a record a condition compared against can decide it
// differently. Conditional writes and transactions need a topic whose records
// are not compacted away (see the README).
//
// `writer` (a per-instance identity) and `seq` let every replica recognise a
// duplicate of a command (a producer retry after a lost acknowledgement that
// committed twice) and give it the first copy's outcome instead of deciding it
// again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv/storage.h"
#include "log/status.h"

namespace kvlog::kv::internal {

inline constexpr std::string_view kCommandMagic{"\xff\x00kvlogC\x01", 9};

struct CommandCompare {
  enum class Kind : uint8_t { kAbsent = 0, kPresent = 1, kVersion = 2 };
  std::string key;
  Kind kind = Kind::kAbsent;
  Version version = kNoVersion;  // For kVersion.
  friend bool operator==(const CommandCompare&, const CommandCompare&) = default;
};

struct CommandWrite {
  std::string key;
  std::optional<std::string> value;  // nullopt: delete.
  friend bool operator==(const CommandWrite&, const CommandWrite&) = default;
};

struct Command {
  std::string writer;  // Empty: no identity (never deduplicated).
  uint64_t seq = 0;
  std::vector<CommandCompare> compares;
  std::vector<CommandWrite> then_writes;  // Applied when every compare holds.
  std::vector<CommandWrite> else_writes;  // Applied otherwise.
  friend bool operator==(const Command&, const Command&) = default;
};

inline bool IsCommand(std::string_view value) { return value.starts_with(kCommandMagic); }

// The record value for `command` (starts with kCommandMagic).
std::string EncodeCommand(const Command& command);
// kCorrupt naming what was wrong when `value` is not a well-formed command.
Result<Command> DecodeCommand(std::string_view value);

// The Kafka key of a command record: "\0kvlog-command\0" + writer + "\0" +
// seq, unique per command. Not a user key, on purpose: with a compacted topic
// a command record then never supersedes a user key's plain records (a failed
// PutIfAbsent keyed by the user key would let compaction delete the value it
// failed against), and no plain record supersedes a command.
std::string CommandRecordKey(const Command& command);
inline constexpr std::string_view kCommandRecordKeyPrefix{"\0kvlog-command\0", 15};
// Whether a record keyed `key` with value `value` is a command record (made
// by CommandRecordKey), not a plain write, even one whose value is wrapped as
// a one-write command.
inline bool IsCommandRecord(std::string_view key, const std::optional<std::string>& value) {
  return key.starts_with(kCommandRecordKeyPrefix) && value && IsCommand(*value);
}

}  // namespace kvlog::kv::internal
