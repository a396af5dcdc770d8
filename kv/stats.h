// What a kv::Client reports about itself (Client::Stats), and the Prometheus
// text exposition of it. The library runs no server: a program that wants a
// /metrics endpoint serves PrometheusText(client.Stats()) itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kv/watch.h"
#include "log/record.h"

namespace kvlog::kv {

struct ClientStats {
  std::string client_id;
  // Everything below it is applied.
  log::Offset applied_position = 0;
  // The log's end offset and how many records the applier is behind it;
  // only when StatsOptions::end_offset asked for them (a round trip to the log).
  std::optional<log::Offset> end_offset;
  std::optional<int64_t> lag_records;

  // The applier, since Open (the start-up replay included).
  uint64_t records_applied = 0;  // Log entries read (commands count once).
  uint64_t bytes_applied = 0;    // Keys and values of the changes applied.
  uint64_t sets_applied = 0;     // Changes that set a value.
  uint64_t deletes_applied = 0;  // Tombstones (also a transaction's deletes).
  uint64_t keys = 0;             // Keys in the store now.

  // This client's calls.
  uint64_t gets = 0;    // Local key reads (MultiGet counts each key).
  uint64_t hits = 0;    // ... that found a value.
  uint64_t misses = 0;  // ... that did not.
  // Writes handed to the log (sync and async); a write refused before that
  // (invalid, cancelled, closed, at max_writes_in_flight) is not counted.
  uint64_t puts = 0;       // Puts appended (batch records included).
  uint64_t deletes = 0;    // Deletes appended (likewise).
  uint64_t commands = 0;   // Conditional writes, transactions, atomic batches, expiries appended.
  uint64_t conditional_failures = 0;  // Of those, decided false where the log put them.
  uint64_t writes_in_flight = 0;      // Started, not yet finished.
  uint64_t max_writes_in_flight = 0;  // ClientOptions::max_writes_in_flight (0: no limit).
  uint64_t writes_refused_at_limit = 0;  // Async writes failed with kResourceExhausted at that limit.
  uint64_t writes_waited_at_limit = 0;   // Writes that found the limit reached and waited for a slot.

  // Trouble.
  uint64_t corrupt_records = 0;   // Skipped by the applier (every replica skips them).
  uint64_t lost_writes = 0;       // Writes that failed with kDataLoss.
  uint64_t reader_data_loss = 0;  // Times the log lost records below the reader.

  // Watch.
  uint64_t watch_history_events = 0;
  Version oldest_watch_start = kNoVersion;  // WatchStart::After(this) is the oldest start served.
  std::vector<WatcherStats> watchers;
};

struct StatsOptions {
  // Also fetch the log's end offset (lag). Costs one request to the log.
  bool end_offset = false;
  // For that request: unset means ClientOptions::default_timeout; zero or
  // negative fails at once with kTimeout (as CallOptions::timeout).
  std::optional<std::chrono::nanoseconds> timeout;
};

// The Prometheus text exposition format (version 0.0.4): one family per
// figure, named kvlog_<figure> with HELP and TYPE lines, labelled with the
// client id (and the watcher id and key for the per-watcher lag).
std::string PrometheusText(const ClientStats& stats);

namespace internal {

// The client's counters. Relaxed atomics: each is exact, a snapshot of all
// of them is not one instant.
struct ClientCounters {
  std::atomic<uint64_t> records_applied{0};
  std::atomic<uint64_t> bytes_applied{0};
  std::atomic<uint64_t> sets_applied{0};
  std::atomic<uint64_t> deletes_applied{0};
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> puts{0};
  std::atomic<uint64_t> deletes{0};
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> conditional_failures{0};

  static void Add(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
};

}  // namespace internal
}  // namespace kvlog::kv
