// Property tests with RapidCheck: generated operation lists and generated
// fault schedules, shrunk to a minimal failing case when a property breaks.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "log/sim/broker.h"
#include "sim/scenario.h"
#include "sim/sim_runtime.h"

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;

// One step of the model test.
struct ModelOp {
  enum Kind { kPut, kDelete, kGet, kRange, kBatchPut, kReopen };
  int kind = kPut;
  int key = 0;    // Index into a small key space, so keys collide.
  int value = 0;  // Payload length for puts (0 is allowed: empty values).
  int end = 0;    // Range end key index.
};

void showValue(const ModelOp& op, std::ostream& os) {
  static const char* names[] = {"put", "delete", "get", "range", "batch-put", "reopen"};
  os << names[op.kind] << "(k" << op.key;
  if (op.kind == ModelOp::kPut || op.kind == ModelOp::kBatchPut) os << ", " << op.value << " bytes";
  if (op.kind == ModelOp::kRange) os << "..k" << op.end;
  os << ")";
}

std::string Key(int i) { return fmt::format("k{}", i); }

}  // namespace
}  // namespace kvlog::sim

namespace rc {
template <>
struct Arbitrary<kvlog::sim::ModelOp> {
  static Gen<kvlog::sim::ModelOp> arbitrary() {
    return gen::construct<kvlog::sim::ModelOp>(
        gen::weightedElement<int>({{4, kvlog::sim::ModelOp::kPut},
                                   {2, kvlog::sim::ModelOp::kDelete},
                                   {4, kvlog::sim::ModelOp::kGet},
                                   {2, kvlog::sim::ModelOp::kRange},
                                   {2, kvlog::sim::ModelOp::kBatchPut},
                                   {1, kvlog::sim::ModelOp::kReopen}}),
        gen::inRange(0, 6), gen::inRange(0, 40), gen::inRange(0, 7));
  }
};
}  // namespace rc

namespace kvlog::sim {
namespace {

// A model-based (stateful) test: one client against a std::map, under the
// simulator with latency, lost acknowledgements and a lagging reader. Every
// read must equal the model; a reopened client must rebuild the same state.
RC_GTEST_PROP(ClientModelTest, OneClientBehavesLikeAnOrderedMap, (const std::vector<ModelOp>& ops)) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  SimRuntime rt(seed);
  std::string mismatch;
  auto outcome = rt.Run([&] {
    log::sim::BrokerFaults faults;
    faults.append_latency = 1ms;
    faults.append_jitter = 2ms;
    faults.lost_ack_probability = 0.2;
    log::sim::Broker broker(rt, faults, seed);
    auto open = [&] {
      kv::ClientOptions options;
      options.runtime = &rt;
      options.client_id = "model";
      return kv::Client::Open(broker.Connect(log::sim::ConnectionFaults{.reader_lag = 3ms}),
                              kv::NewMemoryStorage(), options);
    };
    auto opened = open();
    if (!opened) {
      mismatch = "open: " + opened.error().ToString();
      return;
    }
    std::unique_ptr<kv::Client> client = std::move(*opened);
    std::map<std::string, std::string> model;
    for (std::size_t i = 0; i < ops.size() && mismatch.empty(); ++i) {
      const ModelOp& op = ops[i];
      std::ostringstream step;
      step << "step " << i << " ";
      showValue(op, step);
      const std::string key = Key(op.key);
      const std::string value(static_cast<std::size_t>(op.value), static_cast<char>('a' + i % 26));
      switch (op.kind) {
        case ModelOp::kPut:
          if (!client->Put(key, value)) mismatch = step.str() + ": put failed";
          model[key] = value;
          break;
        case ModelOp::kDelete:
          if (!client->Delete(key)) mismatch = step.str() + ": delete failed";
          model.erase(key);
          break;
        case ModelOp::kBatchPut: {
          auto batch = client->Batch();
          batch.Put(key, value).Put(Key(op.end), value + "!").Delete(Key((op.key + 1) % 6));
          if (!batch.Execute()) mismatch = step.str() + ": batch failed";
          model[key] = value;
          model[Key(op.end)] = value + "!";
          model.erase(Key((op.key + 1) % 6));
          break;
        }
        case ModelOp::kGet: {
          auto got = client->Get(key);
          auto want = model.find(key);
          bool same = want == model.end() ? (!got && got.error().code() == ErrorCode::kNotFound)
                                          : (got && *got == want->second);
          if (!same) mismatch = step.str() + ": get returned something other than the model's value";
          break;
        }
        case ModelOp::kRange: {
          std::string a = Key(std::min(op.key, op.end)), b = Key(std::max(op.key, op.end));
          auto got = client->Range(kv::KeyConstraint{a, b});
          std::vector<kv::KeyValue> want;
          for (auto it = model.lower_bound(a); it != model.end() && it->first < b; ++it) {
            want.push_back({it->first, it->second});
          }
          if (!got || *got != want) mismatch = step.str() + ": range differs from the model";
          break;
        }
        case ModelOp::kReopen: {
          client.reset();
          auto again = open();
          if (!again) {
            mismatch = step.str() + ": reopen: " + again.error().ToString();
            break;
          }
          client = std::move(*again);
          break;
        }
      }
    }
    if (mismatch.empty()) {
      auto all = client->Range(kv::KeyConstraint{});
      std::vector<kv::KeyValue> want;
      for (const auto& [k, v] : model) want.push_back({k, v});
      if (!all || *all != want) mismatch = "final state differs from the model";
    }
  });
  RC_LOG() << "seed " << seed << "\n";
  RC_ASSERT(outcome.kind == RunOutcome::Kind::kCompleted);
  RC_ASSERT(mismatch == std::string());
}

// Generated workloads and fault schedules in safe configurations keep every
// guarantee: read-your-writes, monotonic reads, convergence and durability.
RC_GTEST_PROP(SimulatedRunTest, SafeConfigurationsKeepEveryGuarantee, ()) {
  Scenario s;
  s.seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  s.workload.clients = *rc::gen::inRange(1, 5);
  s.workload.ops_per_client = *rc::gen::inRange(1, 60);
  s.workload.keys = *rc::gen::inRange(1, 8);
  std::vector<std::string> safe;
  for (const auto& p : FaultPresets()) {
    if (p.safe) safe.push_back(p.name);
  }
  const auto chosen = *rc::gen::container<std::vector<bool>>(safe.size(), rc::gen::arbitrary<bool>());
  std::vector<std::string> faults;
  std::string fault_list;
  for (std::size_t i = 0; i < safe.size(); ++i) {
    if (!chosen[i]) continue;
    faults.push_back(safe[i]);
    fault_list += (fault_list.empty() ? "" : ",") + safe[i];
  }
  RC_ASSERT(ApplyFaults(faults, s).has_value());
  SimRun run = RunScenario(s);
  auto report = Judge(run);
  RC_LOG() << "replay: kvsim --seed " << s.seed << " --clients " << s.workload.clients << " --ops "
           << s.workload.ops_per_client << " --keys " << s.workload.keys
           << (fault_list.empty() ? "" : " --faults " + fault_list) << "\n"
           << Describe(run, report);
  RC_ASSERT(Passed(run, report));
}

}  // namespace
}  // namespace kvlog::sim
