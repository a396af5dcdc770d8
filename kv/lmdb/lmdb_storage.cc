#include "kv/lmdb/lmdb_storage.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <xxhash.h>

namespace kvlog::kv::lmdb {
namespace {

namespace fs = std::filesystem;

// Two named databases in one environment: the data ("data": key and a 0 byte
// -> EncodeEntry) and the store's own records ("kvlog"): its format,
// position, identity and the applier's metadata (prefix "a/"), the same
// records as the RocksDB store's "kvlog" column family.
constexpr char kDataDb[] = "data";
constexpr char kMetaDb[] = "kvlog";
constexpr char kFormatKey[] = "format";
constexpr char kPositionKey[] = "position";
constexpr char kIdentityKey[] = "identity";
constexpr char kApplierPrefix[] = "a/";
constexpr char kLockFile[] = "kvlog.lock";
// The store format this build writes and reads; a newer one is refused.
constexpr uint64_t kStoreFormat = 1;
// Read transactions open at once (LMDB's reader table; each costs 64 bytes
// of lock.mdb). LMDB's default is 126.
constexpr unsigned kMaxReaders = 1024;
// Reset read transactions a store keeps for reuse (see TakeReadTxn).
constexpr std::size_t kPooledReadTxns = 64;

[[noreturn]] void Fatal(std::string_view what, std::string_view why) {
  fmt::print(stderr, "kvlog lmdb storage: {} failed: {} (fatal: the store cannot go on without it)\n", what, why);
  std::abort();
}

[[noreturn]] void Fatal(std::string_view what, int rc) { Fatal(what, mdb_strerror(rc)); }

MDB_val Val(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// A data key as stored. A key of up to kMaxShortKeyBytes (510) bytes is
// itself and a 0 byte, so that the empty key (which LMDB refuses) can be
// stored; appending the same byte to every key keeps their order (unsigned
// bytes, a prefix before its extensions). These are the bytes every store
// since format 1 holds.
//
// A longer key is stored under a stand-in of kLongStoredBytes (509):
//   its first kLongPrefixBytes (496) bytes, XXH3-64 of the whole key (8 bytes,
//   big endian), a chain index (4 bytes, big endian), the tag byte 1,
// and its value record carries the whole key:
//   kLongValueMarker, the key's size (fixed32), the key, the entry.
// A short stored key ends in 0 and a stand-in in 1, so the two never mix.
// The order: every stored key that starts with a 496-byte prefix P, except P
// itself (P and a 0 byte), lies in one contiguous run after P's, and the run
// is the set of keys of more than 496 bytes starting with P; against every
// key outside the run the stored order is the keys' order. Inside the run
// (long keys by hash, and short keys of 497 to 510 bytes) it is not: Range
// reads each such run whole and sorts it by the full keys. Two long keys with
// the same prefix and the same hash take consecutive chain indexes; lookups
// compare the full key stored in the value.
constexpr std::size_t kMaxShortKeyBytes = 510;
constexpr std::size_t kLongPrefixBytes = 496;
constexpr std::size_t kHashBytes = 8;
constexpr std::size_t kIndexBytes = 4;
constexpr std::size_t kLongStoredBytes = kLongPrefixBytes + kHashBytes + kIndexBytes + 1;
constexpr char kLongTag = 1;
// The first byte of a long key's value record: no entry format uses it, so a
// build that predates long keys refuses the record (DecodeEntry: an unknown
// format) instead of misreading it.
constexpr char kLongValueMarker = '\xff';
// The largest key LMDB takes in this build (mdb_env_get_maxkeysize; checked at
// open) and the seek key that lies past every stored key starting with a
// 496-byte prefix.
constexpr std::size_t kLmdbMaxKeyBytes = 511;
// Applier metadata: "a/" and the key when that fits in kLmdbMaxKeyBytes (the
// bytes every store since format 1 holds); a longer one as "h/", XXH3-64 of
// the key (big endian) and a chain index, its value record carrying the key
// as a long data key's does. LoadMeta sorts the two sets into key order.
constexpr char kApplierLongPrefix[] = "h/";

static_assert(kLongStoredBytes <= kLmdbMaxKeyBytes);

void PutBigEndian(uint64_t v, std::size_t n, char* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
}
uint64_t GetBigEndian(std::string_view in) {
  uint64_t v = 0;
  for (char c : in) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

class StoredKey {
 public:
  // Only for keys of up to kMaxShortKeyBytes.
  explicit StoredKey(std::string_view key) : size_(key.size() + 1) {
    std::memcpy(bytes_, key.data(), key.size());
    bytes_[key.size()] = '\0';
  }
  MDB_val val() { return {size_, bytes_}; }

 private:
  char bytes_[kMaxShortKeyBytes + 1];
  std::size_t size_;
};

bool IsLongStored(const MDB_val& stored) {
  return stored.mv_size == kLongStoredBytes && static_cast<const char*>(stored.mv_data)[kLongStoredBytes - 1] == kLongTag;
}

// The user's key of a short stored data key.
std::string_view UserKey(const MDB_val& stored) { return View(stored).substr(0, stored.mv_size - 1); }

// A long key's value record: the key and what follows it (the entry, or the
// applier's metadata value).
struct LongRecord {
  std::string_view key;
  std::string_view rest;
};

LongRecord DecodeLong(std::string_view record) {
  if (record.size() < 5 || record[0] != kLongValueMarker) {
    Fatal("reading a long key's record", fmt::format("it has {} bytes and does not start with the long-key marker",
                                                     record.size()));
  }
  uint32_t size = 0;
  for (int i = 3; i >= 0; --i) size = (size << 8) | static_cast<unsigned char>(record[1 + i]);
  if (record.size() < 5 + std::size_t{size}) {
    Fatal("reading a long key's record", fmt::format("its key has {} bytes but the record only {}", size, record.size()));
  }
  return {record.substr(5, size), record.substr(5 + size)};
}

// Writes the head of a long key's record (marker, size, key) into `out`;
// returns the bytes written (5 + key.size()).
std::size_t EncodeLongHead(std::string_view key, char* out) {
  out[0] = kLongValueMarker;
  const auto size = static_cast<uint32_t>(key.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>(size >> (8 * i));
  std::memcpy(out + 5, key.data(), key.size());
  return 5 + key.size();
}

// The stored key of a data key (short or long) and a meta key, and where a
// chain of stand-ins starts: `stem` is the stand-in without its index (and
// tag); the stand-ins of a chain are stem + index (+ tag).
std::string LongDataStem(std::string_view key) {
  std::string stem(key.substr(0, kLongPrefixBytes));
  stem.resize(kLongPrefixBytes + kHashBytes);
  PutBigEndian(XXH3_64bits(key.data(), key.size()), kHashBytes, stem.data() + kLongPrefixBytes);
  return stem;
}

std::string LongMetaStem(std::string_view key) {
  std::string stem = kApplierLongPrefix;
  stem.resize(stem.size() + kHashBytes);
  PutBigEndian(XXH3_64bits(key.data(), key.size()), kHashBytes, stem.data() + stem.size() - kHashBytes);
  return stem;
}

class LmdbStore final : public LmdbStorage {
 public:
  LmdbStore(std::string path, LmdbSync sync, std::size_t map_size, std::size_t max_map_size, int lock_fd)
      : path_(std::move(path)), sync_(sync), map_size_(map_size), max_map_size_(max_map_size), lock_fd_(lock_fd) {}

  ~LmdbStore() override {
    if (env_ != nullptr) {
      // A clean close leaves the store on disk whatever the sync setting.
      if (sync_ != LmdbSync::kFull) {
        if (int rc = mdb_env_sync(env_, 1); rc != MDB_SUCCESS) {
          fmt::print(stderr, "kvlog lmdb storage: syncing {} before closing: {}\n", path_, mdb_strerror(rc));
        }
      }
      for (MDB_txn* txn : read_pool_) mdb_txn_abort(txn);
      mdb_env_close(env_);
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);  // Releases the flock.
  }

  // Opens the environment and reads (or, for a new store, writes) the
  // store's own records; called once, before the store is shared.
  Status Open(bool create) {
    if (int rc = mdb_env_create(&env_); rc != MDB_SUCCESS) return Unavailable("mdb_env_create", rc);
    if (int rc = mdb_env_set_maxdbs(env_, 2); rc != MDB_SUCCESS) return Unavailable("mdb_env_set_maxdbs", rc);
    if (int rc = mdb_env_set_maxreaders(env_, kMaxReaders); rc != MDB_SUCCESS) {
      return Unavailable("mdb_env_set_maxreaders", rc);
    }
    if (int rc = mdb_env_set_mapsize(env_, map_size_); rc != MDB_SUCCESS) return Unavailable("mdb_env_set_mapsize", rc);
    // MDB_NOTLS: a read transaction belongs to its object, not its thread
    // (readers may be fibers that move between threads).
    unsigned flags = MDB_NOTLS;
    if (sync_ == LmdbSync::kNoSync) flags |= MDB_NOSYNC;
    if (sync_ == LmdbSync::kNoMetaSync) flags |= MDB_NOMETASYNC;
    if (int rc = mdb_env_open(env_, path_.c_str(), flags, 0644); rc != MDB_SUCCESS) {
      if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         fmt::format("'{}' does not hold an LMDB environment this build reads: {}", path_,
                                     mdb_strerror(rc)));
      }
      return Unavailable("opening the environment", rc);
    }
    if (const int max_key = mdb_env_get_maxkeysize(env_); max_key < static_cast<int>(kLmdbMaxKeyBytes)) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("the LMDB library takes keys of at most {} bytes; this store needs {}", max_key,
                                   kLmdbMaxKeyBytes));
    }
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    map_size_ = info.me_mapsize;  // At least the file's size, for a store that grew.

    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != MDB_SUCCESS) return Unavailable("mdb_txn_begin", rc);
    Status loaded = Load(txn, create);
    if (!loaded) {
      mdb_txn_abort(txn);
      return loaded;
    }
    if (int rc = mdb_txn_commit(txn); rc != MDB_SUCCESS) return Unavailable("committing the open", rc);
    return OkStatus();
  }

  const std::string& path() const override { return path_; }

  // Reads.

  std::optional<std::string> Get(std::string_view key) const override {
    std::string value;
    if (!Get(key, &value)) return std::nullopt;
    return value;
  }

  bool Get(std::string_view key, std::string* value) const override {
    ReadTxn txn(*this);
    return GetIn(txn.get(), key, value, nullptr);
  }

  bool Get(std::string_view key, std::string* value, int64_t* position) const override {
    ReadTxn txn(*this);
    *position = PositionIn(txn.get());
    return GetIn(txn.get(), key, value, nullptr);
  }

  std::optional<VersionedValue> GetEntry(std::string_view key) const override {
    ReadTxn txn(*this);
    VersionedValue out;
    if (!GetIn(txn.get(), key, &out.value, &out.version)) return std::nullopt;
    return out;
  }

  std::optional<VersionedValue> GetEntry(std::string_view key, int64_t* position) const override {
    ReadTxn txn(*this);
    *position = PositionIn(txn.get());
    VersionedValue out;
    if (!GetIn(txn.get(), key, &out.value, &out.version)) return std::nullopt;
    return out;
  }

  // Every key in one read transaction: one snapshot, one reader slot.
  void MultiGet(std::span<const std::string_view> keys,
                std::span<std::optional<std::string>> values) const override {
    ReadTxn txn(*this);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::optional<std::string>& out = values[i];
      if (!out) out.emplace();
      if (!GetIn(txn.get(), keys[i], &*out, nullptr)) out.reset();
    }
  }

  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options) const override {
    ReadTxn txn(*this);
    return RangeIn(txn.get(), range, options);
  }

  std::vector<KeyValue> Range(const KeyConstraint& range, const QueryOptions& options,
                              int64_t* position) const override {
    ReadTxn txn(*this);
    *position = PositionIn(txn.get());
    return RangeIn(txn.get(), range, options);
  }

  // LMDB keeps the count: O(1).
  std::size_t Size() const override {
    ReadTxn txn(*this);
    MDB_stat stat;
    if (int rc = mdb_stat(txn.get(), data_, &stat); rc != MDB_SUCCESS) Fatal("mdb_stat", rc);
    return stat.ms_entries;
  }

  // Writes.

  using Storage::Set;
  void Set(std::string_view key, std::string_view value, Version version) override {
    std::lock_guard lock(write_mu_);
    Write("set", [&](MDB_txn* txn) { return Put(txn, key, value, version); });
  }

  void Delete(std::string_view key) override {
    std::lock_guard lock(write_mu_);
    Write("delete", [&](MDB_txn* txn) { return Del(txn, key); });
  }

  void Apply(std::span<const Mutation> batch) override {
    std::lock_guard lock(write_mu_);
    Write("apply", [&](MDB_txn* txn) { return AddMutations(txn, batch); });
  }

  void Apply(std::span<const Mutation> batch, int64_t position) override { Apply(batch, position, {}); }

  void Apply(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation> meta) override {
    std::lock_guard lock(write_mu_);
    if (batch.empty() && meta.empty() && position == position_) return;
    Write("apply", [&](MDB_txn* txn) {
      int rc = AddMutations(txn, batch);
      for (const MetaMutation& m : meta) {
        if (rc != MDB_SUCCESS) return rc;
        rc = PutApplierMeta(txn, m);
      }
      return rc != MDB_SUCCESS ? rc : PutMeta(txn, kPositionKey, Fixed64(static_cast<uint64_t>(position)));
    });
    position_ = position;
  }

  std::optional<DurableState> Durable() const override {
    std::lock_guard lock(write_mu_);
    return DurableState{position_, identity_};
  }

  Status SetIdentity(const LogIdentity& identity) override {
    std::lock_guard lock(write_mu_);
    Write("recording the log identity", [&](MDB_txn* txn) { return PutMeta(txn, kIdentityKey, EncodeIdentity(identity)); });
    identity_ = identity;
    return OkStatus();
  }

  std::vector<std::pair<std::string, std::string>> LoadMeta() const override {
    ReadTxn txn(*this);
    std::vector<std::pair<std::string, std::string>> out;
    Cursor cursor(txn.get(), meta_);
    const std::string_view prefix = kApplierPrefix;
    MDB_val k = Val(prefix), v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      if (!View(k).starts_with(prefix)) break;
      out.emplace_back(std::string(View(k).substr(prefix.size())), std::string(View(v)));
    }
    // Keys too long for "a/": stored by hash, so sorted here.
    const std::string_view long_prefix = kApplierLongPrefix;
    k = Val(long_prefix);
    bool any_long = false;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      if (!View(k).starts_with(long_prefix)) break;
      const LongRecord record = DecodeLong(View(v));
      out.emplace_back(std::string(record.key), std::string(record.rest));
      any_long = true;
    }
    if (any_long) std::sort(out.begin(), out.end());
    return out;
  }

  // One write transaction: both databases emptied, the format record
  // written again. A crash leaves the old store or an empty one.
  Status Clear() override {
    std::lock_guard lock(write_mu_);
    Write("clear", [&](MDB_txn* txn) {
      int rc = mdb_drop(txn, data_, 0);
      if (rc == MDB_SUCCESS) rc = mdb_drop(txn, meta_, 0);
      return rc != MDB_SUCCESS ? rc : PutMeta(txn, kFormatKey, Fixed64(kStoreFormat));
    });
    position_ = 0;
    identity_ = LogIdentity{};
    return OkStatus();
  }

  Result<int64_t> Checkpoint(const std::string& dir) const override {
    if (dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "checkpoint: the directory is empty");
    std::error_code ec;
    if (fs::exists(dir, ec)) {
      return MakeError(ErrorCode::kInvalidArgument, "checkpoint: '" + dir + "' already exists (it must not)");
    }
    if (!fs::create_directories(dir, ec)) {
      return MakeError(ErrorCode::kUnavailable, "checkpoint: cannot create '" + dir + "': " + ec.message());
    }
    // The applier waits (so the position is the copy's); readers go on.
    std::lock_guard lock(write_mu_);
    if (int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT); rc != MDB_SUCCESS) {
      fs::remove_all(dir, ec);
      return MakeError(ErrorCode::kUnavailable, fmt::format("checkpoint into '{}': {}", dir, mdb_strerror(rc)));
    }
    return position_;
  }

 private:
  // A read-only transaction for one read. Holds map_mu_ shared: the map is
  // grown only while no transaction of this process is open (a reset one in
  // the pool is not open: it holds no snapshot).
  class ReadTxn {
   public:
    explicit ReadTxn(const LmdbStore& store) : store_(store), lock_(store.map_mu_) { txn_ = store.TakeReadTxn(); }
    ~ReadTxn() { store_.ReturnReadTxn(txn_); }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
    MDB_txn* get() const { return txn_; }

   private:
    const LmdbStore& store_;
    std::shared_lock<std::shared_mutex> lock_;  // determinism-lint: allow (map_mu_, a leaf lock)
    MDB_txn* txn_ = nullptr;
  };

  // Read transactions are kept reset between reads and renewed: a renewal
  // reuses the transaction's memory and reader slot, where a begin and an
  // abort take the lock file's reader mutex and allocate each time (a Get
  // cost about twice the in-memory store's). At most kPooledReadTxns are
  // kept, each holding one of the kMaxReaders slots.
  MDB_txn* TakeReadTxn() const {
    MDB_txn* txn = nullptr;
    {
      std::lock_guard lock(pool_mu_);
      if (!read_pool_.empty()) {
        txn = read_pool_.back();
        read_pool_.pop_back();
      }
    }
    if (txn != nullptr) {
      if (int rc = mdb_txn_renew(txn); rc != MDB_SUCCESS) Fatal("renewing a read transaction", rc);
      return txn;
    }
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != MDB_SUCCESS) {
      Fatal("beginning a read transaction", rc);
    }
    return txn;
  }

  void ReturnReadTxn(MDB_txn* txn) const {
    mdb_txn_reset(txn);
    {
      std::lock_guard lock(pool_mu_);
      if (read_pool_.size() < kPooledReadTxns) {
        read_pool_.push_back(txn);
        return;
      }
    }
    mdb_txn_abort(txn);
  }

  class Cursor {
   public:
    Cursor(MDB_txn* txn, MDB_dbi dbi) {
      if (int rc = mdb_cursor_open(txn, dbi, &cursor_); rc != MDB_SUCCESS) Fatal("mdb_cursor_open", rc);
    }
    ~Cursor() { mdb_cursor_close(cursor_); }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    MDB_cursor* get() const { return cursor_; }

   private:
    MDB_cursor* cursor_ = nullptr;
  };

  Status Unavailable(std::string_view what, int rc) const {
    return MakeError(ErrorCode::kUnavailable, fmt::format("{} of '{}': {}", what, path_, mdb_strerror(rc)));
  }

  Status Load(MDB_txn* txn, bool create) {
    int rc = mdb_dbi_open(txn, kMetaDb, 0, &meta_);
    if (rc == MDB_NOTFOUND) {
      // A new environment, or an LMDB environment of someone else's.
      MDB_dbi main = 0;
      MDB_stat stat;
      if ((rc = mdb_dbi_open(txn, nullptr, 0, &main)) != MDB_SUCCESS) return Unavailable("mdb_dbi_open", rc);
      if ((rc = mdb_stat(txn, main, &stat)) != MDB_SUCCESS) return Unavailable("mdb_stat", rc);
      if (stat.ms_entries != 0) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         fmt::format("'{}' is an LMDB environment but not a kvlog store (it has {} records and no "
                                     "'{}' database)", path_, stat.ms_entries, kMetaDb));
      }
      if (!create) {
        return MakeError(ErrorCode::kNotFound,
                         "no store at '" + path_ + "' (an empty LMDB environment, and create_if_missing is off)");
      }
      if ((rc = mdb_dbi_open(txn, kMetaDb, MDB_CREATE, &meta_)) != MDB_SUCCESS) return Unavailable("creating", rc);
      if ((rc = mdb_dbi_open(txn, kDataDb, MDB_CREATE, &data_)) != MDB_SUCCESS) return Unavailable("creating", rc);
      if ((rc = PutMeta(txn, kFormatKey, Fixed64(kStoreFormat))) != MDB_SUCCESS) {
        return Unavailable("writing the format", rc);
      }
      return OkStatus();
    }
    if (rc != MDB_SUCCESS) return Unavailable("opening the kvlog database", rc);
    if ((rc = mdb_dbi_open(txn, kDataDb, 0, &data_)) != MDB_SUCCESS) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("the store at '{}' has no '{}' database: {}", path_, kDataDb, mdb_strerror(rc)));
    }
    std::string_view value;
    if (!GetMeta(txn, kFormatKey, &value)) {
      return MakeError(ErrorCode::kFailedPrecondition, "the store at '" + path_ + "' has no format record");
    }
    const uint64_t format = value.size() == 8 ? GetFixed64(value) : 0;
    if (format == 0 || format > kStoreFormat) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("the store at '{}' has format {}; this build reads formats 1 to {}", path_, format,
                                   kStoreFormat));
    }
    if (GetMeta(txn, kPositionKey, &value)) {
      if (value.size() != 8) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         fmt::format("the position record of '{}' is unreadable ({} bytes)", path_, value.size()));
      }
      position_ = static_cast<int64_t>(GetFixed64(value));
    }
    if (GetMeta(txn, kIdentityKey, &value)) {
      Result<LogIdentity> id = DecodeIdentity(value);
      if (!id) return MakeError(id.error().code(), "'" + path_ + "': " + id.error().message());
      identity_ = std::move(*id);
    }
    return OkStatus();
  }

  bool GetMeta(MDB_txn* txn, std::string_view key, std::string_view* value) const {
    MDB_val k = Val(key), v;
    int rc = mdb_get(txn, meta_, &k, &v);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != MDB_SUCCESS) Fatal("reading the store's records", rc);
    *value = View(v);
    return true;
  }

  int PutMeta(MDB_txn* txn, std::string_view key, std::string_view value) {
    MDB_val k = Val(key), v = Val(value);
    return mdb_put(txn, meta_, &k, &v, 0);
  }

  int64_t PositionIn(MDB_txn* txn) const {
    std::string_view value;
    if (!GetMeta(txn, kPositionKey, &value)) return 0;
    return static_cast<int64_t>(GetFixed64(value));
  }

  static bool DecodeInto(std::string_view bytes, std::string* value, Version* version) {
    if (bytes.size() >= kEntryHeaderBytes && bytes[0] == kEntryFormat1) {
      value->assign(bytes.substr(kEntryHeaderBytes));
      if (version != nullptr) *version = static_cast<Version>(GetFixed64(bytes.substr(1)));
      return true;
    }
    Result<VersionedValue> entry = DecodeEntry(bytes);
    if (!entry) Fatal("decoding the value of a key", entry.error().message());
    *value = std::move(entry->value);
    if (version != nullptr) *version = entry->version;
    return true;
  }

  bool GetIn(MDB_txn* txn, std::string_view key, std::string* value, Version* version) const {
    if (key.size() > kMaxShortKeyBytes) {
      const ChainHit hit = FindInChain(txn, data_, LongDataStem(key), {&kLongTag, 1}, key);
      return hit.found && DecodeInto(hit.rest, value, version);
    }
    StoredKey stored(key);
    MDB_val k = stored.val(), v;
    int rc = mdb_get(txn, data_, &k, &v);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != MDB_SUCCESS) Fatal("get", rc);
    return DecodeInto(View(v), value, version);
  }

  // Where a long key is, or would be written, in its chain of stand-ins.
  struct ChainHit {
    bool found = false;
    std::string stored;     // The stand-in holding the key, or the next free one.
    std::string_view rest;  // The found record's entry (or metadata value).
  };

  // Looks for `key` among the stand-ins stem + index (4 bytes) + `tag`: one
  // for each long key with that prefix and hash, in the order they came.
  static ChainHit FindInChain(MDB_txn* txn, MDB_dbi dbi, const std::string& stem, std::string_view tag,
                              std::string_view key) {
    ChainHit hit;
    Cursor cursor(txn, dbi);
    const std::size_t size = stem.size() + kIndexBytes + tag.size();
    uint64_t next = 0;
    MDB_val k = Val(stem), v;
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      if (rc == MDB_NOTFOUND) break;
      if (rc != MDB_SUCCESS) Fatal("looking up a long key", rc);
      const std::string_view stored = View(k);
      if (!stored.starts_with(stem)) break;
      if (stored.size() != size || !stored.ends_with(tag)) continue;  // A short key that shares the bytes.
      next = std::max(next, GetBigEndian(stored.substr(stem.size(), kIndexBytes)) + 1);
      const LongRecord record = DecodeLong(View(v));
      if (record.key == key) {
        hit.found = true;
        hit.stored.assign(stored);
        hit.rest = record.rest;
        return hit;
      }
    }
    if (next > UINT32_MAX) {
      Fatal("storing a long key", fmt::format("2^32 keys of {} bytes share its prefix and its 64-bit hash", key.size()));
    }
    hit.stored = stem;
    hit.stored.resize(stem.size() + kIndexBytes);
    PutBigEndian(next, kIndexBytes, hit.stored.data() + stem.size());
    hit.stored.append(tag);
    return hit;
  }

  // Positions `cursor` at the first stored key at or after `bound`'s place:
  // exact for a bound of up to kLongPrefixBytes; for a longer bound, the first
  // stored key starting with its prefix (the prefix itself, then the prefix's
  // run, which the caller reads whole and filters).
  static int SeekAtLeast(MDB_cursor* cursor, std::string_view bound, MDB_val* k, MDB_val* v) {
    char seek[kLmdbMaxKeyBytes];
    std::size_t size = std::min(bound.size(), kLongPrefixBytes);
    std::memcpy(seek, bound.data(), size);
    if (bound.size() <= kLongPrefixBytes) seek[size++] = '\0';
    *k = MDB_val{size, seek};
    return mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
  }

  // Positions `cursor` at the first stored key past every key that may be
  // below `bound`: exact for a bound of up to kLongPrefixBytes; for a longer
  // one, the first stored key past its prefix's run (every stored key of the
  // run is shorter than the seek key or differs from it by a byte below 0xff).
  static int SeekPast(MDB_cursor* cursor, std::string_view bound, MDB_val* k, MDB_val* v) {
    if (bound.size() <= kLongPrefixBytes) return SeekAtLeast(cursor, bound, k, v);
    char seek[kLmdbMaxKeyBytes];
    std::memcpy(seek, bound.data(), kLongPrefixBytes);
    std::memset(seek + kLongPrefixBytes, 0xff, kLmdbMaxKeyBytes - kLongPrefixBytes);
    *k = MDB_val{kLmdbMaxKeyBytes, seek};
    return mdb_cursor_get(cursor, k, v, MDB_SET_RANGE);
  }

  std::vector<KeyValue> RangeIn(MDB_txn* txn, const KeyConstraint& range, const QueryOptions& options) const {
    std::vector<KeyValue> out;
    if (range.end && *range.end <= range.start) return out;
    const bool reverse = options.reverse;
    const MDB_cursor_op step = reverse ? MDB_PREV : MDB_NEXT;
    Cursor cursor(txn, data_);
    MDB_val k, v;
    int rc;
    if (reverse) {
      // The last key below the end: the one before the first key past it.
      rc = range.end ? SeekPast(cursor.get(), *range.end, &k, &v) : MDB_NOTFOUND;
      if (rc == MDB_SUCCESS) {
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_PREV);
      } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_LAST);
      }
    } else {
      rc = SeekAtLeast(cursor.get(), range.start, &k, &v);
    }
    // False: the range is done. Keys before the range's near end (in a run
    // the seek could not place exactly) are skipped.
    auto emit = [&](std::string_view key, std::string_view bytes) {
      const bool before_start = key < range.start;
      const bool past_end = range.end && key >= *range.end;
      if (reverse ? past_end : before_start) return true;
      if (reverse ? before_start : past_end) return false;
      if (options.limit != 0 && out.size() >= options.limit) return false;
      Result<VersionedValue> entry = DecodeEntry(bytes);
      if (!entry) Fatal("decoding a value in a range", entry.error().message());
      out.push_back(KeyValue{std::string(key), std::move(entry->value), options.versions ? entry->version : kNoVersion});
      return true;
    };
    std::vector<std::pair<std::string_view, std::string_view>> run;  // Views into the read transaction's pages.
    while (rc == MDB_SUCCESS) {
      if (k.mv_size <= kLongPrefixBytes + 1) {
        if (!emit(UserKey(k), View(v))) return out;
        rc = mdb_cursor_get(cursor.get(), &k, &v, step);
        continue;
      }
      // A run: every stored key of more than kLongPrefixBytes + 1 bytes with
      // this prefix, read whole and sorted by the full keys.
      run.clear();
      const std::string prefix(View(k).substr(0, kLongPrefixBytes));
      do {
        if (IsLongStored(k)) {
          const LongRecord record = DecodeLong(View(v));
          run.emplace_back(record.key, record.rest);
        } else {
          run.emplace_back(UserKey(k), View(v));
        }
        rc = mdb_cursor_get(cursor.get(), &k, &v, step);
      } while (rc == MDB_SUCCESS && k.mv_size > kLongPrefixBytes + 1 && View(k).starts_with(prefix));
      if (reverse) {
        std::sort(run.begin(), run.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      } else {
        std::sort(run.begin(), run.end());
      }
      for (const auto& [key, bytes] : run) {
        if (!emit(key, bytes)) return out;
      }
    }
    if (rc != MDB_NOTFOUND) Fatal("range scan", rc);
    return out;
  }

  int Put(MDB_txn* txn, std::string_view key, std::string_view value, Version version) {
    char header[kEntryHeaderBytes];
    EncodeEntryHeader(version, header);
    if (key.size() > kMaxShortKeyBytes) {
      const ChainHit hit = FindInChain(txn, data_, LongDataStem(key), {&kLongTag, 1}, key);
      MDB_val k = Val(hit.stored);
      MDB_val v{5 + key.size() + kEntryHeaderBytes + value.size(), nullptr};
      if (int rc = mdb_put(txn, data_, &k, &v, MDB_RESERVE); rc != MDB_SUCCESS) return rc;
      char* out = static_cast<char*>(v.mv_data);
      out += EncodeLongHead(key, out);
      std::memcpy(out, header, kEntryHeaderBytes);
      if (!value.empty()) std::memcpy(out + kEntryHeaderBytes, value.data(), value.size());
      return MDB_SUCCESS;
    }
    StoredKey stored(key);
    MDB_val k = stored.val();
    // The entry is written straight into its page: the header, then the value.
    MDB_val v{kEntryHeaderBytes + value.size(), nullptr};
    int rc = mdb_put(txn, data_, &k, &v, MDB_RESERVE);
    if (rc != MDB_SUCCESS) return rc;
    char* out = static_cast<char*>(v.mv_data);
    std::memcpy(out, header, kEntryHeaderBytes);
    if (!value.empty()) std::memcpy(out + kEntryHeaderBytes, value.data(), value.size());
    return MDB_SUCCESS;
  }

  int Del(MDB_txn* txn, std::string_view key) {
    int rc;
    if (key.size() > kMaxShortKeyBytes) {
      const ChainHit hit = FindInChain(txn, data_, LongDataStem(key), {&kLongTag, 1}, key);
      if (!hit.found) return MDB_SUCCESS;
      MDB_val k = Val(hit.stored);
      rc = mdb_del(txn, data_, &k, nullptr);
    } else {
      StoredKey stored(key);
      MDB_val k = stored.val();
      rc = mdb_del(txn, data_, &k, nullptr);
    }
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
  }

  // One applier metadata pair (see kApplierLongPrefix).
  int PutApplierMeta(MDB_txn* txn, const MetaMutation& m) {
    const std::string key = kApplierPrefix + m.key;
    int rc;
    if (key.size() <= kLmdbMaxKeyBytes) {
      MDB_val k = Val(key);
      if (m.value) {
        MDB_val v = Val(*m.value);
        return mdb_put(txn, meta_, &k, &v, 0);
      }
      rc = mdb_del(txn, meta_, &k, nullptr);
    } else {
      const ChainHit hit = FindInChain(txn, meta_, LongMetaStem(m.key), "", m.key);
      MDB_val k = Val(hit.stored);
      if (m.value) {
        MDB_val v{5 + m.key.size() + m.value->size(), nullptr};
        if ((rc = mdb_put(txn, meta_, &k, &v, MDB_RESERVE)) != MDB_SUCCESS) return rc;
        char* out = static_cast<char*>(v.mv_data);
        out += EncodeLongHead(m.key, out);
        if (!m.value->empty()) std::memcpy(out, m.value->data(), m.value->size());
        return MDB_SUCCESS;
      }
      if (!hit.found) return MDB_SUCCESS;
      rc = mdb_del(txn, meta_, &k, nullptr);
    }
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
  }

  int AddMutations(MDB_txn* txn, std::span<const Mutation> batch) {
    for (const Mutation& m : batch) {
      int rc = m.value ? Put(txn, m.key, *m.value, m.version) : Del(txn, m.key);
      if (rc != MDB_SUCCESS) return rc;
    }
    return MDB_SUCCESS;
  }

  // One write transaction filled by `fill` (which returns an LMDB code) and
  // committed; callers hold write_mu_. A full map is grown and the
  // transaction redone.
  template <typename Fill>
  void Write(std::string_view what, Fill fill) {
    for (;;) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != MDB_SUCCESS) Fatal(fmt::format("{}: mdb_txn_begin", what), rc);
      rc = fill(txn);
      if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(txn);
      } else {
        mdb_txn_abort(txn);
      }
      if (rc == MDB_SUCCESS) return;
      if (rc != MDB_MAP_FULL) Fatal(what, rc);
      GrowMap(what);
    }
  }

  void GrowMap(std::string_view what) {
    if (map_size_ >= max_map_size_) {
      Fatal(what, fmt::format("the store at '{}' is full: its map has {} bytes, LmdbOptions::max_map_size", path_,
                              map_size_));
    }
    const std::size_t grown = std::min(map_size_ * 2, max_map_size_);
    // No transaction of this process may be open while the map changes.
    std::unique_lock lock(map_mu_);
    if (int rc = mdb_env_set_mapsize(env_, grown); rc != MDB_SUCCESS) {
      Fatal(fmt::format("{}: growing the map to {} bytes", what, grown), rc);
    }
    map_size_ = grown;
  }

  const std::string path_;
  const LmdbSync sync_;
  std::size_t map_size_;  // Guarded by write_mu_.
  const std::size_t max_map_size_;
  const int lock_fd_;
  MDB_env* env_ = nullptr;
  MDB_dbi data_ = 0;
  MDB_dbi meta_ = 0;
  // Readers hold map_mu_ shared for their transaction; GrowMap holds it
  // exclusively. Writers (and Checkpoint) hold write_mu_, which guards
  // position_ (the position of the last committed batch), identity_ and
  // map_size_. LMDB lets one writer and any readers run at once.
  mutable std::shared_mutex map_mu_;  // determinism-lint: allow (a leaf lock)
  mutable std::mutex write_mu_;       // determinism-lint: allow (a leaf lock)
  // Reset read transactions (TakeReadTxn), aborted before the environment
  // closes.
  mutable std::mutex pool_mu_;  // determinism-lint: allow (a leaf lock)
  mutable std::vector<MDB_txn*> read_pool_;
  int64_t position_ = 0;
  LogIdentity identity_;
};

bool LooksLikeRocksDb(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "CURRENT", ec) || fs::exists(dir / "IDENTITY", ec);
}

}  // namespace

bool IsLmdbStore(const std::string& dir) {
  std::error_code ec;
  return fs::exists(fs::path(dir) / "data.mdb", ec);
}

Result<std::unique_ptr<LmdbStorage>> OpenLmdbStorage(const LmdbOptions& options) {
  if (options.path.empty()) return MakeError(ErrorCode::kInvalidArgument, "lmdb storage: the path is empty");
  const fs::path dir(options.path);
  std::error_code ec;
  if (LooksLikeRocksDb(dir)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "lmdb storage: '" + options.path + "' holds a RocksDB store (kv/rocksdb), not an LMDB one");
  }
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "lmdb storage: '" + options.path + "' is a file; a store is a directory");
  }
  if (!IsLmdbStore(options.path)) {
    if (!options.create_if_missing) {
      return MakeError(ErrorCode::kNotFound,
                       "lmdb storage: no store at '" + options.path + "' (and create_if_missing is off)");
    }
    fs::create_directories(dir, ec);
    if (ec) {
      return MakeError(ErrorCode::kUnavailable,
                       "lmdb storage: cannot create '" + options.path + "': " + ec.message());
    }
  }
  if (options.map_size == 0 || options.map_size > options.max_map_size) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("lmdb storage: map_size {} must be between 1 and max_map_size {}", options.map_size,
                                 options.max_map_size));
  }
  // One open store per directory: LMDB itself lets several processes write
  // one environment (and breaks its own locks when one process opens it
  // twice), but two appliers would interleave their positions.
  const std::string lock_path = (dir / kLockFile).string();
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("lmdb storage: cannot open '{}': {}", lock_path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable,
                     "lmdb storage: '" + options.path + "' is open already (its lock file " + kLockFile +
                         " is held by this or another process)");
  }
  auto store = std::make_unique<LmdbStore>(options.path, options.sync, options.map_size, options.max_map_size, fd);
  if (Status opened = store->Open(options.create_if_missing); !opened) {
    return MakeError(opened.error().code(), "lmdb storage: " + opened.error().message());
  }
  return store;
}

}  // namespace kvlog::kv::lmdb
