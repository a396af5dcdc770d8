// A quick look at a Kafka cluster before opening a log on it: how many brokers
// it has and whether the topic exists, failing fast when it cannot be reached.
//
//   auto info = kafka::ProbeCluster(options, std::chrono::seconds(5));
//   if (!info) ...              // e.g. "Connect to ipv4#127.0.0.1:1 failed: Connection refused"
//   int rf = std::min(3, info->brokers);
//
// librdkafka retries a refused connection quietly until the request's timeout;
// the probe listens to its error callback instead and gives up as soon as every
// bootstrap broker is down (refused, unresolvable, TLS or SASL failure), naming
// librdkafka's cause. A broker that drops packets is only caught by the timeout.
#pragma once

#include <chrono>
#include <optional>

#include "log/kafka/kafka_log.h"
#include "log/status.h"

namespace kvlog::log::kafka {

struct ClusterInfo {
  int brokers = 0;  // Brokers in the cluster's metadata.
  // options.topic's partition count and partition 0's replica count; empty when
  // the topic does not exist.
  std::optional<int> topic_partitions;
  std::optional<int> topic_replicas;
};

// Fetches the metadata of every topic (so that options.topic is never
// auto-created, not even by a broker that ignores AllowAutoTopicCreation) with a
// short-lived handle built like the log's (options.brokers, client_id,
// properties, logger). Errors: kUnavailable naming librdkafka's cause as soon
// as all brokers are down; kTimeout when no answer came within `timeout`;
// kInvalidArgument for options librdkafka refuses.
Result<ClusterInfo> ProbeCluster(const KafkaOptions& options, std::chrono::milliseconds timeout);

}  // namespace kvlog::log::kafka
