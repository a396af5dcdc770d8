#include "log/sim/faults.h"

namespace kvlog::log::sim {

std::optional<Duration> WindowEnd(const std::vector<Window>& windows, Duration t) {
  std::optional<Duration> end;
  for (const Window& w : windows) {
    if (w.Contains(t) && (!end || w.start + w.length > *end)) end = w.start + w.length;
  }
  return end;
}

}  // namespace kvlog::log::sim
