// kvsim --live --brokers --nemesis: the real-broker nemesis (nemesis/) plugged
// into sim::live's BrokerNemesis seam, and the flags that drive it.
#pragma once

#include <CLI/CLI.hpp>
#include <expected>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "checker/check.h"
#include "nemesis/broker_nemesis.h"
#include "sim/live/live.h"
#include "sim/scenario.h"

namespace kvlog::tools {

struct BrokerNemesisOptions {
  std::string faults;  // --nemesis kill-leader,pause-leader,...; empty: none
  // scripts/kafka-cluster, which started the cluster (same KVLOG_KAFKA_* environment).
  std::string script = "scripts/kafka-cluster";
  int first_ms = 3'000;     // workload start -> first fault
  int duration_ms = 5'000;  // each fault lasts [duration/2, duration]
  int gap_ms = 3'000;       // after recovery, [gap/2, gap] until the next fault
  int max_faults = 0;       // 0: until the workload ends
  bool cycle = false;       // the faults in the order named, not drawn
};

// --nemesis, --cluster-script, --nemesis-first-ms, --nemesis-duration-ms,
// --nemesis-gap-ms, --nemesis-max, --nemesis-cycle.
void AddBrokerNemesisOptions(CLI::App& app, BrokerNemesisOptions& options);

// The registry's faults (sim/fault_registry.h) named in `names` (names or
// aliases, e.g. "kill-leader", "elect") as the nemesis carries them out: each
// entry's brokers descriptor under its registry name. An unknown name, or one
// that does not run on brokers, is an error naming those that do.
std::expected<std::vector<nemesis::Fault>, std::string> BrokerFaults(const std::vector<std::string>& names);

// The acknowledged writes the checker found lost (or duplicated), with when
// they were invoked and acknowledged and the last nemesis action before the
// acknowledgement: at most `limit` lines, then the count and the time span.
// Empty when there are none.
std::string ExplainLostWrites(const checker::FullReport& report, size_t limit = 10);

// The nemesis library behind sim::live's BrokerNemesis seam: RunLive starts
// it with the run's seed, brokers and topic once the topic exists, tells it
// when every client has connected (the schedule starts then), and stops it
// (healing) when the workload ends; each action is recorded in the history as
// it happens. `flags` and `properties` are read at Start: they must outlive it.
class ScriptBrokerNemesis final : public sim::live::BrokerNemesis {
 public:
  ScriptBrokerNemesis(const BrokerNemesisOptions& flags, const std::vector<std::pair<std::string, std::string>>& properties)
      : flags_(flags), properties_(properties) {}
  ~ScriptBrokerNemesis() override;

  // The registry names of the broker faults in `list` ("kill-leader,elect"
  // gives kill-leader, failover), or why not.
  static std::expected<std::vector<std::string>, std::string> FaultList(const std::string& list);

  std::vector<std::string> FaultNames() const override;
  Status Start(const sim::live::BrokerNemesisContext& context) override;
  void ClientsConnected() override;
  bool Busy() const override;
  Status Stop() override;

  // Whether it ran in the last run, and its per-fault account for the report.
  bool Ran() const { return nemesis_ != nullptr; }
  std::string Account() const;

 private:
  const BrokerNemesisOptions& flags_;
  const std::vector<std::pair<std::string, std::string>>& properties_;
  std::unique_ptr<nemesis::BrokerControl> control_;
  std::unique_ptr<nemesis::BrokerNemesis> nemesis_;
  std::vector<nemesis::FaultRecord> records_;
};

}  // namespace kvlog::tools
