#include "log/kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

#include <fmt/format.h>

#include "log/kafka/rdkafka_util.h"

namespace kvlog::log::kafka {

struct MockCluster::Impl {
  internal::HandleContext context;
  internal::HandlePtr handle;  // The mock cluster lives on this handle's thread.
  rd_kafka_mock_cluster_t* cluster = nullptr;

  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    handle.reset();
  }
};

Result<std::unique_ptr<MockCluster>> MockCluster::Start(Options options) {
  if (options.brokers < 1 || options.brokers > kMaxBrokers) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("mock cluster needs 1..{} brokers (kMaxBrokers), got {}", kMaxBrokers,
                                 options.brokers));
  }
  if (options.replication_factor == 0 || options.replication_factor == kBrokerDefaultReplicationFactor) {
    options.replication_factor = std::min(3, options.brokers);
  }
  if (options.replication_factor < 1 || options.replication_factor > options.brokers) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("replication factor {} needs 1..{} (the broker count)", options.replication_factor,
                                 options.brokers));
  }
  auto impl = std::make_unique<Impl>();
  impl->context.logger = StderrKafkaLogger();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_opaque(conf, &impl->context);
  char errstr[512];
  // This handle only hosts the brokers: it never connects, so its notice
  // about having no bootstrap.servers is noise.
  rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr));
  // The brokers' sockets take this handle's settings: TCP_NODELAY, as real
  // brokers set it. With Nagle on, a small response (an end-offset answer)
  // waited for the client's delayed ACK: 40 ms per linearizable read.
  rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return MakeError(ErrorCode::kInternal, std::string("cannot create the mock cluster's handle: ") + errstr);
  }
  impl->handle.reset(rk);
  impl->cluster = rd_kafka_mock_cluster_new(rk, options.brokers);
  if (impl->cluster == nullptr) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("librdkafka could not start a mock cluster of {} brokers", options.brokers));
  }
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(impl->cluster);
  std::unique_ptr<MockCluster> mc(new MockCluster(options, std::move(impl), std::move(bootstrap)));
  if (!options.topic.empty()) {
    KVLOG_RETURN_IF_ERROR(mc->CreateTopic(options.topic, options.partitions, options.replication_factor));
  }
  return mc;
}

MockCluster::MockCluster(Options options, std::unique_ptr<Impl> impl, std::string bootstrap)
    : options_(std::move(options)), impl_(std::move(impl)), bootstrap_(std::move(bootstrap)) {}

MockCluster::~MockCluster() = default;

KafkaOptions MockCluster::LogOptions(const std::string& topic) const {
  KafkaOptions o;
  o.brokers = bootstrap_;
  o.topic = topic.empty() ? options_.topic : topic;
  o.create_topic = false;
  o.replication_factor = options_.replication_factor;
  o.fetch_wait_max = std::chrono::milliseconds(1);
  o.fetch_error_backoff = std::chrono::milliseconds(10);
  return o;
}

Status MockCluster::Check(int code, const std::string& what) const {
  auto err = static_cast<rd_kafka_resp_err_t>(code);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return OkStatus();
  return MakeError(ErrorCode::kInvalidArgument, "mock cluster " + bootstrap_ + ": " + what + ": " +
                                                    rd_kafka_err2str(err));
}

int MockCluster::default_replication_factor() const { return std::min(3, options_.brokers); }

Status MockCluster::CreateTopic(const std::string& topic, int partitions, int replication_factor) {
  if (replication_factor == 0 || replication_factor == kBrokerDefaultReplicationFactor) {
    replication_factor = default_replication_factor();
  }
  return Check(rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, replication_factor),
               fmt::format("cannot create topic '{}' with {} partitions, RF {}", topic, partitions,
                           replication_factor));
}

Status MockCluster::SetBrokerDown(int32_t broker_id) {
  return Check(rd_kafka_mock_broker_set_down(impl_->cluster, broker_id),
               fmt::format("cannot take broker {} down", broker_id));
}

Status MockCluster::SetBrokerUp(int32_t broker_id) {
  return Check(rd_kafka_mock_broker_set_up(impl_->cluster, broker_id),
               fmt::format("cannot bring broker {} up", broker_id));
}

Status MockCluster::SetRtt(int32_t broker_id, int rtt_ms) {
  return Check(rd_kafka_mock_broker_set_rtt(impl_->cluster, broker_id, rtt_ms),
               fmt::format("cannot set RTT of broker {}", broker_id));
}

void MockCluster::PushRequestErrors(KafkaApi api, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, static_cast<int16_t>(api), codes.size(), codes.data());
}

void MockCluster::ClearRequestErrors(KafkaApi api) {
  rd_kafka_mock_clear_request_errors(impl_->cluster, static_cast<int16_t>(api));
}

Status MockCluster::SetLeader(int32_t broker_id, const std::string& topic) {
  const std::string& t = topic.empty() ? options_.topic : topic;
  return Check(rd_kafka_mock_partition_set_leader(impl_->cluster, t.c_str(), 0, broker_id),
               fmt::format("cannot move the leader of '{}' partition 0 to broker {}", t, broker_id));
}

}  // namespace kvlog::log::kafka
