#include "sim/swarm.h"

#include <algorithm>

#include "kv/options.h"
#include "sim/fault_registry.h"

namespace kvlog::sim {

Result<SwarmChoice> ApplySwarm(uint64_t seed, const std::vector<std::string>& requested, Scenario& s) {
  std::vector<const FaultSpec*> faults;
  for (const std::string& name : requested) {
    const FaultSpec* f = FindFault(name);
    if (!f) return MakeError(ErrorCode::kInvalidArgument, UnknownFaultMessage(name));
    if (!f->apply) {
      return MakeError(ErrorCode::kInvalidArgument, "fault '" + name + "' runs only live (" + FaultSites(*f) + ")");
    }
    if (std::find(faults.begin(), faults.end(), f) == faults.end()) faults.push_back(f);
  }
  // In the registry's order, whatever the order asked.
  std::sort(faults.begin(), faults.end(), [](const FaultSpec* a, const FaultSpec* b) { return a < b; });
  const Rng swarm = Rng(seed).Fork("swarm");
  Rng pick = swarm.Fork("pick");
  std::vector<bool> on(faults.size());
  bool any = false;
  for (std::size_t i = 0; i < faults.size(); ++i) any = (on[i] = pick.Chance(0.5)) || any;
  if (!any && !faults.empty()) on[pick.Below(faults.size())] = true;

  SwarmChoice choice;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (!on[i]) continue;
    Rng rng = swarm.Fork("fault/" + faults[i]->name);
    for (std::string& item : faults[i]->apply(s, &rng)) choice.parameters.push_back(faults[i]->name + "." + item);
    choice.faults.push_back(faults[i]->name);
    if (std::find(s.fault_names.begin(), s.fault_names.end(), faults[i]->name) == s.fault_names.end()) {
      s.fault_names.push_back(faults[i]->name);
    }
  }

  Rng client = swarm.Fork("client");
  WorkloadOptions& w = s.workload;
  static constexpr std::size_t kPollSizes[] = {1, 2, 4, 16, 128, 10'000};
  w.max_poll_records = kPollSizes[client.Below(std::size(kPollSizes))];
  w.poll_timeout = std::chrono::milliseconds(client.Between(1, 200));
  w.poll_error_backoff = std::chrono::milliseconds(client.Between(1, 200));
  w.op_timeout = std::chrono::milliseconds(client.Between(100, 3000));
  w.max_think = std::chrono::microseconds(client.Between(0, 10'000));
  w.max_batch = static_cast<int>(client.Between(1, 8));
  // Drawn last, so the knobs above stay what they were for every seed. A
  // limit of 1 makes a process's write wait behind its client's janitor
  // tombstone (TTL workloads); the default leaves it unreached.
  static constexpr std::size_t kInFlightLimits[] = {1, 2, 8, kv::ClientOptions::kDefaultMaxWritesInFlight};
  w.max_writes_in_flight = kInFlightLimits[client.Below(std::size(kInFlightLimits))];
  auto ms = [](Duration d) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
  choice.parameters.push_back("client.max_poll_records=" + std::to_string(*w.max_poll_records));
  choice.parameters.push_back("client.poll_timeout_ms=" + ms(*w.poll_timeout));
  choice.parameters.push_back("client.poll_error_backoff_ms=" + ms(*w.poll_error_backoff));
  choice.parameters.push_back("client.op_timeout_ms=" + ms(w.op_timeout));
  choice.parameters.push_back(
      "client.max_think_us=" + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(w.max_think).count()));
  choice.parameters.push_back("client.max_batch=" + std::to_string(w.max_batch));
  choice.parameters.push_back("client.max_writes_in_flight=" + std::to_string(*w.max_writes_in_flight));
  return choice;
}

}  // namespace kvlog::sim
