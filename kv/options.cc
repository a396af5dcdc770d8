#include "kv/options.h"

#include <cstdio>
#include <string>

namespace kvlog::kv {

Logger StderrLogger() { return log::StderrLogger("kvlog "); }

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
