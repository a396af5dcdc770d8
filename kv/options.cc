#include "kv/options.h"

#include <cstdio>
#include <string>

namespace kvlog::kv {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

Logger StderrLogger() {
  return [](LogLevel level, std::string_view message) {
    if (level < LogLevel::kWarning) return;
    std::string line = "kvlog ";
    line += LogLevelName(level);
    line += ": ";
    line += message;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

std::string ReadLevelName(const ReadLevel& level) {
  switch (level.kind) {
    case ReadLevel::Kind::kLocal: return "local";
    case ReadLevel::Kind::kBounded: return "bounded(" + std::to_string(level.max_lag) + ")";
    case ReadLevel::Kind::kAtLeast: return "at-least(" + std::to_string(level.position) + ")";
    case ReadLevel::Kind::kLinearizable: return "linearizable";
  }
  return "unknown";
}

}  // namespace kvlog::kv
