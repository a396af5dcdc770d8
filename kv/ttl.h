// TTL values: how a value with an expiry deadline travels in a record and
// sits in a store.
//
// A value with a deadline is an envelope:
//
//   kTtlMagic (9 bytes) | deadline (8 bytes, big-endian, ns since the Unix
//   epoch on the writer's wall clock; 0 = none) | the value
//
// A Put with a TTL is a plain Kafka record keyed by the user key whose value
// is the envelope, so compaction treats it as any other write to the key. The
// applier stores values as they come, envelopes included: the stored state
// never depends on a replica's clock. Reads unwrap the envelope and hide the
// key once the local wall clock reaches the deadline.
//
// A plain value that itself starts with kTtlMagic is written as an envelope
// with no deadline, so a stored value that starts with the magic is always an
// envelope; every other value is stored and read as is (records written before
// TTL existed decode as before).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvlog::kv::internal {

inline constexpr std::string_view kTtlMagic{"\xff\x00kvlogT\x01", 9};
inline constexpr std::size_t kTtlHeaderBytes = kTtlMagic.size() + 8;

// The writer identity of a janitor's conditional tombstone ends with this, so
// every replica knows the tombstone is an expiry (OnExpire). A client's own
// writer identity ends with "@" and digits, never with this.
inline constexpr std::string_view kExpiryWriterSuffix{"#expire"};
inline bool IsExpiryWriter(std::string_view writer) { return writer.ends_with(kExpiryWriterSuffix); }

inline bool IsTtlEnvelope(std::string_view stored) { return stored.starts_with(kTtlMagic); }

// The envelope for `value` with `deadline_ns` (0: none).
std::string EncodeTtlValue(int64_t deadline_ns, std::string_view value);

// What a stored (or record) value means: the user's value and its deadline.
struct StoredValue {
  std::string_view value;
  int64_t deadline_ns = 0;  // 0: never expires.
  bool ExpiredAt(int64_t now_ns) const { return deadline_ns != 0 && deadline_ns <= now_ns; }
};

// Unwraps an envelope; any other value is itself with no deadline. A value
// that starts with the magic but is too short to hold a deadline is returned
// as is (no writer makes one).
StoredValue DecodeStoredValue(std::string_view stored);

// The form in which a user value with this deadline is written: an envelope
// when it has a deadline or starts with kTtlMagic, the value itself otherwise.
std::string StoredForm(std::string_view value, int64_t deadline_ns);
inline bool NeedsEnvelope(std::string_view value, int64_t deadline_ns) {
  return deadline_ns != 0 || IsTtlEnvelope(value);
}

}  // namespace kvlog::kv::internal
