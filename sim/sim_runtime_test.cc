#include "sim/sim_runtime.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;

// Several tasks that interleave through yields, sleeps and a shared lock; the
// trace is the order their steps ran in.
std::string Trace(uint64_t seed, RunOutcome* outcome = nullptr) {
  SimRuntime rt(seed);
  std::string trace;
  auto result = rt.Run([&] {
    auto mu = rt.NewMutex();
    std::vector<std::unique_ptr<Task>> tasks;
    for (int t = 0; t < 4; ++t) {
      tasks.push_back(rt.Spawn("worker", [&, t] {
        for (int i = 0; i < 5; ++i) {
          {
            std::unique_lock lock(*mu);
            trace += static_cast<char>('a' + t);
          }
          rt.SleepFor(std::chrono::milliseconds(rt.Uniform(3)));
        }
      }));
    }
    for (auto& task : tasks) task->Join();
  });
  if (outcome) *outcome = result;
  return trace;
}

TEST(SimRuntimeTest, TheSameSeedGivesTheSameInterleaving) {
  RunOutcome first, second;
  std::string a = Trace(42, &first);
  std::string b = Trace(42, &second);
  EXPECT_EQ(a, b);
  EXPECT_EQ(first.kind, RunOutcome::Kind::kCompleted);
  EXPECT_EQ(first.virtual_end, second.virtual_end);
  EXPECT_EQ(a.size(), 20u);
}

TEST(SimRuntimeTest, DifferentSeedsGiveDifferentInterleavings) {
  std::set<std::string> traces;
  for (uint64_t seed = 0; seed < 20; ++seed) traces.insert(Trace(seed));
  EXPECT_GT(traces.size(), 10u);
}

TEST(SimRuntimeTest, VirtualTimeJumpsToTheNextTimer) {
  SimRuntime rt(1);
  std::vector<int64_t> woke_ms;
  auto outcome = rt.Run([&] {
    auto start = rt.Now();
    auto a = rt.Spawn("late", [&] {
      rt.SleepFor(10h);
      woke_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(rt.Now() - start).count());
    });
    auto b = rt.Spawn("early", [&] {
      rt.SleepFor(5ms);
      woke_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(rt.Now() - start).count());
    });
    a->Join();
    b->Join();
  });
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kCompleted);
  EXPECT_EQ(woke_ms, (std::vector<int64_t>{5, 10 * 3600 * 1000}));
}

TEST(SimRuntimeTest, TimedWaitsTimeOutInVirtualTimeAndNotificationsWinWhenEarlier) {
  SimRuntime rt(7);
  bool timed_out_result = true, notified_result = false;
  Duration waited{};
  auto outcome = rt.Run([&] {
    auto mu = rt.NewMutex();
    auto cv = rt.NewCondVar();
    bool flag = false;
    {
      std::unique_lock lock(*mu);
      auto start = rt.Now();
      timed_out_result = cv->WaitUntil(lock, start + 3s, [&] { return flag; });
      waited = rt.Now() - start;
    }
    auto setter = rt.Spawn("setter", [&] {
      rt.SleepFor(1s);
      std::unique_lock lock(*mu);
      flag = true;
      cv->NotifyAll();
    });
    {
      std::unique_lock lock(*mu);
      notified_result = cv->WaitUntil(lock, rt.Now() + 1h, [&] { return flag; });
    }
    setter->Join();
  });
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kCompleted);
  EXPECT_FALSE(timed_out_result);
  EXPECT_EQ(waited, Duration(3s));
  EXPECT_TRUE(notified_result);
  EXPECT_EQ(outcome.virtual_end - TimePoint{}, Duration(4s));
}

TEST(SimRuntimeTest, ADeadlockIsReportedWithTheBlockedTasks) {
  SimRuntime rt(3);
  auto outcome = rt.Run([&] {
    auto mu = rt.NewMutex();
    auto cv = rt.NewCondVar();
    std::unique_lock lock(*mu);
    cv->Wait(lock);  // Nobody will notify.
  });
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kDeadlock);
  EXPECT_EQ(outcome.blocked_tasks, (std::vector<std::string>{"root"}));
}

TEST(SimRuntimeTest, ARunPastItsVirtualTimeLimitStops) {
  SimRuntime rt(3, SimLimits{.max_virtual_time = 1h});
  auto outcome = rt.Run([&] {
    for (;;) rt.SleepFor(1min);
  });
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kTimeLimit);
  EXPECT_LE(outcome.virtual_end - TimePoint{}, Duration(1h));
}

}  // namespace
}  // namespace kvlog::sim
