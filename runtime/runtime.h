// The runtime seam: time, blocking and concurrency for kv/ and log/sim/.
//
// Nothing in kv/ or log/sim/ reads a clock, sleeps, starts a thread or blocks
// on an OS primitive directly; it asks a Runtime. Production uses
// Runtime::Real() (threads, steady time). The simulator supplies a runtime
// that runs everything as fibers on one OS thread, with a seeded scheduler and
// a virtual clock that jumps to the next timer when every fiber is blocked, so
// a run is reproducible from its seed. This plays the role of LevelDB's Env.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace kvlog {

// The runtime's clock. It has no static now(): time is whatever the runtime in
// use says it is, real or virtual.
struct RuntimeClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<RuntimeClock, duration>;
  static constexpr bool is_steady = true;
};

using Duration = std::chrono::nanoseconds;
using TimePoint = RuntimeClock::time_point;

// Wall-clock time: nanoseconds since the Unix epoch as this process's clock
// says. Unlike Now() (steady, with an arbitrary epoch per process), two
// processes' wall times are comparable, up to their clocks' skew. TTL
// deadlines are written in it.
using WallTime = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

// A mutual-exclusion lock that blocks the way the runtime blocks (a thread, or
// a fiber). Meets BasicLockable, so std::unique_lock<Mutex> works.
class Mutex {
 public:
  virtual ~Mutex() = default;
  virtual void lock() = 0;
  virtual void unlock() = 0;
};

// A condition variable paired with a runtime Mutex. Spurious wake-ups are
// allowed, so waits go in a loop on a predicate (or use the predicate forms).
class CondVar {
 public:
  virtual ~CondVar() = default;
  virtual void Wait(std::unique_lock<Mutex>& lock) = 0;
  // Returns false if `deadline` (runtime time) passed before a notification.
  virtual bool WaitUntil(std::unique_lock<Mutex>& lock, TimePoint deadline) = 0;
  virtual void NotifyOne() = 0;
  virtual void NotifyAll() = 0;

  template <typename Predicate>
  void Wait(std::unique_lock<Mutex>& lock, Predicate ready) {
    while (!ready()) Wait(lock);
  }
  // Returns ready(): false means the deadline passed with ready() still false.
  template <typename Predicate>
  bool WaitUntil(std::unique_lock<Mutex>& lock, TimePoint deadline, Predicate ready) {
    while (!ready()) {
      if (!WaitUntil(lock, deadline)) return ready();
    }
    return true;
  }
};

// Concurrent work started by Runtime::Spawn.
class Task {
 public:
  // Joins if the owner did not.
  virtual ~Task() = default;
  // Blocks until the task's body has returned. Call at most once.
  virtual void Join() = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Real threads and the steady clock. Lives for the whole program.
  static Runtime& Real();

  virtual TimePoint Now() = 0;
  // The wall clock (see WallTime). The default reads Now() as if its epoch
  // were the Unix epoch: deterministic, which is what a simulator wants; the
  // real runtime reads the system clock.
  virtual WallTime WallNow() { return WallTime(Now().time_since_epoch()); }
  virtual void SleepUntil(TimePoint deadline) = 0;
  void SleepFor(Duration d) { SleepUntil(Now() + d); }

  // Runs `body` concurrently with the caller. `name` shows in diagnostics.
  virtual std::unique_ptr<Task> Spawn(std::string name, std::function<void()> body) = 0;

  virtual std::unique_ptr<Mutex> NewMutex() = 0;
  virtual std::unique_ptr<CondVar> NewCondVar() = 0;
};

}  // namespace kvlog
