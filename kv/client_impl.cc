#include "kv/client_impl.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stop_token>
#include <string>

#include <fmt/format.h>

#include "absl/container/inlined_vector.h"
#include "base/check.h"
#include "kv/ttl.h"

namespace kvlog::kv::internal {
namespace {

std::atomic<uint64_t> clients_made{0};

std::string Millis(std::chrono::nanoseconds d) {
  return fmt::format("{} ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// FNV-1a: a jitter that is the same in every run (absl::Hash is seeded per process).
uint64_t Fnv(std::string_view s, uint64_t n) {
  uint64_t h = 1469598103934665603ull ^ n;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// A reader that reads one record: no headers, no prefetching past it.
log::ReadOptions ProbeReadOptions() {
  log::ReadOptions read_options;
  read_options.headers = false;
  read_options.probe = true;
  return read_options;
}

// Where a store resumes: its durable state, and the last record it applied
// (just below its position, read with its metadata): the reader that reads
// the tail starts there and checks the store's identity with it, instead of
// a reader of its own at the store's first record (a fourth connection,
// metadata and fetch).
struct ResumePoint {
  std::optional<DurableState> durable;
  std::vector<std::pair<std::string, std::string>> meta;
  std::optional<Applier::LastRecord> last;
  log::Offset first_read = 0;  // where the first reader starts
  std::optional<std::string> reconnect_hint;  // as the store keeps it (meta read), if it does

  // The store holds a position or an identity to check against the log.
  bool check() const { return durable && (durable->position > 0 || durable->identity.known()); }
};

ResumePoint FindResumePoint(Storage& storage) {
  ResumePoint r;
  r.durable = storage.Durable();
  if (r.check() && r.durable->identity.known()) {
    r.meta = storage.LoadMeta();
    r.last = Applier::FindLastRecord(r.meta);
    for (const auto& [key, value] : r.meta) {
      if (key == Applier::kReconnectHintKey) r.reconnect_hint = value;
    }
    if (r.last && !(r.last->offset >= r.durable->identity.first_offset && r.last->offset < r.durable->position)) {
      r.last.reset();
    }
  }
  r.first_read = r.last ? r.last->offset : r.check() ? r.durable->position : 0;
  return r;
}

}  // namespace

Client::LogHints ClientImpl::HintsFor(Storage& storage) {
  ResumePoint resume = FindResumePoint(storage);
  return Client::LogHints{resume.first_read, resume.reconnect_hint.value_or("")};
}

Result<std::unique_ptr<ClientImpl>> ClientImpl::Open(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage,
                                                     ClientOptions options) {
  if (log == nullptr) return MakeError(ErrorCode::kInvalidArgument, "Client::Open: log is null");
  if (storage == nullptr) return MakeError(ErrorCode::kInvalidArgument, "Client::Open: storage is null");
  if (options.runtime == nullptr) return MakeError(ErrorCode::kInvalidArgument, "Client::Open: runtime is null");
  if (options.max_poll_records == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "Client::Open: max_poll_records must be at least 1");
  }
  if (options.client_id.empty()) options.client_id = fmt::format("client-{}", clients_made.fetch_add(1));
  if (options.startup_stop.stop_requested()) {
    return MakeError(ErrorCode::kCancelled, "Client::Open: cancelled (ClientOptions::startup_stop) before it began");
  }
  if (options.update_max_attempts < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "Client::Open: update_max_attempts must be at least 1");
  }
  std::unique_ptr<ClientImpl> client(new ClientImpl(std::move(log), std::move(storage), std::move(options)));

  Runtime& rt = client->runtime_;
  client->writer_ = fmt::format("{}@{}", client->options_.client_id, rt.Now().time_since_epoch().count());
  // Seqs count from a base of this instance's own (the writer name's hash in
  // the high 32 bits), so a restarted client with the same client_id starts a
  // new dedup window and its new records are never taken for old ones.
  client->next_seq_.store(Fnv(client->writer_, 0) & 0xFFFFFFFF00000000ull);
  client->applier_ = std::make_unique<Applier>(client->options_, client->writer_, *client->log_, *client->storage_,
                                               *client->watch_hub_, client->counters_,
                                               static_cast<ApplierListener&>(*client));
  const TimePoint opened_at = rt.Now();
  const TimePoint deadline = opened_at + client->options_.startup_timeout;
  // Where a durable store's restart spent its time, for one debug line at
  // the end of Open (only then: a restart's fixed cost is what it measures).
  const auto since_open = [&rt, opened_at] {
    return std::chrono::duration<double, std::milli>(rt.Now() - opened_at).count();
  };
  double readers_ms = 0, end_ms = 0, checked_ms = 0, ready_ms = 0;
  // The applier needs every record's headers: the writer and seq of each
  // plain record, to skip a second copy of one (kv/dedup_window.h), and of
  // this client's own writes, to check them.
  log::ReadOptions read_options;
  read_options.headers = true;
  // A durable store resumes from its position once it proves to fit the log.
  ResumePoint resume = FindResumePoint(*client->storage_);
  std::optional<DurableState>& durable = resume.durable;
  const bool check = resume.check();
  std::vector<std::pair<std::string, std::string>>& meta = resume.meta;
  std::optional<Applier::LastRecord>& last = resume.last;
  // The reader is opened first, where the replay will most likely start, so
  // it connects and fetches while the end offset is read and the store is
  // checked: a restart's fixed cost was mostly these steps one after the
  // other (each a connection, metadata and a first fetch). Nothing is
  // applied before the checks pass; a store that fails them drops it. If it
  // cannot be opened now, it is opened again below, where its error counts.
  // (Dropping a reader at once is safe: a Kafka reader's handle starts its
  // partition once and stops it once, see log/kafka/kafka_log.cc.)
  std::unique_ptr<log::LogReader> early;
  if (Result<std::unique_ptr<log::LogReader>> r = client->log_->OpenReader(resume.first_read, read_options)) {
    early = std::move(*r);
  }
  // Without a last record, the reader that fetches the store's first record
  // for its identity check opens now too (its connection and fetch overlap
  // the end offset's).
  std::unique_ptr<log::LogReader> early_probe;
  if (check && durable->identity.known() && !(last && early)) {
    if (Result<std::unique_ptr<log::LogReader>> r =
            client->log_->OpenReader(durable->identity.first_offset, ProbeReadOptions())) {
      early_probe = std::move(*r);
    }
  }
  readers_ms = since_open();
  // The end offset from whichever tells it first: the tail's reader, whose
  // first fetch (issued after Open began, so its end is at least the log's
  // end then) brings the store's last record and the high watermark, or the
  // log's query when the reader cannot tell.
  std::optional<TailFirst> tail_first;
  if (check && last && early) tail_first = client->ReadTailFirst(*early, deadline);
  const bool end_from_reader = tail_first && tail_first->end;
  log::Offset end = 0;
  if (end_from_reader) {
    end = *tail_first->end;
  } else {
    KVLOG_ASSIGN_OR_RETURN(end, client->log_->EndOffset(client->options_.startup_timeout));
  }
  end_ms = since_open();
  log::Offset from = 0;
  if (durable) {
    client->applier_->SetDurable(durable->identity.known());
    if (check) {
      Status fits = client->CheckStore(*durable, end, deadline, std::move(early_probe), early && last ? &early : nullptr,
                                       last, tail_first ? std::move(tail_first->entry) : std::nullopt);
      if (!fits && !client->options_.rebuild_mismatched_store) return std::unexpected(fits.error());
      if (!fits) {
        client->Log(LogLevel::kWarning,
                    base::WithContext(fits.error().message(),
                                      "open: rebuilding the store from the log's start (rebuild_mismatched_store)"));
        KVLOG_RETURN_IF_ERROR(client->storage_->Clear());
        resume.reconnect_hint.reset();  // Cleared with the rest of the metadata.
        client->applier_->SetDurable(/*identity_known=*/false);
      } else {
        KVLOG_RETURN_IF_ERROR(last ? client->applier_->LoadDedup(meta) : client->applier_->LoadDedup());
        from = durable->position;
      }
    }
  }
  checked_ms = since_open();
  client->resumed_from_ = from;
  if (early && early->Position() == std::max<log::Offset>(from, 0)) {
    client->reader_ = std::move(early);
  } else {
    early.reset();
    KVLOG_ASSIGN_OR_RETURN(client->reader_, client->log_->OpenReader(from, read_options));
  }
  ready_ms = since_open();
  client->applied_position_.store(client->reader_->Position(), std::memory_order_release);
  // A durable store keeps where the log says it can be reached sooner
  // (Log::ReconnectHint), for the next restart's HintsFor: written in this
  // write, and only when it changed.
  std::vector<MetaMutation> hint;
  if (durable) {
    std::string now_hint = client->log_->ReconnectHint();
    if (!now_hint.empty() && now_hint != resume.reconnect_hint) {
      hint.push_back(MetaMutation{std::string(Applier::kReconnectHintKey), std::move(now_hint)});
    }
  }
  if (hint.empty()) {
    client->storage_->Apply({}, client->reader_->Position());
  } else {
    client->storage_->Apply({}, client->reader_->Position(), hint);
  }
  // The records to replay bound the keys to come: the store sizes its index once.
  client->storage_->Reserve(static_cast<std::size_t>(std::max<log::Offset>(end - client->reader_->Position(), 0)));
  client->watch_hub_->Start(client->reader_->Position());
  client->applier_->Start(client->reader_->Position());
  client->applier_task_ =
      rt.Spawn("applier " + client->options_.client_id, [c = client.get()] { c->applier_->Run(*c->reader_, c->closed_); });

  Status replayed = client->WaitAppliedUntil(end - 1, deadline, client->options_.startup_timeout, "start-up replay",
                                             /*startup=*/true, client->options_.startup_stop);
  if (!replayed) {
    client->Close();
    return std::unexpected(replayed.error());
  }
  {
    // Decided under mu_, where the applier records start-up data loss: it
    // stops only if this sees the loss and fails Open.
    std::unique_lock lock(*client->mu_);
    client->opened_ = true;
    replayed = client->StartupDataLossLocked("start-up replay");
  }
  if (!replayed) {
    client->Close();
    return std::unexpected(replayed.error());
  }
  client->storage_->Reserve(0);  // The replay is over: what the hint did not use goes back.
  client->log_->PrepareAppends();  // Writes may come now (a deferred producer starts).
  if (check) {
    client->Log(LogLevel::kDebug,
                fmt::format("open: replayed {} to {} in {:.1f} ms: readers opened at {:.1f} ms, end offset at {:.1f} "
                            "({}), store checked at {:.1f}, reader ready at {:.1f}",
                            from, end, since_open(), readers_ms, end_ms,
                            end_from_reader ? "the reader's fetch" : "queried", checked_ms, ready_ms));
  }
  return client;
}


ClientImpl::TailFirst ClientImpl::ReadTailFirst(log::LogReader& tail, TimePoint deadline) {
  TailFirst first;
  for (;;) {
    // A stop or the deadline: CheckStore's own read reports it, after the query.
    if (options_.startup_stop.stop_requested()) return first;
    const TimePoint now = runtime_.Now();
    if (now >= deadline) return first;
    Result<std::vector<log::LogEntry>> polled = tail.Poll(1, std::min<Duration>(options_.poll_timeout, deadline - now));
    if (!polled) {
      first.entry = std::unexpected(polled.error());  // CheckStore judges it as before; the end is queried.
      return first;
    }
    first.end = tail.KnownEnd();
    if (!polled->empty()) {
      first.entry = std::move(polled->front());
      return first;
    }
    if (!first.end) return first;  // Nothing fetched yet, or a reader that cannot tell: query.
    if (tail.Position() >= *first.end) {
      first.entry = std::optional<log::LogEntry>();  // The log ends at or below the reader.
      return first;
    }
    // Below the end but nothing yet (records on their way): poll again.
  }
}

Status ClientImpl::CheckStore(const DurableState& durable, log::Offset end, TimePoint deadline,
                              std::unique_ptr<log::LogReader> first_probe, std::unique_ptr<log::LogReader>* tail,
                              std::optional<Applier::LastRecord> last,
                              std::optional<Result<std::optional<log::LogEntry>>> tail_read) {
  const int64_t position = durable.position;
  const LogIdentity& id = durable.identity;
  const std::string name = log_->Name();
  const std::string log_text = name.empty() ? std::string("the log") : fmt::format("the log '{}'", name);
  if (!id.name.empty() && !name.empty() && id.name != name) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("open: the store holds the log '{}', not {}", id.name, log_text));
  }
  if (position > end) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("open: the store's position {} is past the end of {} ({}): the store holds another "
                                 "log's state, or the log lost records the store applied (topic recreated, unclean "
                                 "election)",
                                 position, log_text, end));
  }
  bool start_checked = false;  // The log still holds a record at or below the position.
  bool identity_checked = false;
  std::optional<std::string> last_differs;  // The store's last record is another one in the log.
  if (id.known() && last && tail != nullptr && id.first_offset < end) {
    // The tail's reader reads the store's last record first. The same record
    // there (same digest) identifies the log as well as its first record
    // does, and shows the log's start at or below the position. Anything
    // else (the record deleted, another record) falls back to the first
    // record's check below, and the tail is read by a new reader.
    Result<std::optional<log::LogEntry>> got =
        tail_read ? std::move(*tail_read) : NextEntry(**tail, last->offset, end, deadline);
    if (!got && got.error().code() != ErrorCode::kDataLoss) return std::unexpected(got.error());
    if (got && *got && (*got)->offset == last->offset && (*got)->record) {
      const uint64_t digest = RecordDigest(*(*got)->record);
      if (digest == last->digest) {
        identity_checked = true;
        start_checked = true;
      } else {
        last_differs = fmt::format("open: the record at offset {} of {} is not the one the store applied last "
                                   "(digest {}, the store recorded {}): the store holds another log's state "
                                   "(another cluster, or the topic was recreated)",
                                   last->offset, log_text, digest, last->digest);
      }
    }
    if (!identity_checked) tail->reset();
  }
  if (id.known() && !identity_checked) {
    if (id.first_offset >= end) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("open: the store applied a record at offset {} but {} ends at {}: the store "
                                   "holds another log's state",
                                   id.first_offset, log_text, end));
    }
    Result<std::optional<log::LogEntry>> first = FirstEntryFrom(id.first_offset, end, deadline, std::move(first_probe));
    if (!first && first.error().code() != ErrorCode::kDataLoss) return std::unexpected(first.error());
    if (first && *first && (*first)->offset == id.first_offset && (*first)->record) {
      const uint64_t digest = RecordDigest(*(*first)->record);
      if (digest != id.first_digest) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         fmt::format("open: the record at offset {} of {} is not the one the store applied first "
                                     "(digest {}, the store recorded {}): the store holds another log's state "
                                     "(another cluster, or the topic was recreated)",
                                     id.first_offset, log_text, digest, id.first_digest));
      }
      start_checked = id.first_offset <= position;  // So the log's start is too.
    } else {
      // Compaction or retention removed the store's first record: the
      // position checks stand alone.
      Log(LogLevel::kInfo, fmt::format("open: the record the store applied first (offset {}) is no longer in {}; its "
                                       "identity is checked by name and position",
                                       id.first_offset, log_text));
    }
  }
  // The first record matched (or is gone) but the last did not: a log that
  // diverged from the store after its start.
  if (last_differs) return MakeError(ErrorCode::kFailedPrecondition, *last_differs);
  if (position < end && !start_checked && !options_.skip_deleted_records) {
    Result<std::optional<log::LogEntry>> next = FirstEntryFrom(position, end, deadline);
    if (!next && next.error().code() == ErrorCode::kDataLoss) {
      return MakeError(ErrorCode::kDataLoss,
                       fmt::format("open: the start of {} moved past the store's position {}: records the store "
                                   "never applied were deleted ({})",
                                   log_text, position, next.error().message()));
    }
    KVLOG_RETURN_IF_ERROR(next);
  }
  return OkStatus();
}

Result<std::optional<log::LogEntry>> ClientImpl::FirstEntryFrom(log::Offset from, log::Offset end, TimePoint deadline,
                                                               std::unique_ptr<log::LogReader> reader) {
  if (reader == nullptr || reader->Position() != std::max<log::Offset>(from, 0)) {
    KVLOG_ASSIGN_OR_RETURN(reader, log_->OpenReader(from, ProbeReadOptions()));
  }
  return NextEntry(*reader, from, end, deadline);
}

Result<std::optional<log::LogEntry>> ClientImpl::NextEntry(log::LogReader& reader, log::Offset from, log::Offset end,
                                                          TimePoint deadline) {
  for (;;) {
    if (reader.Position() >= end) return std::nullopt;
    if (options_.startup_stop.stop_requested()) {
      return MakeError(ErrorCode::kCancelled, "open: cancelled (ClientOptions::startup_stop) while checking the store");
    }
    const TimePoint now = runtime_.Now();
    if (now >= deadline) {
      return MakeError(ErrorCode::kTimeout, fmt::format("open: reading the log at offset {} to check the store did "
                                                        "not finish within startup_timeout ({})",
                                                        from, Millis(options_.startup_timeout)));
    }
    KVLOG_ASSIGN_OR_RETURN(std::vector<log::LogEntry> polled,
                           reader.Poll(1, std::min<Duration>(options_.poll_timeout, deadline - now)));
    if (!polled.empty()) return std::move(polled.front());
  }
}

ClientImpl::ClientImpl(std::unique_ptr<log::Log> log, std::unique_ptr<Storage> storage, ClientOptions options)
    : options_(std::move(options)),
      runtime_(*options_.runtime),
      log_(std::move(log)),
      storage_(std::move(storage)),
      ttl_mu_(runtime_.NewMutex()),
      janitor_wake_(runtime_.NewCondVar()),
      mu_(runtime_.NewMutex()),
      changed_(runtime_.NewCondVar()),
      slot_freed_(runtime_.NewCondVar()),
      close_mu_(runtime_.NewMutex()),
      watch_hub_(std::make_shared<WatchHub>(runtime_, options_.client_id, options_.watch_history_events,
                                                      options_.watch_history_bytes)) {}

ClientImpl::~ClientImpl() { Close(); }

void ClientImpl::Close() {
  std::unique_lock close_lock(*close_mu_);
  if (closed_.exchange(true)) return;
  if (reader_) reader_->Close();
  if (applier_task_) applier_task_->Join();
  // The applier is gone, so no janitor starts after this.
  std::unique_ptr<Task> janitor;
  {
    std::unique_lock lock(*mu_);
    janitor = std::move(janitor_);
    janitor_wake_->NotifyAll();
  }
  if (janitor) janitor->Join();
  // Fails appends in flight; their callbacks have run once this returns, so
  // no write can be registered after the sweep below.
  log_->Close();
  Completions completions;
  {
    std::unique_lock lock(*mu_);
    while (Write* write = writes_by_deadline_.Top()) {
      FinishLocked(*write, MakeError(ErrorCode::kClosed, fmt::format("write: client {} closed", options_.client_id)),
                   completions);
    }
    changed_->NotifyAll();
    slot_freed_->NotifyAll();
  }
  RunCompletions(completions);
  watch_hub_->Close();
}

Result<ClientStats> ClientImpl::Stats(const StatsOptions& options) const {
  ClientStats s;
  s.client_id = options_.client_id;
  s.applied_position = AppliedPosition();
  if (options.end_offset) {
    KVLOG_ASSIGN_OR_RETURN(const Duration timeout, TimeoutFor(options.timeout, "stats"));
    KVLOG_ASSIGN_OR_RETURN(const log::Offset end,
                           WithContext(log_->EndOffset(timeout), "stats: fetching the end offset"));
    s.end_offset = end;
    s.lag_records = std::max<int64_t>(0, end - s.applied_position);
  }
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  s.records_applied = get(counters_.records_applied);
  s.bytes_applied = get(counters_.bytes_applied);
  s.sets_applied = get(counters_.sets_applied);
  s.deletes_applied = get(counters_.deletes_applied);
  s.keys = storage_->Size();
  s.gets = get(counters_.gets);
  s.hits = get(counters_.hits);
  s.misses = s.gets - std::min(s.gets, s.hits);
  s.puts = get(counters_.puts);
  s.deletes = get(counters_.deletes);
  s.commands = get(counters_.commands);
  s.conditional_failures = get(counters_.conditional_failures);
  {
    std::unique_lock lock(*mu_);
    s.writes_in_flight = writes_in_flight_;
    s.max_writes_in_flight = options_.max_writes_in_flight;
    s.writes_refused_at_limit = writes_refused_at_limit_;
    s.writes_waited_at_limit = writes_waited_at_limit_;
    s.corrupt_records = corrupt_.total();
    s.lost_writes = lost_writes_;
    s.reader_data_loss = reader_data_loss_;
  }
  s.watch_history_events = watch_hub_->HistoryEvents();
  s.oldest_watch_start = watch_hub_->OldestWatchableAfter();
  s.watchers = watch_hub_->Stats();
  return s;
}

Result<bool> ClientImpl::Exists(std::string_view key) const {
  std::string ignored;
  Status s = Get(key, &ignored);
  if (s) return true;
  if (s.error().code() == ErrorCode::kNotFound) return false;
  return std::unexpected(WithContext(std::move(s).error(), "exists"));
}

Result<std::size_t> ClientImpl::Count(std::string_view prefix) const {
  if (closed_.load()) return ClosedError("count");
  if (prefix.empty()) return storage_->Size();
  return storage_->Range(kv::Prefix(prefix), QueryOptions{}).size();
}

Result<std::vector<std::string>> ClientImpl::Keys(std::string_view prefix, std::size_t limit) const {
  if (closed_.load()) return ClosedError("keys");
  QueryOptions query;
  query.limit = limit;
  std::vector<std::string> keys;
  for (KeyValue& kv : storage_->Range(kv::Prefix(prefix), query)) keys.push_back(std::move(kv.key));
  return keys;
}

Result<std::unique_ptr<Watcher>> ClientImpl::Watch(const WatchOptions& options) {
  if (closed_.load()) return ClosedError("watch");
  return watch_hub_->Watch(options);
}

void ClientImpl::Log(LogLevel level, std::string_view message) const {
  if (options_.logger) options_.logger(level, fmt::format("{}: {}", options_.client_id, message));
}

std::unexpected<Error> ClientImpl::ClosedError(std::string_view what) const {
  return MakeError(ErrorCode::kClosed, fmt::format("{}: client {} is closed", what, options_.client_id));
}

std::unexpected<Error> ClientImpl::TtlWithoutValueError(std::string_view what) {
  return MakeError(ErrorCode::kInvalidArgument,
                   fmt::format("{}: CallOptions::ttl is set on a write of no value", what));
}

std::unexpected<Error> ClientImpl::AllAttemptsConflictedError(std::string_view what, std::string_view last) const {
  return MakeError(ErrorCode::kConflict,
                   fmt::format("{}: all {} attempts (update_max_attempts) conflicted; last: {}", what,
                               options_.update_max_attempts, last));
}

Status ClientImpl::ValidateKey(std::string_view key) const {
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "key is empty");
  if (key.size() > options_.limits.max_key_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("key is {} bytes; the limit (max_key_bytes) is {}",
                                                              key.size(), options_.limits.max_key_bytes));
  }
  return OkStatus();
}

Status ClientImpl::ValidateValue(std::string_view value) const {
  if (value.size() > options_.limits.max_value_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("value is {} bytes; the limit (max_value_bytes) is {}",
                                                              value.size(), options_.limits.max_value_bytes));
  }
  return OkStatus();
}

log::Record ClientImpl::MakeRecord(std::string_view key, std::optional<std::string_view> value,
                               const CallOptions& options, int64_t deadline_ns) {
  const uint64_t seq = next_seq_.fetch_add(1);
  log::Record record;
  record.key.assign(key);
  if (value && NeedsEnvelope(*value, deadline_ns)) {
    // A TTL (or a value that looks like one): an envelope, see kv/ttl.h.
    record.value.emplace(EncodeTtlValue(deadline_ns, *value));
  } else if (value && IsCommand(*value)) {
    // A plain value that starts with the command marker travels as a
    // one-write command, so the applier cannot mistake it for one.
    Command command{writer_, seq, {}, {{std::string(key), std::string(*value)}}, {}};
    record.value.emplace(EncodeCommand(command));
  } else if (value) {
    record.value.emplace(*value);
  }
  record.headers.reserve((options_.writer_headers ? 2 : 0) + (options.op_id.empty() ? 0 : 1));
  if (options_.writer_headers) {
    record.headers.push_back({std::string(kWriterHeader), options_.client_id});
    record.headers.push_back({std::string(kSeqHeader), std::to_string(seq)});
  }
  if (!options.op_id.empty()) record.headers.push_back({std::string(kOpHeader), options.op_id});
  return record;
}

Result<log::Record> ClientImpl::PrepareCommand(std::string_view what, Command command,
                                           const CallOptions& options, bool expiry) {
  auto fail = [&](Error e) { return std::unexpected(WithContext(std::move(e), what)); };
  if (closed_.load()) return ClosedError(what);
  const std::size_t writes = command.then_writes.size() + command.else_writes.size();
  if (writes == 0) return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: nothing to write", what));
  if (writes > options_.limits.max_batch_records) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{} has {} writes; the limit (max_batch_records) is {}",
                                                              what, writes, options_.limits.max_batch_records));
  }
  for (const CommandCompare& c : command.compares) {
    if (Status s = ValidateKey(c.key); !s) return fail(s.error());
    if (c.kind == CommandCompare::Kind::kVersion && c.version < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: expected version {} is negative", what, c.version));
    }
  }
  for (const auto* writes_of : {&command.then_writes, &command.else_writes}) {
    for (const CommandWrite& w : *writes_of) {
      if (Status s = ValidateKey(w.key); !s) return fail(s.error());
      if (w.value) {
        if (Status s = ValidateValue(*w.value); !s) return fail(s.error());
      }
    }
  }
  const uint64_t seq = next_seq_.fetch_add(1);
  command.writer = expiry ? writer_ + std::string(kExpiryWriterSuffix) : writer_;
  command.seq = seq;
  log::Record record;
  record.key = CommandRecordKey(command);
  record.value.emplace(EncodeCommand(command));
  // The whole command is one record: it must fit where one value fits.
  if (record.value->size() > options_.limits.max_value_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{} encodes to one record of {} bytes; the limit for one record "
                                 "(max_value_bytes) is {}",
                                 what, record.value->size(), options_.limits.max_value_bytes));
  }
  if (options_.writer_headers) {
    record.headers.push_back({std::string(kWriterHeader), options_.client_id});
    record.headers.push_back({std::string(kSeqHeader), std::to_string(seq)});
  }
  if (!options.op_id.empty()) record.headers.push_back({std::string(kOpHeader), options.op_id});
  return record;
}

Result<log::Offset> ClientImpl::WriteIf(std::string_view what, const Condition& condition, std::string_view key,
                                    std::optional<std::string_view> value, const CallOptions& options) {
  KVLOG_ASSIGN_OR_RETURN(const int64_t deadline, DeadlineFor(what, options));
  if (!value && deadline != 0) return TtlWithoutValueError(what);
  Command command;
  command.compares.push_back(condition.compare_);
  command.then_writes.push_back(
      {std::string(key), value ? std::optional<std::string>(StoredForm(*value, deadline)) : std::nullopt});
  KVLOG_ASSIGN_OR_RETURN(const log::Record record, PrepareCommand(what, std::move(command), options));
  Result<log::Offset> result = WriteAndWait({&record, 1}, options);
  if (!result && result.error().code() == ErrorCode::kConflict) return WithContext(std::move(result), what);
  return result;
}

Result<log::Offset> ClientImpl::PutIf(std::string_view key, std::string_view value, Version expected_version,
                                  const CallOptions& options) {
  return WriteIf("put-if", Condition::VersionIs(key, expected_version), key, value, options);
}

Result<log::Offset> ClientImpl::DeleteIf(std::string_view key, Version expected_version, const CallOptions& options) {
  return WriteIf("delete-if", Condition::VersionIs(key, expected_version), key, std::nullopt, options);
}

Result<log::Offset> ClientImpl::PutIfAbsent(std::string_view key, std::string_view value, const CallOptions& options) {
  return WriteIf("put-if-absent", Condition::Absent(key), key, value, options);
}

Result<log::Offset> ClientImpl::Update(std::string_view key, const UpdateFn& fn, const CallOptions& options) {
  if (closed_.load()) return ClosedError("update");
  KVLOG_RETURN_IF_ERROR(WithContext(ValidateKey(key), "update"));
  if (!fn) return MakeError(ErrorCode::kInvalidArgument, "update: fn is empty");
  KVLOG_ASSIGN_OR_RETURN(const Duration timeout, TimeoutFor(options.timeout, "update"));
  KVLOG_RETURN_IF_ERROR(CheckNotStopped(options.stop, "update"));
  const TimePoint deadline = runtime_.Now() + timeout;
  Duration backoff = options_.update_backoff;
  std::string last;
  for (int attempt = 1; attempt <= options_.update_max_attempts; ++attempt) {
    std::optional<VersionedValue> current = storage_->GetEntry(key);
    // fn sees what a read sees (an expired value is missing); the condition
    // is on the stored version all the same.
    std::optional<std::string> visible;
    if (current) {
      visible = current->value;
      if (!VisibleNow(&*visible)) visible.reset();
    }
    KVLOG_ASSIGN_OR_RETURN(const std::string next, fn(visible));
    const Duration left = deadline - runtime_.Now();
    if (left <= Duration::zero()) {
      return MakeError(ErrorCode::kTimeout,
                       fmt::format("update: {} attempt(s) did not succeed within the timeout of {}", attempt - 1,
                                   Millis(timeout)));
    }
    CallOptions attempt_options = options;
    attempt_options.timeout = left;
    Result<log::Offset> written =
        current ? WriteIf("update", Condition::VersionIs(key, current->version), key, next, attempt_options)
                : WriteIf("update", Condition::Absent(key), key, next, attempt_options);
    if (written || written.error().code() != ErrorCode::kConflict) return written;
    last = written.error().message();
    if (attempt == options_.update_max_attempts) break;
    // Backoff with a jitter of up to half of it, so contending writers spread out.
    const auto half = std::max<Duration::rep>(1, backoff.count() / 2);
    const Duration pause = backoff / 2 + Duration(static_cast<Duration::rep>(
                                             Fnv(writer_, next_seq_.load() + attempt) % static_cast<uint64_t>(half)));
    if (runtime_.Now() + pause >= deadline) {
      return MakeError(ErrorCode::kTimeout, fmt::format("update: {} attempt(s) conflicted and the timeout of {} left "
                                                        "no time for another; last: {}",
                                                        attempt, Millis(timeout), last));
    }
    // The pause ends early on a stop request or Close (made before the
    // lock, destroyed after it: see WriteAndWait).
    {
      const std::stop_callback on_stop(options.stop, [this] {
        std::unique_lock stop_lock(*mu_);
        changed_->NotifyAll();
      });
      std::unique_lock lock(*mu_);
      changed_->WaitUntil(lock, runtime_.Now() + pause,
                          [&] { return options.stop.stop_requested() || closed_.load(); });
    }
    if (closed_.load()) return ClosedError("update");
    if (options.stop.stop_requested()) {
      return MakeError(ErrorCode::kCancelled, fmt::format("update: cancelled (CallOptions::stop) after {} attempt(s) "
                                                          "conflicted; nothing was written",
                                                          attempt));
    }
    backoff = std::min(backoff * 2, options_.update_max_backoff);
  }
  return AllAttemptsConflictedError("update", last);
}

Result<Duration> ClientImpl::TimeoutFor(const std::optional<Duration>& timeout, std::string_view what) const {
  if (!timeout) return options_.default_timeout;
  if (timeout->count() <= 0) {
    return MakeError(ErrorCode::kTimeout,
                     fmt::format("{}: the timeout of {} had passed when the call began (a zero or negative timeout is "
                                 "a deadline already past; leave it unset for the default of {}); nothing was done",
                                 what, Millis(*timeout), Millis(options_.default_timeout)));
  }
  return *timeout;
}

Status ClientImpl::CheckNotStopped(const std::stop_token& stop, std::string_view what) const {
  if (!stop.stop_requested()) return OkStatus();
  return MakeError(ErrorCode::kCancelled,
                   fmt::format("{}: cancelled (stop requested) before the call began; nothing was done", what));
}

Result<log::Record> ClientImpl::PrepareOne(std::string_view what, std::string_view key,
                                       std::optional<std::string_view> value, const CallOptions& options) {
  if (closed_.load()) return ClosedError(what);
  KVLOG_RETURN_IF_ERROR(WithContext(ValidateKey(key), what));
  if (value) KVLOG_RETURN_IF_ERROR(WithContext(ValidateValue(*value), what));
  KVLOG_ASSIGN_OR_RETURN(const int64_t deadline, DeadlineFor(what, options));
  if (!value && deadline != 0) return TtlWithoutValueError(what);
  return MakeRecord(key, value, options, deadline);
}

Result<int64_t> ClientImpl::DeadlineFor(std::string_view what, const CallOptions& options) const {
  if (options.ttl.count() < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: ttl is negative ({} ns)", what, options.ttl.count()));
  }
  if (options.ttl.count() == 0) return int64_t{0};
  const int64_t now = runtime_.WallNow().time_since_epoch().count();
  // A wall clock before the epoch (a skewed simulated clock) cannot overflow.
  if (now > 0 && options.ttl.count() > INT64_MAX - now) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: ttl of {} ns puts the deadline past the largest wall time", what,
                                 options.ttl.count()));
  }
  return now + options.ttl.count();
}

bool ClientImpl::VisibleNow(std::string* stored) const {
  if (!IsTtlEnvelope(*stored)) return true;
  const StoredValue v = DecodeStoredValue(*stored);
  if (v.ExpiredAt(runtime_.WallNow().time_since_epoch().count())) {
    stored->clear();
    return false;
  }
  stored->erase(0, stored->size() - v.value.size());
  return true;
}

Result<log::Offset> ClientImpl::Expire(std::string_view key, Duration ttl, const CallOptions& options) {
  if (ttl.count() <= 0) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("expire: ttl must be positive, got {} ns", ttl.count()));
  }
  CallOptions with_ttl = options;
  with_ttl.ttl = ttl;
  KVLOG_ASSIGN_OR_RETURN(const int64_t deadline, DeadlineFor("expire", with_ttl));
  return SetDeadline("expire", key, deadline, options);
}

Result<log::Offset> ClientImpl::Persist(std::string_view key, const CallOptions& options) {
  return SetDeadline("persist", key, 0, options);
}

Result<log::Offset> ClientImpl::SetDeadline(std::string_view what, std::string_view key, int64_t deadline_ns,
                                        const CallOptions& options) {
  if (closed_.load()) return ClosedError(what);
  KVLOG_RETURN_IF_ERROR(WithContext(ValidateKey(key), what));
  if (options.ttl.count() != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: CallOptions::ttl does not apply (pass the ttl itself)", what));
  }
  std::string last;
  for (int attempt = 1; attempt <= options_.update_max_attempts; ++attempt) {
    std::optional<VersionedValue> current = storage_->GetEntry(key);
    if (!current) return MakeError(ErrorCode::kNotFound, fmt::format("{}: no value for the key", what));
    const StoredValue stored = DecodeStoredValue(current->value);
    if (stored.ExpiredAt(runtime_.WallNow().time_since_epoch().count())) {
      return MakeError(ErrorCode::kNotFound, fmt::format("{}: the key has expired", what));
    }
    if (deadline_ns == 0 && stored.deadline_ns == 0) return current->version;  // Nothing to persist.
    Command command;
    command.compares.push_back(Condition::VersionIs(key, current->version).compare_);
    command.then_writes.push_back({std::string(key), StoredForm(stored.value, deadline_ns)});
    KVLOG_ASSIGN_OR_RETURN(const log::Record record, PrepareCommand(what, std::move(command), options));
    Result<log::Offset> written = WriteAndWait({&record, 1}, options);
    if (written || written.error().code() != ErrorCode::kConflict) return written;
    last = written.error().message();
  }
  return AllAttemptsConflictedError(what, last);
}

Result<std::optional<Duration>> ClientImpl::TimeToLive(std::string_view key) const {
  if (closed_.load()) return ClosedError("ttl");
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "ttl: key is empty");
  std::optional<VersionedValue> current = storage_->GetEntry(key);
  if (!current) return MakeError(ErrorCode::kNotFound, "ttl: no value for the key");
  const StoredValue stored = DecodeStoredValue(current->value);
  if (stored.deadline_ns == 0) return std::optional<Duration>();
  const int64_t now = runtime_.WallNow().time_since_epoch().count();
  if (stored.ExpiredAt(now)) return MakeError(ErrorCode::kNotFound, "ttl: the key has expired");
  return std::optional<Duration>(Duration(stored.deadline_ns - now));
}

Result<log::Offset> ClientImpl::WriteOneAndWait(const Result<log::Record>& record, const CallOptions& options) {
  KVLOG_RETURN_IF_ERROR(record);
  return WriteAndWait({&*record, 1}, options);
}

void ClientImpl::WriteOneAsync(const Result<log::Record>& record, WriteCallback done, const CallOptions& options) {
  if (!record) return done(std::unexpected(record.error()));
  StartWrite({&*record, 1}, options, std::move(done), /*txn=*/false, AsyncAtLimit());
}

Result<log::Offset> ClientImpl::Put(std::string_view key, std::string_view value, const CallOptions& options) {
  return WriteOneAndWait(PrepareOne("put", key, value, options), options);
}

Result<log::Offset> ClientImpl::Delete(std::string_view key, const CallOptions& options) {
  return WriteOneAndWait(PrepareOne("delete", key, std::nullopt, options), options);
}

void ClientImpl::PutAsync(std::string_view key, std::string_view value, WriteCallback done, const CallOptions& options) {
  WriteOneAsync(PrepareOne("put", key, value, options), std::move(done), options);
}

void ClientImpl::DeleteAsync(std::string_view key, WriteCallback done, const CallOptions& options) {
  WriteOneAsync(PrepareOne("delete", key, std::nullopt, options), std::move(done), options);
}

std::optional<Error> ClientImpl::AcquireWriteSlotLocked(std::unique_lock<Mutex>& lock, const Write& write,
                                                        const std::stop_token& stop, AtLimit at_limit) {
  const std::size_t limit = options_.max_writes_in_flight;
  auto closed = [&] { return ClosedError("write").error(); };
  if (closed_.load()) return closed();
  if (limit == 0) return std::nullopt;
  // A free slot goes to the waiters first, in arrival order; a write that
  // would not wait (kFail) takes a free slot whether or not others wait.
  if (writes_in_flight_ < limit && (slot_queue_.empty() || at_limit == AtLimit::kFail)) return std::nullopt;
  if (at_limit == AtLimit::kFail) {
    ++writes_refused_at_limit_;
    return Error(ErrorCode::kResourceExhausted,
                 fmt::format("write: client {} already has {} writes in flight, its limit "
                             "(ClientOptions::max_writes_in_flight = {}); nothing was appended; retry once some "
                             "finish, or set wait_for_write_slot to wait instead",
                             options_.client_id, writes_in_flight_, limit));
  }
  ++writes_waited_at_limit_;
  const uint64_t ticket = next_slot_ticket_++;
  slot_queue_.push_back(ticket);
  const bool got = slot_freed_->WaitUntil(lock, write.deadline, [&] {
    return closed_.load() || stop.stop_requested() || (slot_queue_.front() == ticket && writes_in_flight_ < limit);
  });
  slot_queue_.erase(std::find(slot_queue_.begin(), slot_queue_.end(), ticket));
  // The next in line may take a slot now (or may have been waiting behind this one).
  if (!slot_queue_.empty()) slot_freed_->NotifyAll();
  if (closed_.load()) return closed();
  if (stop.stop_requested()) {
    return Error(ErrorCode::kCancelled,
                 fmt::format("write of {} record(s) was cancelled (stop requested) while waiting for one of the "
                             "client's {} write slots (ClientOptions::max_writes_in_flight); nothing was appended",
                             write.records, limit));
  }
  if (got) return std::nullopt;
  return Error(ErrorCode::kTimeout,
               fmt::format("write of {} record(s) waited the whole timeout of {} for one of the client's {} write "
                           "slots (ClientOptions::max_writes_in_flight); nothing was appended",
                           write.records, Millis(write.timeout), limit));
}

void ClientImpl::CountAccepted(std::span<const log::Record> records) {
  for (const log::Record& r : records) {
    if (IsCommandRecord(r.key, r.value)) {
      ClientCounters::Add(counters_.commands);
    } else {
      ClientCounters::Add(r.value ? counters_.puts : counters_.deletes);
    }
  }
}

std::shared_ptr<Write> ClientImpl::StartWrite(std::span<const log::Record> records, const CallOptions& options,
                                              WriteCallback done, bool txn, AtLimit at_limit,
                                              std::shared_ptr<SyncWait> sync) {
  // A deadline already past fails the write before anything is appended.
  Result<Duration> timeout = TimeoutFor(options.timeout, "write");
  if (!timeout) {
    done(std::unexpected(timeout.error()));
    return nullptr;
  }
  if (Status s = CheckNotStopped(options.stop, "write"); !s) {
    done(std::unexpected(s.error()));
    return nullptr;
  }
  auto write = std::make_shared<Write>();
  write->sync = std::move(sync);
  write->txn = txn;
  write->records = records.size();
  write->timeout = *timeout;
  write->deadline = runtime_.Now() + write->timeout;
  write->done = std::move(done);
  if (options_.writer_headers) {
    write->seqs.reserve(records.size());
    for (const log::Record& r : records) {
      const std::string* seq = r.FindHeader(kSeqHeader);
      uint64_t n = 0;
      if (seq == nullptr || std::from_chars(seq->data(), seq->data() + seq->size(), n).ec != std::errc()) {
        write->seqs.clear();  // Not made by MakeRecord: nothing to check against.
        break;
      }
      write->seqs.push_back(n);
    }
    write->seen.assign(write->seqs.size(), log::kNoOffset);
  }
  // A stop request wakes a wait for a write slot. The callback takes mu_, so
  // it is made before the lock and destroyed after it is released (see
  // WriteAndWait); only a write that may wait for a slot registers one.
  auto wake_slot_waiters = [this] {
    std::unique_lock stop_lock(*mu_);
    slot_freed_->NotifyAll();
  };
  std::optional<std::stop_callback<decltype(wake_slot_waiters)>> on_stop;
  if (at_limit == AtLimit::kWait && options_.max_writes_in_flight > 0 && options.stop.stop_possible()) {
    on_stop.emplace(options.stop, wake_slot_waiters);
  }
  {
    std::unique_lock lock(*mu_);
    // Checked under mu_: Close's sweep of unfinished writes takes mu_ after
    // setting closed_, so a write registered here is either swept or refused.
    // A wait for a slot releases mu_, and the check is repeated after it.
    if (std::optional<Error> refused = AcquireWriteSlotLocked(lock, *write, options.stop, at_limit)) {
      lock.unlock();
      write->done(std::unexpected(std::move(*refused)));
      return nullptr;
    }
    writes_by_deadline_.Push(write->deadline, write);
    ++writes_in_flight_;
    writes_by_deadline_.Compact(writes_in_flight_);
    for (std::size_t i = 0; i < write->seqs.size(); ++i) {
      pending_seqs_[write->seqs[i]] = {write.get(), static_cast<uint32_t>(i)};
    }
  }
  CountAccepted(records);
  write->self_until_acknowledged = write;
  // Close() fails appends in flight through this callback.
  log_->Append(records, [this, raw = write.get()](log::AppendResult result) { OnAcknowledged(*raw, std::move(result)); });
  return write;
}

void ClientImpl::OnAcknowledged(Write& acknowledged, log::AppendResult result) {
  const std::shared_ptr<Write> write = std::move(acknowledged.self_until_acknowledged);
  Completions completions;
  {
    std::unique_lock lock(*mu_);
    if (write->finished) return;  // Timed out, or swept by Close.
    if (!result) {
      FinishLocked(*write, std::unexpected(result.error()), completions);
    } else {
      write->acknowledged = true;
      write->offsets = std::move(*result);
      for (log::Offset o : write->offsets) write->highest = std::max(write->highest, o);
      if (AppliedPosition() > write->highest) {
        // Readers can see a record before its producer hears it was stored.
        FinishLocked(*write, AppliedResultLocked(*write), completions);
      } else {
        writes_by_offset_.Push(write->highest, write);
        writes_by_offset_.Compact(writes_in_flight_);
      }
    }
  }
  RunCompletions(completions);
}

void ClientImpl::FinishLocked(Write& write, Result<log::Offset> result, Completions& out) {
  // Invariant: a write finishes once; a second finish would run a moved-from callback.
  KVLOG_CHECK(!write.finished) << "client " << options_.client_id << " finished a write twice";
  write.finished = true;  // The queues drop it lazily.
  --writes_in_flight_;
  if (!slot_queue_.empty()) slot_freed_->NotifyAll();
  for (uint64_t seq : write.seqs) {
    auto it = pending_seqs_.find(seq);
    if (it != pending_seqs_.end() && it->second.first == &write) pending_seqs_.erase(it);
  }
  if (write.sync != nullptr) {
    // A blocking caller takes its result under this lock; it is only woken
    // once the lock is released.
    write.sync->result = std::move(result);
    write.done = nullptr;
    out.push_back(Completion{nullptr, log::kNoOffset, std::move(write.sync)});
    return;
  }
  out.push_back(Completion{std::move(write.done), std::move(result), nullptr});
}

Result<log::Offset> ClientImpl::AppliedResultLocked(Write& write) {
  // Every record is applied now; any that was skipped as corrupt means the
  // write did not take effect as a whole.
  for (log::Offset o : write.offsets) {
    if (corrupt_.Contains(o)) {
      return MakeError(ErrorCode::kCorrupt, fmt::format("write of {} record(s): the record at offset {} could not be "
                                                        "decoded and was skipped by every replica",
                                                        write.offsets.size(), o));
    }
  }
  // The applied position passed every offset the log acknowledged; each must
  // have held this write's own record when this client applied it. What this
  // relies on: (1) every record is read with its headers (the applier
  // needs them to skip duplicates), so an own record is never missed;
  // (2) the log does not compact away a pending write's own record before
  // the reader gets there: topics are created with min.compaction.lag.ms
  // (300 s) above any write timeout, so a record is compacted only after its
  // write has finished; (3) kvlog's producer writes plain records, never
  // transaction markers, so an own record never sits in a marker's gap.
  // So a missing or foreign record at an acknowledged offset means the log
  // lost the write (acks=1 failover, unclean election, records deleted below
  // the reader), never a legitimate gap.
  if (!write.seqs.empty()) {
    // An append that committed twice leaves copies of a record; the applier
    // applies the first and gives each later one an outcome naming the first
    // (held, version = its offset). Before the acknowledgement the last copy
    // read is the sighting kept, so a log that acknowledges an earlier copy
    // names the same first copy: the write is there.
    auto first_copy = [this](log::Offset o) {
      auto it = outcomes_.find(o);
      return it != outcomes_.end() && it->second.held ? it->second.version : o;
    };
    for (std::size_t i = 0; i < write.offsets.size() && i < write.seen.size(); ++i) {
      if (write.seen[i] == write.offsets[i]) continue;
      if (write.seen[i] != log::kNoOffset && first_copy(write.seen[i]) == first_copy(write.offsets[i])) continue;
      ++lost_writes_;
      std::string where = write.seen[i] == log::kNoOffset
                              ? "this client's applier passed that offset without finding the write's record"
                              : fmt::format("this client read the write's record at offset {} instead", write.seen[i]);
      return MakeError(ErrorCode::kDataLoss,
                       fmt::format("write of {} record(s) was acknowledged by the log at offset {}, but the record "
                                   "there is not this write's: {} (the log lost it: a leader failover with acks=1, an "
                                   "unclean election, or records deleted below the reader); the write did not take "
                                   "effect here",
                                   write.offsets.size(), write.offsets[i], where));
    }
  }
  // Command records: the applier decided them. A duplicate (a retried append
  // that committed twice) carries its first copy's outcome and offset.
  log::Offset result = write.highest;
  std::optional<Error> conflict;
  for (log::Offset o : write.offsets) {
    auto it = outcomes_.find(o);
    if (it == outcomes_.end()) continue;
    const Outcome outcome = std::move(it->second);
    outcomes_.erase(it);
    if (o == write.highest) result = outcome.version;
    if (!outcome.held) {
      ClientCounters::Add(counters_.conditional_failures);
      write.condition_held = false;
      if (!write.txn && !conflict) {
        conflict.emplace(ErrorCode::kConflict, fmt::format("condition failed at offset {}: {}; nothing was written",
                                                           outcome.version, outcome.detail));
      }
    }
  }
  if (conflict) return std::unexpected(*conflict);
  return result;
}

Error ClientImpl::TimeoutErrorLocked(const Write& write) const {
  if (!write.acknowledged) {
    return Error(ErrorCode::kTimeout,
                 fmt::format("write of {} record(s) was not acknowledged by the log within the timeout of {}",
                             write.records, Millis(write.timeout)));
  }
  return Error(ErrorCode::kTimeout,
               fmt::format("write: applied position {} did not pass offset {} within the timeout of {}",
                           AppliedPosition(), write.highest, Millis(write.timeout)));
}

Error ClientImpl::CancelledErrorLocked(const Write& write) const {
  if (!write.acknowledged) {
    return Error(ErrorCode::kCancelled,
                 fmt::format("write of {} record(s) was cancelled (stop requested) before the log acknowledged it; "
                             "it was handed to the log and may still take effect",
                             write.records));
  }
  return Error(ErrorCode::kCancelled,
               fmt::format("write was cancelled (stop requested) while waiting for the applied position {} to pass "
                           "offset {}, where the log holds it: it may still take effect",
                           AppliedPosition(), write.highest));
}

void ClientImpl::FinishAppliedLocked(Completions& out) {
  const log::Offset position = AppliedPosition();
  log::Offset highest;
  while (Write* write = writes_by_offset_.Top(&highest)) {
    if (highest >= position) break;
    FinishLocked(*write, AppliedResultLocked(*write), out);
  }
}

void ClientImpl::ExpireLocked(Completions& out) {
  TimePoint deadline;
  if (writes_by_deadline_.Top() == nullptr) return;  // Nothing to expire: no clock read.
  const TimePoint now = runtime_.Now();
  while (Write* write = writes_by_deadline_.Top(&deadline)) {
    if (deadline > now) break;
    FinishLocked(*write, std::unexpected(TimeoutErrorLocked(*write)), out);
  }
}

Result<log::Offset> ClientImpl::WriteAndWait(std::span<const log::Record> records, const CallOptions& options,
                                         bool* condition_held) {
  // The waiter has its own condition variable: waking every writer for each
  // finished write made concurrent Puts a thundering herd. Finishing the
  // write stores its result in the waiter under mu_ (FinishLocked); the
  // callback serves only a refusal, which runs on this thread.
  auto waiter = std::make_shared<SyncWait>(SyncWait{runtime_.NewCondVar(), std::nullopt});
  std::shared_ptr<Write> write = StartWrite(
      records, options, [waiter](Result<log::Offset> r) { waiter->result = std::move(r); },
      condition_held != nullptr, AtLimit::kWait, waiter);
  auto take = [&] {
    if (condition_held != nullptr && write != nullptr) *condition_held = write->condition_held;
    return std::move(*waiter->result);
  };
  if (write == nullptr) return take();  // Refused: the result is in, no lock needed.
  // A stop request wakes this waiter. The callback takes mu_, so it is made
  // before the lock and destroyed after it is released (a stop_callback's
  // destructor waits for a callback running on another thread).
  const std::stop_callback on_stop(options.stop, [this, waiter] {
    std::unique_lock stop_lock(*mu_);
    waiter->finished->NotifyAll();
  });
  std::unique_lock lock(*mu_);
  if (waiter->result) return take();
  if (waiter->finished->WaitUntil(lock, write->deadline,
                                  [&] { return waiter->result.has_value() || options.stop.stop_requested(); }) &&
      waiter->result) {
    return take();
  }
  if (write->finished) {
    // The applier (or Close) finished it between the deadline and this
    // wake-up and is about to run the completion: take that outcome.
    waiter->finished->Wait(lock, [&] { return waiter->result.has_value(); });
    return take();
  }
  // The deadline passed (or the caller cancelled) before the applier looked:
  // finish the write here so the caller is not kept waiting for the
  // applier's next wake-up.
  Error timeout = options.stop.stop_requested() ? CancelledErrorLocked(*write) : TimeoutErrorLocked(*write);
  Completions completions;
  FinishLocked(*write, std::unexpected(timeout), completions);
  lock.unlock();
  RunCompletions(completions);
  return std::unexpected(timeout);
}

Status ClientImpl::WaitApplied(log::Offset offset, const CallOptions& options) {
  KVLOG_ASSIGN_OR_RETURN(const Duration timeout, TimeoutFor(options.timeout, "wait"));
  KVLOG_RETURN_IF_ERROR(CheckNotStopped(options.stop, "wait"));
  return WaitAppliedUntil(offset, runtime_.Now() + timeout, timeout, "wait", false, options.stop);
}

Status ClientImpl::WaitAppliedUntil(log::Offset offset, TimePoint deadline, Duration timeout, std::string_view what,
                                bool startup, const std::stop_token& stop) {
  // A stop request wakes the wait; made before the lock, destroyed after it
  // (see WriteAndWait).
  const std::stop_callback on_stop(stop, [this] {
    std::unique_lock stop_lock(*mu_);
    changed_->NotifyAll();
  });
  std::unique_lock lock(*mu_);
  auto lost = [&] { return startup && !StartupDataLossLocked(what); };
  changed_->WaitUntil(lock, deadline, [&] {
    return AppliedPosition() > offset || closed_.load() || lost() || stop.stop_requested();
  });
  if (startup) {
    KVLOG_RETURN_IF_ERROR(StartupDataLossLocked(what));
  }
  if (AppliedPosition() > offset) return OkStatus();
  if (closed_.load()) {
    return MakeError(ErrorCode::kClosed, fmt::format("{}: client {} closed", what, options_.client_id));
  }
  if (stop.stop_requested()) {
    return MakeError(ErrorCode::kCancelled,
                     fmt::format("{}: cancelled (stop requested) with the applied position {} not yet past offset {}",
                                 what, AppliedPosition(), offset));
  }
  return MakeError(ErrorCode::kTimeout,
                   fmt::format("{}: applied position {} did not pass offset {} within the timeout of {}", what,
                               AppliedPosition(), offset, Millis(timeout)));
}

Status ClientImpl::StartupDataLossLocked(std::string_view what) const {
  if (!startup_data_loss_ || options_.skip_deleted_records) return OkStatus();
  return MakeError(ErrorCode::kDataLoss,
                   fmt::format("{}: {}; the replayed state would be incomplete (set "
                               "ClientOptions::skip_deleted_records to start from the log's start)",
                               what, startup_data_loss_->message()));
}

Status ClientImpl::Sync(const CallOptions& options) {
  if (closed_.load()) return ClosedError("sync");
  KVLOG_ASSIGN_OR_RETURN(const Duration timeout, TimeoutFor(options.timeout, "sync"));
  KVLOG_RETURN_IF_ERROR(CheckNotStopped(options.stop, "sync"));
  const TimePoint deadline = runtime_.Now() + timeout;
  // The end-offset request is not interrupted by a stop (its timeout bounds
  // it); the wait for the applier is.
  KVLOG_ASSIGN_OR_RETURN(const log::Offset end, log_->EndOffset(timeout));
  return WaitAppliedUntil(end - 1, deadline, timeout, "sync", false, options.stop);
}

Result<std::string> ClientImpl::Get(std::string_view key) const {
  std::string value;
  KVLOG_RETURN_IF_ERROR(Get(key, &value));
  return value;
}

Result<log::Offset> ClientImpl::AwaitReadLevel(const ReadOptions& options, std::string_view what) {
  const std::string name = fmt::format("{} at {}", what, ReadLevelName(options.level));
  if (closed_.load()) return ClosedError(name);
  KVLOG_ASSIGN_OR_RETURN(const Duration timeout, TimeoutFor(options.timeout, name));
  KVLOG_RETURN_IF_ERROR(CheckNotStopped(options.stop, name));
  const TimePoint deadline = runtime_.Now() + timeout;
  log::Offset must_pass = log::kNoOffset;  // Wait until the applied position is past this.
  switch (options.level.kind) {
    case ReadLevel::Kind::kLocal:
      return AppliedPosition();
    case ReadLevel::Kind::kAtLeast:
      if (options.level.position < 0) {
        return MakeError(ErrorCode::kInvalidArgument, name + ": the position is negative");
      }
      must_pass = options.level.position;
      break;
    case ReadLevel::Kind::kBounded:
    case ReadLevel::Kind::kLinearizable: {
      if (options.level.kind == ReadLevel::Kind::kBounded && options.level.max_lag < 0) {
        return MakeError(ErrorCode::kInvalidArgument, name + ": max_lag is negative");
      }
      // The end offset now: every write acknowledged before this call is below it.
      KVLOG_ASSIGN_OR_RETURN(const log::Offset end, WithContext(log_->EndOffset(timeout), name));
      must_pass = end - 1 - (options.level.kind == ReadLevel::Kind::kBounded ? options.level.max_lag : 0);
      break;
    }
  }
  KVLOG_RETURN_IF_ERROR(WaitAppliedUntil(must_pass, deadline, timeout, name, false, options.stop));
  return AppliedPosition();
}

Result<std::string> ClientImpl::Get(std::string_view key, const ReadOptions& options, ReadInfo* info) {
  KVLOG_ASSIGN_OR_RETURN(VersionedValue entry, GetEntry(key, options, info));
  return std::move(entry.value);
}

Result<std::vector<KeyValue>> ClientImpl::Range(const KeyConstraint& range, const QueryOptions& query,
                                            const ReadOptions& options, ReadInfo* info) {
  KVLOG_RETURN_IF_ERROR(AwaitReadLevel(options, "range"));
  return Range(range, query, info);
}

Result<VersionedValue> ClientImpl::GetEntry(std::string_view key, const ReadOptions& options, ReadInfo* info) {
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "get: key is empty");
  KVLOG_RETURN_IF_ERROR(AwaitReadLevel(options, "get"));
  return GetEntry(key, info);
}

Result<VersionedValue> ClientImpl::GetEntry(std::string_view key, ReadInfo* info) const {
  if (closed_.load()) return ClosedError("get");
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "get: key is empty");
  std::optional<VersionedValue> entry =
      info != nullptr ? storage_->GetEntry(key, &info->position) : storage_->GetEntry(key);
  ClientCounters::Add(counters_.gets);
  if (!entry || !VisibleNow(&entry->value)) return MakeError(ErrorCode::kNotFound, "get: no value for the key");
  ClientCounters::Add(counters_.hits);
  return std::move(*entry);
}

Status ClientImpl::Get(std::string_view key, std::string* value, ReadInfo* info) const {
  if (closed_.load()) return ClosedError("get");
  if (key.empty()) return MakeError(ErrorCode::kInvalidArgument, "get: key is empty");
  bool found;
  if (info != nullptr) {
    found = storage_->Get(key, value, &info->position);
  } else {
    found = storage_->Get(key, value);
  }
  ClientCounters::Add(counters_.gets);
  if (!found || !VisibleNow(value)) return MakeError(ErrorCode::kNotFound, "get: no value for the key");
  ClientCounters::Add(counters_.hits);
  return OkStatus();
}

Status ClientImpl::MultiGet(std::span<const std::string_view> keys,
                        std::vector<std::optional<std::string>>* values) const {
  if (closed_.load()) return ClosedError("multiget");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].empty()) return MakeError(ErrorCode::kInvalidArgument, fmt::format("multiget: key {} is empty", i));
  }
  values->resize(keys.size());
  storage_->MultiGet(keys, *values);
  for (std::optional<std::string>& v : *values) {
    if (v && !VisibleNow(&*v)) v.reset();
  }
  ClientCounters::Add(counters_.gets, keys.size());
  ClientCounters::Add(counters_.hits, static_cast<uint64_t>(std::count_if(
                                                    values->begin(), values->end(), [](const auto& v) { return v.has_value(); })));
  return OkStatus();
}

Result<std::vector<KeyValue>> ClientImpl::Range(const KeyConstraint& range, const QueryOptions& options,
                                            ReadInfo* info) const {
  if (closed_.load()) return ClosedError("range");
  if (range.end && *range.end < range.start) {
    return MakeError(ErrorCode::kInvalidArgument, "range: end sorts before start");
  }
  // Expired pairs are dropped. With a limit, a read that dropped some and
  // may have missed visible ones after them reads again with a larger limit;
  // the answer is always one read's, so it is atomic with its position.
  QueryOptions query = options;
  for (;;) {
    std::vector<KeyValue> pairs =
        info != nullptr ? storage_->Range(range, query, &info->position) : storage_->Range(range, query);
    const std::size_t read = pairs.size();
    std::erase_if(pairs, [&](KeyValue& kv) { return !VisibleNow(&kv.value); });
    if (options.limit == 0 || pairs.size() >= options.limit || read < query.limit) {
      if (options.limit != 0 && pairs.size() > options.limit) pairs.resize(options.limit);
      return pairs;
    }
    query.limit = query.limit * 2 + (read - pairs.size());
  }
}

Result<std::vector<KeyValue>> ClientImpl::Prefix(std::string_view prefix, const QueryOptions& options) const {
  return Range(kv::Prefix(prefix), options);
}

std::size_t ClientImpl::corrupt_records() const {
  std::unique_lock lock(*mu_);
  return corrupt_.total();
}

std::size_t ClientImpl::lost_writes() const {
  std::unique_lock lock(*mu_);
  return lost_writes_;
}

std::size_t ClientImpl::reader_data_loss() const {
  std::unique_lock lock(*mu_);
  return reader_data_loss_;
}

bool ClientImpl::OnPollError(const Error& error, bool lost, log::Offset position) {
  (void)position;
  bool stop = false;
  Completions completions;
  {
    std::unique_lock lock(*mu_);
    if (lost) {
      ++reader_data_loss_;
      if (!opened_) {
        // Open sees this (it checks under mu_ as it finishes) and fails.
        if (!startup_data_loss_) startup_data_loss_ = error;
        stop = !options_.skip_deleted_records;
      }
    }
    ExpireLocked(completions);
  }
  RunCompletions(completions);
  return stop;
}

void ClientImpl::OnApplied(AppliedPoll& poll) {
  Completions completions;
  {
    std::unique_lock lock(*mu_);
    corrupt_.Add(poll.corrupt);
    for (auto& [offset, outcome] : poll.own_outcomes) outcomes_.insert_or_assign(offset, std::move(outcome));
    for (const auto& [seq, offset] : poll.own) {
      auto it = pending_seqs_.find(seq);
      if (it == pending_seqs_.end()) continue;  // Its write has finished.
      Write& write = *it->second.first;
      const uint32_t i = it->second.second;
      // Before the acknowledgement the last sighting stands (a retry without
      // idempotence commits a duplicate, and is acknowledged at the later
      // offset); after it, only the acknowledged offset counts.
      if (!write.acknowledged || write.offsets[i] == offset) write.seen[i] = offset;
    }
    // Invariant: the applied position only rises.
    KVLOG_CHECK_GE(poll.position, AppliedPosition()) << "client " << options_.client_id << ": the reader went back";
    applied_position_.store(poll.position, std::memory_order_release);
    FinishAppliedLocked(completions);
    ExpireLocked(completions);
    // An outcome waits for its write's acknowledgement; with no write in
    // flight none will come (a write that timed out left its outcome here).
    if (writes_in_flight_ == 0) {
      outcomes_.clear();
      corrupt_.ForgetKept();  // Likewise: only a write in flight asks about a skipped offset.
    } else {
      // Outcomes left by writes that timed out while others stay in flight:
      // bounded, oldest first (a write this far behind timed out long ago).
      while (outcomes_.size() > kMaxOutcomes) outcomes_.erase(outcomes_.begin());
    }
  }
  // Woken after mu_ is released, so a waiter does not wake only to wait for
  // the lock (the position it waits on was published under mu_ above).
  changed_->NotifyAll();
  RunCompletions(completions);
}

void ClientImpl::IndexDeadlines(std::span<const Mutation> batch) {
  bool start_janitor = false;
  {
    std::unique_lock lock(*ttl_mu_);
    if (deadlines_.empty()) {
      // The common case, no TTL anywhere: one prefix check per mutation.
      bool any = false;
      for (const Mutation& m : batch) any = any || (m.value && IsTtlEnvelope(*m.value));
      if (!any) return;
    }
    for (const Mutation& m : batch) {
      const int64_t deadline = m.value ? DecodeStoredValue(*m.value).deadline_ns : 0;
      auto it = deadlines_.find(m.key);
      if (it != deadlines_.end()) {
        if (it->second == deadline) continue;
        expiry_queue_.erase({it->second, m.key});
        if (deadline == 0) {
          deadlines_.erase(it);
          continue;
        }
        it->second = deadline;
      } else if (deadline == 0) {
        continue;
      } else {
        deadlines_.emplace(m.key, deadline);
      }
      expiry_queue_.emplace(deadline, m.key);
    }
    start_janitor = !expiry_queue_.empty();
  }
  if (!start_janitor || options_.janitor_interval.count() <= 0) return;
  std::unique_lock lock(*mu_);
  if (janitor_ == nullptr && !closed_.load()) {
    janitor_ = runtime_.Spawn("janitor " + options_.client_id, [this] { JanitorLoop(); });
  }
}

void ClientImpl::JanitorLoop() {
  for (;;) {
    // Between half and one and a half intervals, differently per client and
    // round, so the clients' janitors do not all act at once.
    const auto interval = options_.janitor_interval.count();
    const auto jitter = static_cast<Duration::rep>(Fnv(writer_, janitor_rounds_++) % static_cast<uint64_t>(interval));
    const TimePoint next = runtime_.Now() + Duration(interval / 2 + jitter);
    {
      std::unique_lock lock(*mu_);
      if (janitor_wake_->WaitUntil(lock, next, [&] { return closed_.load(); })) return;
    }
    JanitorRound();
  }
}

void ClientImpl::JanitorRound() {
  const int64_t cutoff = runtime_.WallNow().time_since_epoch().count() - options_.janitor_grace.count();
  std::vector<std::string> due;
  {
    std::unique_lock lock(*ttl_mu_);
    for (const auto& [deadline, key] : expiry_queue_) {
      if (deadline > cutoff || due.size() >= options_.janitor_max_per_round) break;
      due.push_back(key);
    }
  }
  std::map<std::string, std::pair<Version, uint64_t>> issued;
  for (const std::string& key : due) {
    std::optional<VersionedValue> current = storage_->GetEntry(key);
    if (!current || !DecodeStoredValue(current->value).ExpiredAt(cutoff)) continue;
    if (auto it = janitor_issued_.find(key);
        it != janitor_issued_.end() && it->second.first == current->version && it->second.second + 2 > janitor_rounds_) {
      issued.insert(*it);  // Issued a round ago and not applied yet: give it time.
      continue;
    }
    // Delete only if the key is still at the version that expired: a write
    // that lands first (a new value, a new deadline) wins, on every replica.
    Command command;
    command.compares.push_back(Condition::VersionIs(key, current->version).compare_);
    command.then_writes.push_back({key, std::nullopt});
    Result<log::Record> record = PrepareCommand("expire", std::move(command), CallOptions{}, /*expiry=*/true);
    if (!record) return;  // Closed.
    issued.emplace(key, std::make_pair(current->version, janitor_rounds_));
    // Whatever happens is fine: applied (OnExpire), lost the race to a
    // newer write, or failed and retried next round.
    // Never waits for a write slot: refused at the limit, it is retried then.
    StartWrite({&*record, 1}, CallOptions{}, [](Result<log::Offset>) {}, /*txn=*/false, AtLimit::kFail);
  }
  janitor_issued_ = std::move(issued);
}

// WriteBatch and Txn (kv/client.h) call these.

Result<std::vector<log::Record>> ClientImpl::PreparePlainBatch(const WriteBatch& batch, const CallOptions& options) {
  if (closed_.load()) return ClosedError("batch");
  if (batch.records_.size() > options_.limits.max_batch_records) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("batch has {} records; the limit (max_batch_records) is {}", batch.records_.size(),
                                 options_.limits.max_batch_records));
  }
  std::vector<log::Record> records;
  records.reserve(batch.records_.size());
  for (std::size_t i = 0; i < batch.records_.size(); ++i) {
    const log::Record& r = batch.records_[i];
    Status valid = ValidateKey(r.key);
    if (valid && r.value) valid = ValidateValue(*r.value);
    // The context is formatted only for a record that failed.
    if (!valid) return std::unexpected(WithContext(std::move(valid).error(), fmt::format("batch record {}", i)));
    records.push_back(MakeRecord(r.key, r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, options));
  }
  return records;
}

Result<std::vector<log::Record>> ClientImpl::PrepareBatch(const WriteBatch& batch, const CallOptions& options) {
  if (options.ttl.count() != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "batch: CallOptions::ttl applies to single puts, not to a batch");
  }
  if (!batch.atomic_) return PreparePlainBatch(batch, options);
  if (batch.records_.empty()) return std::vector<log::Record>{};
  Command command;
  command.then_writes.reserve(batch.records_.size());
  for (const log::Record& r : batch.records_) {
    command.then_writes.push_back(
        {r.key, r.value ? std::optional<std::string>(StoredForm(*r.value, 0)) : std::nullopt});
  }
  KVLOG_ASSIGN_OR_RETURN(log::Record record, PrepareCommand("atomic batch", std::move(command), options));
  std::vector<log::Record> records;
  records.push_back(std::move(record));
  return records;
}

Result<log::Offset> ClientImpl::ExecuteBatch(const WriteBatch& batch, const CallOptions& options) {
  KVLOG_ASSIGN_OR_RETURN(const std::vector<log::Record> records, PrepareBatch(batch, options));
  if (records.empty()) return log::kNoOffset;
  return WriteAndWait(records, options);
}

void ClientImpl::ExecuteBatchAsync(const WriteBatch& batch, WriteCallback done, const CallOptions& options) {
  Result<std::vector<log::Record>> records = PrepareBatch(batch, options);
  if (!records) return done(std::unexpected(records.error()));
  if (records->empty()) return done(log::kNoOffset);
  StartWrite(*records, options, std::move(done), /*txn=*/false, AsyncAtLimit());
}

Result<TxnResult> ClientImpl::CommitTxn(const Txn& txn, const CallOptions& options) {
  if (options.ttl.count() != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "txn: CallOptions::ttl applies to single puts, not to a transaction");
  }
  KVLOG_ASSIGN_OR_RETURN(const log::Record record, PrepareCommand("txn", txn.command_, options));
  bool held = true;
  KVLOG_ASSIGN_OR_RETURN(const log::Offset offset, WriteAndWait({&record, 1}, options, &held));
  return TxnResult{held, offset};
}

}  // namespace kvlog::kv::internal
