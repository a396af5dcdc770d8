#include "sim/swarm.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>

#include "kv/options.h"
#include "sim/fault_registry.h"

namespace kvlog::sim {

Result<SwarmChoice> ApplySwarm(uint64_t seed, const std::vector<std::string>& requested, Scenario& s) {
  std::vector<const FaultSpec*> faults;
  for (const std::string& name : requested) {
    const FaultSpec* f = FindFault(name);
    if (!f) return MakeError(ErrorCode::kInvalidArgument, UnknownFaultMessage(name));
    if (!f->apply) {
      return MakeError(ErrorCode::kInvalidArgument, fmt::format("fault '{}' runs only live ({})", name, FaultSites(*f)));
    }
    if (std::find(faults.begin(), faults.end(), f) == faults.end()) faults.push_back(f);
  }
  // In the registry's order, whatever the order asked.
  std::sort(faults.begin(), faults.end(), [](const FaultSpec* a, const FaultSpec* b) { return a < b; });
  const base::Rng swarm = base::Rng(seed).Fork("swarm");
  base::Rng pick = swarm.Fork("pick");
  std::vector<bool> on(faults.size());
  bool any = false;
  for (std::size_t i = 0; i < faults.size(); ++i) any = (on[i] = pick.Chance(0.5)) || any;
  if (!any && !faults.empty()) on[pick.Below(faults.size())] = true;

  SwarmChoice choice;
  for (std::size_t i = 0; i < faults.size(); ++i) {
    if (!on[i]) continue;
    base::Rng rng = swarm.Fork(fmt::format("fault/{}", faults[i]->name));
    for (std::string& item : faults[i]->apply(s, &rng)) {
      choice.parameters.push_back(fmt::format("{}.{}", faults[i]->name, item));
    }
    choice.faults.push_back(faults[i]->name);
    if (std::find(s.fault_names.begin(), s.fault_names.end(), faults[i]->name) == s.fault_names.end()) {
      s.fault_names.push_back(faults[i]->name);
    }
  }

  base::Rng client = swarm.Fork("client");
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
  // Drawn after the rest, so the knobs above stay what they were for every
  // seed: async puts in the mix for half the seeds (several in flight per
  // process, so the in-flight limit is met, not only at 1), and whether an
  // async write at the limit waits for a slot or is refused.
  if (client.Chance(0.5)) {
    w.mix.put_async = static_cast<int>(client.Between(5, 40));
    w.max_async_writes = static_cast<int>(client.Between(1, 16));
  }
  w.wait_for_write_slot = client.Chance(0.5);
  auto ms = [](Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  auto add = [&](std::string_view name, auto value) { choice.parameters.push_back(fmt::format("client.{}={}", name, value)); };
  add("max_poll_records", *w.max_poll_records);
  add("poll_timeout_ms", ms(*w.poll_timeout));
  add("poll_error_backoff_ms", ms(*w.poll_error_backoff));
  add("op_timeout_ms", ms(w.op_timeout));
  add("max_think_us", std::chrono::duration_cast<std::chrono::microseconds>(w.max_think).count());
  add("max_batch", w.max_batch);
  add("max_writes_in_flight", *w.max_writes_in_flight);
  add("put_async_weight", w.mix.put_async);
  if (w.mix.put_async > 0) add("max_async_writes", w.max_async_writes);
  add("wait_for_write_slot", *w.wait_for_write_slot);
  return choice;
}

}  // namespace kvlog::sim
