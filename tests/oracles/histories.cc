#include "tests/oracles/histories.h"

#include <map>

#include <fmt/format.h>

#include "sim/scenario.h"

namespace kvlog::oracles {
namespace {

struct Config {
  std::string tag;
  std::vector<std::string> faults;
  std::string variant = "correct";
  int clients = 3;
  int keys = 5;
  std::vector<uint64_t> seeds;
};

std::vector<Config> Configs() {
  std::vector<std::string> safe;
  for (const auto& p : sim::FaultPresets()) {
    if (p.safe) safe.push_back(p.name);
  }
  std::vector<Config> configs = {
      // One client: nothing is concurrent, a correct client is linearizable.
      {"c1-all-safe", safe, "correct", 1, 5, {1, 2, 3}},
      // Two clients over many keys: few conflicts, both verdicts occur.
      {"c2-latency", {"latency"}, "correct", 2, 40, {1, 2, 3, 4}},
      // Unsafe configurations and broken clients.
      {"c3-failover-acks1", {"failover-acks1"}, "correct", 3, 5, {1, 2, 3}},
      {"c3-unclean-failover", {"unclean-failover"}, "correct", 3, 5, {1, 2}},
      {"c3-lost-ack-no-idempotence", {"lost-ack-no-idempotence"}, "correct", 3, 5, {1}},
      {"c3-compaction-without-lag", {"compaction-without-lag"}, "correct", 3, 5, {1}},
      {"c3-early-ack", {"latency"}, "early-ack", 3, 5, {1, 2}},
      {"c3-reorder", {"latency"}, "reorder", 3, 5, {1, 2}},
      {"c1-early-ack", {"latency", "lagging-reader"}, "early-ack", 1, 5, {1}},
  };
  // Every safe fault alone, three clients reading locally; lagging and paused
  // readers make local reads visibly stale.
  for (const std::string& f : safe) {
    bool stale = f == "lagging-reader" || f == "paused-reader";
    configs.push_back({"c3-" + f, {f}, "correct", 3, 5, stale ? std::vector<uint64_t>{1, 2, 3} : std::vector<uint64_t>{1}});
  }
  return configs;
}

std::vector<RecordedHistory> Record(bool point_only, std::string* error) {
  std::vector<RecordedHistory> out;
  for (int full = 0; full < (point_only ? 1 : 2); ++full) {
    for (const Config& c : Configs()) {
      for (uint64_t seed : c.seeds) {
        sim::Scenario s;
        s.seed = seed;
        s.workload.clients = c.clients;
        s.workload.keys = c.keys;
        s.workload.ops_per_client = 150;
        if (!full) {
          s.workload.mix.batch = 0;
          s.workload.mix.range = 0;
        }
        s.variant = c.variant;
        if (auto applied = sim::ApplyFaults(c.faults, s); !applied) {
          *error = c.tag + ": " + applied.error().ToString();
          return {};
        }
        sim::SimRun run = sim::RunScenario(s);
        if (run.outcome.kind != sim::RunOutcome::Kind::kCompleted) {
          *error = fmt::format("{} seed {}: the simulation did not complete", c.tag, seed);
          return {};
        }
        RecordedHistory h;
        h.name = fmt::format("{}{}-s{}", c.tag, full ? "-full" : "-point", seed);
        h.batches_and_ranges = full != 0;
        h.history = std::move(run.history);
        out.push_back(std::move(h));
      }
    }
  }
  return out;
}
}  // namespace

const std::vector<RecordedHistory>& RecordHistories(bool point_only, std::string* error) {
  static std::map<bool, std::vector<RecordedHistory>> recorded;
  static std::map<bool, std::string> errors;
  if (!recorded.count(point_only)) recorded[point_only] = Record(point_only, &errors[point_only]);
  *error = errors[point_only];
  return recorded[point_only];
}

}  // namespace kvlog::oracles
