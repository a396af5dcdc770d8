// The librdkafka adapter: a log::Log over partition 0 of one Kafka topic.
//
//   kafka::KafkaOptions options;
//   options.brokers = "127.0.0.1:9092";
//   options.topic = "users";
//   auto log = kafka::OpenKafkaLog(options);      // ensures the topic first
//   (*log)->Append(records, [](log::AppendResult r) { ... });
//
// Appends go through one idempotent producer (acks=all); each append learns its
// offsets from the delivery reports. A producer that hits a fatal error (a new
// partition leader refusing its sequence) is replaced by a new one: the
// appends it held fail with kUnavailable (they may or may not have been
// written), later appends go to the new producer. Readers assign partition 0 directly (no
// consumer group) and track their position, the next offset to read, which
// also moves past gaps at the end of the log (compaction, control records).
// The topic must have exactly one partition: anything else is refused with
// kFailedPrecondition naming the topic and its partition count.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "log/log.h"
#include "log/logger.h"
#include "log/status.h"

namespace kvlog::log::kafka {

// Receives librdkafka's own log lines. Called on librdkafka's threads; must not
// block and must not call back into the log. The same types as the client's
// logger (log/logger.h): one function can serve both.
using KafkaLogLevel = LogLevel;
using KafkaLogger = Logger;

// Writes warnings and errors to stderr ("kafka: warning: ...").
KafkaLogger StderrKafkaLogger();

// Raw librdkafka configuration properties, applied after kvlog's own settings
// (so they override them), e.g. {"security.protocol", "ssl"}.
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// KafkaOptions::replication_factor: the broker's default.replication.factor
// (CreateTopics with -1; KIP-464, Kafka 2.4 and later).
inline constexpr int kBrokerDefaultReplicationFactor = -1;

struct KafkaOptions {
  // bootstrap.servers, e.g. "127.0.0.1:9092,127.0.0.1:9093". Required.
  std::string brokers;
  // The single-partition topic that holds the log. Required.
  std::string topic;
  // client.id, shown in broker logs.
  std::string client_id = "kvlog";

  // Topic management. With create_topic, Open creates a missing topic through
  // the Admin API (one partition, replication_factor, topic_configs) and
  // accepts "already exists". Either way it then verifies the partition count.
  // replication_factor: kBrokerDefaultReplicationFactor (the default) asks
  // for the broker's default.replication.factor, as the Go original does;
  // a cluster older than Kafka 2.4 refuses that (set a number).
  bool create_topic = true;
  int replication_factor = kBrokerDefaultReplicationFactor;
  // min.compaction.lag.ms stays above any write timeout: a compacted record
  // must be older than the longest a writer waits for its own reader, or a
  // lagging reader can step over the writer's record (removed) before it
  // reaches the record that superseded it, and the write returns with neither
  // value visible. The simulator found this (sim: compaction-without-lag).
  std::map<std::string, std::string> topic_configs = {{"cleanup.policy", "compact"},
                                                      {"min.compaction.lag.ms", "300000"}};

  // Producer. linger.ms trades latency for batching; delivery_timeout bounds
  // how long an append may wait in total (message.timeout.ms) before its
  // callback gets kTimeout; request_timeout bounds one produce request.
  // With linger 0, librdkafka 2.0 sends every append as its own request, and
  // once the idempotent producer's 5 requests are in flight some appends
  // waited ~48 ms for their acknowledgement (1 in 11 writes of a 100-write
  // burst on the mock cluster). At 1 ms, on the mock: 100 pipelined Puts
  // 8 K -> 39 K/s, 64 blocking writers 1.8 K -> 22-28 K/s; on a local KRaft
  // cluster 4 blocking writers' Put p50 7.2 -> 2.5 ms, while a lone Put's p50
  // rose 1.7 -> 2.4 ms. Set 0 for the lowest single-writer latency.
  // Re-measured beside franz-go (bench/README.md, issue 18): a lone record's
  // read arrives with its acknowledgement, so the linger is the one client-side
  // wait on a lone write; 0.2 ms, or 0 with max.in.flight 1 or 2, cost
  // concurrent and pipelined writes as much as 0 does. A fractional linger
  // goes through producer_properties, e.g. {"linger.ms", "0.5"}.
  std::chrono::milliseconds linger{1};
  // An append that finds no other in flight, when none has for 200 ms, is
  // sent at once, without waiting out `linger` (rd_kafka_flush ignores
  // linger.ms while it runs; the log's poller runs a short one): a lone
  // writer pays no linger, while writers that overlap even now and then still
  // batch for `linger`. False: every append lingers.
  bool send_lone_appends_at_once = true;
  std::chrono::milliseconds delivery_timeout{30'000};
  std::chrono::milliseconds request_timeout{10'000};

  // Reader, tuned for latency. fetch_wait_max is how long a broker holds a
  // fetch that found no data; against the librdkafka mock cluster, whose fetch
  // handler does not wake on new data, it bounds write latency (use 1 ms there).
  std::chrono::milliseconds fetch_wait_max{10};
  std::chrono::milliseconds fetch_error_backoff{50};
  // Where the first reader will start, when the caller knows it before the
  // log opens (a durable store's position): that reader's partition starts
  // while the log opens, so its leader's connection and first fetch overlap
  // the topic check. A first reader opened at another offset gets a handle of
  // its own. Unset: the first reader starts when it is opened.
  std::optional<int64_t> first_read_offset;
  // Where the partition's leader was when this log was last open ("host:port":
  // Log::ReconnectHint of that log, kept by the caller, e.g. in its store;
  // kv::Client keeps it there): the first reader connects there first instead
  // of to a broker of `brokers` chosen at random, so a restart's first fetch
  // does not wait for a second connection. Only a hint: if that broker is
  // down or no longer leads, the reader goes on through `brokers`. Used only
  // when it is one of `brokers` (as advertised: "127.0.0.1:9092" is not
  // "localhost:9092"), so it never leads the reader to another cluster.
  std::string reconnect_hint;
  // Make the producer only when it is needed: when the caller says appends
  // are coming (Log::PrepareAppends, which kv::Client::Open calls once its
  // start-up replay is done; made on a thread of its own) or at the first
  // Append or EndOffset (made there, which waits for it). A restart that
  // resumes a durable store (first_read_offset) then has the machine to
  // itself: the producer's start (its handle's threads, a connection, its
  // producer id) no longer competes with the reader's connection, first
  // fetch and replay. The cost moves to the first write after the open. A
  // producer that cannot be made fails that append (or EndOffset) instead of
  // the open; the reader's handle, made at open with the same settings, has
  // refused settings librdkafka checks at that point. False: made at open,
  // beside the topic check.
  bool defer_producer = false;

  // Bounds topic creation, metadata and other admin round trips.
  std::chrono::milliseconds admin_timeout{10'000};

  // Raw properties: for every handle, then producer- and consumer-only ones.
  // Producer settings that can lose acknowledged writes (acks other than
  // all/-1, enable.idempotence=false) are refused unless allow_unsafe_acks.
  KafkaProperties properties;
  KafkaProperties producer_properties;
  KafkaProperties consumer_properties;

  // Opt in to unsafe producer settings (above): OpenKafkaLog then accepts
  // them. A kv::Client on such a log still fails with kDataLoss each write it
  // sees lost (its record is not at its acknowledged offset), but writes lost
  // after they returned (an unclean election) cannot be caught.
  bool allow_unsafe_acks = false;

  KafkaLogger logger = StderrKafkaLogger();
};

// Creates the topic if asked and missing, then checks that it exists with
// exactly one partition. Errors: kInvalidArgument for bad options or a property
// librdkafka rejects; kUnavailable/kTimeout (naming the brokers) when the
// cluster does not answer within admin_timeout; kFailedPrecondition when the
// topic is missing or has more than one partition.
Status EnsureTopic(const KafkaOptions& options);

// Deletes options.topic through the Admin API (DeleteTopics), waiting up to
// admin_timeout. A topic that does not exist is success. Errors:
// kUnavailable when the cluster does not answer, kFailedPrecondition when it
// refuses (no DeleteTopics API, as on the librdkafka mock; deletion disabled;
// no authorisation), each naming the topic and the brokers.
Status DeleteTopic(const KafkaOptions& options);

// The topic's partition count, from metadata. kFailedPrecondition if missing.
Result<int> TopicPartitionCount(const KafkaOptions& options);

// Refuses (kFailedPrecondition, naming the setting) producer properties that
// can lose acknowledged writes: acks (or request.required.acks) other than
// all/-1, or enable.idempotence=false, unless options.allow_unsafe_acks.
Status CheckProducerSafety(const KafkaOptions& options);

// CheckProducerSafety, then a Log with its producer and its first reader's
// consumer handle made (each connecting on its own), after EnsureTopic's
// checks (and creation, if asked) made through that reader's handle (the
// producer's if it could not be made; no admin connection of its own). Its readers report a
// position outside the log (records deleted below it by retention or
// DeleteRecords, or a log truncated under it) as kDataLoss, never by
// silently moving to the log's start.
Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaOptions& options);

// The librdkafka properties the log's producer and its readers set on top of
// those every handle shares (bootstrap.servers, client.id, Nagle off), with
// options.producer_properties / consumer_properties appended, so they win.
// options.properties follow them all. Exposed so a raw-librdkafka baseline can
// run with exactly the log's settings.
KafkaProperties ProducerProperties(const KafkaOptions& options);
KafkaProperties ReaderProperties(const KafkaOptions& options);

namespace testing {
// Raises a fatal error on the current producer of `log` (an OpenKafkaLog
// result), as librdkafka does when a partition leader refuses an idempotent
// producer's sequence. kInvalidArgument if `log` is not a Kafka log.
Status RaiseFatalProducerError(Log& log, std::string_view reason);
// True once `log` (an OpenKafkaLog result) has made its producer, in the
// background (PrepareAppends) or for an append (KafkaOptions::defer_producer).
bool HasProducer(const Log& log);
}  // namespace testing

}  // namespace kvlog::log::kafka
