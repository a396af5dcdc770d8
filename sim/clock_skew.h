// The clock-skew fault: each simulated client's wall clock is off true
// (virtual) time by an offset and a drift, drawn from the seed.
//
//   wall(t) = t + offset + drift_ppm * t / 1e6        (t: virtual time)
//
// Only the wall clock (Runtime::WallNow, which TTL deadlines are written in
// and read against) is skewed; steady time (Now, timeouts, sleeps) is the
// simulator's, shared by every client.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/runtime.h"

namespace kvlog::sim {

struct ClockSkew {
  Duration offset{0};
  int64_t drift_ppm = 0;  // Parts per million of elapsed time.
  friend bool operator==(const ClockSkew&, const ClockSkew&) = default;
};

// `clients` skews: offset uniform in [-max_offset, max_offset], drift in
// [-max_drift_ppm, max_drift_ppm], the same for the same seed.
std::vector<ClockSkew> DrawClockSkews(uint64_t seed, int clients, Duration max_offset, int64_t max_drift_ppm);

// The most any of these clocks is off true time at any t in [0, horizon].
Duration SkewBound(const std::vector<ClockSkew>& skews, Duration horizon);

// A client's view of a runtime: everything is the base runtime's, except the
// wall clock, which is the base's skewed by `skew`.
class SkewedRuntime final : public Runtime {
 public:
  SkewedRuntime(Runtime& base, ClockSkew skew) : base_(base), skew_(skew) {}

  TimePoint Now() override { return base_.Now(); }
  WallTime WallNow() override;
  void SleepUntil(TimePoint deadline) override { base_.SleepUntil(deadline); }
  std::unique_ptr<Task> Spawn(std::string name, std::function<void()> body) override {
    return base_.Spawn(std::move(name), std::move(body));
  }
  std::unique_ptr<Mutex> NewMutex() override { return base_.NewMutex(); }
  std::unique_ptr<CondVar> NewCondVar() override { return base_.NewCondVar(); }
  const ClockSkew& skew() const { return skew_; }

 private:
  Runtime& base_;
  const ClockSkew skew_;
};

}  // namespace kvlog::sim
