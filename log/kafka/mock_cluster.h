// An embedded Kafka cluster: librdkafka's mock brokers on loopback TCP, with
// fault hooks. For tests, benchmarks, tools (kvmock, kvctl's default) and the
// simulator's live mode.
//
//   auto cluster = kafka::MockCluster::Start({.brokers = 3});
//   kafka::KafkaOptions options = (*cluster)->LogOptions();
//   auto log = kafka::OpenKafkaLog(options);
//   (*cluster)->SetBrokerDown(2);
//
// Known differences from real Kafka (librdkafka 2.0.2): no CreateTopics API
// (topics are made here, through the mock API), no compaction, topics
// auto-created by clients get 4 partitions, and the fetch handler does not wake
// when data arrives, so LogOptions() sets fetch.wait.max.ms to 1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "log/kafka/kafka_log.h"
#include "log/status.h"

namespace kvlog::log::kafka {

// Kafka protocol request types, for PushRequestErrors.
enum class KafkaApi : int16_t {
  kProduce = 0,
  kFetch = 1,
  kListOffsets = 2,
  kMetadata = 3,
  kInitProducerId = 22,
};

// Kafka protocol error codes commonly pushed in tests.
namespace kafka_errors {
inline constexpr int kNotLeaderForPartition = 6;
inline constexpr int kRequestTimedOut = 7;
inline constexpr int kNotEnoughReplicas = 19;
inline constexpr int kNotEnoughReplicasAfterAppend = 20;
// librdkafka's local code for "drop the connection" (RD_KAFKA_RESP_ERR__TRANSPORT).
inline constexpr int kTransport = -195;
}  // namespace kafka_errors

class MockCluster {
 public:
  static constexpr int kMaxBrokers = 16;

  struct Options {
    int brokers = 3;                  // 1..kMaxBrokers; ids are 1..brokers.
    std::string topic = "kvlog";      // Created with `partitions` partitions; empty: none.
    int partitions = 1;
    // 0 or kBrokerDefaultReplicationFactor (-1): the cluster's default,
    // min(3, brokers), what the mock gives a topic it creates by itself.
    int replication_factor = 0;
  };

  // Starts the brokers and creates the topic. kInvalidArgument for counts out
  // of range; kInternal if librdkafka cannot start the cluster.
  static Result<std::unique_ptr<MockCluster>> Start(Options options);
  ~MockCluster();  // Stops every broker; clients still connected see it go down.

  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  int broker_count() const { return options_.brokers; }
  const std::string& topic() const { return options_.topic; }

  // KafkaOptions for a log on `topic` (default: the cluster's topic), tuned
  // for the mock: no topic creation (it has no CreateTopics), fetch.wait.max.ms
  // 1, short error back-off.
  KafkaOptions LogOptions(const std::string& topic = "") const;

  // Creates another topic (the mock's API; any partition count, for tests).
  // replication_factor kBrokerDefaultReplicationFactor (-1) or 0: the
  // cluster's default, min(3, brokers), as a real broker's
  // default.replication.factor (the mock's own call cannot take -1).
  Status CreateTopic(const std::string& topic, int partitions, int replication_factor);
  // The replication factor a topic created without one gets: min(3, brokers).
  int default_replication_factor() const;

  // Fault hooks. Broker ids are 1..broker_count(); -1 means every broker.
  // Down: the broker drops its connections and refuses new ones (no leader
  // change). Up: accepts connections again.
  Status SetBrokerDown(int32_t broker_id);
  Status SetBrokerUp(int32_t broker_id);
  // Adds `rtt_ms` to every response of the broker (0 removes it).
  Status SetRtt(int32_t broker_id, int rtt_ms);
  // The next errors.size() requests of type `api`, on any broker, fail with
  // these Kafka error codes in order (see kafka_errors).
  void PushRequestErrors(KafkaApi api, const std::vector<int>& errors);
  void ClearRequestErrors(KafkaApi api);
  // Moves the leadership of `topic` (default: the cluster's topic) partition 0.
  Status SetLeader(int32_t broker_id, const std::string& topic = "");

 private:
  struct Impl;
  MockCluster(Options options, std::unique_ptr<Impl> impl, std::string bootstrap);
  Status Check(int code, const std::string& what) const;

  Options options_;
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace kvlog::log::kafka
