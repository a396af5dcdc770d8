#include "log/logger.h"

#include <cstdio>
#include <utility>

namespace kvlog::log {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

Logger StderrLogger(std::string prefix) {
  return [prefix = std::move(prefix)](LogLevel level, std::string_view message) {
    if (level < LogLevel::kWarning) return;
    std::string line = prefix;
    line += LogLevelName(level);
    line += ": ";
    line += message;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

}  // namespace kvlog::log
