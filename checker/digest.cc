#include "checker/digest.h"

#include <xxhash.h>

#include <fmt/format.h>

namespace kvlog::checker {
namespace {

void FeedLength(XXH64_state_t* s, uint64_t n) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(n >> (8 * i));
  XXH64_update(s, le, sizeof le);
}

}  // namespace

StateDigest::StateDigest() : state_(XXH64_createState()) {
  XXH64_reset(static_cast<XXH64_state_t*>(state_), 0);
}

StateDigest::~StateDigest() { XXH64_freeState(static_cast<XXH64_state_t*>(state_)); }

void StateDigest::Add(std::string_view key, std::string_view value) {
  auto* s = static_cast<XXH64_state_t*>(state_);
  FeedLength(s, key.size());
  XXH64_update(s, key.data(), key.size());
  FeedLength(s, value.size());
  XXH64_update(s, value.data(), value.size());
}

uint64_t StateDigest::Value() const {
  return XXH64_digest(static_cast<XXH64_state_t*>(state_));
}

std::string StateDigest::Hex() const { return DigestHex(Value()); }

std::string StateDigest::Of(const std::map<std::string, std::string>& state) {
  StateDigest d;
  for (const auto& [k, v] : state) d.Add(k, v);
  return d.Hex();
}

std::string DigestHex(uint64_t digest) {
  return fmt::format("{:016x}", digest);
}

}  // namespace kvlog::checker
