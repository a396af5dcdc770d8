// The behaviour every kv::Client must show, whatever log it runs on. A log
// implementation's test instantiates the suite with a Backend factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sim, ClientConformance,
//       ::testing::Values(BackendParam{"sim", [] { return MakeSimBackend(); }}),
//       BackendParamName);
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/testing/log_doubles.h"
#include "log/log.h"

namespace kvlog::kv::testing {

// One log (a topic) that many clients can connect to.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::unique_ptr<log::Log> Connect() = 0;
};

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<Backend>()> make;
  // Iterations per thread in the read-your-own-writes stress test.
  int stress_ops_per_thread = 2000;
};

std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info);

class ClientConformance : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }

  // Opens a client on a new connection, failing the test if it cannot.
  std::unique_ptr<Client> OpenClient(ClientOptions options = {});
  std::unique_ptr<Client> OpenClient(std::unique_ptr<log::Log> log, ClientOptions options = {});
  // The same on a new connection wrapped in ControlledLog(controls).
  std::unique_ptr<Client> OpenControlledClient(LogControls& controls, ClientOptions options = {});

  std::unique_ptr<Backend> backend_;
};

}  // namespace kvlog::kv::testing
