#include "tools/kvsim/live_nemesis.h"

#include <algorithm>

#include "tools/cli/cli.h"

namespace kvlog::tools {

void AddBrokerNemesisOptions(CLI::App& app, BrokerNemesisOptions& o) {
  app.add_option("--nemesis", o.faults,
                 "with --live --brokers: broker faults on a schedule from the seed, comma-separated (see "
                 "--list-faults), e.g. kill-leader,pause-leader; the cluster must be scripts/kafka-cluster's");
  app.add_option("--cluster-script", o.script,
                 "with --nemesis: path of scripts/kafka-cluster (run with the same KVLOG_KAFKA_* environment as "
                 "the one that started the cluster)")
      ->capture_default_str();
  cli::AddNumber(app, "--nemesis-first-ms", o.first_ms, "with --nemesis: ms from the workload's start to the first fault",
                 0, 3'600'000);
  cli::AddNumber(app, "--nemesis-duration-ms", o.duration_ms,
                 "with --nemesis: a fault lasts between half this and this (ms)", 1, 3'600'000);
  cli::AddNumber(app, "--nemesis-gap-ms", o.gap_ms,
                 "with --nemesis: after recovery from a fault, between half this and this (ms) until the next", 0,
                 3'600'000);
  cli::AddNumber(app, "--nemesis-max", o.max_faults, "with --nemesis: at most this many faults (0: no limit)", 0,
                 1'000'000);
}

std::string BrokerNemesisHelp() {
  std::string out;
  for (const auto& [name, help] : nemesis::FaultNames()) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-26s %s\n", name.c_str(), help.c_str());
    out += line;
  }
  return out;
}

std::expected<std::unique_ptr<LiveBrokerNemesis>, std::string> LiveBrokerNemesis::Make(
    const BrokerNemesisOptions& o, const std::string& brokers, const std::string& topic, uint64_t seed,
    const std::vector<std::pair<std::string, std::string>>& properties) {
  auto faults = nemesis::ParseFaults(o.faults);
  if (!faults) return std::unexpected("--nemesis: " + faults.error());
  auto control = nemesis::ScriptControl({.script = o.script, .bootstrap = brokers, .topic = topic,
                                         .properties = properties});
  if (!control) return std::unexpected("--nemesis: " + control.error());
  const bool partitions =
      std::any_of(faults->begin(), faults->end(), [](const nemesis::Fault& f) { return f.NeedsNetns(); });
  if (partitions && !(*control)->CanPartition()) {
    return std::unexpected(
        "--nemesis: partition faults need a cluster started with 'kafka-cluster start --netns' (each broker in its "
        "own network namespace); this one runs on loopback");
  }
  auto out = std::unique_ptr<LiveBrokerNemesis>(new LiveBrokerNemesis());
  for (const auto& f : *faults) out->names_.push_back("broker:" + f.Name());
  nemesis::ScheduleOptions s;
  s.seed = seed;
  s.first_delay = std::chrono::milliseconds(o.first_ms);
  s.max_duration = std::chrono::milliseconds(o.duration_ms);
  s.min_duration = std::chrono::milliseconds(o.duration_ms / 2);
  s.max_gap = std::chrono::milliseconds(o.gap_ms);
  s.min_gap = std::chrono::milliseconds(o.gap_ms / 2);
  s.max_faults = o.max_faults;
  out->control_ = std::move(*control);
  out->nemesis_ = std::make_unique<nemesis::BrokerNemesis>(*out->control_, std::move(*faults), s);
  return out;
}

sim::ConnectFn LiveBrokerNemesis::Start(sim::ConnectFn connect, int clients) {
  nemesis_->Start(/*wait_for_go=*/true);
  return [this, connect = std::move(connect), clients](int slot) {
    auto log = connect(slot);
    if (slot >= 0 && connected_->fetch_add(1) + 1 == clients) nemesis_->Go();
    return log;
  };
}

std::string LiveBrokerNemesis::Finish(sim::SimRun& run) {
  nemesis_->Stop();
  nemesis::MergeInto(run.history, nemesis_->Events());
  for (const auto& n : names_) {
    if (std::find(run.faults.begin(), run.faults.end(), n) == run.faults.end()) run.faults.push_back(n);
  }
  auto records = nemesis_->Records();
  return "  broker nemesis: " + std::to_string(records.size()) + " faults (times from the workload's start)\n" +
         nemesis::Describe(records);
}

}  // namespace kvlog::tools
