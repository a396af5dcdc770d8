#include "log/kafka/rdkafka_util.h"

#include <cstdio>
#include <string>

namespace kvlog::log::kafka::internal {
namespace {

constexpr std::size_t kErrstrBytes = 512;

KafkaLogLevel LevelFor(int syslog_level) {
  if (syslog_level <= 3) return KafkaLogLevel::kError;
  if (syslog_level == 4) return KafkaLogLevel::kWarning;
  if (syslog_level <= 6) return KafkaLogLevel::kInfo;
  return KafkaLogLevel::kDebug;
}

void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  auto* context = static_cast<HandleContext*>(rd_kafka_opaque(rk));
  if (context == nullptr || !context->logger) return;
  std::string line = std::string(rd_kafka_name(rk)) + " " + facility + ": " + buf;
  context->logger(LevelFor(level), line);
}

}  // namespace

Status SetProperty(rd_kafka_conf_t* conf, std::string_view name, std::string_view value) {
  char errstr[kErrstrBytes];
  std::string n(name), v(value);
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "librdkafka property " + n + "=" + v + " refused: " + errstr);
  }
  return OkStatus();
}

Result<ConfPtr> BaseConf(const KafkaOptions& options, HandleContext* context, const KafkaProperties& extra) {
  if (options.brokers.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no Kafka brokers given (KafkaOptions::brokers is empty)");
  }
  if (options.topic.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no Kafka topic given (KafkaOptions::topic is empty)");
  }
  ConfPtr conf(rd_kafka_conf_new());
  auto set = [&](std::string_view name, std::string_view value) { return SetProperty(conf.get(), name, value); };
  KVLOG_RETURN_IF_ERROR(set("bootstrap.servers", options.brokers));
  KVLOG_RETURN_IF_ERROR(set("client.id", options.client_id));
  // Latency over throughput: send small requests at once.
  KVLOG_RETURN_IF_ERROR(set("socket.nagle.disable", "true"));
  rd_kafka_conf_set_opaque(conf.get(), context);
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  for (const KafkaProperties* props : {&extra, &options.properties}) {
    for (const auto& [name, value] : *props) {
      KVLOG_RETURN_IF_ERROR(set(name, value));
    }
  }
  return conf;
}

Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf, std::string_view what) {
  char errstr[kErrstrBytes];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "cannot create Kafka " + std::string(what) + ": " + errstr);
  }
  conf.release();  // rd_kafka_new took it.
  return HandlePtr(rk);
}

ErrorCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
      return ErrorCode::kTimeout;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__DESTROY:
      return ErrorCode::kClosed;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return ErrorCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
      return ErrorCode::kFailedPrecondition;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

Error KafkaError(rd_kafka_resp_err_t err, std::string_view what, const KafkaOptions& options) {
  std::string message(what);
  message += ": ";
  message += rd_kafka_err2str(err);
  message += " (";
  message += rd_kafka_err2name(err);
  message += "; brokers " + options.brokers + ", topic '" + options.topic + "')";
  return Error(CodeFor(err), std::move(message));
}

}  // namespace kvlog::log::kafka::internal
