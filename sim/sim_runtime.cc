#include "sim/sim_runtime.h"

#include <boost/fiber/all.hpp>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <future>
#include <thread>
#include <unordered_set>

namespace kvlog::sim {
namespace {

namespace bf = boost::fibers;

// Every fiber gets this much stack; sanitizers inflate frames, so be generous.
constexpr std::size_t kFiberStackBytes = 512 * 1024;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Picks the next ready fiber at random from the seed. The main context (the
// clock driver) is picked only when nothing else is ready.
class SeededAlgorithm final : public bf::algo::algorithm {
 public:
  explicit SeededAlgorithm(uint64_t seed) : rng_(SplitMix64(seed ^ 0x5eedULL)) {}

  void awakened(bf::context* ctx) noexcept override {
    if (ctx->is_context(bf::type::main_context)) {
      main_ = ctx;
    } else {
      ready_.push_back(ctx);
    }
  }

  bf::context* pick_next() noexcept override {
    if (!ready_.empty()) {
      std::size_t i = static_cast<std::size_t>(rng_() % ready_.size());
      bf::context* ctx = ready_[i];
      ready_[i] = ready_.back();
      ready_.pop_back();
      return ctx;
    }
    return std::exchange(main_, nullptr);
  }

  bool has_ready_fibers() const noexcept override { return !ready_.empty() || main_ != nullptr; }

  // Reached only when nothing at all is ready: after a run was abandoned with
  // tasks blocked forever. Park this thread for good instead of spinning.
  void suspend_until(std::chrono::steady_clock::time_point const&) noexcept override {
    // Never destroyed: destroying a condition variable with a waiter blocks exit.
    static auto* park_mu = new std::mutex;
    static auto* park_cv = new std::condition_variable;
    std::unique_lock lock(*park_mu);
    park_cv->wait(lock, [] { return false; });
  }

  void notify() noexcept override {}

 private:
  std::mt19937_64 rng_;
  std::vector<bf::context*> ready_;
  bf::context* main_ = nullptr;
};

class SimMutex final : public Mutex {
 public:
  void lock() override { mu_.lock(); }
  void unlock() override { mu_.unlock(); }

 private:
  bf::mutex mu_;
};

class SimCondVar final : public CondVar {
 public:
  explicit SimCondVar(SimRuntime& rt) : rt_(rt) {}

  void Wait(std::unique_lock<Mutex>& lock) override { cv_.wait(lock); }

  bool WaitUntil(std::unique_lock<Mutex>& lock, TimePoint deadline) override {
    if (rt_.Now() >= deadline) return false;
    auto fired = std::make_shared<bool>(false);
    uint64_t timer = rt_.AddTimer(deadline, [this, fired] {
      *fired = true;
      cv_.notify_all();
    });
    cv_.wait(lock);
    if (!*fired) rt_.CancelTimer(timer);
    return !*fired;
  }

  void NotifyOne() override { cv_.notify_one(); }
  void NotifyAll() override { cv_.notify_all(); }

 private:
  SimRuntime& rt_;
  bf::condition_variable_any cv_;
};

}  // namespace

struct SimRuntime::TaskState {
  std::string name;
  bool done = false;
  bf::mutex mu;
  bf::condition_variable finished;
};

namespace {

class SimTask final : public Task {
 public:
  explicit SimTask(std::shared_ptr<void> state, std::function<void()> join)
      : state_(std::move(state)), join_(std::move(join)) {}
  void Join() override {
    if (join_) std::exchange(join_, nullptr)();
  }

 private:
  std::shared_ptr<void> state_;
  std::function<void()> join_;
};

}  // namespace

SimRuntime::SimRuntime(uint64_t seed, SimLimits limits)
    : seed_(seed), limits_(limits), world_rng_(SplitMix64(seed ^ 0x3011dULL)) {}

SimRuntime::~SimRuntime() = default;

uint64_t SimRuntime::Uniform(uint64_t n) { return n == 0 ? 0 : world_rng_() % n; }

bool SimRuntime::Chance(double probability) {
  if (probability <= 0) return false;
  if (probability >= 1) return true;
  return static_cast<double>(world_rng_() >> 11) * 0x1.0p-53 < probability;
}

uint64_t SimRuntime::AddTimer(TimePoint deadline, std::function<void()> fire) {
  uint64_t id = next_timer_id_++;
  timers_.push(Timer{std::max(deadline, now_), id, std::move(fire)});
  return id;
}

void SimRuntime::CancelTimer(uint64_t id) { cancelled_.insert(id); }

void SimRuntime::SleepUntil(TimePoint deadline) {
  if (deadline <= now_) {
    boost::this_fiber::yield();
    return;
  }
  bf::mutex mu;
  bf::condition_variable cv;
  bool fired = false;
  AddTimer(deadline, [&] {
    std::unique_lock lock(mu);
    fired = true;
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return fired; });
}

std::unique_ptr<Task> SimRuntime::Spawn(std::string name, std::function<void()> body) {
  auto state = std::make_shared<TaskState>();
  state->name = std::move(name);
  tasks_.push_back(state);
  ++fibers_spawned_;
  bf::fiber(std::allocator_arg, bf::fixedsize_stack(kFiberStackBytes), [state, body = std::move(body)] {
    body();
    std::unique_lock lock(state->mu);
    state->done = true;
    state->finished.notify_all();
  }).detach();
  return std::make_unique<SimTask>(state, [state] {
    std::unique_lock lock(state->mu);
    state->finished.wait(lock, [&] { return state->done; });
  });
}

std::unique_ptr<Mutex> SimRuntime::NewMutex() { return std::make_unique<SimMutex>(); }
std::unique_ptr<CondVar> SimRuntime::NewCondVar() { return std::make_unique<SimCondVar>(*this); }

void SimRuntime::Drive(RunOutcome& outcome) {
  const TimePoint epoch = now_;
  for (;;) {
    boost::this_fiber::yield();  // Returns once no other fiber is ready.
    bool all_done = true;
    for (const auto& t : tasks_) all_done = all_done && t->done;
    if (all_done) {
      outcome.kind = RunOutcome::Kind::kCompleted;
      break;
    }
    while (!timers_.empty() && cancelled_.erase(timers_.top().id) > 0) timers_.pop();
    if (timers_.empty()) {
      outcome.kind = RunOutcome::Kind::kDeadlock;
      for (const auto& t : tasks_) {
        if (!t->done) outcome.blocked_tasks.push_back(t->name);
      }
      break;
    }
    if (timers_.top().deadline - epoch > limits_.max_virtual_time || timer_firings_ >= limits_.max_timer_firings) {
      outcome.kind = RunOutcome::Kind::kTimeLimit;
      break;
    }
    Timer timer = timers_.top();
    timers_.pop();
    now_ = std::max(now_, timer.deadline);
    ++timer_firings_;
    timer.fire();
  }
}

RunOutcome SimRuntime::Run(std::function<void()> root) {
  RunOutcome outcome;
  std::promise<void> driven;
  // A fresh OS thread gives every run a fresh fiber scheduler, so nothing from
  // an earlier run (or the caller's own fibers) affects this one.
  std::thread driver([&] {
    bf::use_scheduling_algorithm<SeededAlgorithm>(seed_);
    Spawn("root", std::move(root));
    Drive(outcome);
    driven.set_value();
  });
  driven.get_future().wait();
  if (outcome.kind == RunOutcome::Kind::kCompleted) {
    driver.join();
  } else {
    // Blocked fibers can never finish, so the thread's fiber scheduler cannot
    // shut down; it parks (see SeededAlgorithm::suspend_until) and is left.
    driver.detach();
  }
  outcome.virtual_end = now_;
  outcome.timer_firings = timer_firings_;
  outcome.fibers_spawned = fibers_spawned_;
  return outcome;
}

}  // namespace kvlog::sim
