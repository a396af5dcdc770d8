// What the log stores: records addressed by offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "log/status.h"

namespace kvlog::log {

// A position in the log. Offsets only increase, but they are not dense:
// compaction and transaction markers leave gaps. Code that waits for a record
// therefore waits for a reader's position (the next offset it will read) to
// pass the record's offset, never for a record at a given offset to appear.
using Offset = int64_t;
inline constexpr Offset kNoOffset = -1;

struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Record {
  std::string key;
  std::optional<std::string> value;  // Absent: a tombstone (delete).
  std::vector<Header> headers;

  bool is_tombstone() const { return !value.has_value(); }
  // First header with this key, if any.
  const std::string* FindHeader(std::string_view header_key) const;

  friend bool operator==(const Record&, const Record&) = default;
};

// A record as a reader returns it. A record that could not be read back intact
// still has an offset, so readers can step over it; its `record` holds a
// kCorrupt error saying why.
struct LogEntry {
  Offset offset = kNoOffset;
  Result<Record> record;
};

}  // namespace kvlog::log
