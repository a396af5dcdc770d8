#include "sim/clock_skew.h"

#include <algorithm>

#include "base/rng.h"

namespace kvlog::sim {

std::vector<ClockSkew> DrawClockSkews(uint64_t seed, int clients, Duration max_offset, int64_t max_drift_ppm) {
  base::Rng rng = base::Rng(seed).Fork("clock-skew");
  auto uniform = [&](int64_t max) -> int64_t { return max <= 0 ? 0 : rng.Between(-max, max); };
  std::vector<ClockSkew> out;
  for (int i = 0; i < clients; ++i) {
    ClockSkew s;
    s.offset = Duration(uniform(max_offset.count()));
    s.drift_ppm = uniform(max_drift_ppm);
    out.push_back(s);
  }
  return out;
}

namespace {
int64_t Drift(int64_t t_ns, int64_t ppm) { return t_ns / 1'000'000 * ppm + t_ns % 1'000'000 * ppm / 1'000'000; }
}  // namespace

Duration SkewBound(const std::vector<ClockSkew>& skews, Duration horizon) {
  int64_t bound = 0;
  for (const ClockSkew& s : skews) {
    // |offset + drift * t| is largest at t = 0 or t = horizon.
    const int64_t at_end = s.offset.count() + Drift(horizon.count(), s.drift_ppm);
    bound = std::max({bound, std::abs(s.offset.count()), std::abs(at_end)});
  }
  return Duration(bound);
}

WallTime SkewedRuntime::WallNow() {
  const int64_t t = base_.Now().time_since_epoch().count();
  return base_.WallNow() + skew_.offset + Duration(Drift(t, skew_.drift_ppm));
}

}  // namespace kvlog::sim
