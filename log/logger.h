// One logger type for every layer: the client (kv::ClientOptions::logger) and
// the Kafka adapter (log::kafka::KafkaOptions::logger) both take a log::Logger,
// so one function can receive both.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kvlog::log {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning", "error".
std::string_view LogLevelName(LogLevel level);

// Receives one log line. Loggers are called from the library's own threads
// (the applier, librdkafka's threads): one must not block and must not call
// back into what logged.
using Logger = std::function<void(LogLevel level, std::string_view message)>;

// Writes warnings and errors to stderr as "<prefix><level>: <message>".
Logger StderrLogger(std::string prefix);

}  // namespace kvlog::log
