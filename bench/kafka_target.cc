#include "bench/kafka_target.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace kvlog::bench {
namespace {

using log::kafka::KafkaOptions;
using log::kafka::KafkaProperties;

KafkaTarget* g_target = nullptr;

[[noreturn]] void Die(const std::string& what) {
  fmt::print(stderr, "kv_bench: {}\n", what);
  std::exit(2);
}

// The properties log/kafka sets on every handle, then `role`'s own (with the
// caller's role overrides), then options.properties: the adapter's order.
rd_kafka_conf_t* Conf(const KafkaOptions& options, const KafkaProperties& role) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& name, const std::string& value) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      Die("property " + name + "=" + value + ": " + err);
    }
  };
  set("bootstrap.servers", options.brokers);
  set("client.id", options.client_id + "-raw");
  set("socket.nagle.disable", "true");
  for (const KafkaProperties* props : {&role, &options.properties}) {
    for (const auto& [name, value] : *props) set(name, value);
  }
  return conf;
}

}  // namespace

void RdKafkaDeleter::operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }

KafkaTarget& KafkaTarget::Init(const std::string& brokers, int replication_factor) {
  static KafkaTarget target;
  target.replication_factor_ = replication_factor;
  target.stamp_ = fmt::format("{}", std::chrono::system_clock::now().time_since_epoch().count() / 1'000'000);
  if (brokers.empty()) {
    auto cluster = log::kafka::MockCluster::Start({.brokers = 3, .topic = ""});
    if (!cluster) Die("cannot start the mock cluster: " + cluster.error().ToString());
    target.mock_ = std::move(*cluster);
    target.replication_factor_ = 3;
    target.description_ = "embedded librdkafka mock cluster (3 brokers, RF 3)";
  } else {
    target.brokers_ = brokers;
    target.description_ = fmt::format("Kafka brokers {} (RF {})", brokers, replication_factor);
  }
  g_target = &target;
  return target;
}

KafkaTarget& KafkaTarget::Get() {
  if (g_target == nullptr) Die("KafkaTarget::Init was not called");
  return *g_target;
}

KafkaOptions KafkaTarget::NewTopic(const std::string& prefix) {
  const std::string topic = "bench-" + prefix + "-" + stamp_;
  KafkaOptions options;
  if (mock_) {
    if (auto s = mock_->CreateTopic(topic, 1, replication_factor_); !s) Die(s.error().ToString());
    options = mock_->LogOptions(topic);
  } else {
    options.brokers = brokers_;
    options.topic = topic;
    options.replication_factor = replication_factor_;
    if (auto s = log::kafka::EnsureTopic(options); !s) Die(s.error().ToString());
    // A new topic reaches every broker's metadata a moment after CreateTopics
    // returns; a producer that asks a broker not yet told sees "partition
    // count changed from 1 to 0" and fails its records (seen on the 3-node
    // KRaft cluster). Topics are made a handful of times per run: just wait.
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }
  options.client_id = "kvbench";
  options.properties.insert(options.properties.end(), extra_.begin(), extra_.end());
  options.send_lone_appends_at_once = lone_appends_at_once_;
  return options;
}

RawProducer::RawProducer(const KafkaOptions& options) : topic_(options.topic) {
  rd_kafka_conf_t* conf = Conf(options, log::kafka::ProducerProperties(options));
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &RawProducer::OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) Die(std::string("raw producer: ") + err);
  rk_.reset(rk);
  poller_ = std::thread([this] {
    while (!stop_.load()) rd_kafka_poll(rk_.get(), 10);
  });
}

RawProducer::~RawProducer() {
  Flush();
  stop_.store(true);
  poller_.join();
}

void RawProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<RawProducer*>(opaque);
  self->last_delivery_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count());
  (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ? self->delivered_ : self->failed_).fetch_add(1);
}

void RawProducer::Produce(const std::string& key, const std::string& value) {
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) Die(std::string("raw produce: ") + rd_kafka_err2str(err));
    std::this_thread::sleep_for(std::chrono::microseconds(100));  // The poller drains the queue.
  }
}

void RawProducer::Flush() {
  if (rd_kafka_flush(rk_.get(), 120'000) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("raw producer: flush timed out");
  if (failed_.load() != 0) Die(fmt::format("raw producer: {} records failed", failed_.load()));
}

int64_t RawProducer::LogStart() {
  int64_t low = 0, high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk_.get(), topic_.c_str(), 0, &low, &high, 10'000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("raw watermarks: ") + rd_kafka_err2str(err));
  return low;
}

RawConsumer::RawConsumer(const KafkaOptions& options, int64_t from, bool batch) {
  KafkaOptions raw = options;
  raw.client_id += "-raw";
  // The adapter's readers use the simple consumer without a group; this
  // baseline keeps librdkafka's high-level consumer (assign, consumer_poll),
  // which needs a group id of its own.
  log::kafka::KafkaProperties properties = log::kafka::ReaderProperties(raw);
  properties.emplace_back("group.id", "kvbench-" + raw.client_id);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, Conf(options, properties), err, sizeof(err));
  if (rk == nullptr) Die(std::string("raw consumer: ") + err);
  rk_.reset(rk);
  if (from == RD_KAFKA_OFFSET_END) {
    // The end offset as of now, resolved here: with OFFSET_END the consumer
    // resolves it later and may skip a record produced in between.
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 100; ++attempt) {
      e = rd_kafka_query_watermark_offsets(rk_.get(), options.topic.c_str(), 0, &low, &high, 5'000);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("raw end offset: ") + rd_kafka_err2str(e));
    from = high;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, options.topic.c_str(), 0)->offset = from;
  rd_kafka_resp_err_t e = rd_kafka_assign(rk_.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("raw assign: ") + rd_kafka_err2str(e));
  if (batch) queue_ = rd_kafka_queue_get_consumer(rk_.get());
}

RawConsumer::~RawConsumer() {
  // Messages hold their handle: released before it closes.
  for (; next_ < buffer_.size(); ++next_) rd_kafka_message_destroy(buffer_[next_]);
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  rd_kafka_consumer_close(rk_.get());
}

rd_kafka_message_t* RawConsumer::Take(int timeout_ms) {
  if (queue_ == nullptr) return rd_kafka_consumer_poll(rk_.get(), timeout_ms);
  if (next_ == buffer_.size()) {
    buffer_.resize(kBatch);
    // Whatever is queued, without waiting; only an empty queue waits, and
    // then for one message (a batch call waits until it is full).
    ssize_t n = rd_kafka_consume_batch_queue(queue_, 0, buffer_.data(), kBatch);
    if (n == 0) n = rd_kafka_consume_batch_queue(queue_, timeout_ms, buffer_.data(), 1);
    buffer_.resize(static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    next_ = 0;
    if (buffer_.empty()) return nullptr;
  }
  return buffer_[next_++];
}

int64_t RawConsumer::Next(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    rd_kafka_message_t* msg = Take(static_cast<int>(std::max<int64_t>(0, left.count())));
    if (msg == nullptr) return -1;
    const rd_kafka_resp_err_t err = msg->err;
    const int64_t offset = msg->offset;
    rd_kafka_message_destroy(msg);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return offset;
    if (err != RD_KAFKA_RESP_ERR__PARTITION_EOF && err != RD_KAFKA_RESP_ERR__TRANSPORT) {
      Die(std::string("raw consume: ") + rd_kafka_err2str(err));
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
  }
}

}  // namespace kvlog::bench
