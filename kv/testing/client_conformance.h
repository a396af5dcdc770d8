// The behaviour every kv::Client must show, whatever log it runs on. A log
// implementation's test instantiates the suite with a Backend factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sim, ClientConformance,
//       ::testing::Values(BackendParam{"sim", [](Runtime& rt) { return MakeSimBackend(rt); }}),
//       BackendParamName);
//
// Every case runs its clients, its concurrent tasks and its waits through the
// runtime seam (runtime/runtime.h): with real threads by default, or, given a
// BackendParam::run that runs the case inside a simulator's runtime, as fibers
// in virtual time, the same run from the same seed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/log_doubles.h"
#include "log/log.h"
#include "runtime/runtime.h"

namespace kvlog::kv::testing {

// One log (a topic) that many clients can connect to.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::unique_ptr<log::Log> Connect() = 0;
};

// Runs one case's body with the runtime it is to use, on the calling thread,
// and returns when the body and everything it started have finished.
using CaseRunner = std::function<void(const std::function<void(Runtime&)>& body)>;

struct BackendParam {
  std::string name;
  // Makes the log on the runtime the case runs on.
  std::function<std::unique_ptr<Backend>(Runtime& runtime)> make;
  // Iterations per task in the read-your-own-writes stress test.
  int stress_ops_per_thread = 2000;
  // Empty: every case runs on the calling thread with Runtime::Real(), its
  // tasks on real threads. A simulator sets it to run the case in its runtime.
  CaseRunner run;
};

std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info);

class ClientConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  // Runs a case's body on the parameter's runtime, with backend_ made on it
  // before and destroyed on it after.
  void RunCase(const std::function<void()>& body);

  // The runtime the case runs on; valid inside RunCase.
  Runtime& runtime() { return *runtime_; }
  // Concurrent work (a thread, or a fiber).
  std::unique_ptr<Task> Spawn(std::string name, std::function<void()> body) {
    return runtime().Spawn(std::move(name), std::move(body));
  }
  void SleepFor(Duration d) { runtime().SleepFor(d); }
  // A short sleep in a loop that would otherwise never block: under a fiber
  // runtime such a loop would keep every other task from running.
  void Pause() { SleepFor(std::chrono::microseconds(10)); }
  // Pauses until `client`'s Stats count at least `n` writes that waited for
  // a slot at max_writes_in_flight (a caller then asserts the count).
  void AwaitWritesWaitedAtLimit(Client& client, uint64_t n);

  // Two tasks, one per client, write at once: write i puts "k<i % keys>" =
  // "<a or b><i>" and deletes that key when i % delete_every == 0. Then both
  // clients Sync.
  void WriteConcurrently(Client& a, Client& b, int writes, int keys, int delete_every);

  // Opens a client on a new connection and runtime(), failing the test if it
  // cannot.
  std::unique_ptr<Client> OpenClient(ClientOptions options = {});
  std::unique_ptr<Client> OpenClient(std::unique_ptr<log::Log> log, ClientOptions options = {});
  // The same on a new connection wrapped in ControlledLog(controls, runtime()).
  std::unique_ptr<Client> OpenControlledClient(LogControls& controls, ClientOptions options = {});
  // A controlled client with max_writes_in_flight = 1 whose acknowledgements
  // are held, so its first write keeps the only slot.
  std::unique_ptr<Client> OpenClientWithOneWriteSlot(LogControls& controls, bool wait_for_write_slot = false);

  std::unique_ptr<Backend> backend_;

 private:
  Runtime* runtime_ = nullptr;
};

}  // namespace kvlog::kv::testing
