// kvsim --live --brokers --nemesis: the real-broker nemesis (nemesis/) wired
// into a live run. Kept apart from live.cc so that the live runner can move
// without it: RunLive makes one LiveBrokerNemesis, starts it just before the
// workload and finishes it just after.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <expected>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "checker/check.h"
#include "nemesis/broker_nemesis.h"
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

// "NAME  description" lines for --list-faults.
std::string BrokerNemesisHelp();

// The acknowledged writes the checker found lost (or duplicated), with when
// they were invoked and acknowledged and the last nemesis action before the
// acknowledgement: at most `limit` lines, then the count and the time span.
// Empty when there are none.
std::string ExplainLostWrites(const checker::FullReport& report, size_t limit = 10);

class LiveBrokerNemesis {
 public:
  // Checks the names and the cluster (the script's cluster must be the one at
  // `brokers`; partition faults need one started with --netns).
  static std::expected<std::unique_ptr<LiveBrokerNemesis>, std::string> Make(
      const BrokerNemesisOptions& options, const std::string& brokers, const std::string& topic, uint64_t seed,
      const std::vector<std::pair<std::string, std::string>>& properties);

  // Starts the clock; the schedule begins once `clients` client slots have
  // connected through the returned function (which wraps `connect`).
  sim::ConnectFn Start(sim::ConnectFn connect, int clients);
  // Stops (healing what is still broken), puts the actions into the run's
  // history as nemesis events, names them in run.faults, and returns the
  // per-fault account for the report.
  std::string Finish(sim::SimRun& run);

 private:
  LiveBrokerNemesis() = default;
  std::unique_ptr<nemesis::BrokerControl> control_;
  std::unique_ptr<nemesis::BrokerNemesis> nemesis_;
  std::vector<std::string> names_;
  std::shared_ptr<std::atomic<int>> connected_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace kvlog::tools
