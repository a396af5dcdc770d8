// The bytes a durable store keeps for each key and for its own records, shared
// by every durable store (kv/rocksdb, kv/lmdb) so that they store versions,
// identities and positions alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kv/storage.h"
#include "log/status.h"

namespace kvlog::kv {

// The encoding of one stored value. A format byte, then the fields of that
// format; format 1 is the key's version (8 bytes, little endian) and the
// value. A later format adds fields (a TTL deadline, say) after the version
// and gets a new format byte; readers keep decoding every older format, so a
// store never needs rewriting when a field is added.
inline constexpr char kEntryFormat1 = 1;
inline constexpr std::size_t kEntryHeaderBytes = 9;  // Format 1's format byte and version.
std::string EncodeEntry(std::string_view value, Version version);
// Format 1's header (the format byte and the version), for a store that writes
// the header and the value as two parts without building EncodeEntry's string.
void EncodeEntryHeader(Version version, char (&header)[kEntryHeaderBytes]);
// kCorrupt for a short entry or an unknown format byte (a store written by a
// newer kvlog).
Result<VersionedValue> DecodeEntry(std::string_view stored);

// Fixed-width little-endian integers (a store's position and format records).
void PutFixed64(std::string* out, uint64_t v);
uint64_t GetFixed64(std::string_view in);  // `in` holds at least 8 bytes.
std::string Fixed64(uint64_t v);

// A store's log identity record: format 1, first offset, digest, then the
// name. kFailedPrecondition when unreadable.
std::string EncodeIdentity(const LogIdentity& id);
Result<LogIdentity> DecodeIdentity(std::string_view in);

}  // namespace kvlog::kv
