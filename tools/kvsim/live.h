// kvsim --live: the simulator's workload on Kafka, with real threads and real
// time, checked the same way. Against the embedded mock cluster (the default)
// the faults map to its fault API; against --brokers client crashes do, and
// with --nemesis broker faults (live_nemesis.h); faults from outside the
// harness go unrecorded (the report says so).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sim/scenario.h"
#include "tools/kvsim/live_nemesis.h"

namespace kvlog::tools {

struct LiveOptions {
  std::string brokers;  // Empty: start an embedded mock cluster.
  std::string out_path, edn_path, html_path;  // Resolved already (cli::ResolvePath).
  bool print = true;    // Print the run's account to stdout.

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
  // How long to wait for the brokers before giving up with exit 3.
  std::chrono::milliseconds connect_timeout{10'000};
  // --nemesis: broker faults on the cluster (live_nemesis.h); needs --brokers.
  BrokerNemesisOptions broker_nemesis;
};

// Adds --brokers, --topic, --keep-topic, --replication-factor, -X,
// --topic-config, --allow-unsafe-acks and --connect-timeout-ms to `app`; the
// help texts start with `live` (e.g. "with --live") or `on_brokers`.
void AddLiveOptions(CLI::App& app, LiveOptions& options, const std::string& live = "with --live",
                    const std::string& on_brokers = "with --live --brokers");

// Checks the options together (e.g. --topic-config needs --brokers).
// Returns an error message for a usage error, or an empty string.
std::string ValidateLiveOptions(const LiveOptions& options);

// The faults a live run can inject, by name.
std::vector<std::string> LiveFaultNames(bool mock);

// Runs the scenario's workload live. Returns the exit code (tools/cli):
// 0 passed; 1 a check failed; 2 bad arguments; 3 the run could not be made
// (brokers unreachable, the topic not created, the workload stopped by
// errors with no violation found); 130 interrupted (after the run's summary).
int RunLive(const sim::Scenario& scenario, const LiveOptions& options);

}  // namespace kvlog::tools
