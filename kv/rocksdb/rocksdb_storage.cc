#include "kv/rocksdb/rocksdb_storage.h"

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/cache.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "absl/container/flat_hash_map.h"
#include "kv/locked_reads.h"
#include "kv/stored_entry.h"

namespace kvlog::kv::rocksdb {
namespace {

// Two column families: the data ("default": key -> EncodeEntry) and the
// store's own records ("kvlog"): its format, position, identity and the
// applier's metadata (prefix "a/").
constexpr char kMetaFamily[] = "kvlog";
constexpr char kFormatKey[] = "format";
constexpr char kPositionKey[] = "position";
constexpr char kIdentityKey[] = "identity";
constexpr char kApplierPrefix[] = "a/";
// The store format this build writes and reads. A store records it when
// created; a newer one is refused at open.
constexpr uint64_t kStoreFormat = 1;

[[noreturn]] void Fatal(std::string_view what, const ::rocksdb::Status& status) {
  fmt::print(stderr, "kvlog rocksdb storage: {} failed: {} (fatal: the store cannot go on without it)\n", what,
             status.ToString());
  std::abort();
}

std::string_view View(const ::rocksdb::Slice& s) { return {s.data(), s.size()}; }
::rocksdb::Slice Slice(std::string_view s) { return {s.data(), s.size()}; }

class RocksDbStore final : public LockedReads<RocksDbStore, RocksDbStorage> {
 public:
  RocksDbStore(std::string path, bool sync, bool flush_on_close, std::unique_ptr<::rocksdb::DB> db,
               std::vector<::rocksdb::ColumnFamilyHandle*> handles)
      : path_(std::move(path)), flush_on_close_(flush_on_close), db_(std::move(db)), data_(handles[0]),
        meta_(handles[1]) {
    write_options_.sync = sync;
  }

  ~RocksDbStore() override {
    if (flush_on_close_) {
      // The memtables go to table files, so the next open has no
      // write-ahead log to replay (a 1 M-key store closed with its writes
      // still in the memtable took 5.3 s to reopen, against 60 ms flushed).
      // Nothing depends on it: until the flush is recorded, the log is kept
      // and replayed as after a crash.
      if (::rocksdb::Status s = db_->Flush(::rocksdb::FlushOptions(), {data_, meta_}); !s.ok()) {
        fmt::print(stderr, "kvlog rocksdb storage: flushing {} before closing: {} (its next open replays the "
                           "write-ahead log instead)\n", path_, s.ToString());
      }
    }
    db_->DestroyColumnFamilyHandle(data_);
    db_->DestroyColumnFamilyHandle(meta_);
    if (::rocksdb::Status s = db_->Close(); !s.ok()) {
      fmt::print(stderr, "kvlog rocksdb storage: closing {}: {}\n", path_, s.ToString());
    }
  }

  // Reads the store's own records; called once, before the store is shared.
  Status Load() {
    std::string value;
    ::rocksdb::Status s = db_->Get({}, meta_, kFormatKey, &value);
    if (s.IsNotFound()) {
      // A new store, or one a crash interrupted before its first write: mark it.
      if (!IsEmpty()) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "'" + path_ + "' is a RocksDB database but not a kvlog store (it has data and no format record)");
      }
      s = db_->Put(write_options_, meta_, kFormatKey, Fixed64(kStoreFormat));
      if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "writing the format of '" + path_ + "': " + s.ToString());
      return OkStatus();
    }
    if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "reading the format of '" + path_ + "': " + s.ToString());
    const uint64_t format = value.size() == 8 ? GetFixed64(value) : 0;
    if (format == 0 || format > kStoreFormat) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("the store at '{}' has format {}; this build reads formats 1 to {}", path_, format,
                                   kStoreFormat));
    }
    s = db_->Get({}, meta_, kPositionKey, &value);
    if (s.ok() && value.size() == 8) {
      position_ = static_cast<int64_t>(GetFixed64(value));
    } else if (!s.IsNotFound()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("the position record of '{}' is unreadable: {}", path_,
                                   s.ok() ? fmt::format("{} bytes", value.size()) : s.ToString()));
    }
    s = db_->Get({}, meta_, kIdentityKey, &value);
    if (s.ok()) {
      Result<LogIdentity> id = DecodeIdentity(value);
      if (!id) return MakeError(id.error().code(), "'" + path_ + "': " + id.error().message());
      identity_ = std::move(*id);
    } else if (!s.IsNotFound()) {
      return MakeError(ErrorCode::kUnavailable, "reading the identity of '" + path_ + "': " + s.ToString());
    }
    return OkStatus();
  }

  const std::string& path() const override { return path_; }

  using Storage::Set;
  void Set(std::string_view key, std::string_view value, Version version) override {
    std::unique_lock lock(mu_);
    Write("set", [&](::rocksdb::WriteBatch& wb) { return wb.Put(data_, Slice(key), EncodeEntry(value, version)); });
  }

  void Delete(std::string_view key) override {
    std::unique_lock lock(mu_);
    Write("delete", [&](::rocksdb::WriteBatch& wb) { return wb.Delete(data_, Slice(key)); });
  }

  // Counts by scanning every key: O(keys). For tests and tools.
  std::size_t Size() const override {
    std::shared_lock lock(mu_);
    std::unique_ptr<::rocksdb::Iterator> it(db_->NewIterator({}, data_));
    std::size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    if (!it->status().ok()) Fatal("size scan", it->status());
    return n;
  }

  void Apply(std::span<const Mutation> batch) override {
    std::unique_lock lock(mu_);
    Write("apply", [&](::rocksdb::WriteBatch& wb) { return AddMutations(wb, batch); });
  }

  void Apply(std::span<const Mutation> batch, int64_t position) override { Apply(batch, position, {}); }

  void Apply(std::span<const Mutation> batch, int64_t position, std::span<const MetaMutation> meta) override {
    std::unique_lock lock(mu_);
    if (batch.empty() && meta.empty() && position == position_) return;
    Write(fmt::format("apply at position {}", position), [&](::rocksdb::WriteBatch& wb) {
      ::rocksdb::Status s = AddMutations(wb, batch);
      for (const MetaMutation& m : meta) {
        if (!s.ok()) return s;
        const std::string key = kApplierPrefix + m.key;
        s = m.value ? wb.Put(meta_, key, *m.value) : wb.Delete(meta_, key);
      }
      return s.ok() ? wb.Put(meta_, kPositionKey, Fixed64(static_cast<uint64_t>(position))) : s;
    });
    position_ = position;
  }

  std::optional<DurableState> Durable() const override {
    std::shared_lock lock(mu_);
    return DurableState{position_, identity_};
  }

  Status SetIdentity(const LogIdentity& identity) override {
    std::unique_lock lock(mu_);
    Write("recording the log identity", [&](::rocksdb::WriteBatch& wb) {
      return wb.Put(meta_, kIdentityKey, EncodeIdentity(identity));
    });
    identity_ = identity;
    return OkStatus();
  }

  std::vector<std::pair<std::string, std::string>> LoadMeta() const override {
    std::shared_lock lock(mu_);
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<::rocksdb::Iterator> it(db_->NewIterator({}, meta_));
    const std::string_view prefix = kApplierPrefix;
    for (it->Seek(Slice(prefix)); it->Valid() && View(it->key()).starts_with(prefix); it->Next()) {
      out.emplace_back(std::string(View(it->key()).substr(prefix.size())), std::string(View(it->value())));
    }
    if (!it->status().ok()) Fatal("metadata scan", it->status());
    return out;
  }

  // One write: a range deletion over each family (up to its last key), then
  // the format record again. Atomic: a crash leaves the old store or an
  // empty one.
  Status Clear() override {
    std::unique_lock lock(mu_);
    Write("clear", [&](::rocksdb::WriteBatch& wb) {
      for (::rocksdb::ColumnFamilyHandle* family : {data_, meta_}) {
        std::unique_ptr<::rocksdb::Iterator> it(db_->NewIterator({}, family));
        it->SeekToLast();
        if (!it->status().ok()) return it->status();
        if (!it->Valid()) continue;
        std::string end(View(it->key()));
        end.push_back('\0');  // The next key after the last.
        if (::rocksdb::Status s = wb.DeleteRange(family, "", end); !s.ok()) return s;
      }
      return wb.Put(meta_, kFormatKey, Fixed64(kStoreFormat));
    });
    position_ = 0;
    identity_ = LogIdentity{};
    return OkStatus();
  }

  Result<int64_t> Checkpoint(const std::string& dir) const override {
    if (dir.empty()) return MakeError(ErrorCode::kInvalidArgument, "checkpoint: the directory is empty");
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) {
      return MakeError(ErrorCode::kInvalidArgument, "checkpoint: '" + dir + "' already exists (it must not)");
    }
    // Shared: readers go on; the applier waits, so the position is the
    // checkpoint's.
    std::shared_lock lock(mu_);
    ::rocksdb::Checkpoint* raw = nullptr;
    ::rocksdb::Status s = ::rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<::rocksdb::Checkpoint> checkpoint(raw);
    if (s.ok()) s = checkpoint->CreateCheckpoint(dir);
    if (!s.ok()) return MakeError(ErrorCode::kUnavailable, "checkpoint into '" + dir + "': " + s.ToString());
    return position_;
  }

 private:
  // Fills the one reused WriteBatch (callers hold mu_ exclusively) and
  // writes it.
  template <typename Fill>
  void Write(std::string_view what, Fill fill) {
    write_batch_.Clear();
    ::rocksdb::Status s = fill(write_batch_);
    if (s.ok()) s = db_->Write(write_options_, &write_batch_);
    if (!s.ok()) Fatal(what, s);
  }

  // Adds the batch's mutations to `wb`: only the last mutation of each key
  // (the batch is written atomically, so the ones it overwrites are never
  // seen; each write RocksDB skips saves a memtable insert, the replay's
  // main cost), in key order (RocksDB's memtable inserts ascending keys from
  // where the last insert ended instead of searching from the top).
  ::rocksdb::Status AddMutations(::rocksdb::WriteBatch& wb, std::span<const Mutation> batch) {
    order_.clear();
    if (batch.size() > 1) {
      last_of_key_.clear();
      last_of_key_.reserve(batch.size());
      for (std::size_t i = 0; i < batch.size(); ++i) last_of_key_.insert_or_assign(std::string_view(batch[i].key), i);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (last_of_key_.find(std::string_view(batch[i].key))->second == i) order_.push_back(&batch[i]);
      }
      std::sort(order_.begin(), order_.end(), [](const Mutation* a, const Mutation* b) { return a->key < b->key; });
    } else {
      for (const Mutation& m : batch) order_.push_back(&m);
    }
    for (const Mutation* m : order_) {
      ::rocksdb::Status s;
      if (m->value) {
        // EncodeEntry's bytes without building them: the header, then the value.
        char header[kEntryHeaderBytes];
        EncodeEntryHeader(m->version, header);
        const ::rocksdb::Slice key = Slice(m->key);
        const ::rocksdb::Slice value_parts[2] = {{header, sizeof header}, Slice(*m->value)};
        s = wb.Put(data_, ::rocksdb::SliceParts(&key, 1), ::rocksdb::SliceParts(value_parts, 2));
      } else {
        s = wb.Delete(data_, Slice(m->key));
      }
      if (!s.ok()) return s;
    }
    return ::rocksdb::Status::OK();
  }

  friend class LockedReads<RocksDbStore, RocksDbStorage>;

  // The key's value, and its version when `version` is not null.
  bool GetLocked(std::string_view key, std::string* value, Version* version = nullptr) const {
    ::rocksdb::PinnableSlice stored;
    ::rocksdb::Status s = db_->Get({}, data_, Slice(key), &stored);
    if (s.IsNotFound()) return false;
    if (!s.ok()) Fatal("get", s);
    const std::string_view bytes = View(stored);
    // Format 1 fast path: no copy of the value besides into *value.
    if (bytes.size() >= 9 && bytes[0] == kEntryFormat1) {
      value->assign(bytes.substr(9));
      if (version != nullptr) *version = static_cast<Version>(GetFixed64(bytes.substr(1)));
      return true;
    }
    Result<VersionedValue> entry = DecodeEntry(bytes);
    if (!entry) Fatal("decoding the value of a key", ::rocksdb::Status::Corruption(entry.error().message()));
    *value = std::move(entry->value);
    if (version != nullptr) *version = entry->version;
    return true;
  }

  std::optional<VersionedValue> GetEntryLocked(std::string_view key) const {
    VersionedValue out;
    if (!GetLocked(key, &out.value, &out.version)) return std::nullopt;
    return out;
  }

  std::vector<KeyValue> RangeLocked(const KeyConstraint& range, const QueryOptions& options) const {
    std::vector<KeyValue> out;
    ::rocksdb::ReadOptions read;
    ::rocksdb::Slice upper;
    ::rocksdb::Slice lower = Slice(range.start);
    read.iterate_lower_bound = &lower;
    if (range.end) {
      if (*range.end <= range.start) return out;
      upper = Slice(*range.end);
      read.iterate_upper_bound = &upper;
    }
    std::unique_ptr<::rocksdb::Iterator> it(db_->NewIterator(read, data_));
    if (options.reverse) {
      it->SeekToLast();  // The last key below the upper bound.
    } else {
      it->Seek(lower);
    }
    for (; it->Valid(); options.reverse ? it->Prev() : it->Next()) {
      if (options.limit != 0 && out.size() >= options.limit) break;
      Result<VersionedValue> entry = DecodeEntry(View(it->value()));
      if (!entry) Fatal("decoding a value in a range", ::rocksdb::Status::Corruption(entry.error().message()));
      out.push_back(KeyValue{std::string(View(it->key())), std::move(entry->value),
                             options.versions ? entry->version : kNoVersion});
    }
    if (!it->status().ok()) Fatal("range scan", it->status());
    return out;
  }

  bool IsEmpty() const {
    for (::rocksdb::ColumnFamilyHandle* family : {data_, meta_}) {
      std::unique_ptr<::rocksdb::Iterator> it(db_->NewIterator({}, family));
      it->SeekToFirst();
      if (it->Valid()) return false;
    }
    return true;
  }

  const std::string path_;
  const bool flush_on_close_;
  std::unique_ptr<::rocksdb::DB> db_;
  ::rocksdb::ColumnFamilyHandle* data_;
  ::rocksdb::ColumnFamilyHandle* meta_;
  ::rocksdb::WriteOptions write_options_;
  // Reused by every write (guarded by mu_, held exclusively): no allocation
  // per batch once they have grown.
  ::rocksdb::WriteBatch write_batch_;
  absl::flat_hash_map<std::string_view, std::size_t> last_of_key_;
  std::vector<const Mutation*> order_;
  // mu_ (LockedReads'): writers hold it exclusively across their RocksDB
  // write and the update of position_ (the position stored with the last
  // batch) and identity_; readers share it, so a positioned read's position
  // matches what it read.
  LogIdentity identity_;  // Guarded by mu_.
};

}  // namespace

Result<std::unique_ptr<RocksDbStorage>> OpenRocksDbStorage(const RocksDbOptions& options) {
  if (options.path.empty()) return MakeError(ErrorCode::kInvalidArgument, "rocksdb storage: the path is empty");
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(options.path) / "data.mdb", ec)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "rocksdb storage: '" + options.path + "' holds an LMDB store (kv/lmdb), not a RocksDB one");
  }
  if (!options.create_if_missing && !std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ec)) {
    return MakeError(ErrorCode::kNotFound, "rocksdb storage: no store at '" + options.path +
                                               "' (and create_if_missing is off)");
  }
  ::rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.write_buffer_size = options.write_buffer_bytes;
  // A store restarted after a crash must hold a prefix of its batches: the
  // write-ahead log is replayed up to the first torn record.
  db_options.wal_recovery_mode = ::rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Opening a store does not read every table file's properties to seed the
  // compaction statistics (they are only an estimate for compaction
  // priorities, rebuilt as compactions run): a restart's open stays cheap
  // however many files a large store has.
  db_options.skip_stats_update_on_db_open = true;
  // Opening a store opens every table file (max_open_files is -1), on
  // RocksDB's default of 16 threads per column family: 30 threads started
  // and joined per open, for the two to four files a store of a million
  // keys has. Four (three started per column family) still open a large
  // store's files side by side and cost a fifth less of the open's CPU
  // (a 1 M-key checkpoint, 40 alternating opens: 6.3 ms with 16, 5.0 ms
  // with 4, 4.7 ms with 1). Which files are opened, and how, is unchanged.
  db_options.max_file_opening_threads = 4;
  ::rocksdb::BlockBasedTableOptions table;
  table.block_cache = ::rocksdb::NewLRUCache(options.block_cache_bytes);
  db_options.table_factory.reset(::rocksdb::NewBlockBasedTableFactory(table));

  std::vector<::rocksdb::ColumnFamilyDescriptor> families = {
      {::rocksdb::kDefaultColumnFamilyName, ::rocksdb::ColumnFamilyOptions(db_options)},
      {kMetaFamily, ::rocksdb::ColumnFamilyOptions(db_options)},
  };
  std::vector<::rocksdb::ColumnFamilyHandle*> handles;
  ::rocksdb::DB* raw = nullptr;
  ::rocksdb::Status s = ::rocksdb::DB::Open(db_options, options.path, families, &handles, &raw);
  if (!s.ok()) {
    if (s.IsInvalidArgument() && s.ToString().find("Column famil") != std::string::npos) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "rocksdb storage: '" + options.path + "' is not a kvlog store: " + s.ToString());
    }
    return MakeError(ErrorCode::kUnavailable, "rocksdb storage: cannot open '" + options.path + "': " + s.ToString());
  }
  auto store = std::make_unique<RocksDbStore>(options.path, options.sync, options.flush_on_close,
                                              std::unique_ptr<::rocksdb::DB>(raw),
                                              std::move(handles));
  if (Status loaded = store->Load(); !loaded) {
    return MakeError(loaded.error().code(), "rocksdb storage: " + loaded.error().message());
  }
  return store;
}

}  // namespace kvlog::kv::rocksdb
