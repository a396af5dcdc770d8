#include "kv/testing/crashable_storage.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "kv/memory_storage.h"

namespace kvlog::kv::testing {

void CrashableDisk::Crash(std::size_t keep_unsynced_bytes) {
  const std::size_t keep = keep_unsynced_bytes < unsynced() ? keep_unsynced_bytes : unsynced();
  bytes_.resize(synced_ + keep);
  synced_ = bytes_.size();  // What survived a crash is on the disk.
  ++generation_;
}

void CrashableDisk::Damage(std::size_t index) {
  if (index >= bytes_.size()) {
    fmt::print(stderr, "CrashableDisk::Damage({}): the disk holds {} bytes\n", index, bytes_.size());
    std::abort();
  }
  bytes_[index] = static_cast<char>(~bytes_[index]);
}

namespace {

// A record: payload length (4 bytes), FNV-1a 64 of the payload (8 bytes), the
// payload. Payload: a type byte, then its fields; integers little endian,
// strings length-prefixed (4 bytes).
constexpr std::size_t kHeader = 12;
enum Type : char { kApply = 1, kIdentity = 2, kClear = 3 };

uint64_t Fnv(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

void PutInt(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void PutString(std::string* out, std::string_view s) {
  PutInt(out, s.size(), 4);
  out->append(s);
}

// Reads the payload's fields; any overrun sets `ok` false.
struct Reader {
  std::string_view in;
  bool ok = true;
  uint64_t Int(int bytes) {
    if (in.size() < static_cast<std::size_t>(bytes)) return ok = false, 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(static_cast<std::size_t>(bytes));
    return v;
  }
  std::string String() {
    const uint64_t n = Int(4);
    if (!ok || in.size() < n) return ok = false, std::string();
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

class CrashableStore final : public Storage {
 public:
  CrashableStore(std::shared_ptr<CrashableDisk> disk, SyncPolicy policy)
      : disk_(std::move(disk)), policy_(policy), generation_(disk_->generation_), live_(NewMemoryStorage()) {}

  // Replays the disk's records into the live state.
  Status Recover() {
    const std::string& bytes = disk_->bytes_;
    std::size_t at = 0;
    for (int64_t n = 0; at < bytes.size(); ++n) {
      const std::size_t left = bytes.size() - at;
      Reader header{std::string_view(bytes).substr(at, kHeader < left ? kHeader : left)};
      const uint64_t length = header.Int(4);
      const uint64_t sum = header.Int(8);
      const bool whole = header.ok && length <= left - kHeader;
      const std::string_view payload = whole ? std::string_view(bytes).substr(at + kHeader, length) : "";
      if (!whole || Fnv(payload) != sum) {
        if (!whole || at + kHeader + length == bytes.size()) {
          // A torn last record: the crash cut it. Drop it, as if never written.
          disk_->bytes_.resize(at);
          disk_->synced_ = at;
          break;
        }
        return MakeError(ErrorCode::kCorrupt,
                         fmt::format("crashable storage: record {} at byte {} fails its checksum and {} bytes of "
                                     "records follow it: damage, not a torn write; refusing to open",
                                     n, at, bytes.size() - at - kHeader - length));
      }
      if (Status s = Replay(payload); !s) {
        return MakeError(ErrorCode::kCorrupt, fmt::format("crashable storage: record {} at byte {}: {}", n, at,
                                                          s.error().message()));
      }
      at += kHeader + length;
      ++records_;
    }
    disk_->records_ = records_;
    return OkStatus();
  }

  std::optional<std::string> Get(std::string_view key) const override { return live_->Get(key); }
  bool Get(std::string_view key, std::string* value) const override { return live_->Get(key, value); }
  bool Get(std::string_view key, std::string* value, int64_t* position) const override {
    return live_->Get(key, value, position);
  }
  std::optional<VersionedValue> GetEntry(std::string_view key) const override { return live_->GetEntry(key); }
  std::optional<VersionedValue> GetEntry(std::string_view key, int64_t* position) const override {
    return live_->GetEntry(key, position);
  }
  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options) const override {
    return live_->Range(range, options);
  }
  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options,
                              int64_t* position) const override {
    return live_->Range(range, options, position);
  }
  std::size_t Size() const override { return live_->Size(); }

  using Storage::Set;
  void Set(std::string_view key, std::string_view value, Version version) override {
    const Mutation m{std::string(key), std::string(value), version};
    Apply(std::span<const Mutation>(&m, 1));
  }
  void Delete(std::string_view key) override {
    const Mutation m{std::string(key), std::nullopt};
    Apply(std::span<const Mutation>(&m, 1));
  }
  void Apply(std::span<const Mutation> batch) override {
    std::unique_lock lock(mu_);
    ApplyLocked(batch, position_, {});
  }
  void Apply(std::span<const Mutation> batch, int64_t position) override { Apply(batch, position, {}); }
  void Apply(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation> meta) override {
    std::unique_lock lock(mu_);
    ApplyLocked(batch, position, meta);
  }

  std::optional<DurableState> Durable() const override {
    std::unique_lock lock(mu_);
    return DurableState{position_, identity_};
  }
  Status SetIdentity(const LogIdentity& identity) override {
    std::unique_lock lock(mu_);
    std::string payload(1, kIdentity);
    PutString(&payload, identity.name);
    PutInt(&payload, static_cast<uint64_t>(identity.first_offset), 8);
    PutInt(&payload, identity.first_digest, 8);
    Append(payload);
    identity_ = identity;
    return OkStatus();
  }
  std::vector<std::pair<std::string, std::string>> LoadMeta() const override {
    std::unique_lock lock(mu_);
    return {meta_.begin(), meta_.end()};
  }
  Status Clear() override {
    std::unique_lock lock(mu_);
    Append(std::string(1, kClear));
    ClearLocked();
    return OkStatus();
  }

 private:
  void ApplyLocked(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation> meta) {
    std::string payload(1, kApply);
    PutInt(&payload, static_cast<uint64_t>(position), 8);
    PutInt(&payload, batch.size(), 4);
    for (const Mutation& m : batch) {
      PutString(&payload, m.key);
      PutInt(&payload, m.value ? 1 : 0, 1);
      PutString(&payload, m.value ? *m.value : "");
      PutInt(&payload, static_cast<uint64_t>(m.version), 8);
    }
    PutInt(&payload, meta.size(), 4);
    for (const MetaMutation& m : meta) {
      PutString(&payload, m.key);
      PutInt(&payload, m.value ? 1 : 0, 1);
      PutString(&payload, m.value ? *m.value : "");
    }
    Append(payload);
    Install(batch, position, meta);
  }

  void Install(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation> meta) {
    live_->Apply(batch, position);
    for (const MetaMutation& m : meta) {
      if (m.value) {
        meta_[m.key] = *m.value;
      } else {
        meta_.erase(m.key);
      }
    }
    position_ = position;
  }

  void ClearLocked() {
    (void)live_->Clear();  // In place: readers share live_ without mu_.
    meta_.clear();
    position_ = 0;
    identity_ = LogIdentity{};
  }

  // Appends one record, then syncs per the policy. A store whose disk
  // crashed since it opened belongs to a dead process: it writes nothing.
  void Append(std::string_view payload) {
    if (disk_->generation_ != generation_) return;
    std::string& bytes = disk_->bytes_;
    PutInt(&bytes, payload.size(), 4);
    PutInt(&bytes, Fnv(payload), 8);
    bytes.append(payload);
    ++records_;
    disk_->records_ = records_;
    if (policy_.sync_every > 0 && records_ % policy_.sync_every == 0) disk_->synced_ = bytes.size();
  }

  Status Replay(std::string_view payload) {
    Reader r{payload};
    const uint64_t type = r.Int(1);
    if (type == kApply) {
      const auto position = static_cast<int64_t>(r.Int(8));
      const uint64_t n = r.Int(4);
      std::vector<Mutation> batch;
      for (uint64_t i = 0; r.ok && i < n; ++i) {
        Mutation m;
        m.key = r.String();
        const bool has_value = r.Int(1) != 0;
        std::string value = r.String();
        if (has_value) m.value = std::move(value);
        m.version = static_cast<Version>(r.Int(8));
        batch.push_back(std::move(m));
      }
      std::vector<MetaMutation> meta;
      const uint64_t metas = r.Int(4);
      for (uint64_t i = 0; r.ok && i < metas; ++i) {
        MetaMutation m;
        m.key = r.String();
        const bool has_value = r.Int(1) != 0;
        std::string value = r.String();
        if (has_value) m.value = std::move(value);
        meta.push_back(std::move(m));
      }
      if (!r.ok || !r.in.empty()) return MakeError(ErrorCode::kCorrupt, "an applied batch does not decode");
      Install(batch, position, meta);
      return OkStatus();
    }
    if (type == kIdentity) {
      LogIdentity id;
      id.name = r.String();
      id.first_offset = static_cast<log::Offset>(r.Int(8));
      id.first_digest = r.Int(8);
      if (!r.ok || !r.in.empty()) return MakeError(ErrorCode::kCorrupt, "a log identity does not decode");
      identity_ = std::move(id);
      return OkStatus();
    }
    if (type == kClear && r.in.empty()) {
      ClearLocked();
      return OkStatus();
    }
    return MakeError(ErrorCode::kCorrupt, fmt::format("unknown record type {}", type));
  }

  std::shared_ptr<CrashableDisk> disk_;
  const SyncPolicy policy_;
  const uint64_t generation_;
  mutable std::mutex mu_;  // Writers and the durable bookkeeping below.
  std::unique_ptr<Storage> live_;
  std::map<std::string, std::string> meta_;
  int64_t position_ = 0;
  LogIdentity identity_;
  int64_t records_ = 0;
};

Result<std::unique_ptr<Storage>> OpenCrashableStorage(std::shared_ptr<CrashableDisk> disk, SyncPolicy policy) {
  if (disk == nullptr) return MakeError(ErrorCode::kInvalidArgument, "crashable storage: no disk");
  if (policy.sync_every < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("crashable storage: sync_every is {}; it must be >= 0", policy.sync_every));
  }
  auto store = std::make_unique<CrashableStore>(std::move(disk), policy);
  KVLOG_RETURN_IF_ERROR(store->Recover());
  return std::unique_ptr<Storage>(std::move(store));
}

}  // namespace kvlog::kv::testing
