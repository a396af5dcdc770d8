// The fault registry: every fault kvsim knows, in one place, with where it can
// run. Presets (ApplyFaults), the names in reports, `kvsim --list-faults`, the
// live runners' schedules, the real-broker nemesis's vocabulary and the safe
// list all derive from it.
//
//   for (const FaultSpec& f : Faults()) ...           // in listing order
//   const FaultSpec* f = FindFault("append-latency");  // by name or old alias
//   f->apply(scenario, nullptr);                       // default magnitudes
//   f->apply(scenario, &rng);                          // swarm: drawn magnitudes
//
// A fault runs in up to three places (RunsOn, FaultSites):
//   sim      the simulated log (log/sim): `apply` sets its knobs on a Scenario;
//   mock     the embedded librdkafka mock cluster (kvsim --live): `mock` gives
//            a schedule of cluster actions that sim/live carries out;
//   brokers  a real cluster (kvsim --live --brokers): client-side faults
//            (crash) run by the workload itself; broker-side faults by a
//            broker nemesis plugged into sim/live (LiveOptions::broker_nemesis,
//            implemented by nemesis/), which carries out the entry's `brokers`
//            descriptor (sim/broker_fault.h). One name runs in all three
//            places where that makes sense (failover, outage); `related`
//            names the entries that do much the same elsewhere.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checker/history.h"
#include "sim/broker_fault.h"
#include "base/rng.h"

namespace kvlog::sim {

struct Scenario;

// One action on the embedded mock cluster, `at` after the run starts.
struct MockStep {
  enum class Action {
    kSetRtt,         // every broker's round-trip time := arg ms
    kBrokersDown,    // every broker unreachable
    kBrokersUp,      // every broker reachable again
    kSetLeader,      // the partition's leader := broker arg
    kProduceErrors,  // the next `arg` produce requests fail with `error`
  };
  enum class Error { kNone, kNotEnoughReplicas, kRequestTimedOut };
  std::chrono::milliseconds at{0};
  Action action = Action::kSetRtt;
  int arg = 0;
  Error error = Error::kNone;
};

struct FaultSpec {
  std::string name;
  // Other names accepted for it (older report names, e.g. append-latency).
  std::vector<std::string> aliases;
  std::string description;  // At the default magnitude.
  bool safe = true;         // The store promises its guarantees under it.

  // The simulator: turns the fault on in the scenario. rng null: the default
  // magnitudes (the preset). Otherwise (swarm testing) magnitudes, windows
  // and probabilities are drawn from rng; the choices are returned as
  // "name=value" items for the report (empty for the preset).
  std::function<std::vector<std::string>(Scenario&, base::Rng*)> apply;
  // Whether the fault is on in a scenario, however it was set (ApplyFaults,
  // or a test setting the broker's knobs directly): the names in reports.
  std::function<bool(const Scenario&)> on;
  // Its planned actions (windows with a start and an end, failovers) as
  // nemesis events for the history, in ns from the start. Null: none known in
  // advance (crashes are recorded as they happen; probabilities have none).
  std::function<void(const Scenario&, std::vector<checker::NemesisEvent>&)> plan;

  // The embedded mock cluster: its schedule. Null: cannot run there.
  std::function<std::vector<MockStep>()> mock;
  // Runs on a real cluster: a client-side fault the workload injects itself
  // (crash).
  bool client_side = false;
  // Runs on a real cluster as a broker nemesis's action; unset: not there.
  std::optional<BrokerFault> brokers;
  // Entries that do much the same in another place (e.g. the simulator's
  // failover and the brokers' kill-leader), for --list-faults and reports.
  std::vector<std::string> related;
};

enum class Site { kSim, kMock, kBrokers };

// Whether the fault runs there (brokers: client-side or with a `brokers`
// descriptor, given a broker nemesis).
bool RunsOn(const FaultSpec& fault, Site site);

// Every fault, in listing order (--list-faults, reports).
const std::vector<FaultSpec>& Faults();

// The fault named `name` (or one of its aliases); null if none.
const FaultSpec* FindFault(std::string_view name);

// The names of the safe faults that run at `site` (in the simulator:
// kvlog's sweep runs them all together).
std::vector<std::string> SafeFaultNames(Site site = Site::kSim);

// The names of the faults that can run live: on the mock (mock) or on real
// brokers (client-side faults, plus the broker nemesis's when one is plugged
// in: `broker_nemesis`).
std::vector<std::string> LiveFaultNames(bool mock, bool broker_nemesis = false);

// "sim, mock, brokers": where the fault runs.
std::string FaultSites(const FaultSpec& fault);

// The names of the faults on in the scenario, in listing order.
std::vector<std::string> FaultsOn(const Scenario& scenario);

// "unknown fault 'x'; known faults: a, b, ..." for an unknown name.
std::string UnknownFaultMessage(std::string_view name);

}  // namespace kvlog::sim
