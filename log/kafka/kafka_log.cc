#include "log/kafka/kafka_log.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "base/check.h"
#include "log/kafka/rdkafka_util.h"

namespace kvlog::log::kafka {

using internal::BaseConf;
using internal::HandleContext;
using internal::HandlePtr;
using internal::KafkaError;
using internal::NewHandle;

namespace {

// EnsureTopic's work on a handle the caller made: an admin handle of its own,
// or the log's producer (OpenKafkaLog: one connection and metadata exchange
// fewer on every open).
// *created (if given) tells whether it created the topic.
// `leader`, when given, receives partition 0's leader as "host:port" (empty
// when the metadata named none).
Status EnsureTopicOn(rd_kafka_t* rk, const KafkaOptions& options, bool* created = nullptr,
                     std::string* leader = nullptr);

using Clock = std::chrono::steady_clock;

// How often the producer's poller serves delivery reports when idle, and how
// often a blocked Poll checks for Close.
constexpr int kPollerIntervalMs = 50;
constexpr int kCloseCheckIntervalMs = 50;
// The producer's queue, in messages (queue.buffering.max.messages). An append
// that finds it full fails with kUnavailable naming the property.
constexpr int kMaxQueuedMessages = 1'000'000;
// Between end-offset queries that met a transient error (a moved leader).
constexpr auto kEndOffsetRetryInterval = std::chrono::milliseconds(50);
// Entries a Poll makes room for up front, at least (more when more are
// queued): a replay polls full batches, and growing from empty copied every
// entry several times; a lone record does not pay for a full batch.
constexpr std::size_t kInitialPollCapacity = 64;
// How long Close waits for librdkafka to hand back purged messages.
constexpr int kCloseDrainMs = 5'000;
// How long the poller lifts linger.ms for a lone append (rd_kafka_flush's
// timeout): long enough for the producer's broker thread to wake and send it;
// waiting for the acknowledgement is not needed.
constexpr int kLoneAppendFlushMs = 1;
// How long after an append that overlapped another the log keeps lingering
// even for lone appends: writers that overlap now and then (a few blocking
// writers) batch far better with the linger, and lost 40 % of their
// throughput to sending at once (4 writers on KRaft, quiet machine); a writer
// alone for this long is a lone writer.
constexpr auto kOverlapMemory = std::chrono::milliseconds(200);
// How many times a log replaces a producer that hit a fatal error (an
// idempotent producer whose sequence the partition's new leader refused)
// before it gives up and fails every append with kInternal.
constexpr int kMaxProducerReplacements = 16;
// Between metadata attempts while a freshly created topic propagates.
constexpr auto kMetadataRetryInterval = std::chrono::milliseconds(100);
// How long a topic may look missing before we believe it: brokers learn of a
// topic created a moment ago one by one.
constexpr auto kMissingTopicGrace = std::chrono::milliseconds(1'000);

int ToMillis(std::chrono::nanoseconds d) {
  if (d <= std::chrono::nanoseconds::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::min<int64_t>(ms, INT32_MAX));
}

std::string Ms(std::chrono::milliseconds d) { return fmt::format("{} ms", d.count()); }

// A reader's consumer handle with partition 0 started at `from`, and the
// context its callbacks use (which must outlive it).
//
// Messages are taken from the handle's consumer queue in batches
// (rd_kafka_consume_batch_queue) into `taken`; taken[next, end) are still to
// be read. One rd_kafka_consumer_poll per record cost ~20 % more of the
// process's CPU per record consumed (raw consume of 100 K and 1 M records on
// KRaft: 0.42 to 0.47 us per record polled one by one, 0.34 to 0.38 in
// batches).
//
// The partition is read with librdkafka's simple consumer (consume_start on
// a queue of the reader's own), not assign(): assign() needs a group.id, and
// a group makes the handle send FindCoordinator and open a connection to the
// group's coordinator beside the bootstrap and the leader's, none of which a
// reader that never commits uses (a restart's first fetch waited behind them).
struct ReaderHandle {
  std::unique_ptr<HandleContext> context;
  HandlePtr consumer;
  rd_kafka_topic_t* topic = nullptr;  // Partition 0 started on it; released by CloseReaderHandle.
  rd_kafka_queue_t* queue = nullptr;  // Where the partition's messages go; released by CloseReaderHandle.
  std::vector<rd_kafka_message_t*> taken;
  std::size_t next = 0;
};

// Messages one batch call takes at most.
constexpr std::size_t kTakeBatch = 1'024;

// The next message or event of the handle, or nullptr if none came within
// `wait_ms`. Like rd_kafka_consumer_poll, it waits only while nothing is
// queued: a batch call waits until its batch is full, so the queue is first
// drained without waiting, and only an empty queue is waited on, for one
// message (a lone record is not held back).
rd_kafka_message_t* TakeMessage(ReaderHandle& handle, int wait_ms) {
  if (handle.next < handle.taken.size()) return handle.taken[handle.next++];
  handle.taken.resize(kTakeBatch);
  ssize_t n = rd_kafka_consume_batch_queue(handle.queue, 0, handle.taken.data(), kTakeBatch);
  if (n == 0 && wait_ms > 0) n = rd_kafka_consume_batch_queue(handle.queue, wait_ms, handle.taken.data(), 1);
  handle.taken.resize(static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
  handle.next = 0;
  if (handle.taken.empty()) return nullptr;
  return handle.taken[handle.next++];
}

// A reconnect hint is used only when it names one of `brokers` (a
// "host:port" entry, or "scheme://host:port"): it then only chooses which of
// the brokers the caller trusts is asked first, as librdkafka would at
// random. A hint from elsewhere (a store restored beside another cluster,
// whose old leader may still answer for the same topic) would point the
// reader at another cluster than the producer's.
bool UsableBrokerHint(std::string_view hint, std::string_view brokers) {
  if (hint.empty()) return false;
  while (!brokers.empty()) {
    const std::size_t comma = brokers.find(',');
    std::string_view entry = brokers.substr(0, comma);
    brokers = comma == std::string_view::npos ? std::string_view() : brokers.substr(comma + 1);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (const std::size_t scheme = entry.find("://"); scheme != std::string_view::npos) {
      entry.remove_prefix(scheme + 3);
    }
    if (entry == hint) return true;
  }
  return false;
}

// `first_broker` (one of options.brokers, see UsableBrokerHint): the handle's first
// connection goes there; the brokers of `options` are added right after, as
// the fallback when it does not answer.
Result<ReaderHandle> NewReaderHandle(const KafkaOptions& options, const ReadOptions& read_options,
                                     std::string_view first_broker = {}) {
  auto context = std::make_unique<HandleContext>();
  context->logger = options.logger;
  KafkaProperties properties = ReaderProperties(options);
  if (!first_broker.empty()) {
    // After the defaults, before the caller's consumer_properties.
    const auto at = properties.end() - static_cast<std::ptrdiff_t>(options.consumer_properties.size());
    properties.insert(at, {"bootstrap.servers", std::string(first_broker)});
  }
  if (read_options.probe) {
    // One record is wanted: ask the broker for one record batch per fetch
    // (a fetch returns at least one whole batch whatever the limit). A
    // restart's probe of a 1 M-record topic fetched and queued 1 MB it never
    // read. Not queued.min.messages=1 as well (which stopped the fetching
    // after that batch): a probe opened a few milliseconds before its first
    // Poll (the client opens it beside its early reader) then waited about
    // a second for its record in most restarts on KRaft (librdkafka 2.0.2;
    // 6 of 6 and 4 of 4 restarts stalled, 0 of 16 without it). A probe lives
    // for one record, so the batches it fetches meanwhile are few.
    // After the defaults, before the caller's consumer_properties (the
    // last setting wins), which ReaderProperties puts at the end.
    const auto at = properties.end() - static_cast<std::ptrdiff_t>(options.consumer_properties.size());
    // librdkafka wants fetch.max.bytes >= message.max.bytes (the largest
    // request this handle sends: a consumer's are small).
    properties.insert(at, {{"message.max.bytes", "1000"},
                           {"fetch.max.bytes", "1000"},
                           {"max.partition.fetch.bytes", "1"}});
  }
  auto conf = BaseConf(options, context.get(), properties);
  KVLOG_RETURN_IF_ERROR(conf);
  auto handle = NewHandle(RD_KAFKA_CONSUMER, std::move(*conf), "consumer");
  KVLOG_RETURN_IF_ERROR(handle);
  // rd_kafka_new chose its bootstrap broker for the first connection among
  // those it was given (at random: among all brokers, a restart's first
  // fetch waited for a second connection, to the leader, two times in
  // three); the others are known from here on, so a first broker that is
  // down costs a reconnection, not the handle.
  if (!first_broker.empty()) rd_kafka_brokers_add(handle->get(), options.brokers.c_str());
  return ReaderHandle{std::move(context), std::move(*handle)};
}

// Starts partition 0 at `from` on a handle NewReaderHandle made (once: see
// KafkaReader's invariant), into a queue of its own.
Status StartReaderHandle(ReaderHandle& reader, const KafkaOptions& options, Offset from) {
  reader.topic = rd_kafka_topic_new(reader.consumer.get(), options.topic.c_str(), nullptr);
  if (reader.topic == nullptr) {
    return std::unexpected(KafkaError(rd_kafka_last_error(), "cannot open topic handle", options));
  }
  reader.queue = rd_kafka_queue_new(reader.consumer.get());
  // An absolute offset, 0 included: a log whose start has moved past it is
  // reported by the first Poll (kDataLoss), not silently skipped.
  if (rd_kafka_consume_start_queue(reader.topic, 0, std::max<Offset>(from, 0), reader.queue) == -1) {
    const rd_kafka_resp_err_t err = rd_kafka_last_error();
    rd_kafka_queue_destroy(reader.queue);
    reader.queue = nullptr;
    rd_kafka_topic_destroy(reader.topic);
    reader.topic = nullptr;
    return std::unexpected(KafkaError(err, "cannot start reading partition 0", options));
  }
  return OkStatus();
}

// A reader's handle: NewReaderHandle, then StartReaderHandle.
Result<ReaderHandle> OpenReaderHandle(const KafkaOptions& options, const ReadOptions& read_options, Offset from) {
  Result<ReaderHandle> reader = NewReaderHandle(options, read_options);
  KVLOG_RETURN_IF_ERROR(reader);
  KVLOG_RETURN_IF_ERROR(StartReaderHandle(*reader, options, from));
  return reader;
}

// Closes a reader's handle: the messages it still holds are released first
// (rd_kafka_destroy waits for every message of its handle), then its one stop
// and its queue; librdkafka's threads are joined before the context goes.
void CloseReaderHandle(ReaderHandle& handle) {
  if (handle.consumer == nullptr) return;
  for (; handle.next < handle.taken.size(); ++handle.next) rd_kafka_message_destroy(handle.taken[handle.next]);
  handle.taken.clear();
  handle.next = 0;
  if (handle.topic != nullptr) {
    rd_kafka_consume_stop(handle.topic, 0);  // Also drops what the partition still queued.
    rd_kafka_topic_destroy(handle.topic);
    handle.topic = nullptr;
  }
  if (handle.queue != nullptr) rd_kafka_queue_destroy(handle.queue);
  handle.queue = nullptr;
  handle.consumer.reset();
  handle.context.reset();
}

// Reads partition 0 from a starting offset with its own consumer handle.
//
// Invariant: position_ only increases; every entry Poll returned has an offset
// below it. It moves past a returned record and to the end offset a
// partition-EOF event reports, which steps over gaps at the end of the log.
//
// Invariant: a handle's partition is started once (when the handle is made)
// and stopped once (when it is closed), never restarted. (Kept from when
// readers used assign(), which the simple consumer replaced:) librdkafka 2.0.2
// stops a partition on every assignment change, and a second change before
// the first stop completed (a reassign, then a close at once: a start-up
// replay that found its records deleted and failed) sent a second stop for the
// same partition, whose reply tripped `rktp->rktp_started` in
// rd_kafka_assignment_partition_stopped and aborted the process (librdkafka
// issue 5573). A reader that must move where a handle's fetching stopped (an
// offset out of range) therefore closes that handle and opens a new one.
class KafkaReader final : public LogReader {
 public:
  KafkaReader(KafkaOptions options, const ReadOptions& read_options, ReaderHandle handle, Offset from)
      : options_(std::move(options)),
        read_options_(read_options),
        handle_(std::move(handle)),
        position_(std::max<Offset>(from, 0)) {}

  ~KafkaReader() override {
    Close();
    std::lock_guard<std::mutex> lock(poll_mu_);  // Wait out a Poll in progress.
    CloseReaderHandle(handle_);
  }

  Result<std::vector<LogEntry>> Poll(std::size_t max_entries, Duration timeout) override {
    std::lock_guard<std::mutex> lock(poll_mu_);
    if (handle_.consumer == nullptr) {
      // A replacement handle could not be made (Reopen): try again now.
      if (closed_.load()) return MakeError(ErrorCode::kClosed, "reader of topic '" + options_.topic + "' is closed");
      if (Status reopened = Reopen(position_.load()); !reopened) return std::unexpected(reopened.error());
    }
    std::vector<LogEntry> out;
    // Room for what is queued already (a catch-up's full polls: growing
    // from kInitialPollCapacity moved each entry about twice), at least for
    // kInitialPollCapacity.
    const std::size_t queued = handle_.taken.size() - handle_.next +
                               (handle_.queue != nullptr ? rd_kafka_queue_length(handle_.queue) : 0);
    out.reserve(std::min(max_entries, std::max(queued, kInitialPollCapacity)));
    const auto deadline = Clock::now() + timeout;
    const Offset start_position = position_.load();
    while (out.size() < max_entries) {
      if (closed_.load()) {
        if (out.empty()) return MakeError(ErrorCode::kClosed, "reader of topic '" + options_.topic + "' is closed");
        break;
      }
      int wait_ms = 0;
      if (out.empty()) {
        if (position_.load() != start_position) break;  // Stepped over a gap: let the caller look.
        wait_ms = std::min(kCloseCheckIntervalMs, ToMillis(deadline - Clock::now()));
      }
      rd_kafka_message_t* raw = TakeMessage(handle_, wait_ms);
      if (raw == nullptr) {
        if (!out.empty() || Clock::now() >= deadline) break;
        continue;
      }
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(raw, rd_kafka_message_destroy);
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        Advance(msg->offset);
        continue;
      }
      if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
        // auto.offset.reset=error: the position is outside the log. Never
        // moved silently (librdkafka's default would reset it to the start).
        // The event is released first: a message holds its handle, whose
        // destruction (Reopen) would wait for it forever.
        msg.reset();
        if (!out.empty()) {
          (void)Reopen(position_.load());  // Fetching stopped; the caller polls again.
          break;
        }
        return std::unexpected(OutOfRange());
      }
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        Error error = KafkaError(msg->err, "reading partition 0", options_);
        if (!out.empty()) break;  // Hand over what arrived; the error may recur.
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL) return std::unexpected(Error(ErrorCode::kInternal, error.message()));
        // Anything else (a broker down, a topic not yet in metadata) librdkafka
        // retries by itself; the caller may poll again.
        return MakeError(ErrorCode::kUnavailable, error.message());
      }
      if (msg->partition != 0 || msg->offset < position_.load()) continue;  // Not ours, or a re-fetch.
      truncation_reported_at_ = kNoOffset;
      out.push_back(Decode(*msg));
      Advance(msg->offset + 1);
    }
    return out;
  }

  Offset Position() const override { return position_.load(); }

  // librdkafka keeps the high watermark of each fetch response for the
  // partition (rd_kafka_get_watermark_offsets: a cached value, no request).
  // The handle only fetched since this reader started it, so the value is
  // from a fetch issued after the reader opened. A Poll in progress holds the
  // handle (it may replace it): then this cannot tell.
  std::optional<Offset> KnownEnd() const override {
    std::unique_lock<std::mutex> lock(poll_mu_, std::try_to_lock);
    if (!lock.owns_lock() || handle_.consumer == nullptr) return std::nullopt;
    int64_t low = RD_KAFKA_OFFSET_INVALID, high = RD_KAFKA_OFFSET_INVALID;
    if (rd_kafka_get_watermark_offsets(handle_.consumer.get(), options_.topic.c_str(), 0, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      return std::nullopt;  // No fetch answered yet (or its answer was an error, which carries none).
    }
    return high;
  }

  void Close() override { closed_.store(true); }

 private:
  // Restarts fetching at `offset` (librdkafka stops a partition whose
  // offset was out of range when auto.offset.reset is "error") with a new
  // handle, never a restart (the class invariant). Under poll_mu_. If
  // the new handle cannot be made, the reader has none and the next Poll
  // tries again.
  Status Reopen(Offset offset) {
    CloseReaderHandle(handle_);
    Result<ReaderHandle> handle = OpenReaderHandle(options_, read_options_, offset);
    if (!handle) {
      if (options_.logger) {
        options_.logger(KafkaLogLevel::kError, fmt::format("reader of topic '{}' cannot resume at offset {}: {}",
                                                           options_.topic, offset, handle.error().ToString()));
      }
      return std::unexpected(Error(ErrorCode::kUnavailable,
                                   fmt::format("reader of topic '{}' cannot resume at offset {}: {}", options_.topic,
                                               offset, handle.error().message())));
    }
    handle_ = std::move(*handle);
    return OkStatus();
  }

  // The broker said the reader's position is not in the log. Below the log's
  // start (retention, DeleteRecords, the mock's size cap), the records up to
  // it are gone: move there and report kDataLoss. Above its end, the log was
  // truncated under the reader (an unclean election): report kDataLoss once,
  // stay, and resume once the log grows past the position again.
  Error OutOfRange() {
    const Offset position = position_.load();
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(handle_.consumer.get(), options_.topic.c_str(), 0, &low,
                                                               &high, static_cast<int>(options_.admin_timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)Reopen(position);
      return KafkaError(
          err, fmt::format("reader at offset {} is outside the log, and its bounds could not be read", position),
          options_);
    }
    if (position < low) {
      Advance(low);
      (void)Reopen(low);
      return Error(ErrorCode::kDataLoss,
                   fmt::format("records of topic '{0}' at [{1}, {2}) were deleted before this reader read them (the "
                               "log's start moved: retention, DeleteRecords); it continues from offset {2}",
                               options_.topic, position, low));
    }
    (void)Reopen(position);
    if (position > high && truncation_reported_at_ != position) {
      truncation_reported_at_ = position;
      return Error(ErrorCode::kDataLoss,
                   fmt::format("the log of topic '{}' ends at offset {}, below this reader's position {} (truncated: "
                               "an unclean leader election): records it returned are gone, and new records there "
                               "will not be read",
                               options_.topic, high, position));
    }
    return Error(ErrorCode::kUnavailable,
                 fmt::format("reader of topic '{}' at offset {} waits for the log (now [{}, {})) to reach it",
                             options_.topic, position, low, high));
  }

  void Advance(Offset to) {
    Offset cur = position_.load();
    while (to > cur && !position_.compare_exchange_weak(cur, to)) {
    }
  }

  LogEntry Decode(const rd_kafka_message_t& msg) const {
    LogEntry entry;
    entry.offset = msg.offset;
    if (msg.key == nullptr) {
      entry.record =
          MakeError(ErrorCode::kCorrupt, fmt::format("record at offset {} of topic '{}' has no key", msg.offset,
                                                     options_.topic));
      return entry;
    }
    Record record;
    record.key.assign(static_cast<const char*>(msg.key), msg.key_len);
    if (msg.payload != nullptr) record.value.emplace(static_cast<const char*>(msg.payload), msg.len);
    rd_kafka_headers_t* headers = nullptr;
    if (read_options_.WantHeaders() && rd_kafka_message_headers(&msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        headers != nullptr) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      record.headers.reserve(rd_kafka_header_cnt(headers));
      for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        Header h;
        h.key = name;
        if (value != nullptr) h.value.assign(static_cast<const char*>(value), size);
        record.headers.push_back(std::move(h));
      }
    }
    entry.record = std::move(record);
    return entry;
  }

  const KafkaOptions options_;
  const ReadOptions read_options_;
  mutable std::mutex poll_mu_;  // One Poll at a time; the destructor waits for it.
  ReaderHandle handle_;  // Guarded by poll_mu_. No consumer: a Reopen failed.
  std::atomic<Offset> position_;
  std::atomic<bool> closed_{false};
  Offset truncation_reported_at_ = kNoOffset;  // Guarded by poll_mu_.
};

// Invariants:
//  - Every Append's callback runs exactly once: from a delivery report (on the
//    poller thread, or on Close's thread while it drains), from Append itself
//    when nothing was enqueued, or from Close with kClosed.
//  - An op in inflight_ has finished == false; finishing removes it, under mu_.
//  - An op is freed by its last delivery report, or by Append when none of its
//    records was enqueued; nothing else frees or outlives it.
//  - After Close returns the poller is joined and every op is finished, so no
//    callback runs again.
//  - Without defer_producer a producer exists once Create returns; with it,
//    once PrepareAppends's thread or the first Append or EndOffset made it.
//    Nothing is produced before the topic check passed.
//  - Appends go to the newest producer. A producer that hit a fatal error is
//    retired, never used again, and kept (its reports still come through the
//    poller) until the log is destroyed; at most kMaxProducerReplacements.
class KafkaLog final : public Log {
 public:
  static Result<std::unique_ptr<KafkaLog>> Create(const KafkaOptions& options) {
    std::unique_ptr<KafkaLog> log(new KafkaLog(options));
    {
      // A property librdkafka refuses fails the open at once, before any
      // connection (the producer is made beside the topic check, below).
      HandleContext context{options.logger};
      KVLOG_RETURN_IF_ERROR(BaseConf(options, &context, ProducerProperties(options)));
    }
    // Both handles are made at once, the producer on a second thread:
    // rd_kafka_new waits for the handle's own threads to start (0.5 to 11 ms
    // on a loaded machine), and each handle's chain (a bootstrap connection
    // and metadata; then the producer's id and the leader's connection for
    // the end-offset query, the reader's leader connection for its first
    // fetch) should start at once, not one handle after the other.
    // With defer_producer the producer waits for PrepareAppends or the first
    // append (EnsureProducer), unless it must answer the topic check.
    Result<std::unique_ptr<Producer>> producer = MakeError(ErrorCode::kInternal, "no producer made");
    std::jthread maker;
    if (!options.defer_producer) maker = std::jthread([&log, &producer] { producer = log->NewProducer(); });
    // The first reader's consumer handle, not started: the first OpenReader
    // that is not a probe starts it (its connection overlaps whatever the
    // caller does before, such as opening a store). Not made: the first
    // reader makes its own.
    std::string_view hint;
    if (UsableBrokerHint(options.reconnect_hint, options.brokers)) hint = options.reconnect_hint;
    if (Result<ReaderHandle> spare = NewReaderHandle(options, ReadOptions{}, hint)) {
      log->spare_reader_ = std::make_unique<ReaderHandle>(std::move(*spare));
      // Started before the check: its leader query rides on the handle's
      // first metadata request, and the leader's connection is made while the
      // check's answer comes.
      if (options.first_read_offset &&
          StartReaderHandle(*log->spare_reader_, options, *options.first_read_offset)) {
        log->spare_from_ = *options.first_read_offset;
      }
    }
    // The topic is checked (and created if asked) through the reader's handle
    // (the producer's without one): its metadata then serves the check and
    // the reader, which knows the partition's leader as soon as it is
    // started. Nothing is produced before the check passed.
    bool created = false;
    Status checked = OkStatus();
    if (log->spare_reader_ != nullptr) {
      checked = EnsureTopicOn(log->spare_reader_->consumer.get(), options, &created, &log->leader_);
      if (!options.defer_producer) {
        maker.join();
        KVLOG_RETURN_IF_ERROR(producer);
      }
    } else {
      if (options.defer_producer) {
        producer = log->NewProducer();
      } else {
        maker.join();
      }
      KVLOG_RETURN_IF_ERROR(producer);
      checked = EnsureTopicOn((*producer)->handle.get(), options, &created, &log->leader_);
    }
    KVLOG_RETURN_IF_ERROR(checked);
    if (created) {
      // Both handles learned of the topic as missing. The first reader makes
      // a handle that learns of it; and the producer is made again: on KRaft
      // (librdkafka 2.0.2) the one that saw the topic missing failed the first
      // appends with _UNKNOWN_PARTITION although its metadata then showed the
      // partition (kraft_test's compaction case, which creates its topic).
      if (log->spare_reader_ != nullptr) {
        CloseReaderHandle(*log->spare_reader_);
        log->spare_reader_.reset();
      }
      if (producer) {
        producer->reset();
        producer = log->NewProducer();
        KVLOG_RETURN_IF_ERROR(producer);
      }
    }
    if (producer) log->Install(std::move(*producer));
    return log;
  }

  ~KafkaLog() override {
    Close();
    Shutdown();  // Again, in case Close ran inside an append callback and left it.
    if (spare_reader_ != nullptr) CloseReaderHandle(*spare_reader_);
    producers_.clear();  // Joins librdkafka's threads before their contexts go.
    if (reports_fd_ >= 0) ::close(reports_fd_);
    if (lone_fd_ >= 0) ::close(lone_fd_);
  }

  void Append(std::span<const Record> records, AppendCallback done) override {
    if (records.empty()) {
      done(std::vector<Offset>{});
      return;
    }
    if (Status ready = EnsureProducer(); !ready) {
      done(std::unexpected(ready.error().code() == ErrorCode::kClosed
                               ? Error(ErrorCode::kClosed,
                                       "append to topic '" + options_.topic + "' after the log was closed")
                               : ready.error()));
      return;
    }
    // One allocation per append: the op carries its offsets and the
    // per-message references librdkafka hands back.
    auto op = std::make_unique<AppendOp>();
    op->done = std::move(done);
    op->refs.assign(records.size(), MessageRef{op.get(), kNoOffset});
    op->remaining = records.size();
    std::optional<Error> immediate;
    bool lone = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      if (!inflight_.empty()) last_overlap_ = now;
      lone = inflight_.empty() && now - last_overlap_ > kOverlapMemory;
      if (closed_) {
        immediate = Error(ErrorCode::kClosed, "append to topic '" + options_.topic + "' after the log was closed");
      } else if (auto fresh = ReplaceProducerIfFatal(); !fresh) {
        immediate = fresh.error();
        op->remaining = 0;
      } else {
        inflight_.insert(op.get());
        for (std::size_t i = 0; i < records.size(); ++i) {
          auto err = Produce(records[i], &op->refs[i]);
          // Turned fatal since the check above: once more on a new producer.
          if (err == RD_KAFKA_RESP_ERR__FATAL && ReplaceProducerIfFatal()) err = Produce(records[i], &op->refs[i]);
          if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            std::string what = fmt::format("cannot enqueue record {} of {}", i, records.size());
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) what += " (producer queue full: queue.buffering.max.messages)";
            op->error = KafkaError(err, what, options_);
            op->remaining -= records.size() - i;
            break;
          }
        }
        if (op->remaining == 0) {
          op->finished = true;
          inflight_.erase(op.get());
          immediate = *op->error;
        } else {
          // Its enqueued messages own it now; the last delivery report frees it.
          op.release();
        }
      }
    }
    if (immediate) {
      op->done(std::unexpected(*immediate));
    } else if (lone && options_.send_lone_appends_at_once) {
      Signal(lone_fd_);
    }
  }

  std::string Name() const override { return options_.topic; }
  std::string ReconnectHint() const override { return leader_; }

  bool HasProducer() const {
    return producer_ready_.load(std::memory_order_acquire) || made_in_background_done_.load(std::memory_order_acquire);
  }

  void PrepareAppends() override {
    if (producer_ready_.load(std::memory_order_acquire)) return;
    std::lock_guard<std::mutex> start_lock(producer_start_mu_);
    if (producer_ready_.load(std::memory_order_relaxed) || producer_maker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
    }
    producer_maker_ = std::thread([this] {
      made_in_background_ = NewProducer();
      made_in_background_done_.store(made_in_background_.has_value(), std::memory_order_release);
    });
  }

  Status RaiseFatalProducerError(std::string_view reason) {
    KVLOG_RETURN_IF_ERROR(EnsureProducer());
    std::lock_guard<std::mutex> lock(mu_);
    const std::string text(reason);
    rd_kafka_resp_err_t err = rd_kafka_test_fatal_error(current_->handle.get(),
                                                        RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, text.c_str());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(KafkaError(err, "cannot raise a fatal error", options_));
    return {};
  }

  using Log::OpenReader;
  Result<std::unique_ptr<LogReader>> OpenReader(Offset from, const ReadOptions& read_options) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return MakeError(ErrorCode::kClosed, "log of topic '" + options_.topic + "' is closed");
    }
    std::unique_ptr<ReaderHandle> spare;
    if (!read_options.probe) {
      std::lock_guard<std::mutex> lock(mu_);
      spare = std::move(spare_reader_);
    }
    if (spare != nullptr && spare->topic != nullptr && spare_from_ != from) {
      CloseReaderHandle(*spare);  // Started elsewhere (first_read_offset): never restarted.
      spare.reset();
    }
    Result<ReaderHandle> handle = spare == nullptr ? OpenReaderHandle(options_, read_options, from)
                                                   : [&]() -> Result<ReaderHandle> {
      if (spare->topic != nullptr) return std::move(*spare);
      if (Status started = StartReaderHandle(*spare, options_, from); !started) {
        CloseReaderHandle(*spare);
        return std::unexpected(started.error());
      }
      return std::move(*spare);
    }();
    KVLOG_RETURN_IF_ERROR(handle);
    return std::unique_ptr<LogReader>(new KafkaReader(options_, read_options, std::move(*handle), from));
  }

  Result<Offset> EndOffset(Duration timeout) override {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_) return MakeError(ErrorCode::kClosed, "log of topic '" + options_.topic + "' is closed");
      }
      KVLOG_RETURN_IF_ERROR(EnsureProducer());
      rd_kafka_t* producer = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        producer = current_->handle.get();
      }
      int64_t low = 0, high = 0;
      rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(producer, options_.topic.c_str(), 0, &low,
                                                                 &high, std::max(1, ToMillis(deadline - Clock::now())));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return high;
      // A moved leader, a broker coming back, or a topic created a moment ago
      // that this handle's metadata does not show yet: ask again.
      const bool transient = internal::CodeFor(err) == ErrorCode::kUnavailable ||
                             err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                             err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      if (!transient || Clock::now() + kEndOffsetRetryInterval >= deadline) {
        return std::unexpected(KafkaError(
            err, fmt::format("cannot read the end offset within {} ms", ToMillis(timeout)), options_));
      }
      std::this_thread::sleep_for(kEndOffsetRetryInterval);
    }
  }

  void Close() override {
    std::lock_guard<std::mutex> close_lock(close_mu_);
    {
      // Under producer_start_mu_: no producer is being installed meanwhile,
      // and none is after closed_ is set.
      std::lock_guard<std::mutex> start_lock(producer_start_mu_);
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    if (producer_maker_.joinable()) {
      producer_maker_.join();
      made_in_background_ = MakeError(ErrorCode::kClosed, "closed");  // Never installed: destroyed here.
    }
    stop_poller_.store(true);
    Signal(lone_fd_);  // Wakes the poller from poll(2) at once.
    // Inside an append callback the poller cannot join itself: it stops when
    // the callback returns, and the destructor finishes the shut-down.
    if (std::this_thread::get_id() == poller_.get_id()) return;
    Shutdown();
  }

 private:
  struct AppendOp;
  // One per enqueued message, in record order; librdkafka hands it back in the
  // delivery report, which fills in the offset (under mu_).
  struct MessageRef {
    AppendOp* op = nullptr;
    Offset offset = kNoOffset;
  };
  // Owned by its enqueued messages once Append returns: the delivery report
  // that brings `remaining` to zero frees it. Guarded by mu_ from the first
  // Produce on.
  struct AppendOp {
    AppendCallback done;
    absl::InlinedVector<MessageRef, 1> refs;  // Never resized after the first Produce.
    std::size_t remaining = 0;  // Delivery reports still to come.
    std::optional<Error> error;  // The first failure among the records.
    bool finished = false;
  };

  // One librdkafka producer with its topic handle. Its context names it, so
  // a delivery report knows which producer it came from.
  struct Producer {
    KafkaLog* log = nullptr;
    HandleContext context;
    HandlePtr handle;
    rd_kafka_topic_t* topic = nullptr;
    bool retired = false;  // Guarded by the log's mu_.
    ~Producer() {
      if (topic != nullptr) rd_kafka_topic_destroy(topic);
      handle.reset();  // Joins librdkafka's threads before context goes.
    }
  };

  explicit KafkaLog(const KafkaOptions& options)
      : options_(options),
        reports_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
        lone_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  static void Signal(int fd) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, sizeof one);  // Only fails when already signalled.
  }
  static bool Drain(int fd) {
    uint64_t count = 0;
    return ::read(fd, &count, sizeof count) == static_cast<ssize_t>(sizeof count);
  }

  Result<std::unique_ptr<Producer>> NewProducer() {
    auto producer = std::make_unique<Producer>();
    producer->context.logger = options_.logger;
    producer->context.owner = producer.get();
    producer->log = this;
    auto conf = BaseConf(options_, &producer->context, ProducerProperties(options_));
    KVLOG_RETURN_IF_ERROR(conf);
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaLog::OnDelivery);
    auto handle = NewHandle(RD_KAFKA_PRODUCER, std::move(*conf), "producer");
    KVLOG_RETURN_IF_ERROR(handle);
    producer->handle = std::move(*handle);
    producer->topic = rd_kafka_topic_new(producer->handle.get(), options_.topic.c_str(), nullptr);
    if (producer->topic == nullptr) {
      return std::unexpected(KafkaError(rd_kafka_last_error(), "cannot open topic handle", options_));
    }
    // The poller sleeps in poll(2) on this and on lone_fd_: librdkafka writes
    // to it when a delivery report arrives in an empty queue.
    if (reports_fd_ < 0 || lone_fd_ < 0) {
      return MakeError(ErrorCode::kInternal, std::string("cannot create an eventfd for the producer's poller: ") +
                                                 std::strerror(errno));
    }
    rd_kafka_queue_t* reports = rd_kafka_queue_get_main(producer->handle.get());
    static constexpr uint64_t kPayload = 1;  // An eventfd takes 8-byte writes only.
    rd_kafka_queue_io_event_enable(reports, reports_fd_, &kPayload, sizeof kPayload);
    rd_kafka_queue_destroy(reports);
    return producer;
  }

  // Called with mu_ held. librdkafka's idempotent producer raises a fatal
  // error when the partition's leader refuses its sequence (a leader that
  // lost records it had taken, KIP-360's unrecoverable cases); after that the
  // handle refuses every produce, and its documented remedy is a new handle.
  // The retired handle's queued and in-flight messages are purged: their
  // reports come back through the poller as kUnavailable ("may or may not
  // have committed"), never as success.
  Status ReplaceProducerIfFatal() {
    char reason[512] = "";
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(current_->handle.get(), reason, sizeof reason);
    if (fatal == RD_KAFKA_RESP_ERR_NO_ERROR) return {};
    if (replacements_ >= kMaxProducerReplacements) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("the producer for topic '{}' failed fatally {} times (limit {} replacements); "
                                   "last: {} ({})",
                                   options_.topic, replacements_ + 1, kMaxProducerReplacements, reason,
                                   rd_kafka_err2name(fatal)));
    }
    auto fresh = NewProducer();
    KVLOG_RETURN_IF_ERROR(fresh);
    if (options_.logger) {
      options_.logger(LogLevel::kWarning, std::string("kafka: producer hit a fatal error, replaced with a new one: ") +
                                              reason + " (" + rd_kafka_err2name(fatal) + ")");
    }
    current_->retired = true;
    rd_kafka_purge(current_->handle.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                                               RD_KAFKA_PURGE_F_NON_BLOCKING);
    ++replacements_;
    current_ = fresh->get();
    std::lock_guard<std::mutex> handles_lock(handles_mu_);
    producers_.push_back(std::move(*fresh));
    return {};
  }

  // Makes `producer` the current one and starts the poller. Once, by Create
  // or under producer_start_mu_.
  void Install(std::unique_ptr<Producer> producer) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = producer.get();
    }
    {
      std::lock_guard<std::mutex> lock(handles_mu_);
      producers_.push_back(std::move(producer));
    }
    poller_ = std::thread([this] { PollLoop(); });
    producer_ready_.store(true, std::memory_order_release);
  }

  // OK once a current producer exists: made here, or by PrepareAppends's
  // thread (waited for). A failure goes to this caller; the next tries again.
  Status EnsureProducer() {
    if (producer_ready_.load(std::memory_order_acquire)) return {};
    std::lock_guard<std::mutex> start_lock(producer_start_mu_);
    if (producer_ready_.load(std::memory_order_relaxed)) return {};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return MakeError(ErrorCode::kClosed, "log of topic '" + options_.topic + "' is closed");
    }
    Result<std::unique_ptr<Producer>> made = MakeError(ErrorCode::kInternal, "no producer made");
    if (producer_maker_.joinable()) {
      producer_maker_.join();
      made = std::move(made_in_background_);
      made_in_background_ = MakeError(ErrorCode::kInternal, "no producer made");
    } else {
      made = NewProducer();
    }
    KVLOG_RETURN_IF_ERROR(made);
    Install(std::move(*made));
    return {};
  }

  // After closed_ is set: joins the poller, fails what is still in flight with
  // kClosed, and hands back what librdkafka still holds (its delivery reports
  // find their ops finished). Idempotent.
  void Shutdown() {
    if (poller_.joinable() && std::this_thread::get_id() != poller_.get_id()) poller_.join();
    // Only the callbacks leave the lock: the ops stay with their messages,
    // whose purged delivery reports free them.
    std::vector<AppendCallback> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (AppendOp* op : inflight_) {
        op->finished = true;
        pending.push_back(std::move(op->done));
      }
      inflight_.clear();
    }
    for (AppendCallback& done : pending) {
      done(MakeError(ErrorCode::kClosed, "log of topic '" + options_.topic +
                                                 "' closed with the append in flight; it may or may not have "
                                                 "committed"));
    }
    // Create failed before a producer existed, or the poller is gone: nothing
    // else touches producers_ now.
    for (const auto& producer : producers_) {
      rd_kafka_purge(producer->handle.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(producer->handle.get(), kCloseDrainMs);
    }
  }

  // Called with mu_ held.
  rd_kafka_resp_err_t Produce(const Record& record, MessageRef* ref) {
    rd_kafka_headers_t* headers = nullptr;
    if (!record.headers.empty()) {
      headers = rd_kafka_headers_new(record.headers.size());
      for (const Header& h : record.headers) {
        rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                            static_cast<ssize_t>(h.value.size()));
      }
    }
    const void* value = record.value ? record.value->data() : nullptr;
    const size_t value_len = record.value ? record.value->size() : 0;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        current_->handle.get(), RD_KAFKA_V_RKT(current_->topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(record.key.data(), record.key.size()), RD_KAFKA_V_VALUE(const_cast<void*>(value), value_len),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(ref), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
    }
    return err;
  }

  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
    auto* producer = static_cast<Producer*>(static_cast<HandleContext*>(opaque)->owner);
    producer->log->Deliver(*producer, *msg);
  }

  // A delivery failure of a fatal (or retired) producer: whatever librdkafka
  // says (_FATAL, or _PURGE_* from the purge that follows a fatal error), the
  // message may have been written by the leader that refused the sequence
  // afterwards, so the outcome is unknown, and a retry goes to the new
  // producer.
  Error RetiredFailure(const Producer& producer, rd_kafka_resp_err_t err) {
    char reason[512] = "";
    const rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(producer.handle.get(), reason, sizeof reason);
    return Error(ErrorCode::kUnavailable,
                 "append not acknowledged: its producer hit a fatal error (" + std::string(reason) + ", " +
                     rd_kafka_err2name(fatal) + ") and was replaced; the record may or may not have been written (" +
                     rd_kafka_err2name(err) + "; brokers " + options_.brokers + ", topic '" + options_.topic + "')");
  }

  void Deliver(const Producer& producer, const rd_kafka_message_t& msg) {
    auto* ref = static_cast<MessageRef*>(msg._private);
    std::unique_ptr<AppendOp> last_report;  // Frees the op after its callback ran.
    AppendCallback done;
    std::optional<AppendResult> result;
    {
      std::lock_guard<std::mutex> lock(mu_);
      AppendOp& op = *ref->op;
      // Per-append bookkeeping: one delivery report per enqueued message, so
      // an op is reported at most `refs.size()` times and each message once.
      KVLOG_CHECK_GT(op.remaining, 0u) << "a delivery report for an append that had all of its reports";
      KVLOG_CHECK(ref >= op.refs.data() && ref < op.refs.data() + op.refs.size())
          << "a delivery report whose message is not its append's";
      KVLOG_CHECK_EQ(ref->offset, kNoOffset) << "a message delivered twice";
      if (msg.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // librdkafka purges a producer's queue itself when it turns fatal, so
        // the report may come before the log has retired it.
        char unused[8];
        const bool fatal = producer.retired || msg.err == RD_KAFKA_RESP_ERR__FATAL ||
                           rd_kafka_fatal_error(producer.handle.get(), unused, sizeof unused) !=
                               RD_KAFKA_RESP_ERR_NO_ERROR;
        if (!op.error) {
          op.error = fatal ? RetiredFailure(producer, msg.err) : KafkaError(msg.err, "append not acknowledged", options_);
        }
      } else {
        ref->offset = msg.offset;
      }
      if (--op.remaining == 0) {
        last_report.reset(&op);
        if (!op.finished) {
          op.finished = true;
          KVLOG_CHECK_EQ(inflight_.erase(&op), 1u) << "an unfinished append was not in flight";
          done = std::move(op.done);
          if (op.error) {
            result.emplace(std::unexpected(*op.error));
          } else {
            std::vector<Offset> offsets;
            offsets.reserve(op.refs.size());
            for (const MessageRef& r : op.refs) offsets.push_back(r.offset);
            result.emplace(std::move(offsets));
          }
        }
      }
    }
    if (done) done(std::move(*result));
  }

  // Serves the producers' delivery reports, the newest producer's as they
  // arrive (librdkafka signals reports_fd_) and a retired one's at least every
  // kPollerIntervalMs; and lifts linger.ms briefly when an append found none
  // other in flight (lone_fd_), so that a lone append is sent at once.
  void PollLoop() {
    std::vector<rd_kafka_t*> handles;
    while (!stop_poller_.load()) {
      pollfd fds[2] = {{.fd = reports_fd_, .events = POLLIN, .revents = 0},
                       {.fd = lone_fd_, .events = POLLIN, .revents = 0}};
      ::poll(fds, 2, kPollerIntervalMs);
      {
        std::lock_guard<std::mutex> lock(handles_mu_);
        handles.clear();
        for (const auto& producer : producers_) handles.push_back(producer->handle.get());
      }
      // Reset before serving: a report that lands after the drain signals
      // again.
      Drain(reports_fd_);
      if (Drain(lone_fd_) && rd_kafka_outq_len(handles.back()) > 0) {
        rd_kafka_flush(handles.back(), kLoneAppendFlushMs);  // Serves reports too.
      }
      for (rd_kafka_t* handle : handles) rd_kafka_poll(handle, 0);
    }
  }

  const KafkaOptions options_;
  std::mutex handles_mu_;  // Guards producers_ against the poller while one is added.
  std::vector<std::unique_ptr<Producer>> producers_;  // Oldest first; the last is current_.
  Producer* current_ = nullptr;                       // Guarded by mu_.
  int replacements_ = 0;                              // Guarded by mu_.
  std::thread poller_;  // Started with the first producer (Install).
  std::atomic<bool> stop_poller_{false};
  // A deferred producer (KafkaOptions::defer_producer): producer_ready_ once
  // Install ran; producer_maker_ makes one into made_in_background_ after
  // PrepareAppends. Lock order: producer_start_mu_, then mu_, then
  // handles_mu_.
  std::atomic<bool> producer_ready_{false};
  std::mutex producer_start_mu_;
  std::thread producer_maker_;                                   // Guarded by producer_start_mu_.
  Result<std::unique_ptr<Producer>> made_in_background_ =        // Written by producer_maker_; read
      MakeError(ErrorCode::kInternal, "no producer made");       // after joining it.
  std::atomic<bool> made_in_background_done_{false};             // For testing::HasProducer.
  const int reports_fd_;  // Written by librdkafka when a delivery report arrives.
  const int lone_fd_;     // Written by Append when it found nothing else in flight.

  std::mutex close_mu_;  // Serialises Close, so a second caller returns only when the first is done.
  std::mutex mu_;
  bool closed_ = false;                                                  // Guarded by mu_.
  // The first non-probe reader's handle, made by Create and not yet started
  // (unless at first_read_offset); null once taken (or never made). Guarded
  // by mu_.
  std::unique_ptr<ReaderHandle> spare_reader_;
  Offset spare_from_ = kNoOffset;  // Where spare_reader_ started, if it did. Set by Create only.
  // Partition 0's leader when the topic was checked ("host:port", or empty):
  // ReconnectHint. Set by Create only.
  std::string leader_;
  Clock::time_point last_overlap_{};  // The last append that found another in flight. Guarded by mu_.
  absl::flat_hash_set<AppendOp*> inflight_;  // Unfinished ops. Guarded by mu_.
};

// A short-lived producer handle for admin requests and metadata.
Result<HandlePtr> AdminHandle(const KafkaOptions& options, HandleContext* context) {
  auto conf = BaseConf(options, context, {{"allow.auto.create.topics", "false"}});
  KVLOG_RETURN_IF_ERROR(conf);
  return NewHandle(RD_KAFKA_PRODUCER, std::move(*conf), "admin client");
}

// Partition 0's leader in a metadata answer, as "host:port"; empty when the
// answer names none (an election in progress) or not its address.
std::string LeaderOfPartitionZero(const rd_kafka_metadata_t& md, const rd_kafka_metadata_topic_t& topic) {
  for (int p = 0; p < topic.partition_cnt; ++p) {
    if (topic.partitions[p].id != 0 || topic.partitions[p].leader < 0) continue;
    for (int b = 0; b < md.broker_cnt; ++b) {
      if (md.brokers[b].id == topic.partitions[p].leader && md.brokers[b].host != nullptr) {
        return fmt::format("{}:{}", md.brokers[b].host, md.brokers[b].port);
      }
    }
  }
  return {};
}

// The partition count, or kFailedPrecondition if the topic does not exist.
// Retries until `deadline` while the brokers do not answer, and while the topic
// is missing until `missing_deadline` (brokers learn of a new topic one by one).
// `leader`, when given, receives partition 0's leader as "host:port" (empty
// when the answer named none).
Result<int> PartitionCount(rd_kafka_t* rk, const KafkaOptions& options, Clock::time_point deadline,
                           Clock::time_point missing_deadline, std::string* leader = nullptr) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, options.topic.c_str(), nullptr);
  if (rkt == nullptr) return std::unexpected(KafkaError(rd_kafka_last_error(), "cannot open topic handle", options));
  std::optional<Error> last;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    int wait_ms = std::max(1, ToMillis(deadline - Clock::now()));
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, wait_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last = KafkaError(err, "cannot reach Kafka for metadata within " + Ms(options.admin_timeout) + " (admin_timeout)",
                        options);
      if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        last = Error(ErrorCode::kUnavailable, last->message());
      }
    } else {
      std::optional<int> count;
      rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (options.topic == md->topics[i].topic) {
          topic_err = md->topics[i].err;
          if (topic_err == RD_KAFKA_RESP_ERR_NO_ERROR) count = md->topics[i].partition_cnt;
          if (leader != nullptr) *leader = LeaderOfPartitionZero(*md, md->topics[i]);
        }
      }
      rd_kafka_metadata_destroy(md);
      if (count) {
        rd_kafka_topic_destroy(rkt);
        return *count;
      }
      last = Error(ErrorCode::kFailedPrecondition,
                   "topic '" + options.topic + "' does not exist on brokers " + options.brokers + " (" +
                       rd_kafka_err2str(topic_err) + ")");
      if (Clock::now() >= missing_deadline) break;
    }
    if (Clock::now() + kMetadataRetryInterval >= deadline) break;
    std::this_thread::sleep_for(kMetadataRetryInterval);
  }
  rd_kafka_topic_destroy(rkt);
  return std::unexpected(*last);
}

// CreateTopics with one partition; "already exists" is success. A cluster
// without the CreateTopics API (the librdkafka mock) sets `unsupported` and
// returns success, leaving the verdict to the partition-count check.
Status CreateTopic(rd_kafka_t* rk, const KafkaOptions& options, bool* unsupported) {
  char errstr[512];
  *unsupported = false;
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(options.topic.c_str(), 1, options.replication_factor, errstr, sizeof(errstr));
  if (topic == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot describe topic '" + options.topic + "': " + errstr);
  }
  for (const auto& [name, value] : options.topic_configs) {
    rd_kafka_NewTopic_set_config(topic, name.c_str(), value.c_str());
  }
  rd_kafka_AdminOptions_t* admin_options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  const int timeout_ms = static_cast<int>(options.admin_timeout.count());
  rd_kafka_AdminOptions_set_request_timeout(admin_options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_operation_timeout(admin_options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &topic, 1, admin_options, queue);
  // The request times out by itself; the slack only covers scheduling.
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 2'000);
  Status status = OkStatus();
  if (event == nullptr) {
    status = MakeError(ErrorCode::kUnavailable, "cannot reach Kafka at " + options.brokers + " to create topic '" +
                                                    options.topic + "' within " + Ms(options.admin_timeout) +
                                                    " (admin_timeout)");
  } else if (rd_kafka_resp_err_t err = rd_kafka_event_error(event); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) {
      *unsupported = true;
    } else {
      Error e = KafkaError(err, "cannot create topic '" + options.topic + "' within " + Ms(options.admin_timeout) +
                                    " (admin_timeout)", options);
      if (e.code() == ErrorCode::kTimeout) e = Error(ErrorCode::kUnavailable, e.message());
      status = std::unexpected(e);
    }
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    for (size_t i = 0; i < count; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
      const char* why = rd_kafka_topic_result_error_string(results[i]);
      status = MakeError(internal::CodeFor(err) == ErrorCode::kInternal ? ErrorCode::kFailedPrecondition
                                                                        : internal::CodeFor(err),
                         fmt::format("cannot create topic '{}' with 1 partition and {}: {}", options.topic,
                                     options.replication_factor == kBrokerDefaultReplicationFactor
                                         ? std::string("the broker's default replication factor (-1; Kafka 2.4 or "
                                                       "later)")
                                         : fmt::format("replication factor {}", options.replication_factor),
                                     why ? why : rd_kafka_err2str(err)));
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(admin_options);
  rd_kafka_NewTopic_destroy(topic);
  return status;
}

}  // namespace

KafkaLogger StderrKafkaLogger() { return StderrLogger("kafka: "); }

Result<int> TopicPartitionCount(const KafkaOptions& options) {
  HandleContext context{options.logger};
  auto rk = AdminHandle(options, &context);
  KVLOG_RETURN_IF_ERROR(rk);
  const auto now = Clock::now();
  return PartitionCount(rk->get(), options, now + options.admin_timeout, now + kMissingTopicGrace);
}

Status EnsureTopic(const KafkaOptions& options) {
  HandleContext context{options.logger};
  auto rk = AdminHandle(options, &context);
  KVLOG_RETURN_IF_ERROR(rk);
  return EnsureTopicOn(rk->get(), options);
}

namespace {

Status EnsureTopicOn(rd_kafka_t* rk, const KafkaOptions& options, bool* created_topic, std::string* leader) {
  if (created_topic != nullptr) *created_topic = false;
  // Look first: an existing topic needs no CreateTopics (nor the rights to it).
  auto now = Clock::now();
  auto count = PartitionCount(rk, options, now + options.admin_timeout, now + kMissingTopicGrace, leader);
  if (!count && count.error().code() == ErrorCode::kFailedPrecondition && options.create_topic) {
    bool unsupported = false;
    Status created = CreateTopic(rk, options, &unsupported);
    if (!created || unsupported) {
      // The brokers answered metadata, so they are reachable: they did not create it.
      std::string why = unsupported ? "the cluster has no CreateTopics API (the librdkafka mock has none)"
                                    : created.error().message();
      ErrorCode code = ErrorCode::kFailedPrecondition;
      if (!created && created.error().code() == ErrorCode::kInvalidArgument) code = ErrorCode::kInvalidArgument;
      return MakeError(code, "topic '" + options.topic + "' does not exist and was not created: " + why);
    }
    if (created_topic != nullptr) *created_topic = true;
    now = Clock::now();
    count = PartitionCount(rk, options, now + options.admin_timeout, now + options.admin_timeout, leader);
  }
  KVLOG_RETURN_IF_ERROR(count);
  if (*count != 1) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("topic '{}' has {} partitions; kvlog needs exactly 1 so that every client reads "
                                 "one total order",
                                 options.topic, *count));
  }
  return OkStatus();
}

}  // namespace

Status DeleteTopic(const KafkaOptions& options) {
  HandleContext context{options.logger};
  auto rk = AdminHandle(options, &context);
  KVLOG_RETURN_IF_ERROR(rk);
  const std::string where = "topic '" + options.topic + "' on " + options.brokers;
  char errstr[512];
  rd_kafka_DeleteTopic_t* topic = rd_kafka_DeleteTopic_new(options.topic.c_str());
  rd_kafka_AdminOptions_t* admin_options = rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_DELETETOPICS);
  const int timeout_ms = static_cast<int>(options.admin_timeout.count());
  rd_kafka_AdminOptions_set_request_timeout(admin_options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_operation_timeout(admin_options, timeout_ms, errstr, sizeof(errstr));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk->get());
  rd_kafka_DeleteTopics(rk->get(), &topic, 1, admin_options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, timeout_ms + 2'000);
  Status status = OkStatus();
  const auto refused = [&](rd_kafka_resp_err_t err, const char* why) {
    ErrorCode code = internal::CodeFor(err);
    if (code == ErrorCode::kTimeout || err == RD_KAFKA_RESP_ERR__TRANSPORT) code = ErrorCode::kUnavailable;
    if (code != ErrorCode::kUnavailable) code = ErrorCode::kFailedPrecondition;
    return MakeError(code, "cannot delete " + where + ": " + (why ? why : rd_kafka_err2str(err)));
  };
  if (event == nullptr) {
    status = MakeError(ErrorCode::kUnavailable,
                       "cannot reach Kafka to delete " + where + " within " + Ms(options.admin_timeout) +
                           " (admin_timeout)");
  } else if (rd_kafka_resp_err_t err = rd_kafka_event_error(event); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = refused(err, rd_kafka_event_error_string(event));
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count);
    for (size_t i = 0; i < count; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
      status = refused(err, rd_kafka_topic_result_error_string(results[i]));
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(admin_options);
  rd_kafka_DeleteTopic_destroy(topic);
  return status;
}

KafkaProperties ProducerProperties(const KafkaOptions& options) {
  KafkaProperties props = {
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", std::to_string(options.linger.count())},
      {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
      {"request.timeout.ms", std::to_string(options.request_timeout.count())},
      {"allow.auto.create.topics", "false"},
      // Room for the largest batch kv allows (Limits::max_batch_records)
      // several times over; librdkafka's default is 100,000.
      {"queue.buffering.max.messages", std::to_string(kMaxQueuedMessages)},
  };
  props.insert(props.end(), options.producer_properties.begin(), options.producer_properties.end());
  return props;
}

KafkaProperties ReaderProperties(const KafkaOptions& options) {
  KafkaProperties props = {
      // No group.id: nothing is committed (ReaderHandle).
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      // A position outside the log is an error the reader reports (kDataLoss)
      // instead of a silent jump to the log's start.
      {"auto.offset.reset", "error"},
      {"allow.auto.create.topics", "false"},
      {"fetch.wait.max.ms", std::to_string(options.fetch_wait_max.count())},
      {"fetch.error.backoff.ms", std::to_string(options.fetch_error_backoff.count())},
      {"fetch.min.bytes", "1"},
      // librdkafka 2.0 stops fetching a partition whose local queue holds
      // queued.min.messages (default 100,000) and is slow to start again once
      // the queue drains: a replaying applier that trails the fetcher for a
      // moment then sat idle most of the time (1 M-record replay on KRaft:
      // 132 K records/s at the default, 467 K at 1,000,000). The queue is
      // still bounded by queued.max.messages.kbytes (64 MB by default).
      {"queued.min.messages", "1000000"},
  };
  props.insert(props.end(), options.consumer_properties.begin(), options.consumer_properties.end());
  return props;
}

Status CheckProducerSafety(const KafkaOptions& options) {
  // What the producer ends up with: the later setting wins, as in BaseConf.
  std::string acks = "all", acks_name = "acks", idempotence = "true";
  KafkaProperties effective = ProducerProperties(options);
  effective.insert(effective.end(), options.properties.begin(), options.properties.end());
  for (const auto& [name, value] : effective) {
    if (name == "acks" || name == "request.required.acks") {
      acks = value;
      acks_name = name;
    }
    if (name == "enable.idempotence") idempotence = value;
  }
  std::string lower = idempotence;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool acks_all = acks == "all" || acks == "-1";
  const bool idempotent = lower != "false" && lower != "0";
  if ((acks_all && idempotent) || options.allow_unsafe_acks) return OkStatus();
  std::string what = !acks_all ? acks_name + "=" + acks : "enable.idempotence=" + idempotence;
  return MakeError(ErrorCode::kFailedPrecondition,
                   "producer setting " + what + " for topic '" + options.topic +
                       "' can lose acknowledged writes (a leader failover drops them; retries without idempotence "
                       "duplicate them); kvlog needs acks=all and enable.idempotence=true. Set "
                       "KafkaOptions::allow_unsafe_acks to run with it anyway (lost writes then fail with DataLoss "
                       "where the client sees them)");
}

Status testing::RaiseFatalProducerError(Log& log, std::string_view reason) {
  auto* kafka = dynamic_cast<KafkaLog*>(&log);
  if (kafka == nullptr) return MakeError(ErrorCode::kInvalidArgument, "log '" + log.Name() + "' is not a Kafka log");
  return kafka->RaiseFatalProducerError(reason);
}

bool testing::HasProducer(const Log& log) {
  const auto* kafka = dynamic_cast<const KafkaLog*>(&log);
  return kafka != nullptr && kafka->HasProducer();
}

Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaOptions& options) {
  KVLOG_RETURN_IF_ERROR(CheckProducerSafety(options));
  // Create checks the topic (EnsureTopic) on the first reader's handle (the
  // producer's without one).
  auto log = KafkaLog::Create(options);
  KVLOG_RETURN_IF_ERROR(log);
  return std::unique_ptr<Log>(std::move(*log));
}

}  // namespace kvlog::log::kafka
