// How a kv::Client is configured.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "log/logger.h"
#include "log/record.h"
#include "runtime/runtime.h"

namespace kvlog::kv {

// Limits on what one call may write. A write over a limit fails with
// kInvalidArgument naming the limit, and nothing is appended. The defaults keep
// one record well under Kafka's default 1,000,000-byte message.max.bytes.
struct Limits {
  static constexpr std::size_t kDefaultMaxKeyBytes = 16 * 1024;
  static constexpr std::size_t kDefaultMaxValueBytes = 900 * 1000;
  static constexpr std::size_t kDefaultMaxBatchRecords = 100'000;

  std::size_t max_key_bytes = kDefaultMaxKeyBytes;
  std::size_t max_value_bytes = kDefaultMaxValueBytes;
  std::size_t max_batch_records = kDefaultMaxBatchRecords;
};

// The one logger type of every layer (log/logger.h): the client's and the
// Kafka adapter's loggers are the same type.
using log::LogLevel;
using log::LogLevelName;
using log::Logger;

// Writes warnings and errors to stderr ("kvlog warning: ...").
Logger StderrLogger();

// Called on the client's applier for every record it applies, in log order,
// including during start-up replay; never skipped, never twice. A conditional
// write whose condition failed changes nothing and fires no hook; a
// transaction fires one hook per write of the branch it took, in order, all
// with the transaction's offset. A hook runs
// before the writer of that record is woken, and must not call back into the
// client's blocking methods.
using OnSet = std::function<void(std::string_view key, std::string_view value, log::Offset offset)>;
using OnDelete = std::function<void(std::string_view key, log::Offset offset)>;
// Called on the client's applier, on every replica alike, when a janitor's
// conditional tombstone removes an expired key: `expired_version` is the
// version that expired, `offset` the tombstone's (the key's OnDelete follows).
// The same rules as OnSet apply.
using OnExpire = std::function<void(std::string_view key, log::Offset expired_version, log::Offset offset)>;

struct ClientOptions {
  // Time, blocking and concurrency. Not owned; must outlive the client.
  Runtime* runtime = &Runtime::Real();

  // Names this client's records (the kvlog-writer header) and its messages.
  // Empty: "client-N", N counting clients made in this process.
  std::string client_id;

  Limits limits;

  // Deadline for a blocking call that does not set its own.
  std::chrono::nanoseconds default_timeout = std::chrono::seconds(30);
  // Deadline for Open's start-up replay.
  std::chrono::nanoseconds startup_timeout = std::chrono::seconds(60);
  // Cancels Open (as CallOptions::stop): requested before Open, it fails at
  // once with kCancelled; during the replay, it wakes Open, which closes the
  // client and fails with kCancelled. Not used once Open has returned.
  std::stop_token startup_stop;

  // The applier reads at most this many records per poll, and applies them to
  // storage as one batch.
  std::size_t max_poll_records = 10'000;
  // How long one poll waits for new records.
  std::chrono::nanoseconds poll_timeout = std::chrono::milliseconds(100);
  // Pause after a failed poll before the next.
  std::chrono::nanoseconds poll_error_backoff = std::chrono::milliseconds(100);

  // Add kvlog-writer and kvlog-seq headers to every record, so a history
  // checker can tell which call wrote it, and so this client can check that
  // the record the log acknowledged at a write's offset is the write's own
  // (kDataLoss otherwise). Off: writes are not checked; an acknowledged
  // offset is trusted.
  bool writer_headers = true;

  // Update(key, fn): how many conditional writes it tries before giving up
  // with kConflict, and the backoff between them (doubling, capped, with a
  // deterministic jitter of up to half the backoff).
  int update_max_attempts = 10;
  std::chrono::nanoseconds update_backoff = std::chrono::milliseconds(1);
  std::chrono::nanoseconds update_max_backoff = std::chrono::milliseconds(100);

  // The log may no longer hold records this client has not applied yet: its
  // start moved past the client's position (retention, DeleteRecords, the
  // librdkafka mock cluster's size cap). This is always logged as an error and
  // counted (Client::reader_data_loss()), and a pending write of this
  // client whose record was deleted fails with kDataLoss. At start-up it makes
  // Open fail with kDataLoss unless this is set; set, Open starts from the
  // log's start with the state the remaining records give. A client already
  // open moves to the log's start either way (its state then misses the
  // deleted records' effects).
  bool skip_deleted_records = false;

  // The watch history window (kv/watch.h): the changes the applier keeps so
  // a watch can start before its applied position (a resume, FromStart). The
  // oldest are dropped beyond either bound; a watch from before the window
  // fails with kCompacted. Zero: keep none (watches start now or later).
  std::size_t watch_history_events = 10'000;
  std::size_t watch_history_bytes = 16 << 20;
  // A durable store (Storage::Durable(), e.g. kv/rocksdb) that does not fit
  // this log: its position is past the log's end, it holds another log (the
  // log's name, or the record at its first offset, differ from what it
  // recorded), or the log's start moved past its position (records it never
  // applied were deleted; unless skip_deleted_records). Off: Open fails,
  // naming which (kFailedPrecondition; kDataLoss for deleted records),
  // and leaves the store as it is. On: Open empties the store (logging a
  // warning that says why) and replays the log from its start, as a new
  // replica would.
  bool rebuild_mismatched_store = false;

  Logger logger = StderrLogger();
  OnSet on_set;
  OnDelete on_delete;
  OnExpire on_expire;

  // The janitor (see the README, "TTL"): every janitor_interval, jittered to
  // between half and one and a half of it per client, this client appends a
  // conditional tombstone (delete if still at the expired version) for each
  // key whose deadline passed at least janitor_grace ago by its wall clock,
  // at most janitor_max_per_round per round. Zero interval: no janitor.
  std::chrono::nanoseconds janitor_interval = std::chrono::seconds(1);
  std::chrono::nanoseconds janitor_grace{0};
  std::size_t janitor_max_per_round = 1000;

  // Back-pressure: at most this many writes (one per call: a Put, a batch, a
  // transaction, a janitor's tombstone) may be in flight, started and not yet
  // finished, on this client at once; ClientStats::writes_in_flight counts
  // them. Zero: no limit. The default is ten times the most any workload here
  // keeps in flight (kv_bench's 10,000 pipelined PutAsync, where throughput
  // has long stopped growing) and a tenth of the Kafka adapter's producer
  // queue (1,000,000 messages), so it is reached before the producer's
  // queue-full error and bounds the client's own bookkeeping to tens of MB.
  //
  // At the limit, a blocking call (Put, Delete, PutIf, Update, Execute, a
  // transaction...) waits for a slot: it blocks anyway, and the wait counts
  // against its own timeout (kTimeout naming the limit when none freed;
  // nothing was appended; CallOptions::stop wakes it with kCancelled). An
  // async call (PutAsync, DeleteAsync, ExecuteAsync) does what
  // wait_for_write_slot says. Writes waiting for a slot take freed slots in
  // the order they began to wait; an async write that does not wait takes a
  // free slot at once even when others wait.
  static constexpr std::size_t kDefaultMaxWritesInFlight = 100'000;
  std::size_t max_writes_in_flight = kDefaultMaxWritesInFlight;
  // Off (the default): an async call at the limit fails at once, through its
  // callback, with kResourceExhausted naming the limit; nothing was appended.
  // The default because an async call promises not to block, and a callback
  // that issues the next write (the usual pipelining loop) runs on the client's
  // applier, which is what frees slots: blocking it there would stall the
  // client until the call's timeout. On: the async call blocks its caller
  // until a slot frees or the call's timeout passes (then kTimeout), as
  // Kafka's producer blocks in send() for max.block.ms; never issue one from a
  // write callback or a hook then.
  bool wait_for_write_slot = false;
};

// Per call: how long a blocking call may take.
struct CallOptions {
  // How long the call may take, as a Go context's deadline: unset means
  // ClientOptions::default_timeout; zero or negative is a deadline already
  // past, so the call fails at once with kTimeout and writes nothing.
  std::optional<std::chrono::nanoseconds> timeout;
  // When set, every record this call writes carries it in the kvlog-op
  // header, so a history can name the call that wrote a record.
  std::string op_id;
  // Put, PutAsync, PutIf, PutIfAbsent, Update: the value expires this long
  // after the writer's wall clock (Runtime::WallNow) at the call; the
  // deadline travels in the record. Zero: never expires. Negative, or set on
  // a call that writes no value: kInvalidArgument.
  std::chrono::nanoseconds ttl{0};
  // Cancels the call, as a Go context does: a stop requested before the call
  // fails it at once with kCancelled, writing nothing; a stop requested while
  // it blocks wakes it, and it fails with kCancelled (a write already handed
  // to the log may still take effect, as after kTimeout; the message says
  // so). A stop after the call returned changes nothing. Async writes
  // (PutAsync, ExecuteAsync) look at it only when they start, and while
  // they wait for a write slot (wait_for_write_slot).
  std::stop_token stop;
};

// How fresh a read must be. Each level is a promise about which writes the
// read reflects; the read waits (up to its timeout) until the promise holds,
// then reads local state, and fails with kTimeout if it cannot.
//
//  - Local (the default): the state this client has applied, at once, with
//    no network call. Reflects every write this client has seen succeed (read
//    your own writes) and never goes back in time on one client, but may miss
//    other clients' acknowledged writes: not linearizable.
//  - Bounded(max_lag): asks the log for its end offset E when the call
//    starts and reflects every record below E - max_lag: at most max_lag
//    records behind the log as it was when the read began.
//  - AtLeast(position): reflects every record at or below `position`, a
//    position token: the offset any write returns, which any client can hand
//    to any other (read-your-writes across clients). No network call.
//  - Linearizable: asks the log for its end offset E when the call starts and
//    reflects every record below E, so every write acknowledged (to any
//    client) before the read began. Costs one end-offset request plus the wait
//    for this client's applier to reach E.
struct ReadLevel {
  enum class Kind { kLocal, kBounded, kAtLeast, kLinearizable };
  Kind kind = Kind::kLocal;
  int64_t max_lag = 0;                   // kBounded: records.
  log::Offset position = log::kNoOffset;  // kAtLeast.

  static ReadLevel Local() { return {}; }
  static ReadLevel Bounded(int64_t max_lag_records) { return {Kind::kBounded, max_lag_records, log::kNoOffset}; }
  static ReadLevel AtLeast(log::Offset position) { return {Kind::kAtLeast, 0, position}; }
  static ReadLevel Linearizable() { return {Kind::kLinearizable, 0, log::kNoOffset}; }
  friend bool operator==(const ReadLevel&, const ReadLevel&) = default;
};

// "local", "bounded(5)", "at-least(42)", "linearizable".
std::string ReadLevelName(const ReadLevel& level);

// Per read call.
struct ReadOptions {
  ReadLevel level;
  // How long the read may wait for its level: unset means
  // ClientOptions::default_timeout; zero or negative is a deadline already
  // past (the read fails at once with kTimeout, even at ReadLevel::Local).
  std::optional<std::chrono::nanoseconds> timeout;
  // Cancels the read's wait (as CallOptions::stop): kCancelled.
  std::stop_token stop;
};

// Header keys written when ClientOptions::writer_headers is on.
inline constexpr std::string_view kWriterHeader = "kvlog-writer";
inline constexpr std::string_view kSeqHeader = "kvlog-seq";
// Header key for CallOptions::op_id.
inline constexpr std::string_view kOpHeader = "kvlog-op";

}  // namespace kvlog::kv
