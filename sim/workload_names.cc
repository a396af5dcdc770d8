#include "sim/workload_names.h"

#include "sim/bank_workload.h"
#include "sim/counter_workload.h"

namespace kvlog::sim {

std::vector<std::string> WorkloadNames() { return {"kv", "counter", "bank"}; }

std::vector<std::string> StandaloneWorkloadNames() { return {"ttl", "watch"}; }

Status UseWorkload(const std::string& name, Scenario& s) {
  if (name == "kv") {
    s.workload.custom = nullptr;
    s.checks.clear();
  } else if (name == "counter") {
    s.workload.custom = CounterWorkload();
    s.checks = {"counter", "read-levels", "convergence"};
  } else if (name == "bank") {
    s.workload.custom = BankWorkload();
    s.checks = {"bank", "read-levels", "convergence"};
  } else if (name == "ttl" || name == "watch") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the " + name + " workload runs on its own (sim/" + name + "_workload.h), not in a Scenario");
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "unknown workload '" + name + "'; known: kv, counter, bank");
  }
  return OkStatus();
}

}  // namespace kvlog::sim
