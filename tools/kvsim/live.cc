#include "tools/kvsim/live.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/report.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"
#include "sim/variants.h"

namespace kvlog::tools {
namespace {

using namespace std::chrono_literals;
namespace kafka = log::kafka;

// A connection that could not be made: every call reports why.
class UnavailableLog final : public log::Log {
 public:
  explicit UnavailableLog(Error error) : error_(std::move(error)) {}
  void Append(std::span<const log::Record>, log::AppendCallback done) override { done(std::unexpected(error_)); }
  Result<std::unique_ptr<log::LogReader>> OpenReader(log::Offset, const log::ReadOptions&) override {
    return std::unexpected(error_);
  }
  Result<log::Offset> EndOffset(log::Duration) override { return std::unexpected(error_); }
  void Close() override {}

 private:
  Error error_;
};

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// Applies the scenario's faults to the mock cluster on a schedule, on its own
// thread, until stopped.
class MockNemesis {
 public:
  MockNemesis(kafka::MockCluster& cluster, const std::vector<std::string>& faults) : cluster_(cluster) {
    for (const auto& f : faults) {
      if (f == "latency") {
        steps_.push_back({0ms, [this] { (void)cluster_.SetRtt(-1, 3); }});
      } else if (f == "outage") {
        steps_.push_back({200ms, [this] { (void)cluster_.SetBrokerDown(-1); }});
        steps_.push_back({500ms, [this] { (void)cluster_.SetBrokerUp(-1); }});
      } else if (f == "failover") {
        steps_.push_back({300ms, [this] { (void)cluster_.SetLeader(2); }});
        steps_.push_back({700ms, [this] { (void)cluster_.SetLeader(1); }});
      } else if (f == "failed-append") {
        for (auto t : {100ms, 400ms, 800ms}) {
          steps_.push_back({t, [this] {
                              cluster_.PushRequestErrors(kafka::KafkaApi::kProduce,
                                                         {kafka::kafka_errors::kNotEnoughReplicas,
                                                          kafka::kafka_errors::kNotEnoughReplicas});
                            }});
        }
      } else if (f == "lost-ack") {
        for (auto t : {150ms, 450ms, 850ms}) {
          steps_.push_back({t, [this] {
                              cluster_.PushRequestErrors(kafka::KafkaApi::kProduce,
                                                         {kafka::kafka_errors::kRequestTimedOut});
                            }});
        }
      }
    }
    std::sort(steps_.begin(), steps_.end(), [](const Step& a, const Step& b) { return a.at < b.at; });
    thread_ = std::thread([this] { Run(); });
  }
  ~MockNemesis() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    (void)cluster_.SetBrokerUp(-1);
    (void)cluster_.SetRtt(-1, 0);
  }

 private:
  struct Step {
    std::chrono::milliseconds at;
    std::function<void()> act;
  };
  void Run() {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    for (const Step& step : steps_) {
      if (cv_.wait_until(lock, start + step.at, [&] { return stop_; })) return;
      step.act();
    }
  }

  kafka::MockCluster& cluster_;
  std::vector<Step> steps_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::vector<std::string> LiveFaultNames(bool mock) {
  if (!mock) return {"crash"};
  return {"latency", "outage", "failover", "failed-append", "lost-ack", "crash"};
}

int RunLive(const sim::Scenario& scenario, const LiveOptions& options) {
  const bool mock = options.brokers.empty();
  const auto allowed = LiveFaultNames(mock);
  for (const auto& f : scenario.fault_names) {
    if (std::find(allowed.begin(), allowed.end(), f) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      std::fprintf(stderr, "kvsim --live: fault '%s' cannot be injected %s; live faults: %s\n", f.c_str(),
                   mock ? "into the mock cluster" : "into a real cluster from here", list.c_str());
      return 2;
    }
  }
  auto wrap = sim::VariantWrapper(scenario.variant);
  if (!wrap) {
    std::fprintf(stderr, "kvsim --live: %s\n", wrap.error().message().c_str());
    return 2;
  }

  std::unique_ptr<kafka::MockCluster> cluster;
  kafka::KafkaOptions log_options;
  if (mock) {
    auto started = kafka::MockCluster::Start({.brokers = 3, .topic = "kvsim-live"});
    if (!started) {
      std::fprintf(stderr, "kvsim --live: starting the mock cluster: %s\n", started.error().ToString().c_str());
      return 1;
    }
    cluster = std::move(*started);
    log_options = cluster->LogOptions();
  } else {
    log_options.brokers = options.brokers;
    // A fresh topic per run, so the history's log is this run's alone.
    const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
    log_options.topic = "kvsim-live-" + std::to_string(scenario.seed) + "-" + std::to_string(stamp);
    log_options.replication_factor = 1;
  }
  log_options.logger = nullptr;  // Faults are injected on purpose; the history tells what happened.

  sim::WorkloadOptions workload = scenario.workload;
  workload.seed = scenario.seed;
  sim::ConnectFn connect = [&](int slot) -> std::unique_ptr<log::Log> {
    kafka::KafkaOptions o = log_options;
    o.client_id = "kvsim-c" + std::to_string(slot);
    auto log = kafka::OpenKafkaLog(o);
    if (!log) return std::make_unique<UnavailableLog>(log.error());
    return std::move(*log);
  };

  sim::SimRun run;
  run.live = true;
  run.faults = scenario.fault_names;
  if (scenario.variant != "correct") run.faults.push_back("variant:" + scenario.variant);
  const auto wall_start = std::chrono::steady_clock::now();
  {
    std::unique_ptr<MockNemesis> nemesis;
    if (cluster) nemesis = std::make_unique<MockNemesis>(*cluster, scenario.fault_names);
    run.workload = sim::RunWorkload(Runtime::Real(), workload, connect, *wrap);
  }
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  run.outcome.virtual_end = TimePoint(std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(run.wall_seconds)));
  run.history = std::move(run.workload.history);
  run.history.source = std::string("kvsim --live seed ") + std::to_string(scenario.seed) +
                       (mock ? " (embedded mock cluster)" : " (" + options.brokers + ")");
  {
    auto reader_log = connect(-1);
    auto records = sim::ReadLogForHistory(*reader_log, 30s);
    if (records) {
      run.history.log = std::move(*records);
      run.history.has_log = true;
    } else {
      run.workload.errors.push_back("reading the log back: " + records.error().ToString());
    }
  }
  checker::FullReport report = sim::Judge(run);
  bool passed = sim::Passed(run, report);
  if (options.print) {
    std::printf("live seed %llu on %s: %s\n%s", static_cast<unsigned long long>(scenario.seed),
                mock ? "the embedded mock cluster" : options.brokers.c_str(), passed ? "PASS" : "FAIL",
                sim::Describe(run, report).c_str());
    std::printf("  %.3f s wall, %.0f ops/s\n", run.wall_seconds,
                (run.workload.ops_completed + run.workload.ops_unknown) / std::max(run.wall_seconds, 1e-9));
  }
  if (!options.out_path.empty()) WriteFile(options.out_path, checker::WriteJsonl(run.history));
  if (!options.edn_path.empty()) {
    if (auto edn = checker::WriteJepsenEdn(run.history)) WriteFile(options.edn_path, *edn);
  }
  if (!options.html_path.empty()) WriteFile(options.html_path, checker::HtmlReport(report));
  return passed ? 0 : 1;
}

}  // namespace kvlog::tools
