// kvsim --live and kvlog's live run: the flags of sim/live and the printing
// of its result. The run itself (cluster, topic, faults, workload, checks) is
// sim::live::RunLive.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "sim/live/live.h"
#include "sim/scenario.h"
#include "tools/kvsim/live_nemesis.h"

namespace kvlog::tools {

struct LiveOptions : sim::live::LiveOptions {
  std::string out_path, edn_path, html_path;  // Resolved already (cli::ResolvePath).
  std::string text_path, json_path;           // The report as text and JSON (a run folder).
  bool print = true;                          // Print the run's account to stdout.
  // --nemesis and its schedule: broker faults on a scripts/kafka-cluster
  // cluster (live_nemesis.h); AddLiveOptions plugs them in as broker_nemesis.
  BrokerNemesisOptions nemesis_flags;
};

// Adds --brokers, --topic, --keep-topic, --replication-factor, -X,
// --topic-config, --allow-unsafe-acks, --connect-timeout-ms and the --nemesis
// flags to `app`, and sets options.broker_nemesis (which refers to `options`,
// so it must outlive the run); the
// help texts start with `live` (e.g. "with --live") or `on_brokers`.
void AddLiveOptions(CLI::App& app, LiveOptions& options, const std::string& live = "with --live",
                    const std::string& on_brokers = "with --live --brokers");

using sim::live::ValidateLiveOptions;

// Runs the scenario's workload live (sim::live::RunLive), prints its account
// and writes the files asked for. Returns the exit code (tools/cli): 0 passed;
// 1 a check failed; 2 bad arguments; 3 the run could not be made (brokers
// unreachable, the topic not created, the workload stopped by errors with no
// violation found); 130 interrupted (after the run's summary).
int RunLive(const sim::Scenario& scenario, const LiveOptions& options);

}  // namespace kvlog::tools
