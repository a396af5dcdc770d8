// kv/client.h's thin layer: Condition, the WriteBatch and Txn builders, and
// Client::Open, which returns internal::ClientImpl (kv/client_impl.h).
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

// Client: an abstract class; Open returns the implementation.

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Open(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage,
                                             ClientOptions options) {
  KVLOG_ASSIGN_OR_RETURN(std::unique_ptr<internal::ClientImpl> impl,
                         internal::ClientImpl::Open(std::move(log), std::move(storage), std::move(options)));
  return std::unique_ptr<Client>(std::move(impl));
}

Client::LogHints Client::HintsFor(Storage& storage) { return internal::ClientImpl::HintsFor(storage); }

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

Result<log::Offset> WriteBatch::Execute(const CallOptions& options) { return client_->ExecuteBatch(*this, options); }

void WriteBatch::ExecuteAsync(WriteCallback done, const CallOptions& options) {
  client_->ExecuteBatchAsync(*this, std::move(done), options);
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

Result<TxnResult> Txn::Commit(const CallOptions& options) { return client_->CommitTxn(*this, options); }

}  // namespace kvlog::kv
