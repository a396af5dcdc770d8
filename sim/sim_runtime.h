// The simulation runtime: every task is a Boost.Fiber on one OS thread, the
// scheduler's choice of the next ready fiber is drawn from a seed, and time is
// virtual. When every fiber is blocked, the clock jumps to the earliest timer.
// Same seed, same interleaving, same virtual times: a run can be replayed.
//
//   SimRuntime rt(seed);
//   rt.Run([&] { ...code that uses rt as its Runtime... });
//
// Invariants:
//  - Only the thread inside Run() touches the runtime; fibers never run in
//    parallel, so no fiber is preempted between two of its own steps.
//  - now_ never decreases; timers fire in (deadline, creation order) order.
//  - The main (driver) fiber runs only when no other fiber is ready, so the
//    clock moves only when the simulated world is idle at the current instant.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtime/runtime.h"

namespace kvlog::sim {

// Limits that stop a run that would never end.
struct SimLimits {
  static constexpr Duration kDefaultMaxVirtualTime = std::chrono::hours(24);
  static constexpr uint64_t kDefaultMaxTimerFirings = 50'000'000;

  Duration max_virtual_time = kDefaultMaxVirtualTime;
  uint64_t max_timer_firings = kDefaultMaxTimerFirings;
};

// How a Run ended.
struct RunOutcome {
  enum class Kind {
    kCompleted,  // The root task and every task it spawned returned.
    kDeadlock,   // Tasks were blocked with no timer left to wake them.
    kTimeLimit,  // Virtual time or timer firings passed SimLimits.
  };
  Kind kind = Kind::kCompleted;
  TimePoint virtual_end{};
  uint64_t timer_firings = 0;
  uint64_t fibers_spawned = 0;
  std::vector<std::string> blocked_tasks;  // Names, for kDeadlock.
};

class SimRuntime final : public Runtime {
 public:
  explicit SimRuntime(uint64_t seed, SimLimits limits = {});
  ~SimRuntime() override;

  // Runs `root` as a fiber on a fresh OS thread and drives the virtual clock
  // until every task has returned (or a limit or deadlock stops the run).
  // Tasks still blocked when a run stops are abandoned with their stacks.
  RunOutcome Run(std::function<void()> root);

  uint64_t seed() const { return seed_; }
  // A deterministic stream for the simulated world (faults, workloads). Draw
  // only from inside Run.
  std::mt19937_64& rng() { return world_rng_; }
  // Uniform in [0, n) from rng(); 0 when n is 0.
  uint64_t Uniform(uint64_t n);
  bool Chance(double probability);

  TimePoint Now() override { return now_; }
  void SleepUntil(TimePoint deadline) override;
  std::unique_ptr<Task> Spawn(std::string name, std::function<void()> body) override;
  std::unique_ptr<Mutex> NewMutex() override;
  std::unique_ptr<CondVar> NewCondVar() override;

  // Calls `fire` at virtual time `deadline` from the driver. Returns an id for
  // Cancel. `fire` must not block.
  uint64_t AddTimer(TimePoint deadline, std::function<void()> fire);
  void CancelTimer(uint64_t id);

 private:
  struct Timer {
    TimePoint deadline;
    uint64_t id;
    std::function<void()> fire;
  };
  struct Later {
    bool operator()(const Timer& a, const Timer& b) const {
      return a.deadline != b.deadline ? a.deadline > b.deadline : a.id > b.id;
    }
  };
  struct TaskState;

  void Drive(RunOutcome& outcome);

  const uint64_t seed_;
  const SimLimits limits_;
  std::mt19937_64 world_rng_;
  TimePoint now_{};
  std::priority_queue<Timer, std::vector<Timer>, Later> timers_;
  std::unordered_set<uint64_t> cancelled_;  // Ids of cancelled timers still queued.
  uint64_t next_timer_id_ = 0;
  uint64_t timer_firings_ = 0;
  uint64_t fibers_spawned_ = 0;
  std::vector<std::shared_ptr<TaskState>> tasks_;  // Every task spawned during Run.
};

}  // namespace kvlog::sim
