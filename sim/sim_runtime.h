// The simulation runtime: every task is a fiber (a Boost.Context stack) on the
// calling OS thread, the scheduler's choice of the next ready fiber is drawn
// from a seed, and time is virtual. When every fiber is blocked, the clock jumps to the earliest timer.
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
#include <string>
#include <vector>

#include "base/rng.h"
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

  // Runs `root` as a fiber and drives the virtual clock until every task has
  // returned (or a limit or deadlock stops the run). Fibers run on the calling
  // thread, one at a time. Tasks still blocked when a run stops are abandoned
  // with their stacks (never resumed, never unwound).
  RunOutcome Run(std::function<void()> root);

  uint64_t seed() const { return seed_; }
  // A deterministic stream for the simulated world (faults, workloads). Draw
  // only from inside Run.
  base::Rng& rng() { return world_rng_; }
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
  friend class SimMutexImpl;
  friend class SimCondVarImpl;
  struct Fiber;
  struct TimedWait;

  // A queued timer: ordered by (deadline, seq); `slot` names its state.
  struct HeapEntry {
    TimePoint deadline;
    uint64_t seq;
    uint32_t slot;
  };
  // What a timer does when it fires. Slots are reused; `seq` tells a timer
  // apart from an earlier one in the same slot.
  struct TimerSlot {
    uint64_t seq = 0;
    uint32_t heap_index = kNotQueued;
    Fiber* wake = nullptr;          // Sleep: make this fiber ready.
    TimedWait* wait = nullptr;      // Timed condition wait: time it out.
    std::function<void()> fire;     // AddTimer.
  };
  static constexpr uint32_t kNotQueued = ~uint32_t{0};

  // The fiber running now; nullptr on the driver (inside Run, between fibers).
  Fiber* current_fiber() const { return current_; }
  // Suspends the running fiber until something makes it ready again.
  void Block();
  void MakeReady(Fiber* f);

  uint32_t QueueTimer(TimePoint deadline);
  void RemoveTimer(uint32_t slot);
  void PopTimer();
  bool Earlier(const HeapEntry& a, const HeapEntry& b) const {
    return a.deadline != b.deadline ? a.deadline < b.deadline : a.seq < b.seq;
  }
  void SiftUp(uint32_t i);
  void SiftDown(uint32_t i);
  void Place(uint32_t i, const HeapEntry& e);

  void Drive(RunOutcome& outcome);

  const uint64_t seed_;
  const SimLimits limits_;
  base::Rng world_rng_;  // The root seed's fork "runtime/world".
  base::Rng sched_rng_;  // Its fork "runtime/scheduler".
  TimePoint now_{};
  std::vector<HeapEntry> heap_;        // Binary min-heap of live timers.
  std::vector<TimerSlot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_timer_seq_ = 0;
  uint64_t timer_firings_ = 0;
  uint64_t fibers_spawned_ = 0;
  std::vector<std::shared_ptr<Fiber>> fibers_;  // Every task spawned during Run.
  std::vector<Fiber*> ready_;
  Fiber* current_ = nullptr;
  uint64_t live_ = 0;  // Spawned fibers that have not returned.
};

}  // namespace kvlog::sim
