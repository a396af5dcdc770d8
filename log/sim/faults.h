// The simulated log's fault knobs. Every fault is off by default, and named faults
// that set them are listed in sim/fault_registry.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvlog::log::sim {

using Duration = std::chrono::nanoseconds;

// [start, start + length), measured from the broker's creation.
struct Window {
  Duration start{0};
  Duration length{0};
  bool Contains(Duration t) const { return t >= start && t < start + length; }
};

enum class Acks {
  kAll,     // Acknowledge after replication: a failover loses nothing acknowledged.
  kLeader,  // acks=1: acknowledge on the leader's write; a failover can lose it.
};

struct BrokerFaults {
  // Each append commits after latency + uniform [0, jitter).
  Duration append_latency{0};
  Duration append_jitter{0};

  // The record commits but its acknowledgement is lost; the producer retries
  // after retry_backoff. With an idempotent producer the retry is recognised
  // and answered with the first offsets; without, it commits a duplicate.
  double lost_ack_probability = 0;
  bool idempotent_producer = true;

  // The append fails and does not commit.
  double failed_append_probability = 0;

  // The broker is unreachable: appends wait (retrying) and fail after
  // delivery_timeout; polls return nothing; EndOffset fails kUnavailable.
  std::vector<Window> outages;

  // Replication: a record becomes readable (below the high watermark)
  // replication_delay after it commits on the leader.
  Acks acks = Acks::kAll;
  Duration replication_delay{0};

  // At each of these times the leader fails over. The new leader's log ends at
  // the high watermark: the unreplicated tail is truncated. With an unclean
  // election it ends up to unclean_max_loss records below the high watermark,
  // losing records readers may already have applied.
  std::vector<Duration> failovers;
  bool unclean_election = false;
  int64_t unclean_max_loss = 3;

  // Every compaction_interval, records superseded by a later record of the
  // same key are removed, and tombstones older than tombstone_retention too.
  // Only records committed at least min_compaction_lag ago are touched (Kafka's
  // min.compaction.lag.ms). A reader lagging more than that can skip a removed
  // record before it reaches the one that superseded it, and see a state that
  // was never a prefix of the log: kvlog needs this lag above its readers' lag.
  Duration compaction_interval{0};
  Duration min_compaction_lag{0};
  Duration tombstone_retention = std::chrono::hours(24);

  // A committed record is stored damaged: every reader gets kCorrupt for it.
  double corrupt_probability = 0;

  Duration retry_backoff = std::chrono::milliseconds(100);
  Duration delivery_timeout = std::chrono::seconds(30);
};

// Faults of one client's connection.
struct ConnectionFaults {
  // The reader sees a record only this long after it became readable.
  Duration reader_lag{0};
  // The reader returns nothing during these windows.
  std::vector<Window> reader_pauses;
  // The client is cut off from the log during these windows (a network
  // partition between it and the brokers): its appends wait (and fail after
  // delivery_timeout, as in an outage), its readers return nothing and
  // EndOffset waits or fails kUnavailable. Other connections go on.
  std::vector<Window> partitions;
  // A slow applier (a slow on_set hook, a slow disk): a poll that returns n
  // records returns n * this later; the records are the applier's, not yet
  // applied, meanwhile.
  Duration delivery_delay_per_record{0};
  // A stalled applier (a hook blocked on I/O): a poll called during one of
  // these windows blocks until the window ends, whatever its timeout, then
  // polls as usual; the client applies nothing meanwhile.
  std::vector<Window> applier_stalls;
};

// The end of the window of `windows` that contains t, if one does.
std::optional<Duration> WindowEnd(const std::vector<Window>& windows, Duration t);

// The names of these faults, and which are safe, are the fault registry's
// (sim/fault_registry.h), which sets these knobs.

}  // namespace kvlog::log::sim
