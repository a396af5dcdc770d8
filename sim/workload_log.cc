#include "sim/workload_log.h"

namespace kvlog::sim {

WorkloadLog SimWorkloadLog(log::sim::Broker& broker, const std::vector<log::sim::ConnectionFaults>& slot_faults) {
  WorkloadLog out;
  out.connect = [&broker, slot_faults](int slot) {
    log::sim::ConnectionFaults faults;
    if (!slot_faults.empty() && slot >= 0) faults = slot_faults[static_cast<std::size_t>(slot) % slot_faults.size()];
    return broker.Connect(faults);
  };
  out.end_offset = [&broker]() -> Result<log::Offset> { return broker.end_offset(); };
  out.visit = [&broker](const std::function<void(log::Offset, const log::Record&)>& visit) -> Status {
    broker.VisitLogAsWritten([&](const log::sim::StoredEntry& e) {
      if (e.record) visit(e.offset, *e.record);
    });
    return {};
  };
  out.start_offset = [&broker] { return broker.start_offset(); };
  return out;
}

}  // namespace kvlog::sim
