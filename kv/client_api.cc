// kv/client.h's thin layer: Condition, WriteBatch, Txn, and Client, whose calls
// all go to internal::ClientImpl (kv/client_impl.h).
#include "kv/client.h"

#include <memory>
#include <string>
#include <utility>

#include "kv/client_impl.h"
#include "kv/ttl.h"

namespace kvlog::kv {

Condition Condition::Absent(std::string_view key) {
  return Condition(internal::CommandCompare{std::string(key), internal::CommandCompare::Kind::kAbsent, kNoVersion});
}
Condition Condition::Present(std::string_view key) {
  return Condition(internal::CommandCompare{std::string(key), internal::CommandCompare::Kind::kPresent, kNoVersion});
}
Condition Condition::VersionIs(std::string_view key, Version version) {
  return Condition(internal::CommandCompare{std::string(key), internal::CommandCompare::Kind::kVersion, version});
}

// Client: every call goes to the implementation (kv/client_impl.h).

Client::Client(std::unique_ptr<internal::ClientImpl> impl) : impl_(std::move(impl)) {}

Client::~Client() = default;  // ClientImpl's destructor closes.

Result<std::unique_ptr<Client>> Client::Open(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage,
                                             ClientOptions options) {
  Result<std::unique_ptr<internal::ClientImpl>> impl =
      internal::ClientImpl::Open(std::move(log), std::move(storage), std::move(options));
  if (!impl) return std::unexpected(impl.error());
  return std::unique_ptr<Client>(new Client(std::move(*impl)));
}

log::Offset Client::AppliedPosition() const { return impl_->AppliedPosition(); }
const std::string& Client::id() const { return impl_->id(); }
const Storage& Client::storage() const { return impl_->storage(); }
log::Offset Client::resumed_from() const { return impl_->resumed_from(); }
Result<int64_t> Client::Checkpoint(const std::string& dir) const { return impl_->Checkpoint(dir); }
Result<log::Offset> Client::Put(std::string_view key, std::string_view value, const CallOptions& options) {
  return impl_->Put(key, value, options);
}
Result<log::Offset> Client::Delete(std::string_view key, const CallOptions& options) {
  return impl_->Delete(key, options);
}
Result<log::Offset> Client::PutIf(std::string_view key, std::string_view value, Version expected_version,
                                  const CallOptions& options) {
  return impl_->PutIf(key, value, expected_version, options);
}
Result<log::Offset> Client::DeleteIf(std::string_view key, Version expected_version, const CallOptions& options) {
  return impl_->DeleteIf(key, expected_version, options);
}
Result<log::Offset> Client::PutIfAbsent(std::string_view key, std::string_view value, const CallOptions& options) {
  return impl_->PutIfAbsent(key, value, options);
}
Result<log::Offset> Client::Update(std::string_view key, const UpdateFn& fn, const CallOptions& options) {
  return impl_->Update(key, fn, options);
}
Result<log::Offset> Client::Expire(std::string_view key, Duration ttl, const CallOptions& options) {
  return impl_->Expire(key, ttl, options);
}
Result<log::Offset> Client::Persist(std::string_view key, const CallOptions& options) {
  return impl_->Persist(key, options);
}
Result<std::optional<Duration>> Client::TimeToLive(std::string_view key) const { return impl_->TimeToLive(key); }
void Client::PutAsync(std::string_view key, std::string_view value, WriteCallback done, const CallOptions& options) {
  impl_->PutAsync(key, value, std::move(done), options);
}
void Client::DeleteAsync(std::string_view key, WriteCallback done, const CallOptions& options) {
  impl_->DeleteAsync(key, std::move(done), options);
}
Result<std::string> Client::Get(std::string_view key) const { return impl_->Get(key); }
Result<VersionedValue> Client::GetEntry(std::string_view key, ReadInfo* info) const {
  return impl_->GetEntry(key, info);
}
Result<std::string> Client::Get(std::string_view key, const ReadOptions& options, ReadInfo* info) {
  return impl_->Get(key, options, info);
}
Result<VersionedValue> Client::GetEntry(std::string_view key, const ReadOptions& options, ReadInfo* info) {
  return impl_->GetEntry(key, options, info);
}
Result<std::vector<KeyValue>> Client::Range(const KeyConstraint& range, const QueryOptions& query,
                                            const ReadOptions& options, ReadInfo* info) {
  return impl_->Range(range, query, options, info);
}
Result<log::Offset> Client::AwaitReadLevel(const ReadOptions& options, std::string_view what) {
  return impl_->AwaitReadLevel(options, what);
}
Status Client::Get(std::string_view key, std::string* value, ReadInfo* info) const {
  return impl_->Get(key, value, info);
}
Status Client::MultiGet(std::span<const std::string_view> keys,
                        std::vector<std::optional<std::string>>* values) const {
  return impl_->MultiGet(keys, values);
}
Result<std::vector<KeyValue>> Client::Range(const KeyConstraint& range, const QueryOptions& options,
                                            ReadInfo* info) const {
  return impl_->Range(range, options, info);
}
Result<std::vector<KeyValue>> Client::Prefix(std::string_view prefix, const QueryOptions& options) const {
  return impl_->Prefix(prefix, options);
}
Status Client::Sync(const CallOptions& options) { return impl_->Sync(options); }
Status Client::WaitApplied(log::Offset offset, const CallOptions& options) {
  return impl_->WaitApplied(offset, options);
}
std::size_t Client::corrupt_records() const { return impl_->corrupt_records(); }
std::size_t Client::lost_writes() const { return impl_->lost_writes(); }
std::size_t Client::reader_data_loss() const { return impl_->reader_data_loss(); }
void Client::Close() { impl_->Close(); }
Result<std::unique_ptr<Watcher>> Client::Watch(const WatchOptions& options) { return impl_->Watch(options); }
Result<ClientStats> Client::Stats(const StatsOptions& options) const { return impl_->Stats(options); }
Result<bool> Client::Exists(std::string_view key) const { return impl_->Exists(key); }
Result<std::size_t> Client::Count(std::string_view prefix) const { return impl_->Count(prefix); }
Result<std::vector<std::string>> Client::Keys(std::string_view prefix, std::size_t limit) const {
  return impl_->Keys(prefix, limit);
}

// WriteBatch

WriteBatch& WriteBatch::Put(std::string_view key, std::string_view value) {
  log::Record record;
  record.key.assign(key);
  record.value.emplace(value);
  records_.push_back(std::move(record));
  return *this;
}

WriteBatch& WriteBatch::Delete(std::string_view key) {
  log::Record record;
  record.key.assign(key);
  records_.push_back(std::move(record));
  return *this;
}

Result<std::vector<log::Record>> WriteBatch::PreparePlain(const CallOptions& options) const {
  internal::ClientImpl& c = *client_->impl_;
  if (c.closed_.load()) return MakeError(ErrorCode::kClosed, "batch: client " + c.options_.client_id + " is closed");
  if (records_.size() > c.options_.limits.max_batch_records) {
    return MakeError(ErrorCode::kInvalidArgument, "batch has " + std::to_string(records_.size()) +
                                                      " records; the limit (max_batch_records) is " +
                                                      std::to_string(c.options_.limits.max_batch_records));
  }
  std::vector<log::Record> records;
  records.reserve(records_.size());
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const log::Record& r = records_[i];
    Status valid = c.ValidateKey(r.key);
    if (valid && r.value) valid = c.ValidateValue(*r.value);
    if (!valid) {
      return MakeError(valid.error().code(), "batch record " + std::to_string(i) + ": " + valid.error().message());
    }
    records.push_back(
        c.MakeRecord(r.key, r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, options));
  }
  return records;
}

Result<std::vector<log::Record>> WriteBatch::Prepare(const CallOptions& options) const {
  if (options.ttl.count() != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "batch: CallOptions::ttl applies to single puts, not to a batch");
  }
  if (!atomic_) return PreparePlain(options);
  if (records_.empty()) return std::vector<log::Record>{};
  internal::Command command;
  command.then_writes.reserve(records_.size());
  for (const log::Record& r : records_) {
    command.then_writes.push_back(
        {r.key, r.value ? std::optional<std::string>(internal::StoredForm(*r.value, 0)) : std::nullopt});
  }
  Result<log::Record> record = client_->impl_->PrepareCommand("atomic batch", std::move(command), options);
  if (!record) return std::unexpected(record.error());
  std::vector<log::Record> records;
  records.push_back(std::move(*record));
  return records;
}

Result<log::Offset> WriteBatch::Execute(const CallOptions& options) {
  Result<std::vector<log::Record>> records = Prepare(options);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return log::kNoOffset;
  return client_->impl_->WriteAndWait(*records, options);
}

void WriteBatch::ExecuteAsync(WriteCallback done, const CallOptions& options) {
  Result<std::vector<log::Record>> records = Prepare(options);
  if (!records) return done(std::unexpected(records.error()));
  if (records->empty()) return done(log::kNoOffset);
  client_->impl_->StartWrite(*records, options, std::move(done));
}


// Txn

Txn& Txn::If(const Condition& condition) {
  command_.compares.push_back(condition.compare_);
  return *this;
}

Txn& Txn::Put(std::string_view key, std::string_view value) {
  command_.then_writes.push_back({std::string(key), internal::StoredForm(value, 0)});
  return *this;
}

Txn& Txn::Delete(std::string_view key) {
  command_.then_writes.push_back({std::string(key), std::nullopt});
  return *this;
}

Txn& Txn::ElsePut(std::string_view key, std::string_view value) {
  command_.else_writes.push_back({std::string(key), internal::StoredForm(value, 0)});
  return *this;
}

Txn& Txn::ElseDelete(std::string_view key) {
  command_.else_writes.push_back({std::string(key), std::nullopt});
  return *this;
}

Result<TxnResult> Txn::Commit(const CallOptions& options) {
  if (options.ttl.count() != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "txn: CallOptions::ttl applies to single puts, not to a transaction");
  }
  Result<log::Record> record = client_->impl_->PrepareCommand("txn", command_, options);
  if (!record) return std::unexpected(record.error());
  bool held = true;
  Result<log::Offset> offset = client_->impl_->WriteAndWait({&*record, 1}, options, &held);
  if (!offset) return std::unexpected(offset.error());
  return TxnResult{held, *offset};
}

}  // namespace kvlog::kv
