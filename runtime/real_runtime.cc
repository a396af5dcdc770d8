// Runtime::Real(): OS threads, std synchronisation and the steady clock. The
// runtime's epoch is steady_clock's, so conversions are a re-labelling.
#include <condition_variable>
#include <thread>

#include "runtime/runtime.h"

namespace kvlog {
namespace {

std::chrono::steady_clock::time_point ToSteady(TimePoint t) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch()));
}

class RealMutex final : public Mutex {
 public:
  void lock() override { mu_.lock(); }
  void unlock() override { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class RealCondVar final : public CondVar {
 public:
  void Wait(std::unique_lock<Mutex>& lock) override { cv_.wait(lock); }
  bool WaitUntil(std::unique_lock<Mutex>& lock, TimePoint deadline) override {
    return cv_.wait_until(lock, ToSteady(deadline)) == std::cv_status::no_timeout;
  }
  void NotifyOne() override { cv_.notify_one(); }
  void NotifyAll() override { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

class ThreadTask final : public Task {
 public:
  explicit ThreadTask(std::function<void()> body) : thread_(std::move(body)) {}
  ~ThreadTask() override {
    if (thread_.joinable()) thread_.join();
  }
  void Join() override { thread_.join(); }

 private:
  std::thread thread_;
};

class RealRuntime final : public Runtime {
 public:
  TimePoint Now() override {
    return TimePoint(std::chrono::duration_cast<Duration>(
        std::chrono::steady_clock::now().time_since_epoch()));
  }
  WallTime WallNow() override {
    return WallTime(std::chrono::duration_cast<Duration>(std::chrono::system_clock::now().time_since_epoch()));
  }
  void SleepUntil(TimePoint deadline) override { std::this_thread::sleep_until(ToSteady(deadline)); }
  std::unique_ptr<Task> Spawn(std::string /*name*/, std::function<void()> body) override {
    return std::make_unique<ThreadTask>(std::move(body));
  }
  std::unique_ptr<Mutex> NewMutex() override { return std::make_unique<RealMutex>(); }
  std::unique_ptr<CondVar> NewCondVar() override { return std::make_unique<RealCondVar>(); }
};

}  // namespace

Runtime& Runtime::Real() {
  static RealRuntime* runtime = new RealRuntime();  // Never destroyed: threads may outlive main's statics.
  return *runtime;
}

}  // namespace kvlog
