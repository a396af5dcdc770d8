// Where the Kafka benchmarks run, and raw librdkafka handles configured exactly
// as log/kafka configures its own, so the baseline and the KV layer differ only
// in the layer.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"

namespace kvlog::bench {

// The log under test: the embedded mock cluster (3 brokers, RF 3) unless
// --brokers names a real cluster.
class KafkaTarget {
 public:
  // Empty `brokers`: start the embedded mock. Exits the process on failure.
  static KafkaTarget& Init(const std::string& brokers, int replication_factor);
  static KafkaTarget& Get();

  // A fresh single-partition topic named `prefix` plus a run stamp; options
  // for it as the KV layer uses them.
  log::kafka::KafkaOptions NewTopic(const std::string& prefix);
  // Names the log for the report.
  const std::string& description() const { return description_; }
  // librdkafka properties added to every topic's options.properties (so to the
  // raw handles and the KV layer's alike), e.g. {"linger.ms", "0"}: kv_bench's
  // --rdkafka=NAME=VALUE, for A/B runs of settings.
  void AddProperty(std::string name, std::string value) { extra_.emplace_back(std::move(name), std::move(value)); }
  // KafkaOptions::send_lone_appends_at_once for the KV layer's logs (kv_bench's
  // --lone_appends_at_once=0|1); the raw handles are plain librdkafka.
  void SetLoneAppendsAtOnce(bool on) { lone_appends_at_once_ = on; }

 private:
  std::unique_ptr<log::kafka::MockCluster> mock_;
  std::string brokers_;
  int replication_factor_ = 3;
  std::string description_;
  std::string stamp_;
  log::kafka::KafkaProperties extra_;
  bool lone_appends_at_once_ = log::kafka::KafkaOptions{}.send_lone_appends_at_once;
};

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const;
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;

// A producer with the adapter's settings (log::kafka::ProducerProperties) and a
// thread serving its delivery reports, as the adapter has.
class RawProducer {
 public:
  explicit RawProducer(const log::kafka::KafkaOptions& options);
  ~RawProducer();
  // Enqueues one record, waiting out a full queue.
  void Produce(const std::string& key, const std::string& value);
  // Blocks until every produced record is acknowledged.
  void Flush();
  // The topic's first offset (low watermark): not 0 once the log dropped its head.
  int64_t LogStart();
  int64_t delivered() const { return delivered_.load(); }
  int64_t failed() const { return failed_.load(); }
  // steady_clock nanoseconds of the latest delivery report (the round-trip
  // timeline's "acknowledged" point).
  int64_t last_delivery_ns() const { return last_delivery_ns_.load(); }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  std::string topic_;
  RdKafkaPtr rk_;
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> last_delivery_ns_{0};
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// A consumer with the adapter's reader settings and a group id of its own
// (the adapter's readers have none: librdkafka's high-level consumer is the
// baseline), partition 0 assigned from `from` (RD_KAFKA_OFFSET_BEGINNING for
// the start; RD_KAFKA_OFFSET_END for the end offset as of construction).
//
// `batch`: take records from the consumer queue in batches
// (rd_kafka_consume_batch_queue, up to kBatch at once, without waiting while
// any are queued) instead of one rd_kafka_consumer_poll per record.
class RawConsumer {
 public:
  RawConsumer(const log::kafka::KafkaOptions& options, int64_t from, bool batch = false);
  ~RawConsumer();
  // The offset of the next record, or -1 if none arrived within timeout_ms.
  // Partition-EOF events are skipped.
  int64_t Next(int timeout_ms);

 private:
  static constexpr std::size_t kBatch = 1024;
  // The next message: from the batch buffer, refilled from the queue.
  rd_kafka_message_t* Take(int timeout_ms);

  RdKafkaPtr rk_;
  rd_kafka_queue_t* queue_ = nullptr;  // Batch mode: the consumer queue.
  std::vector<rd_kafka_message_t*> buffer_;
  std::size_t next_ = 0;  // Into buffer_; buffer_[next_, size) are still ours.
};

}  // namespace kvlog::bench
