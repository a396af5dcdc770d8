// The log seam: the only thing kvlog's client knows about Kafka. Two
// implementations exist: log/kafka (librdkafka) and log/sim (in-process,
// deterministic, with fault injection).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "log/record.h"
#include "log/status.h"

namespace kvlog::log {

using Duration = std::chrono::nanoseconds;

// One offset per appended record, in the order given, or why the append failed.
// A failed append may still have committed some or all records (an
// acknowledgement can be lost); callers treat its outcome as unknown.
using AppendResult = Result<std::vector<Offset>>;

// Called exactly once per Append. It may run before Append returns, or later on
// a thread (or fiber) the log owns; it must not block.
using AppendCallback = std::function<void(AppendResult)>;

// Reads the log in offset order from a starting offset.
//
// Invariant: Position() never decreases, and after Poll returns an entry at
// offset N, Position() > N. Position() may move past offsets that hold no
// record (gaps), so it is the only correct thing to wait on.
class LogReader {
 public:
  virtual ~LogReader() = default;

  // Returns up to `max_entries` entries at or after Position(), waiting at most
  // `timeout` for the first one. An empty vector means nothing arrived in time.
  // Errors: kClosed after Close(); kUnavailable when the log cannot be reached.
  virtual Result<std::vector<LogEntry>> Poll(std::size_t max_entries, Duration timeout) = 0;

  // The next offset this reader will return (or skip, if it is a gap).
  virtual Offset Position() const = 0;

  // The log's end (high watermark) as the reader's latest fetch saw it,
  // learned without a request of its own; nullopt when the reader has not
  // fetched yet or cannot tell (the default). A fetch issued after the reader
  // opened saw an end at least the log's end when it opened: ends only grow
  // (a lost tail aside, which a query would show alike). Thread-safe.
  virtual std::optional<Offset> KnownEnd() const { return std::nullopt; }

  // Makes a blocked and any later Poll return kClosed. Idempotent; thread-safe.
  virtual void Close() = 0;
};

// What a reader returns of each record.
struct ReadOptions {
  // Off: records come back without their headers. A reader that only applies
  // keys and values saves decoding and copying them (librdkafka parses a
  // record's headers only when asked).
  bool headers = true;
  // When set, it decides instead of `headers`, record by record: a reader
  // returns a record's headers when the switch is on at the moment it decodes
  // that record (also within a Poll in progress). The client's applier turns
  // it on only while it waits for writes of its own, whose identity it must
  // check, so a replay and a read-only client still skip the headers.
  std::shared_ptr<const std::atomic<bool>> headers_switch;
  // The caller reads one record and then closes the reader (a probe, such as
  // the client's check that a durable store belongs to this log): a reader
  // may fetch as little as one record instead of filling a replay's buffers.
  // Which records Poll returns does not change.
  bool probe = false;

  // Whether a record decoded now comes back with its headers.
  bool WantHeaders() const { return headers_switch ? headers_switch->load(std::memory_order_acquire) : headers; }
  // What a reader with these options returns for a stored record.
  Record Copy(const Record& stored) const { return WantHeaders() ? stored : Record{stored.key, stored.value, {}}; }
};

// One client's connection to a single-partition log. Thread-safe.
class Log {
 public:
  virtual ~Log() = default;

  // Appends `records` in order, keeping many appends in flight. The records are
  // copied before Append returns.
  virtual void Append(std::span<const Record> records, AppendCallback done) = 0;

  // A reader whose first Poll starts at `from` (clamped to the log's start).
  virtual Result<std::unique_ptr<LogReader>> OpenReader(Offset from, const ReadOptions& options) = 0;
  Result<std::unique_ptr<LogReader>> OpenReader(Offset from) { return OpenReader(from, ReadOptions{}); }

  // The offset the next appended record would get: the high watermark. Records
  // below it are committed and readable.
  virtual Result<Offset> EndOffset(Duration timeout) = 0;

  // Fails appends in flight and later calls with kClosed. Idempotent.
  virtual void Close() = 0;

  // The log's name (Kafka: the topic), which a durable store records to tell
  // logs apart. Empty: unnamed (the store then tells logs apart by their
  // first record only).
  virtual std::string Name() const { return {}; }

  // What lets this log's next opening, in a later process, reach the log
  // sooner (Kafka: the partition leader's address, see
  // KafkaOptions::reconnect_hint), as of its opening; empty if nothing. Opaque
  // to callers, who may keep it (kv::Client keeps it in a durable store) and
  // hand it back through the implementation's options. Only a hint: a stale
  // one costs time, never correctness.
  virtual std::string ReconnectHint() const { return {}; }

  // Says appends are coming: a log that makes its writer only when needed
  // (KafkaOptions::defer_producer) starts making it now, in the background.
  // Appends and EndOffset work without it (they make the writer and wait for
  // it). kv::Client::Open calls it once its start-up replay is done.
  virtual void PrepareAppends() {}
};

}  // namespace kvlog::log
