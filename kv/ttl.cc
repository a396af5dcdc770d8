#include "kv/ttl.h"

namespace kvlog::kv::internal {

std::string EncodeTtlValue(int64_t deadline_ns, std::string_view value) {
  std::string out;
  out.reserve(kTtlHeaderBytes + value.size());
  out.append(kTtlMagic);
  const auto d = static_cast<uint64_t>(deadline_ns);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xFF));
  out.append(value);
  return out;
}

StoredValue DecodeStoredValue(std::string_view stored) {
  if (!IsTtlEnvelope(stored) || stored.size() < kTtlHeaderBytes) return StoredValue{stored, 0};
  uint64_t d = 0;
  for (std::size_t i = 0; i < 8; ++i) d = (d << 8) | static_cast<unsigned char>(stored[kTtlMagic.size() + i]);
  return StoredValue{stored.substr(kTtlHeaderBytes), static_cast<int64_t>(d)};
}

std::string StoredForm(std::string_view value, int64_t deadline_ns) {
  if (!NeedsEnvelope(value, deadline_ns)) return std::string(value);
  return EncodeTtlValue(deadline_ns, value);
}

}  // namespace kvlog::kv::internal
