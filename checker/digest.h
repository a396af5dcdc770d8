// StateDigest: the fingerprint of a replica's key/value state, computed the
// same way by replicas (the simulator calls it) and by the convergence checker.
//
// Definition (stable; changing it breaks recorded histories):
//   XXH64, seed 0, over the live pairs in ascending byte order of key, each
//   pair fed as  u64le(len(key)) key u64le(len(value)) value.
//   Deleted keys (tombstones) are absent. The empty state hashes no bytes.
//   Hex() is the 16 lowercase hex digits of the 64-bit result.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace kvlog::checker {

class StateDigest {
 public:
  StateDigest();
  ~StateDigest();
  StateDigest(const StateDigest&) = delete;
  StateDigest& operator=(const StateDigest&) = delete;

  // Feeds one live pair. Callers add pairs in strictly ascending key order.
  void Add(std::string_view key, std::string_view value);
  uint64_t Value() const;
  std::string Hex() const;

  // The digest of a whole ordered map.
  static std::string Of(const std::map<std::string, std::string>& state);

 private:
  void* state_;  // XXH64_state_t
};

std::string DigestHex(uint64_t digest);

}  // namespace kvlog::checker
