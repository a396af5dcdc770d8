#include "log/sim/faults.h"

namespace kvlog::log::sim {

std::vector<std::string> FaultNames(const BrokerFaults& f) {
  std::vector<std::string> names;
  if (f.append_latency.count() > 0 || f.append_jitter.count() > 0) names.push_back("append-latency");
  if (f.lost_ack_probability > 0) {
    names.push_back(f.idempotent_producer ? "lost-ack" : "lost-ack-without-idempotence");
  }
  if (f.failed_append_probability > 0) names.push_back("failed-append");
  if (!f.outages.empty()) names.push_back("outage");
  if (f.replication_delay.count() > 0) names.push_back("replication-delay");
  if (!f.failovers.empty()) {
    names.push_back(f.unclean_election ? "unclean-failover" : (f.acks == Acks::kLeader ? "failover-acks1" : "failover"));
  }
  if (f.compaction_interval.count() > 0) {
    names.push_back(f.min_compaction_lag.count() > 0 ? "compaction" : "compaction-without-lag");
  }
  if (f.corrupt_probability > 0) names.push_back("corrupt-record");
  return names;
}

std::vector<std::string> FaultNames(const ConnectionFaults& f) {
  std::vector<std::string> names;
  if (f.reader_lag.count() > 0) names.push_back("lagging-reader");
  if (!f.reader_pauses.empty()) names.push_back("paused-reader");
  return names;
}

}  // namespace kvlog::log::sim
