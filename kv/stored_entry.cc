#include "kv/stored_entry.h"

#include <fmt/format.h>

namespace kvlog::kv {

void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t GetFixed64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

std::string Fixed64(uint64_t v) {
  std::string out;
  PutFixed64(&out, v);
  return out;
}

std::string EncodeIdentity(const LogIdentity& id) {
  std::string out(1, '\1');
  PutFixed64(&out, static_cast<uint64_t>(id.first_offset));
  PutFixed64(&out, id.first_digest);
  out += id.name;
  return out;
}

Result<LogIdentity> DecodeIdentity(std::string_view in) {
  if (in.size() < 17 || in[0] != '\1') {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("the store's log identity record is unreadable ({} bytes)", in.size()));
  }
  LogIdentity id;
  id.first_offset = static_cast<log::Offset>(GetFixed64(in.substr(1)));
  id.first_digest = GetFixed64(in.substr(9));
  id.name = std::string(in.substr(17));
  return id;
}

void EncodeEntryHeader(Version version, char (&header)[kEntryHeaderBytes]) {
  header[0] = kEntryFormat1;
  const auto v = static_cast<uint64_t>(version);
  for (int i = 0; i < 8; ++i) header[1 + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string EncodeEntry(std::string_view value, Version version) {
  std::string out;
  out.reserve(kEntryHeaderBytes + value.size());
  out.push_back(kEntryFormat1);
  PutFixed64(&out, static_cast<uint64_t>(version));
  out.append(value);
  return out;
}

Result<VersionedValue> DecodeEntry(std::string_view stored) {
  if (stored.empty()) return MakeError(ErrorCode::kCorrupt, "stored entry is empty");
  if (stored[0] != kEntryFormat1) {
    return MakeError(ErrorCode::kCorrupt,
                     fmt::format("stored entry has format {}; this build reads format 1 (a newer kvlog wrote it?)",
                                 static_cast<int>(static_cast<unsigned char>(stored[0]))));
  }
  if (stored.size() < kEntryHeaderBytes) {
    return MakeError(ErrorCode::kCorrupt,
                     fmt::format("stored entry of format 1 has {} bytes; it needs at least 9", stored.size()));
  }
  return VersionedValue{std::string(stored.substr(kEntryHeaderBytes)),
                        static_cast<Version>(GetFixed64(stored.substr(1)))};
}

}  // namespace kvlog::kv
