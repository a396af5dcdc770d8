#include "sim/ttl_watch_faults.h"

#include <algorithm>

#include "sim/fault_registry.h"
#include "sim/scenario.h"

namespace kvlog::sim {

std::string ApplyTtlWatchFaults(const std::vector<std::string>& names, log::sim::BrokerFaults& broker,
                                std::vector<log::sim::ConnectionFaults>& slot_faults, int clients) {
  if (names.empty()) return "";
  Scenario s;
  s.workload.clients = clients;
  if (Status applied = ApplyFaults(names, s); !applied) return applied.error().message();
  for (const auto& name : s.fault_names) {
    const FaultSpec* f = FindFault(name);
    if (f && !f->apply) return "fault '" + name + "' runs only live (" + FaultSites(*f) + ")";
  }
  if (s.workload.crashes > 0) {
    return "fault 'crash' does not apply to the ttl and watch workloads (their clients are not restarted)";
  }
  broker = s.broker;
  if (s.slot_faults.empty() && s.client_partitions.empty()) return "";
  slot_faults.assign(static_cast<std::size_t>(std::max(clients, 0)), {});
  for (int i = 0; i < clients; ++i) {
    auto& faults = slot_faults[static_cast<std::size_t>(i)];
    if (!s.slot_faults.empty()) faults = s.slot_faults[static_cast<std::size_t>(i) % s.slot_faults.size()];
    for (const ClientPartition& p : s.client_partitions) {
      if (p.slot == i) faults.partitions.push_back(p.window);
    }
  }
  return "";
}

std::vector<std::string> SafeTtlWatchFaultNames() {
  std::vector<std::string> out = SafeFaultNames();
  std::erase(out, "crash");
  return out;
}

}  // namespace kvlog::sim
