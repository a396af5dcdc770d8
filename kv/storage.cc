#include "kv/storage.h"

#include <mutex>

#include <fmt/format.h>

namespace kvlog::kv {

bool KeyConstraint::Contains(std::string_view key) const {
  // std::string_view compares as unsigned char (char_traits<char>::compare).
  if (key < std::string_view(start)) return false;
  return !end.has_value() || key < std::string_view(*end);
}

KeyConstraint Prefix(std::string_view prefix) {
  KeyConstraint range{std::string(prefix), std::nullopt};
  // The exclusive end is the shortest key greater than every key with the
  // prefix: drop trailing 0xFF bytes, then increment the last byte.
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (!end.empty()) {
    end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
    range.end = std::move(end);
  }
  return range;
}

bool Storage::Get(std::string_view key, std::string* value) const {
  std::optional<std::string> found = Get(key);
  if (!found) return false;
  *value = std::move(*found);
  return true;
}

void Storage::MultiGet(std::span<const std::string_view> keys, std::span<std::optional<std::string>> values) const {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!values[i]) values[i].emplace();
    if (!Get(keys[i], &*values[i])) values[i].reset();
  }
}

void Storage::Apply(std::span<const Mutation> batch, int64_t position) {
  std::unique_lock lock(positioned_mu_);
  Apply(batch);
  position_ = position;
}

bool Storage::Get(std::string_view key, std::string* value, int64_t* position) const {
  std::shared_lock lock(positioned_mu_);
  *position = position_;
  return Get(key, value);
}

std::optional<VersionedValue> Storage::GetEntry(std::string_view key, int64_t* position) const {
  std::shared_lock lock(positioned_mu_);
  *position = position_;
  return GetEntry(key);
}

std::vector<KeyValue> Storage::Range(const KeyConstraint& range, const QueryOptions& options,
                                     int64_t* position) const {
  std::shared_lock lock(positioned_mu_);
  *position = position_;
  return Range(range, options);
}

uint64_t RecordDigest(const log::Record& record) {
  // FNV-1a over: key length, key, a presence byte, value.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view bytes) {
    for (char c : bytes) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  };
  const std::string key_size = fmt::format("{}:", record.key.size());
  mix(key_size);
  mix(record.key);
  mix(record.value ? std::string_view("\1", 1) : std::string_view("\0", 1));
  if (record.value) mix(*record.value);
  return h;
}

Result<int64_t> Storage::Checkpoint(const std::string& dir) const {
  return MakeError(ErrorCode::kFailedPrecondition,
                   "checkpoint into '" + dir + "': this store is not durable (use a durable store, e.g. kv/rocksdb)");
}

Status Storage::SetIdentity(const LogIdentity&) { return OkStatus(); }

void Storage::Apply(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation>) {
  Apply(batch, position);
}

Status Storage::Clear() {
  std::vector<Mutation> deletes;
  for (KeyValue& kv : Range(KeyConstraint{}, QueryOptions{})) deletes.push_back(Mutation{std::move(kv.key), std::nullopt});
  Apply(deletes, 0);
  return OkStatus();
}

void Storage::Apply(std::span<const Mutation> batch) {
  for (const Mutation& m : batch) {
    if (m.value.has_value()) {
      Set(m.key, *m.value, m.version);
    } else {
      Delete(m.key);
    }
  }
}

}  // namespace kvlog::kv
