#include "log/sim/broker.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include "base/check.h"

namespace kvlog::log::sim {

class Reader final : public LogReader {
 public:
  // Failovers before the reader opened are none of its business.
  Reader(Broker& broker, Offset from, const ConnectionFaults& faults, const ReadOptions& options,
         std::size_t failovers_seen)
      : broker_(broker), faults_(faults), options_(options), position_(from), failovers_seen_(failovers_seen) {}

  Result<std::vector<LogEntry>> Poll(std::size_t max_entries, Duration timeout) override {
    Runtime& rt = broker_.runtime_;
    if (!faults_.applier_stalls.empty()) {
      // The applier is stuck in its hook until the stall ends.
      if (auto stall = WindowEnd(faults_.applier_stalls, broker_.SinceStart())) rt.SleepUntil(broker_.created_ + *stall);
    }
    const TimePoint deadline = rt.Now() + timeout;
    std::unique_lock lock(*broker_.mu_);
    for (;;) {
      if (closed_.load()) return MakeError(ErrorCode::kClosed, "simulated log reader is closed");
      broker_.CatchUp();
      KVLOG_RETURN_IF_ERROR(CheckLost());
      const TimePoint now = rt.Now();
      std::optional<TimePoint> wake;
      if (broker_.InOutage()) {
        wake = broker_.created_ + broker_.OutageEnd();
      } else if (auto cut = WindowEnd(faults_.partitions, broker_.SinceStart())) {
        wake = broker_.created_ + *cut;
      } else if (auto pause = PauseEnd(broker_.SinceStart())) {
        wake = broker_.created_ + *pause;
      } else {
        Offset readable_end = broker_.ReadableEnd(faults_.reader_lag);
        // A fetch, answered: its response carries the high watermark (KnownEnd).
        known_end_.store(broker_.HighWatermark());
        if (position_.load() < readable_end) {
          std::vector<LogEntry> out = Read(max_entries, readable_end);
          if (faults_.delivery_delay_per_record.count() > 0 && !out.empty()) {
            lock.unlock();  // Slow to apply: the broker goes on meanwhile.
            rt.SleepFor(faults_.delivery_delay_per_record * static_cast<int64_t>(out.size()));
          }
          return out;
        }
        wake = broker_.NextReadable(faults_.reader_lag);
      }
      if (now >= deadline) return std::vector<LogEntry>{};
      // A reader that knows when its next record turns readable (or its
      // outage or pause ends) is not woken by later appends, which turn
      // readable no earlier; one with nothing pending waits for an append.
      if (wake) {
        broker_.scheduled_->WaitUntil(lock, std::min(*wake, deadline));
      } else {
        broker_.appended_->WaitUntil(lock, deadline);
      }
    }
  }

  Offset Position() const override { return position_.load(); }

  // The high watermark when a Poll last found the broker reachable (a fetch
  // answered, with records or none); none before.
  std::optional<Offset> KnownEnd() const override {
    const Offset end = known_end_.load();
    if (end < 0) return std::nullopt;
    return end;
  }

  void Close() override {
    closed_.store(true);
    std::unique_lock lock(*broker_.mu_);
    broker_.NotifyAllWaiters();
  }

 private:
  std::optional<Duration> PauseEnd(Duration t) const {
    for (const Window& w : faults_.reader_pauses) {
      if (w.Contains(t)) return w.start + w.length;
    }
    return std::nullopt;
  }

  // Called with the broker's mutex held. Reports, once each, a failover that
  // truncated the log below this reader's position (records it read are gone,
  // and new records will take their offsets unseen by it) and records deleted
  // below it (it then moves to the log's start), as kDataLoss.
  Status CheckLost() {
    const Offset position = position_.load();
    while (failovers_seen_ < broker_.failover_ends_.size()) {
      const Offset end = broker_.failover_ends_[failovers_seen_++];
      if (end < position) {
        return MakeError(ErrorCode::kDataLoss,
                         fmt::format("the log was truncated to offset {0} below this reader's position {1} (leader "
                                     "failover, unclean election): records at [{0}, {1}) that this reader returned "
                                     "are gone, and new records there will not be read",
                                     end, position));
      }
    }
    if (position < broker_.start_) {
      position_.store(broker_.start_);
      return MakeError(ErrorCode::kDataLoss,
                       fmt::format("records at [{0}, {1}) were deleted before this reader read them (the log's start "
                                   "moved: retention, DeleteRecords); it continues from offset {1}",
                                   position, broker_.start_));
    }
    return OkStatus();
  }

  std::vector<LogEntry> Read(std::size_t max_entries, Offset readable_end) {
    std::vector<LogEntry> out;
    const auto& entries = broker_.entries_;
    auto it = std::lower_bound(entries.begin(), entries.end(), position_.load(),
                               [](const StoredEntry& e, Offset o) { return e.offset < o; });
    for (; it != entries.end() && it->offset < readable_end && out.size() < max_entries; ++it) {
      out.push_back(LogEntry{it->offset, it->record ? Result<Record>(options_.Copy(*it->record)) : it->record});
    }
    // Past the last entry read; at the readable end, past any gap before it.
    Offset next = (it == entries.end() || it->offset >= readable_end) ? readable_end : it->offset;
    // Read is called only below the readable end, so the reader never goes back.
    KVLOG_CHECK_GE(next, position_.load()) << "simulated reader went back";
    position_.store(next);
    return out;
  }

  Broker& broker_;
  const ConnectionFaults faults_;
  const ReadOptions options_;
  std::atomic<Offset> position_;
  std::atomic<Offset> known_end_{-1};  // -1: no fetch answered yet.
  std::atomic<bool> closed_{false};
  std::size_t failovers_seen_ = 0;  // Guarded by the broker's mutex.
};

// One client's connection: a producer that sends appends in order (many in
// flight, each committing after the injected latency) and readers.
class Connection final : public Log {
 public:
  Connection(Broker& broker, ConnectionFaults faults, uint64_t producer_id)
      : broker_(broker),
        faults_(std::move(faults)),
        producer_id_(producer_id),
        mu_(broker.runtime_.NewMutex()),
        queued_(broker.runtime_.NewCondVar()) {
    producer_ = broker.runtime_.Spawn(fmt::format("producer {}", producer_id), [this] { ProduceLoop(); });
  }

  ~Connection() override { Close(); }

  void Append(std::span<const Record> records, AppendCallback done) override {
    Runtime& rt = broker_.runtime_;
    Duration jitter{0};
    if (broker_.faults_.append_jitter.count() > 0) {
      std::unique_lock broker_lock(*broker_.mu_);
      jitter = Duration(broker_.Uniform(static_cast<uint64_t>(broker_.faults_.append_jitter.count())));
    }
    {
      std::unique_lock lock(*mu_);
      if (!closed_.load()) {
        // Requests commit in order: none before the one ahead of it.
        TimePoint send_at = std::max(rt.Now() + broker_.faults_.append_latency + jitter, last_send_at_);
        last_send_at_ = send_at;
        queue_.push_back(Request{std::vector<Record>(records.begin(), records.end()), std::move(done),
                                 next_sequence_++, send_at, rt.Now()});
        queued_->NotifyAll();
        return;
      }
    }
    done(MakeError(ErrorCode::kClosed, "simulated log connection is closed"));
  }

  using Log::OpenReader;
  Result<std::unique_ptr<LogReader>> OpenReader(Offset from, const ReadOptions& options) override {
    if (closed_.load()) return MakeError(ErrorCode::kClosed, "simulated log connection is closed");
    std::size_t failovers;
    {
      std::unique_lock lock(*broker_.mu_);
      broker_.CatchUp();
      failovers = broker_.failover_ends_.size();
    }
    return std::make_unique<Reader>(broker_, std::max<Offset>(from, 0), faults_, options, failovers);
  }

  Result<Offset> EndOffset(Duration timeout) override {
    if (closed_.load()) return MakeError(ErrorCode::kClosed, "simulated log connection is closed");
    Runtime& rt = broker_.runtime_;
    const TimePoint deadline = rt.Now() + timeout;
    std::unique_lock lock(*broker_.mu_);
    for (;;) {
      broker_.CatchUp();
      auto cut = WindowEnd(faults_.partitions, broker_.SinceStart());
      if (!broker_.InOutage() && !cut) return broker_.HighWatermark();
      TimePoint until = std::min(broker_.created_ + (cut ? *cut : broker_.OutageEnd()), deadline);
      if (rt.Now() >= deadline) {
        return MakeError(ErrorCode::kUnavailable, cut ? "this client is cut off from the simulated broker (injected partition)"
                                                      : "simulated broker is in an outage (injected fault)");
      }
      broker_.scheduled_->WaitUntil(lock, until);
    }
  }

  void Close() override {
    {
      std::unique_lock lock(*mu_);
      if (closed_.exchange(true)) return;
      queued_->NotifyAll();
    }
    {
      // Wake a producer waiting on the broker (replication, outage, backoff).
      std::unique_lock lock(*broker_.mu_);
      broker_.scheduled_->NotifyAll();
    }
    producer_->Join();
  }

 private:
  struct Request {
    std::vector<Record> records;
    AppendCallback done;
    uint64_t sequence;
    TimePoint send_at;
    TimePoint enqueued_at;
  };

  void ProduceLoop() {
    Runtime& rt = broker_.runtime_;
    for (;;) {
      Request request;
      {
        std::unique_lock lock(*mu_);
        queued_->Wait(lock, [&] { return closed_.load() || !queue_.empty(); });
        if (closed_.load()) break;
        request = std::move(queue_.front());
        queue_.pop_front();
      }
      rt.SleepUntil(request.send_at);
      request.done(Send(request));
    }
    // Fail what is still queued, so every callback has run once Close returns.
    std::deque<Request> left;
    {
      std::unique_lock lock(*mu_);
      left.swap(queue_);
    }
    for (Request& r : left) r.done(MakeError(ErrorCode::kClosed, "simulated log connection closed"));
  }

  bool IsClosed() const { return closed_.load(); }

  AppendResult Send(const Request& request) {
    Runtime& rt = broker_.runtime_;
    const BrokerFaults& f = broker_.faults_;
    std::unique_lock lock(*broker_.mu_);
    bool first_attempt = true;
    for (;;) {
      if (IsClosed()) return MakeError(ErrorCode::kClosed, "simulated log connection closed");
      broker_.CatchUp();
      if (rt.Now() - request.enqueued_at >= f.delivery_timeout) {
        return MakeError(ErrorCode::kTimeout, fmt::format("append not delivered within delivery_timeout of {} ms",
                                                          f.delivery_timeout.count() / 1'000'000));
      }
      if (broker_.InOutage()) {
        ++broker_.stats_.outage_waits;
        TimePoint until = std::min(broker_.created_ + broker_.OutageEnd(), request.enqueued_at + f.delivery_timeout);
        broker_.scheduled_->WaitUntil(lock, until);
        continue;
      }
      if (auto cut = WindowEnd(faults_.partitions, broker_.SinceStart())) {
        ++broker_.stats_.partition_waits;
        TimePoint until = std::min(broker_.created_ + *cut, request.enqueued_at + f.delivery_timeout);
        broker_.scheduled_->WaitUntil(lock, until);
        continue;
      }
      if (first_attempt && broker_.Chance(f.failed_append_probability)) {
        ++broker_.stats_.failed_appends;
        return MakeError(ErrorCode::kUnavailable, "append failed and did not commit (injected fault)");
      }
      if (first_attempt) ++broker_.stats_.appends;
      first_attempt = false;
      std::vector<Offset> offsets = broker_.CommitLocked(request.records, producer_id_, request.sequence);
      broker_.appended_->NotifyAll();
      if (f.acks == Acks::kAll && f.replication_delay.count() > 0) {
        // Acknowledge once replicated, unless a failover truncates it first.
        TimePoint replicated_at = rt.Now() + f.replication_delay;
        while (rt.Now() < replicated_at && broker_.StillPresent(offsets, producer_id_, request.sequence) &&
               !IsClosed()) {
          broker_.scheduled_->WaitUntil(lock, replicated_at);
          broker_.CatchUp();
        }
        if (!broker_.StillPresent(offsets, producer_id_, request.sequence)) {
          return MakeError(ErrorCode::kUnavailable, "leader failed over before the append was replicated");
        }
      }
      if (broker_.Chance(f.lost_ack_probability)) {
        ++broker_.stats_.lost_acks;
        broker_.scheduled_->WaitUntil(lock, rt.Now() + f.retry_backoff);
        continue;  // Retry the same sequence number.
      }
      return offsets;
    }
  }

  Broker& broker_;
  const ConnectionFaults faults_;
  const uint64_t producer_id_;
  std::unique_ptr<Mutex> mu_;
  std::unique_ptr<CondVar> queued_;
  std::deque<Request> queue_;     // Guarded by mu_.
  // Lock order: the broker's mutex before this connection's mu_.
  std::atomic<bool> closed_{false};
  uint64_t next_sequence_ = 0;    // Guarded by mu_.
  TimePoint last_send_at_{};      // Guarded by mu_.
  std::unique_ptr<Task> producer_;
};

Broker::Broker(Runtime& runtime, BrokerFaults faults, uint64_t seed)
    : runtime_(runtime),
      faults_(std::move(faults)),
      created_(runtime.Now()),
      mu_(runtime.NewMutex()),
      appended_(runtime.NewCondVar()),
      scheduled_(runtime.NewCondVar()),
      rng_(base::Rng(seed).Fork("broker")),
      next_compaction_(created_ + faults_.compaction_interval) {
  std::sort(const_cast<std::vector<Duration>&>(faults_.failovers).begin(),
            const_cast<std::vector<Duration>&>(faults_.failovers).end());
}

Broker::~Broker() = default;

void Broker::NotifyAllWaiters() {
  appended_->NotifyAll();
  scheduled_->NotifyAll();
}

std::unique_ptr<Log> Broker::Connect(ConnectionFaults faults) {
  uint64_t id;
  {
    std::unique_lock lock(*mu_);
    id = next_producer_++;
  }
  return std::make_unique<Connection>(*this, std::move(faults), id);
}

Duration Broker::SinceStart() const { return runtime_.Now() - created_; }

bool Broker::InOutage() const {
  Duration t = SinceStart();
  return std::any_of(faults_.outages.begin(), faults_.outages.end(), [&](const Window& w) { return w.Contains(t); });
}

Duration Broker::OutageEnd() const {
  Duration t = SinceStart();
  for (const Window& w : faults_.outages) {
    if (w.Contains(t)) return w.start + w.length;
  }
  return t;
}

uint64_t Broker::Uniform(uint64_t n) { return rng_.Below(n); }

bool Broker::Chance(double p) { return rng_.Chance(p); }

Offset Broker::HighWatermark() const { return HighWatermarkAt(runtime_.Now()); }

Offset Broker::HighWatermarkAt(TimePoint now) const {
  if (faults_.replication_delay.count() == 0) return end_;
  // committed_at is non-decreasing, so the replicated entries are a prefix.
  auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const StoredEntry& e) {
    return e.committed_at + faults_.replication_delay <= now;
  });
  return it == entries_.end() ? end_ : it->offset;
}

Offset Broker::ReadableEnd(Duration lag) const {
  Offset hwm = HighWatermark();
  if (lag.count() == 0) return hwm;
  const TimePoint now = runtime_.Now();
  const Duration visible_after = faults_.replication_delay + lag;
  auto it = std::partition_point(entries_.begin(), entries_.end(),
                                 [&](const StoredEntry& e) { return e.committed_at + visible_after <= now; });
  Offset lagged = it == entries_.end() ? end_ : it->offset;
  return std::min(hwm, lagged);
}

std::optional<TimePoint> Broker::NextReadable(Duration lag) const {
  Offset readable = ReadableEnd(lag);
  if (readable >= end_) return std::nullopt;  // Every entry's offset is below end_.
  auto it = std::lower_bound(entries_.begin(), entries_.end(), readable,
                             [](const StoredEntry& e, Offset o) { return e.offset < o; });
  if (it == entries_.end()) return std::nullopt;
  return it->committed_at + faults_.replication_delay + lag;
}

std::vector<Offset> Broker::CommitLocked(std::span<const Record> records, uint64_t producer, uint64_t sequence) {
  std::vector<Offset> offsets;
  auto last = last_append_.find(producer);
  if (last != last_append_.end() && last->second.first == sequence) {
    // A retry of an append that committed (its acknowledgement was lost).
    if (faults_.idempotent_producer) {
      ++stats_.deduplicated_retries;
      return last->second.second;
    }
    stats_.duplicates_committed += static_cast<int64_t>(records.size());
  }
  const TimePoint now = runtime_.Now();
  for (const Record& r : records) {
    // Invariant: offsets strictly increase and commit times never decrease along the log.
    if (!entries_.empty()) {
      KVLOG_CHECK_LT(entries_.back().offset, end_) << "simulated broker reused an offset";
      KVLOG_CHECK_LE(entries_.back().committed_at, now) << "simulated broker committed back in time";
    }
    KVLOG_CHECK_GE(end_, start_) << "simulated broker's end fell below its start";
    StoredEntry entry{end_, now, r, producer, sequence};
    if (Chance(faults_.corrupt_probability)) {
      ++stats_.corrupted_records;
      entry.record = MakeError(ErrorCode::kCorrupt, "record failed its checksum (injected fault)");
    }
    offsets.push_back(end_);
    entries_.push_back(std::move(entry));
    ++end_;
    ++stats_.records_committed;
  }
  last_append_[producer] = {sequence, offsets};
  return offsets;
}

bool Broker::StillPresent(const std::vector<Offset>& offsets, uint64_t producer, uint64_t sequence) const {
  for (Offset o : offsets) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), o,
                               [](const StoredEntry& e, Offset x) { return e.offset < x; });
    if (it == entries_.end() || it->offset != o || it->producer != producer || it->sequence != sequence) {
      return false;
    }
  }
  return true;
}

void Broker::CatchUp() {
  while (next_failover_ < faults_.failovers.size() && created_ + faults_.failovers[next_failover_] <= runtime_.Now()) {
    Failover(created_ + faults_.failovers[next_failover_]);
    ++next_failover_;
  }
  if (faults_.compaction_interval.count() > 0 && runtime_.Now() >= next_compaction_) {
    Compact();
    while (next_compaction_ <= runtime_.Now()) next_compaction_ += faults_.compaction_interval;
  }
}

void Broker::Failover(TimePoint at) {
  // Evaluated lazily, but as of the failover's own time: what had replicated then.
  ++stats_.failovers;
  const Offset replicated = HighWatermarkAt(at);
  KVLOG_CHECK_LE(replicated, end_) << "failover: the replicated end is past the log's end";
  Offset new_end = replicated;
  if (faults_.unclean_election && faults_.unclean_max_loss > 0) {
    new_end -= static_cast<Offset>(Uniform(static_cast<uint64_t>(faults_.unclean_max_loss) + 1));
    Offset first = entries_.empty() ? end_ : entries_.front().offset;
    new_end = std::max(new_end, std::min(first, end_));
  }
  // Bounds: a failover loses at most what had not replicated plus, in an
  // unclean election, unclean_max_loss records; never records below the
  // log's start.
  KVLOG_CHECK_LE(new_end, replicated) << "failover grew the log";
  KVLOG_CHECK_GE(new_end, start_) << "failover truncated below the log's start";
  if (!faults_.unclean_election) KVLOG_CHECK_EQ(new_end, replicated) << "a clean failover lost replicated records";
  auto cut = std::lower_bound(entries_.begin(), entries_.end(), new_end,
                              [](const StoredEntry& e, Offset o) { return e.offset < o; });
  stats_.truncated_records += entries_.end() - cut;
  entries_.erase(cut, entries_.end());
  std::erase_if(compacted_, [&](const StoredEntry& e) { return e.offset >= new_end; });
  // The new leader knows nothing of appends it does not hold.
  std::erase_if(last_append_, [&](const auto& p) { return !p.second.second.empty() && p.second.second.back() >= new_end; });
  end_ = std::min(end_, new_end);
  failover_ends_.push_back(end_);
  NotifyAllWaiters();
}

void Broker::DeleteRecordsBefore(Offset offset) {
  std::unique_lock lock(*mu_);
  CatchUp();
  offset = std::min(offset, HighWatermark());
  if (offset <= start_) return;
  auto cut = std::lower_bound(entries_.begin(), entries_.end(), offset,
                              [](const StoredEntry& e, Offset o) { return e.offset < o; });
  stats_.deleted_records += cut - entries_.begin();
  compacted_.insert(compacted_.end(), std::make_move_iterator(entries_.begin()), std::make_move_iterator(cut));
  compacted_sorted_ = false;
  entries_.erase(entries_.begin(), cut);
  start_ = offset;
  NotifyAllWaiters();
}

Offset Broker::start_offset() {
  std::unique_lock lock(*mu_);
  CatchUp();
  return start_;
}

void Broker::Compact() {
  // Only the replicated prefix is compacted, as Kafka leaves the active tail,
  // and of it only records older than min_compaction_lag.
  const TimePoint now = runtime_.Now();
  Offset hwm = HighWatermark();
  auto young = std::partition_point(entries_.begin(), entries_.end(), [&](const StoredEntry& e) {
    return e.committed_at + faults_.min_compaction_lag <= now;
  });
  if (young != entries_.end()) hwm = std::min(hwm, young->offset);
  const auto limit = std::lower_bound(entries_.begin(), entries_.end(), hwm,
                                      [](const StoredEntry& e, Offset o) { return e.offset < o; });
  const auto candidates = static_cast<std::size_t>(limit - entries_.begin());
  if (candidates == 0) return;
  // Decide first (the keys are borrowed from the entries), then move.
  std::unordered_map<std::string_view, Offset> latest;
  latest.reserve(candidates);
  for (auto it = entries_.begin(); it != limit; ++it) {
    if (it->record) latest[it->record->key] = it->offset;
  }
  std::vector<bool> drop(candidates, false);
  bool any = false;
  for (std::size_t i = 0; i < candidates; ++i) {
    const StoredEntry& e = entries_[i];
    if (!e.record) continue;
    if (latest.find(e.record->key)->second != e.offset ||
        (e.record->is_tombstone() && e.committed_at + faults_.tombstone_retention <= now)) {
      drop[i] = true;
      any = true;
    }
  }
  if (!any) return;
  std::size_t out = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i < candidates && drop[i]) {
      ++stats_.compacted_records;
      compacted_.push_back(std::move(entries_[i]));
      compacted_sorted_ = false;
    } else {
      if (out != i) entries_[out] = std::move(entries_[i]);
      ++out;
    }
  }
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(out), entries_.end());
}

void Broker::VisitLogAsWritten(const std::function<void(const StoredEntry&)>& visit) {
  std::unique_lock lock(*mu_);
  CatchUp();
  if (!compacted_sorted_) {
    // Offsets are unique: compaction removes an entry once.
    std::sort(compacted_.begin(), compacted_.end(),
              [](const StoredEntry& a, const StoredEntry& b) { return a.offset < b.offset; });
    compacted_sorted_ = true;
  }
  auto a = entries_.begin();
  auto b = compacted_.begin();
  while (a != entries_.end() || b != compacted_.end()) {
    if (b == compacted_.end() || (a != entries_.end() && !(b->offset < a->offset))) {
      visit(*a++);
    } else {
      visit(*b++);
    }
  }
}

std::vector<StoredEntry> Broker::LogAsWritten() {
  std::vector<StoredEntry> all;
  VisitLogAsWritten([&](const StoredEntry& e) { all.push_back(e); });
  return all;
}

std::vector<StoredEntry> Broker::Entries() {
  std::unique_lock lock(*mu_);
  CatchUp();
  return entries_;
}

Offset Broker::end_offset() {
  std::unique_lock lock(*mu_);
  CatchUp();
  return HighWatermark();
}

BrokerStats Broker::stats() {
  std::unique_lock lock(*mu_);
  CatchUp();
  return stats_;
}

}  // namespace kvlog::log::sim
