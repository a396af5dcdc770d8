// A nemesis for a real Kafka cluster (the local KRaft cluster that
// scripts/kafka-cluster runs): kills and restarts brokers (SIGKILL), pauses and
// resumes them (SIGSTOP/SIGCONT), cuts them off the other nodes (network
// namespaces, see the script's --netns) and forces leader elections, on a
// schedule drawn from a seed, while a workload runs. Every action is recorded
// as a checker::NemesisEvent (time since the workload started, and the wall
// time in its value), so histories carry them as `nemesis` lines, as kvsim's
// simulated faults do.
//
// The faults, their names and descriptions are the fault registry's
// (sim/fault_registry.h): an entry that runs on brokers carries a
// sim::BrokerFault descriptor (what to do, to whom), which this package
// carries out. The caller looks names up in the registry (tools/kvsim's
// ScriptBrokerNemesis::Faults does) and hands over {descriptor, name}.
//
//   auto control = nemesis::ScriptControl({.script = "scripts/kafka-cluster", .bootstrap = b, .topic = t});
//   std::vector<nemesis::Fault> plan = {{{Kind::kKill, Target::kLeader}, "kill-leader"}};
//   nemesis::BrokerNemesis n(**control, plan, {.seed = 7});
//   n.Start();  ... run the workload ...  n.Stop();
//   nemesis::MergeInto(history, n.Events());
//
// Layering: uses the checker's history types, librdkafka and the registry's
// plain descriptor (sim/broker_fault.h, which depends on nothing); nothing in
// kv/, log/ or sim/ depends on it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/rng.h"
#include "checker/history.h"
#include "sim/broker_fault.h"

namespace kvlog::nemesis {

template <typename T>
using Result = std::expected<T, std::string>;
using Status = std::expected<void, std::string>;

// A partition's state as the brokers' metadata has it.
struct PartitionState {
  int leader = -1;  // -1: none
  std::vector<int> replicas, isr;
  bool FullIsr() const;  // a leader and every replica in sync
};

// What a nemesis can do to a cluster. Node ids are Kafka's node.id.
class BrokerControl {
 public:
  virtual ~BrokerControl() = default;
  virtual std::vector<int> Brokers() const = 0;
  // Whether Partition can work (the script's cluster runs with --netns).
  virtual bool CanPartition() const = 0;
  // The topic's partition 0, asked of a broker not in `avoid` (a paused or
  // cut-off broker answers with stale metadata).
  virtual Result<PartitionState> Describe(const std::vector<int>& avoid) = 0;
  virtual Status Kill(int node) = 0;     // SIGKILL
  virtual Status Restart(int node) = 0;  // start a killed node, wait until it started
  virtual Status Pause(int node) = 0;    // SIGSTOP
  virtual Status Resume(int node) = 0;   // SIGCONT
  // Cuts every link between `side` and all other nodes (brokers and
  // controllers); the clients still reach every node.
  virtual Status Partition(const std::vector<int>& side) = 0;
  virtual Status Heal() = 0;
  // Moves the topic's leadership to another in-sync replica; the new leader.
  virtual Result<int> Elect() = 0;
};

struct ScriptControlOptions {
  std::string script;     // path of scripts/kafka-cluster
  std::string bootstrap;  // the cluster's bootstrap address (brokers' host:port)
  std::string topic;      // the topic whose partition 0 is targeted
  // librdkafka properties for the metadata handles (e.g. security settings).
  std::vector<std::pair<std::string, std::string>> properties;
};
// Drives the cluster through the script (it reads KVLOG_KAFKA_DIR etc. from
// the environment, as the caller that started the cluster did); metadata comes
// from librdkafka. Errors when the script is missing or `nodes` fails.
Result<std::unique_ptr<BrokerControl>> ScriptControl(const ScriptControlOptions& options);

// One kind of fault and whom it hits (sim/broker_fault.h).
// kLoneLeader: pause every follower until the ISR has shrunk to the leader
// alone, let writes commit there (min.insync.replicas=1), SIGKILL the leader,
// resume the followers: only an out-of-sync replica can lead now, which Kafka
// does only with unclean.leader.election.enable (losing what the leader alone
// had); then restart the old leader. Needs the quorum on controller-only nodes
// (kafka-cluster start --controllers 3) and a short replica.lag.time.max.ms.
// Target kAll: every broker (the registry's outage pauses them all).
using Kind = sim::BrokerFault::Kind;
using Target = sim::BrokerFault::Target;
struct Fault {
  sim::BrokerFault action;
  // The registry's name ("kill-leader", "failover", "outage"): records,
  // reports. Empty: one made of the action ("pause-all").
  std::string name;
  std::string Name() const;
  bool NeedsNetns() const { return action.NeedsNetns(); }
};

struct ScheduleOptions {
  uint64_t seed = 0;
  std::chrono::milliseconds first_delay{2'000};  // workload start -> first fault
  // Each fault lasts a duration drawn from [min_duration, max_duration]; after
  // the heal the nemesis waits for recovery (a leader and the full ISR, at
  // most recovery_timeout), then a gap drawn from [min_gap, max_gap].
  std::chrono::milliseconds min_duration{3'000}, max_duration{6'000};
  std::chrono::milliseconds min_gap{2'000}, max_gap{4'000};
  std::chrono::milliseconds recovery_timeout{60'000};
  std::chrono::milliseconds poll{200};  // recovery polling
  // Faults at most (0: until Stop).
  int max_faults = 0;
  // Take the faults in the order given, cycling, instead of drawing each.
  bool cycle = false;
  // Set: called with each action (f, value) as it is recorded, from the
  // nemesis's thread (e.g. to put it into a running workload's history).
  std::function<void(const std::string& f, const std::string& value)> on_record;
};

// What one fault did, for reports.
struct FaultRecord {
  std::string name;            // Fault::Name()
  std::vector<int> nodes;      // whom it hit
  int leader_before = -1, leader_after = -1;
  double start_s = 0, heal_s = 0;  // seconds since Start()
  // Seconds from the heal action's start (resume, restart, heal) until the
  // partition had a leader and its full ISR again; empty if not by
  // recovery_timeout (or the nemesis was stopped first).
  std::optional<double> recovered_s;
  std::string error;           // an action that failed, else empty
};

// Runs the schedule on its own thread between Start and Stop. Stop heals
// whatever is still broken (resumes, restarts, heals links) before returning.
class BrokerNemesis {
 public:
  BrokerNemesis(BrokerControl& control, std::vector<Fault> faults, ScheduleOptions options);
  ~BrokerNemesis();  // Stops.
  BrokerNemesis(const BrokerNemesis&) = delete;
  BrokerNemesis& operator=(const BrokerNemesis&) = delete;

  // Times are measured from here: call it just before the workload starts.
  // With wait_for_go, the schedule (first_delay first) begins at Go(), e.g.
  // once every client has connected, so that no fault hits a client starting.
  void Start(bool wait_for_go = false);
  void Go();
  void Stop();
  // The actions so far, in time order: f is kill/restart, pause/resume,
  // start-partition/stop-partition or elect; value names the nodes, the role
  // (leader...), the wall time (UTC) and any error. position is 0: MergeInto
  // places them.
  std::vector<checker::NemesisEvent> Events() const;
  std::vector<FaultRecord> Records() const;
  // With max_faults: every fault has been applied and healed (recovery
  // awaited). Never true without max_faults (the schedule runs until Stop).
  bool ScheduleDone() const;

 private:
  void Run();
  bool SleepFor(std::chrono::milliseconds d);  // false: stopped
  void Record(const std::string& f, const std::string& value);
  void Apply(const Fault& fault, base::Rng& rng);
  void HealAll();

  BrokerControl& control_;
  const std::vector<Fault> faults_;
  const ScheduleOptions options_;
  std::chrono::steady_clock::time_point start_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, started_ = false, go_ = true, schedule_done_ = false;
  std::vector<checker::NemesisEvent> events_;
  std::vector<FaultRecord> records_;
  // Broken and not yet healed (for Stop).
  std::vector<int> killed_, paused_;
  bool cut_ = false;
  std::thread thread_;
};

// Puts `events` (times in ns since the workload started) into the history's
// nemesis list where their times fall among its events, keeping what is there.
void MergeInto(checker::History& history, const std::vector<checker::NemesisEvent>& events);

// A short account per fault: "kill-leader node 2 (leader 2 -> 3) at 4.1 s,
// healed 8.3 s, recovered 2.2 s after heal".
std::string Describe(const std::vector<FaultRecord>& records);

}  // namespace kvlog::nemesis
