#include "sim/sim_runtime.h"

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "base/check.h"

namespace kvlog::sim {
namespace {

namespace bctx = boost::context;

// Every fiber gets this much stack; sanitizers inflate frames, so be generous.
constexpr std::size_t kFiberStackBytes = 512 * 1024;
// Stacks kept for reuse, process-wide. A run spawns a dozen or two fibers;
// reusing their stacks across runs saves a fresh mapping (and its page faults)
// per fiber per run.
constexpr std::size_t kPooledStacks = 64;

class StackPool {
 public:
  void* Take() {
    {
      std::lock_guard lock(mu_);
      if (!free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    void* p = std::malloc(kFiberStackBytes);
    KVLOG_CHECK(p != nullptr) << "SimRuntime: out of memory for a fiber stack";
    return p;
  }
  void Give(void* p) {
    {
      std::lock_guard lock(mu_);
      if (free_.size() < kPooledStacks) {
        free_.push_back(p);
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex mu_;
  std::vector<void*> free_;
};

StackPool& Stacks() {
  static auto* pool = new StackPool;  // Never destroyed: fibers may outlive statics.
  return *pool;
}

// A Boost.Context StackAllocator over the pool.
struct PooledStack {
  bctx::stack_context allocate() {
    bctx::stack_context sc;
    sc.size = kFiberStackBytes;
    sc.sp = static_cast<char*>(Stacks().Take()) + kFiberStackBytes;
    return sc;
  }
  void deallocate(bctx::stack_context& sc) noexcept { Stacks().Give(static_cast<char*>(sc.sp) - sc.size); }
};

// Continuations of fibers abandoned blocked by a run that stopped early. They
// are never resumed and never destroyed (destroying one would unwind code that
// expects to block); kept reachable here so leak checkers stay quiet.
std::vector<bctx::fiber>& Abandoned() {
  static auto* abandoned = new std::vector<bctx::fiber>;
  return *abandoned;
}
std::mutex& AbandonedMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

}  // namespace

class SimCondVarImpl;

struct SimRuntime::Fiber {
  std::string name;
  std::function<void()> body;
  bctx::fiber cont;  // Resumes this fiber; empty while it runs and once it returned.
  bool done = false;
  std::vector<Fiber*> joiners;
};

// One fiber waiting on a condition variable; lives on the waiter's stack.
// Waiters form an intrusive FIFO list per condition variable.
struct SimRuntime::TimedWait {
  Fiber* fiber = nullptr;
  TimedWait* prev = nullptr;
  TimedWait* next = nullptr;
  SimCondVarImpl* cv = nullptr;  // Set while queued.
  bool timed_out = false;
};

// Fibers never run in parallel and are never preempted, so the lock needs no
// atomics: a contended lock() queues the fiber, and unlock() hands the lock to
// the first in line.
class SimMutexImpl final : public Mutex {
 public:
  explicit SimMutexImpl(SimRuntime& rt) : rt_(rt) {}

  void lock() override {
    if (!locked_) {
      locked_ = true;
      return;
    }
    SimRuntime::Fiber* self = rt_.current_fiber();
    KVLOG_CHECK(self != nullptr) << "SimRuntime: a mutex held by a fiber was locked from the clock driver";
    waiters_.push_back(self);
    rt_.Block();  // unlock() handed the lock over: locked_ stays true.
  }

  void unlock() override {
    if (head_ == waiters_.size()) {
      locked_ = false;
      waiters_.clear();
      head_ = 0;
      return;
    }
    rt_.MakeReady(waiters_[head_++]);
  }

 private:
  SimRuntime& rt_;
  bool locked_ = false;
  std::vector<SimRuntime::Fiber*> waiters_;  // FIFO from head_.
  std::size_t head_ = 0;
};

class SimCondVarImpl final : public CondVar {
 public:
  explicit SimCondVarImpl(SimRuntime& rt) : rt_(rt) {}

  void Wait(std::unique_lock<Mutex>& lock) override {
    SimRuntime::TimedWait w;
    Enqueue(w);
    lock.unlock();
    rt_.Block();
    lock.lock();
  }

  bool WaitUntil(std::unique_lock<Mutex>& lock, TimePoint deadline) override {
    if (rt_.Now() >= deadline) return false;
    SimRuntime::TimedWait w;
    Enqueue(w);
    uint32_t slot = rt_.QueueTimer(deadline);
    rt_.slots_[slot].wait = &w;
    lock.unlock();
    rt_.Block();
    if (!w.timed_out) rt_.RemoveTimer(slot);
    lock.lock();
    return !w.timed_out;
  }

  void NotifyOne() override {
    if (head_ != nullptr) Wake(head_);
  }

  void NotifyAll() override {
    while (head_ != nullptr) Wake(head_);
  }

  // Called by the driver when `w`'s deadline passed first.
  void TimeOut(SimRuntime::TimedWait* w) {
    w->timed_out = true;
    Wake(w);
  }

 private:
  void Enqueue(SimRuntime::TimedWait& w) {
    w.fiber = rt_.current_fiber();
    KVLOG_CHECK(w.fiber != nullptr) << "SimRuntime: a condition variable was waited on from the clock driver";
    w.cv = this;
    w.prev = tail_;
    if (tail_ != nullptr) {
      tail_->next = &w;
    } else {
      head_ = &w;
    }
    tail_ = &w;
  }

  void Wake(SimRuntime::TimedWait* w) {
    (w->prev != nullptr ? w->prev->next : head_) = w->next;
    (w->next != nullptr ? w->next->prev : tail_) = w->prev;
    w->prev = w->next = nullptr;
    w->cv = nullptr;
    rt_.MakeReady(w->fiber);
  }

  SimRuntime& rt_;
  SimRuntime::TimedWait* head_ = nullptr;
  SimRuntime::TimedWait* tail_ = nullptr;
};

namespace {

class SimTask final : public Task {
 public:
  SimTask(std::shared_ptr<void> fiber, std::function<void()> join)
      : fiber_(std::move(fiber)), join_(std::move(join)) {}
  void Join() override {
    if (join_) std::exchange(join_, nullptr)();
  }

 private:
  std::shared_ptr<void> fiber_;
  std::function<void()> join_;
};

}  // namespace

SimRuntime::SimRuntime(uint64_t seed, SimLimits limits)
    : seed_(seed),
      limits_(limits),
      world_rng_(base::Rng(seed).Fork("runtime/world")),
      sched_rng_(base::Rng(seed).Fork("runtime/scheduler")) {}

SimRuntime::~SimRuntime() = default;

uint64_t SimRuntime::Uniform(uint64_t n) { return world_rng_.Below(n); }

bool SimRuntime::Chance(double probability) { return world_rng_.Chance(probability); }

// --- fibers -----------------------------------------------------------------

// The driver's continuation while a fiber runs. One per thread: a run's
// fibers run on the thread that called Run, one at a time.
thread_local bctx::fiber t_driver;

void SimRuntime::Block() {
  KVLOG_CHECK(current_ != nullptr) << "SimRuntime: the clock driver tried to block";
  t_driver = std::move(t_driver).resume();
}

void SimRuntime::MakeReady(Fiber* f) { ready_.push_back(f); }

std::unique_ptr<Task> SimRuntime::Spawn(std::string name, std::function<void()> body) {
  auto fiber = std::make_shared<Fiber>();
  fiber->name = std::move(name);
  fiber->body = std::move(body);
  Fiber* f = fiber.get();
  f->cont = bctx::fiber(std::allocator_arg, PooledStack{}, [this, f](bctx::fiber&& driver) {
    t_driver = std::move(driver);
    std::exchange(f->body, nullptr)();
    f->done = true;
    --live_;
    for (Fiber* j : f->joiners) MakeReady(j);
    f->joiners.clear();
    return std::move(t_driver);
  });
  fibers_.push_back(fiber);
  ++fibers_spawned_;
  ++live_;
  MakeReady(f);
  return std::make_unique<SimTask>(fiber, [this, f] {
    if (f->done) return;
    KVLOG_CHECK(current_ != nullptr) << "SimRuntime: a task was joined from the clock driver";
    f->joiners.push_back(current_);
    Block();
  });
}

std::unique_ptr<Mutex> SimRuntime::NewMutex() { return std::make_unique<SimMutexImpl>(*this); }
std::unique_ptr<CondVar> SimRuntime::NewCondVar() { return std::make_unique<SimCondVarImpl>(*this); }

void SimRuntime::SleepUntil(TimePoint deadline) {
  KVLOG_CHECK(current_ != nullptr) << "SimRuntime: the clock driver tried to sleep";
  if (deadline <= now_) {
    MakeReady(current_);  // A yield: the scheduler may pick another ready fiber.
    Block();
    return;
  }
  uint32_t slot = QueueTimer(deadline);
  slots_[slot].wake = current_;
  Block();
}

// --- timers -----------------------------------------------------------------

uint32_t SimRuntime::QueueTimer(TimePoint deadline) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  TimerSlot& s = slots_[slot];
  s.seq = next_timer_seq_++;
  auto i = static_cast<uint32_t>(heap_.size());
  heap_.push_back(HeapEntry{std::max(deadline, now_), s.seq, slot});
  s.heap_index = i;
  SiftUp(i);
  return slot;
}

void SimRuntime::Place(uint32_t i, const HeapEntry& e) {
  heap_[i] = e;
  slots_[e.slot].heap_index = i;
}

void SimRuntime::SiftUp(uint32_t i) {
  HeapEntry e = heap_[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!Earlier(e, heap_[parent])) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, e);
}

void SimRuntime::SiftDown(uint32_t i) {
  const auto n = static_cast<uint32_t>(heap_.size());
  HeapEntry e = heap_[i];
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Earlier(heap_[child + 1], heap_[child])) ++child;
    if (!Earlier(heap_[child], e)) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, e);
}

void SimRuntime::RemoveTimer(uint32_t slot) {
  TimerSlot& s = slots_[slot];
  uint32_t i = s.heap_index;
  if (i != kNotQueued) {
    KVLOG_CHECK(i < heap_.size() && heap_[i].slot == slot) << "SimRuntime: timer heap index out of date";
    uint32_t last = static_cast<uint32_t>(heap_.size()) - 1;
    if (i != last) {
      HeapEntry moved = heap_[last];
      heap_.pop_back();
      Place(i, moved);
      if (i > 0 && Earlier(moved, heap_[(i - 1) / 2])) {
        SiftUp(i);
      } else {
        SiftDown(i);
      }
    } else {
      heap_.pop_back();
    }
  }
  s.heap_index = kNotQueued;
  s.wake = nullptr;
  s.wait = nullptr;
  s.fire = nullptr;
  free_slots_.push_back(slot);
}

uint64_t SimRuntime::AddTimer(TimePoint deadline, std::function<void()> fire) {
  uint32_t slot = QueueTimer(deadline);
  slots_[slot].fire = std::move(fire);
  return (slots_[slot].seq << 32) | slot;
}

void SimRuntime::CancelTimer(uint64_t id) {
  auto slot = static_cast<uint32_t>(id & 0xffffffffu);
  if (slot < slots_.size() && slots_[slot].heap_index != kNotQueued && (slots_[slot].seq << 32) == (id & ~0xffffffffULL)) {
    RemoveTimer(slot);
  }
}

// --- the driver -------------------------------------------------------------

void SimRuntime::Drive(RunOutcome& outcome) {
  const TimePoint epoch = now_;
  for (;;) {
    // Run ready fibers, picked at random from the seed, until none is ready.
    while (!ready_.empty()) {
      std::size_t i = static_cast<std::size_t>(sched_rng_.Below(ready_.size()));
      Fiber* f = ready_[i];
      ready_[i] = ready_.back();
      ready_.pop_back();
      current_ = f;
      f->cont = std::move(f->cont).resume();
      current_ = nullptr;
    }
    if (live_ == 0) {
      outcome.kind = RunOutcome::Kind::kCompleted;
      break;
    }
    if (heap_.empty()) {
      outcome.kind = RunOutcome::Kind::kDeadlock;
      for (const auto& f : fibers_) {
        if (!f->done) outcome.blocked_tasks.push_back(f->name);
      }
      break;
    }
    const HeapEntry top = heap_.front();
    // The heap's top is the earliest timer: no child is earlier.
    for (std::size_t c = 1; c <= 2 && c < heap_.size(); ++c) {
      KVLOG_CHECK(!Earlier(heap_[c], top)) << "SimRuntime: timer heap out of order at index " << c;
    }
    if (top.deadline - epoch > limits_.max_virtual_time || timer_firings_ >= limits_.max_timer_firings) {
      outcome.kind = RunOutcome::Kind::kTimeLimit;
      break;
    }
    // Timers are queued no earlier than now_ and now_ moves only to the
    // earliest of them, so the clock never goes back.
    KVLOG_CHECK_GE(top.deadline, now_) << "SimRuntime: a timer is due before the clock";
    now_ = top.deadline;
    ++timer_firings_;
    TimerSlot& s = slots_[top.slot];
    Fiber* wake = s.wake;
    TimedWait* wait = s.wait;
    std::function<void()> fire = std::move(s.fire);
    RemoveTimer(top.slot);
    if (wake != nullptr) {
      MakeReady(wake);
    } else if (wait != nullptr) {
      // The waiter is still queued on its condition variable: a notification
      // would have removed this timer.
      wait->cv->TimeOut(wait);
    } else if (fire) {
      fire();
    }
  }
}

RunOutcome SimRuntime::Run(std::function<void()> root) {
  RunOutcome outcome;
  KVLOG_CHECK(current_ == nullptr) << "SimRuntime: Run was called from inside a run";
  Spawn("root", std::move(root));
  Drive(outcome);
  if (outcome.kind != RunOutcome::Kind::kCompleted) {
    // Blocked fibers can never finish; keep their stacks and never resume them.
    std::lock_guard lock(AbandonedMutex());
    for (const auto& f : fibers_) {
      if (!f->done && f->cont) Abandoned().push_back(std::move(f->cont));
    }
    ready_.clear();
  }
  outcome.virtual_end = now_;
  outcome.timer_firings = timer_firings_;
  outcome.fibers_spawned = fibers_spawned_;
  return outcome;
}

}  // namespace kvlog::sim
