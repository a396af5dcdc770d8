#include "log/kafka/cluster_probe.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "log/kafka/rdkafka_util.h"

namespace kvlog::log::kafka {
namespace {

using Clock = std::chrono::steady_clock;

// Each metadata request waits at most this long, so that the error callback
// (served between requests) is looked at often.
constexpr auto kProbeSlice = std::chrono::milliseconds(100);

// What the error callback saw. Written on librdkafka's threads via rd_kafka_poll
// (which runs the callback on the calling thread), read by the probe.
struct ProbeState {
  std::mutex mu;
  std::string last_cause;  // The latest connection-level error's text.
  std::optional<Error> fatal;
};

void OnError(rd_kafka_t* /*rk*/, int err, const char* reason, void* opaque) {
  auto* context = static_cast<internal::HandleContext*>(opaque);
  auto* state = static_cast<ProbeState*>(context->owner);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  std::lock_guard<std::mutex> lock(state->mu);
  switch (code) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__SSL:
      state->last_cause = reason;
      break;
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      if (!state->fatal) {
        std::string cause = state->last_cause.empty() ? std::string(reason) : state->last_cause + "; " + reason;
        state->fatal = Error(ErrorCode::kUnavailable, cause);
      }
      break;
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__FATAL:
      if (!state->fatal) state->fatal = Error(ErrorCode::kUnavailable, reason);
      break;
    default:
      break;
  }
}

int Millis(Clock::duration d) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 1, INT32_MAX));
}

}  // namespace

Result<ClusterInfo> ProbeCluster(const KafkaOptions& options, std::chrono::milliseconds timeout) {
  ProbeState state;
  internal::HandleContext context{options.logger, &state};
  auto conf = internal::BaseConf(options, &context, {{"allow.auto.create.topics", "false"}});
  KVLOG_RETURN_IF_ERROR(conf);
  rd_kafka_conf_set_error_cb(conf->get(), &OnError);
  auto handle = internal::NewHandle(RD_KAFKA_PRODUCER, std::move(*conf), "probe client");
  KVLOG_RETURN_IF_ERROR(handle);
  rd_kafka_t* rk = handle->get();
  const auto deadline = Clock::now() + timeout;
  Result<ClusterInfo> result = MakeError(ErrorCode::kTimeout, "");
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto slice = std::min<Clock::duration>(kProbeSlice, deadline - Clock::now());
    // Every topic's metadata, without a topic handle: asking for the one topic
    // (or making a handle for it) lets a broker that ignores
    // AllowAutoTopicCreation=false, like librdkafka's mock, create it.
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, Millis(slice));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ClusterInfo info;
      info.brokers = md->broker_cnt;
      for (int i = 0; i < md->topic_cnt; ++i) {
        const rd_kafka_metadata_topic_t& t = md->topics[i];
        if (options.topic != t.topic || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
        info.topic_partitions = t.partition_cnt;
        for (int p = 0; p < t.partition_cnt; ++p) {
          if (t.partitions[p].id == 0) info.topic_replicas = t.partitions[p].replica_cnt;
        }
      }
      rd_kafka_metadata_destroy(md);
      result = info;
      break;
    }
    rd_kafka_poll(rk, 0);  // Serves the error callback.
    {
      std::lock_guard<std::mutex> lock(state.mu);
      if (state.fatal) {
        result = MakeError(state.fatal->code(), "cannot connect to Kafka at " + options.brokers + ": " +
                                                    state.fatal->message());
        break;
      }
    }
    if (Clock::now() >= deadline) {
      std::string cause;
      {
        std::lock_guard<std::mutex> lock(state.mu);
        cause = state.last_cause;
      }
      result = MakeError(ErrorCode::kTimeout,
                         fmt::format("no metadata from Kafka at {} within {} ms{}", options.brokers, timeout.count(),
                                     cause.empty() ? fmt::format(" ({})", rd_kafka_err2str(err))
                                                   : "; last connection error: " + cause));
      break;
    }
  }
  return result;
}

}  // namespace kvlog::log::kafka
