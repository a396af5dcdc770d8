#include "kv/client.h"

#include <algorithm>
#include <optional>
#include <string>

namespace kvlog::kv {
namespace {

std::atomic<uint64_t> clients_made{0};

std::string Millis(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

// One Append's outcome, shared between the caller and the log's callback so a
// caller that timed out can leave while the callback is still to come.
struct Client::PendingAppend {
  explicit PendingAppend(std::unique_ptr<CondVar> cv) : acknowledged(std::move(cv)) {}
  bool done = false;            // Guarded by Client::mu_.
  std::optional<log::AppendResult> result;  // Guarded by Client::mu_.
  // Signalled by this append's callback only. Waking every writer on changed_
  // for each acknowledgement made concurrent Puts a thundering herd: with 16
  // writers the acknowledgements queued behind the wake-ups.
  std::unique_ptr<CondVar> acknowledged;
};

Result<std::unique_ptr<Client>> Client::Open(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage,
                                             ClientOptions options) {
  if (log == nullptr) return MakeError(ErrorCode::kInvalidArgument, "Client::Open: log is null");
  if (storage == nullptr) return MakeError(ErrorCode::kInvalidArgument, "Client::Open: storage is null");
  if (options.runtime == nullptr) return MakeError(ErrorCode::kInvalidArgument, "Client::Open: runtime is null");
  if (options.max_poll_records == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "Client::Open: max_poll_records must be at least 1");
  }
  if (options.client_id.empty()) options.client_id = "client-" + std::to_string(clients_made.fetch_add(1));
  std::unique_ptr<Client> client(new Client(std::move(log), std::move(storage), std::move(options)));

  Runtime& rt = client->runtime_;
  const TimePoint deadline = rt.Now() + client->options_.startup_timeout;
  Result<log::Offset> end = client->log_->EndOffset(client->options_.startup_timeout);
  if (!end) return std::unexpected(end.error());
  Result<std::unique_ptr<log::LogReader>> reader = client->log_->OpenReader(0);
  if (!reader) return std::unexpected(reader.error());
  client->reader_ = std::move(*reader);
  client->applied_position_.store(client->reader_->Position(), std::memory_order_release);
  client->applier_ = rt.Spawn("applier " + client->options_.client_id, [c = client.get()] { c->ApplyLoop(); });

  Status replayed =
      client->WaitAppliedUntil(*end - 1, deadline, client->options_.startup_timeout, "start-up replay");
  if (!replayed) {
    client->Close();
    return std::unexpected(replayed.error());
  }
  return client;
}

Client::Client(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage, ClientOptions options)
    : options_(std::move(options)),
      runtime_(*options_.runtime),
      log_(std::move(log)),
      storage_(std::move(storage)),
      mu_(runtime_.NewMutex()),
      changed_(runtime_.NewCondVar()),
      close_mu_(runtime_.NewMutex()) {}

Client::~Client() { Close(); }

void Client::Close() {
  std::unique_lock close_lock(*close_mu_);
  if (closed_.exchange(true)) return;
  if (reader_) reader_->Close();
  if (applier_) applier_->Join();
  // Fails appends in flight; their callbacks have run once this returns.
  log_->Close();
  std::unique_lock lock(*mu_);
  changed_->NotifyAll();
}

void Client::Log(LogLevel level, std::string_view message) const {
  if (options_.logger) options_.logger(level, std::string(options_.client_id) + ": " + std::string(message));
}

Status Client::ValidateKey(std::string_view key) const {
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "key is empty");
  if (key.size() > options_.limits.max_key_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, "key is " + std::to_string(key.size()) +
                                                      " bytes; the limit (max_key_bytes) is " +
                                                      std::to_string(options_.limits.max_key_bytes));
  }
  return OkStatus();
}

Status Client::ValidateValue(std::string_view value) const {
  if (value.size() > options_.limits.max_value_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, "value is " + std::to_string(value.size()) +
                                                      " bytes; the limit (max_value_bytes) is " +
                                                      std::to_string(options_.limits.max_value_bytes));
  }
  return OkStatus();
}

log::Record Client::MakeRecord(std::string_view key, std::optional<std::string_view> value,
                               const CallOptions& options) {
  log::Record record;
  record.key.assign(key);
  if (value) record.value.emplace(*value);
  if (options_.writer_headers) {
    record.headers.push_back({std::string(kWriterHeader), options_.client_id});
    record.headers.push_back({std::string(kSeqHeader), std::to_string(next_seq_.fetch_add(1))});
  }
  if (!options.op_id.empty()) record.headers.push_back({std::string(kOpHeader), options.op_id});
  return record;
}

Duration Client::TimeoutFor(const CallOptions& options) const {
  return options.timeout.count() > 0 ? options.timeout : options_.default_timeout;
}

Result<log::Offset> Client::Put(std::string_view key, std::string_view value, const CallOptions& options) {
  if (closed_.load()) return MakeError(ErrorCode::kClosed, "put: client " + options_.client_id + " is closed");
  if (Status s = ValidateKey(key); !s) return MakeError(s.error().code(), "put: " + s.error().message());
  if (Status s = ValidateValue(value); !s) return MakeError(s.error().code(), "put: " + s.error().message());
  std::vector<log::Record> records;
  records.push_back(MakeRecord(key, value, options));
  return AppendAndWait(std::move(records), options);
}

Result<log::Offset> Client::Delete(std::string_view key, const CallOptions& options) {
  if (closed_.load()) return MakeError(ErrorCode::kClosed, "delete: client " + options_.client_id + " is closed");
  if (Status s = ValidateKey(key); !s) return MakeError(s.error().code(), "delete: " + s.error().message());
  std::vector<log::Record> records;
  records.push_back(MakeRecord(key, std::nullopt, options));
  return AppendAndWait(std::move(records), options);
}

Result<log::Offset> Client::AppendAndWait(std::vector<log::Record> records, const CallOptions& options) {
  const Duration timeout = TimeoutFor(options);
  const TimePoint deadline = runtime_.Now() + timeout;
  auto pending = std::make_shared<PendingAppend>(runtime_.NewCondVar());
  // Close() fails appends in flight through this callback, so it also wakes a
  // writer that is waiting when the client closes.
  log_->Append(records, [this, pending](log::AppendResult result) {
    std::unique_lock lock(*mu_);
    pending->result = std::move(result);
    pending->done = true;
    pending->acknowledged->NotifyOne();
  });

  log::Offset highest = log::kNoOffset;
  std::vector<log::Offset> offsets;
  {
    std::unique_lock lock(*mu_);
    pending->acknowledged->WaitUntil(lock, deadline, [&] { return pending->done || closed_.load(); });
    if (!pending->done) {
      if (closed_.load()) return MakeError(ErrorCode::kClosed, "write: client " + options_.client_id + " closed");
      return MakeError(ErrorCode::kTimeout, "write of " + std::to_string(records.size()) +
                                                " record(s) was not acknowledged by the log within the timeout of " +
                                                Millis(timeout));
    }
    if (!*pending->result) return std::unexpected(pending->result->error());
    offsets = std::move(**pending->result);
    for (log::Offset o : offsets) highest = std::max(highest, o);
  }
  if (Status s = WaitAppliedUntil(highest, deadline, timeout, "write"); !s) return std::unexpected(s.error());
  // Every record is applied now; any that was skipped as corrupt means the
  // write did not take effect as a whole.
  std::unique_lock lock(*mu_);
  for (log::Offset o : offsets) {
    if (corrupt_.contains(o)) {
      return MakeError(ErrorCode::kCorrupt, "write of " + std::to_string(offsets.size()) +
                                                " record(s): the record at offset " + std::to_string(o) +
                                                " could not be decoded and was skipped by every replica");
    }
  }
  return highest;
}

Status Client::WaitApplied(log::Offset offset, const CallOptions& options) {
  const Duration timeout = TimeoutFor(options);
  return WaitAppliedUntil(offset, runtime_.Now() + timeout, timeout, "wait");
}

Status Client::WaitAppliedUntil(log::Offset offset, TimePoint deadline, Duration timeout, std::string_view what) {
  std::unique_lock lock(*mu_);
  changed_->WaitUntil(lock, deadline, [&] { return AppliedPosition() > offset || closed_.load(); });
  if (AppliedPosition() > offset) return OkStatus();
  if (closed_.load()) return MakeError(ErrorCode::kClosed, std::string(what) + ": client " + options_.client_id + " closed");
  return MakeError(ErrorCode::kTimeout, std::string(what) + ": applied position " +
                                            std::to_string(AppliedPosition()) + " did not pass offset " +
                                            std::to_string(offset) + " within the timeout of " + Millis(timeout));
}

Status Client::Sync(const CallOptions& options) {
  if (closed_.load()) return MakeError(ErrorCode::kClosed, "sync: client " + options_.client_id + " is closed");
  const Duration timeout = TimeoutFor(options);
  const TimePoint deadline = runtime_.Now() + timeout;
  Result<log::Offset> end = log_->EndOffset(timeout);
  if (!end) return std::unexpected(end.error());
  return WaitAppliedUntil(*end - 1, deadline, timeout, "sync");
}

Result<std::string> Client::Get(std::string_view key) const {
  if (closed_.load()) return MakeError(ErrorCode::kClosed, "get: client " + options_.client_id + " is closed");
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "get: key is empty");
  std::optional<std::string> value = storage_->Get(key);
  if (!value) return MakeError(ErrorCode::kNotFound, "get: no value for the key");
  return std::move(*value);
}

Result<std::vector<KeyValue>> Client::Range(const KeyConstraint& range, const QueryOptions& options) const {
  if (closed_.load()) return MakeError(ErrorCode::kClosed, "range: client " + options_.client_id + " is closed");
  if (range.end && *range.end < range.start) {
    return MakeError(ErrorCode::kInvalidArgument, "range: end sorts before start");
  }
  return storage_->Range(range, options);
}

Result<std::vector<KeyValue>> Client::Prefix(std::string_view prefix, const QueryOptions& options) const {
  return Range(kv::Prefix(prefix), options);
}

std::size_t Client::corrupt_records() const {
  std::unique_lock lock(*mu_);
  return corrupt_.size();
}

void Client::ApplyLoop() {
  std::vector<Mutation> batch;
  while (!closed_.load()) {
    Result<std::vector<log::LogEntry>> polled = reader_->Poll(options_.max_poll_records, options_.poll_timeout);
    if (!polled) {
      if (polled.error().code() == ErrorCode::kClosed) break;
      Log(LogLevel::kWarning, "applier: poll failed: " + polled.error().ToString());
      runtime_.SleepFor(options_.poll_error_backoff);
      continue;
    }
    batch.clear();
    std::vector<log::Offset> corrupt;
    for (log::LogEntry& entry : *polled) {
      if (!entry.record) {
        corrupt.push_back(entry.offset);
        Log(LogLevel::kError, "applier: skipped the record at offset " + std::to_string(entry.offset) + ": " +
                                  entry.record.error().ToString());
        continue;
      }
      batch.push_back(Mutation{std::move(entry.record->key), std::move(entry.record->value)});
    }
    storage_->Apply(batch);
    if (options_.on_set || options_.on_delete) {
      std::size_t i = 0;
      for (const log::LogEntry& entry : *polled) {
        if (!entry.record) continue;
        const Mutation& m = batch[i++];
        if (m.value) {
          if (options_.on_set) options_.on_set(m.key, *m.value, entry.offset);
        } else if (options_.on_delete) {
          options_.on_delete(m.key, entry.offset);
        }
      }
    }
    std::unique_lock lock(*mu_);
    corrupt_.insert(corrupt.begin(), corrupt.end());
    applied_position_.store(reader_->Position(), std::memory_order_release);
    changed_->NotifyAll();
  }
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

Result<log::Offset> WriteBatch::Execute(const CallOptions& options) {
  Client& c = *client_;
  if (c.closed_.load()) return MakeError(ErrorCode::kClosed, "batch: client " + c.options_.client_id + " is closed");
  if (records_.size() > c.options_.limits.max_batch_records) {
    return MakeError(ErrorCode::kInvalidArgument, "batch has " + std::to_string(records_.size()) +
                                                      " records; the limit (max_batch_records) is " +
                                                      std::to_string(c.options_.limits.max_batch_records));
  }
  if (records_.empty()) return log::kNoOffset;
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
  return c.AppendAndWait(std::move(records), options);
}

}  // namespace kvlog::kv
