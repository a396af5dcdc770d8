// The broker logs of a live run on a cluster scripts/kafka-cluster runs, kept
// in kvsim's run folder (`kvsim --live --brokers ... --run-dir DIR`).
//
// The script keeps its state in $KVLOG_KAFKA_DIR (default
// ${TMPDIR:-/tmp}/kvlog-kafka-<uid>); each node's logs (server.log, and the
// storage format's format.log) are in node-<id>/ under its log root: the
// folder `start --run-dir` named (recorded in the state's log-root file), else
// the state folder itself, which `stop` deletes. So the logs are copied, not
// linked: DIR/broker-logs/node-<id>/server.log, a snapshot at the run's end,
// plus DIR/broker-logs/SOURCE naming where they came from.
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace kvlog::tools {

// The state folder scripts/kafka-cluster uses with this environment.
std::string KafkaClusterStateDir();

// Copies every node's *.log files from the cluster whose state folder is
// `state_dir` into `run_dir`/broker-logs/node-<id>/. Returns the files
// written (relative to run_dir), or an error naming what was missing: no
// state folder, not one the script made (no .kvlog-kafka-cluster marker), no
// node logs in its log root.
std::expected<std::vector<std::string>, std::string> CollectBrokerLogs(const std::string& state_dir,
                                                                      const std::string& run_dir);

}  // namespace kvlog::tools
