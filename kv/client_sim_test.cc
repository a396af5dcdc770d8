// The client conformance suite over the simulated log, with real threads.
#include "kv/testing/client_conformance.h"
#include "log/sim/broker.h"

namespace kvlog::kv::testing {
namespace {

class SimBackend final : public Backend {
 public:
  std::unique_ptr<log::Log> Connect() override { return broker_.Connect(); }

 private:
  log::sim::Broker broker_;
};

INSTANTIATE_TEST_SUITE_P(SimLog, ClientConformance,
                         ::testing::Values(BackendParam{"sim", [] { return std::make_unique<SimBackend>(); }}),
                         BackendParamName);

}  // namespace
}  // namespace kvlog::kv::testing
