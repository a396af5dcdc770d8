#include "kv/options.h"

#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace kvlog::kv {

Logger StderrLogger() { return log::StderrLogger("kvlog "); }

std::string ReadLevelName(const ReadLevel& level) {
  switch (level.kind) {
    case ReadLevel::Kind::kLocal: return "local";
    case ReadLevel::Kind::kBounded: return fmt::format("bounded({})", level.max_lag);
    case ReadLevel::Kind::kAtLeast: return fmt::format("at-least({})", level.position);
    case ReadLevel::Kind::kLinearizable: return "linearizable";
  }
  return "unknown";
}

}  // namespace kvlog::kv
