// Internal helpers shared by the adapter and the mock cluster: building
// librdkafka configurations and turning librdkafka errors into kvlog errors.
// Not part of the public API.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>

#include "log/kafka/kafka_log.h"
#include "log/status.h"

namespace kvlog::log::kafka::internal {

// What a librdkafka handle's callbacks need. Owned by whoever owns the handle,
// at a stable address, and outlives it (rd_kafka_destroy joins the threads
// that call back).
struct HandleContext {
  KafkaLogger logger;
  void* owner = nullptr;  // Whose callbacks these are (the adapter's producer, for delivery reports).
};

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// Sets one property; kInvalidArgument naming it if librdkafka refuses.
Status SetProperty(rd_kafka_conf_t* conf, std::string_view name, std::string_view value);

// A configuration with the options every handle shares (brokers, client.id,
// the logger through `context`, options.properties), plus `extra`.
Result<ConfPtr> BaseConf(const KafkaOptions& options, HandleContext* context, const KafkaProperties& extra);

// rd_kafka_new with `conf` (consumed on success and failure).
Result<HandlePtr> NewHandle(rd_kafka_type_t type, ConfPtr conf, std::string_view what);

// Maps a librdkafka error to a kvlog error whose message says `what` failed,
// why, and against which brokers and topic.
Error KafkaError(rd_kafka_resp_err_t err, std::string_view what, const KafkaOptions& options);
ErrorCode CodeFor(rd_kafka_resp_err_t err);

}  // namespace kvlog::log::kafka::internal
