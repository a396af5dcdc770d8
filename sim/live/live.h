// Live runs: the simulator's workload on Kafka with real threads and real
// time, checked the same way (kvsim --live, kvlog). On the embedded librdkafka
// mock cluster (the default) the faults of the registry (sim/fault_registry.h)
// that have a mock schedule are carried out on it; on real brokers client
// crashes are, and broker-side faults come from a BrokerNemesis plugged in
// through LiveOptions::broker_nemesis.
//
//   sim::live::LiveOptions o;               // embedded mock cluster
//   sim::live::LiveResult r = sim::live::RunLive(scenario, o);
//   if (r.kind == LiveResult::Kind::kFailed) ... r.report ...
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "checker/check.h"
#include "sim/scenario.h"

namespace kvlog::sim::live {

// What a broker nemesis gets when the run starts.
struct BrokerNemesisContext {
  uint64_t seed = 0;                // The run's seed: draw the schedule from it.
  std::vector<std::string> faults;  // The requested faults this nemesis handles (its FaultNames()).
  std::string brokers;              // Bootstrap servers.
  std::string topic;                // The run's topic (single partition).
  // Records an action in the history as it happens (f e.g. "kill-leader",
  // "start-partition", "heal"; value: which broker, which links). Thread-safe.
  std::function<void(const std::string& f, const std::string& value)> record;
};

// A nemesis acting on real brokers (killing, pausing, partitioning them),
// for `kvsim --live --brokers`. Implemented outside sim/live (it needs the
// cluster's scripts); RunLive starts it once the clients are up and stops it
// when the workload ends, before the log is read back.
class BrokerNemesis {
 public:
  virtual ~BrokerNemesis() = default;
  // The registry's faults it carries out (those with a `brokers`
  // descriptor, sim/fault_registry.h): a live run on brokers hands it those
  // of its faults.
  virtual std::vector<std::string> FaultNames() const = 0;
  // Starts injecting context.faults (on threads of its own). An error stops
  // the run before the workload starts (exit 3).
  virtual Status Start(const BrokerNemesisContext& context) = 0;
  // Every client of the workload has connected: a schedule may begin now, so
  // that no fault hits a client starting. Called at most once per Start.
  virtual void ClientsConnected() {}
  // Faults of a finite schedule are still to come (or to heal): the workload's
  // clients go on past their operation count until it is not, so that every
  // scheduled fault meets a running workload however fast the operations are.
  virtual bool Busy() const { return false; }
  // Stops and heals everything (restarts, resumes, heals partitions); blocks
  // until the cluster is whole again or says why not.
  virtual Status Stop() = 0;
};

struct LiveOptions {
  std::string brokers;  // Empty: start an embedded mock cluster.

  // The topic: on --brokers a fresh one per run, "kvsim-live-<seed>-<stamp>"
  // unless named; printed, and deleted at the end unless keep_topic.
  std::string topic;
  bool keep_topic = false;
  // On --brokers: 0 is the cluster's default.replication.factor; on the mock,
  // 0 is min(3, brokers).
  int replication_factor = 0;
  // -X: librdkafka properties for every client handle (producer and readers).
  std::vector<std::pair<std::string, std::string>> properties;
  // --topic-config: over the adapter's defaults (cleanup.policy=compact,
  // min.compaction.lag.ms=300000), for the topic this run creates.
  std::vector<std::pair<std::string, std::string>> topic_configs;
  // Producer settings that can lose acknowledged writes (acks other than all,
  // enable.idempotence=false) are refused unless this is set.
  bool allow_unsafe_acks = false;
  // How long to wait for the brokers before giving up.
  std::chrono::milliseconds connect_timeout{10'000};
  // Broker-side faults on real brokers; null: none (only client crashes).
  std::shared_ptr<BrokerNemesis> broker_nemesis;
  // Progress lines (the topic made, deleted); null: none.
  std::function<void(const std::string&)> say;
};

struct LiveResult {
  enum class Kind {
    kPassed,        // Completed; every check passed.
    kFailed,        // A check found a violation.
    kNotCompleted,  // The workload stopped with errors, no violation found.
    kUsage,         // Settings refused (an unknown or unsupported fault, unsafe acks, a topic that exists).
    kEnvironment,   // The run could not be made (brokers unreachable, topic not created).
  };
  Kind kind = Kind::kEnvironment;
  std::string message;  // Why, for kUsage and kEnvironment (and kNotCompleted).
  SimRun run;           // The run (history, counts); for kPassed, kFailed, kNotCompleted.
  checker::FullReport report;
  std::string where;    // "the embedded mock cluster" or the bootstrap servers.
  std::string topic;
  std::vector<std::string> warnings;  // E.g. the topic could not be deleted.
};

// Checks the options together (e.g. --topic-config needs --brokers). Returns
// an error message for a usage error, or an empty string.
std::string ValidateLiveOptions(const LiveOptions& options);

// The faults a live run with these options can inject (the registry's, plus
// the broker nemesis's on brokers).
std::vector<std::string> LiveFaults(const LiveOptions& options);

// Runs the scenario's workload live, judges it, and returns what happened.
LiveResult RunLive(const Scenario& scenario, const LiveOptions& options);

}  // namespace kvlog::sim::live
