#include "tools/kvsim/live.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/report.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"
#include "sim/variants.h"
#include "tools/cli/cli.h"

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

// Tries a TCP connection to `host:port` within `timeout`; empty on success,
// else why not (e.g. "Connection refused").
std::string TryConnect(const std::string& host, const std::string& port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return std::string("cannot resolve host: ") + gai_strerror(rc);
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        why = "no answer within " + std::to_string(timeout.count()) + " ms";
        rc = -1;
      } else if (rc > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        if (err != 0) why = std::strerror(err);
      } else {
        why = std::strerror(errno);
      }
    } else if (rc != 0) {
      why = std::strerror(errno);
    }
    close(fd);
    if (rc == 0) {
      freeaddrinfo(found);
      return "";
    }
  }
  freeaddrinfo(found);
  return why;
}

// Whether any bootstrap server accepts a TCP connection: a quick answer with
// its cause when none does, before librdkafka retries for admin_timeout.
// Empty when one does, else "HOST:PORT: why; ...".
std::string ProbeBrokers(const std::string& bootstrap, std::chrono::milliseconds timeout) {
  std::string failures;
  std::stringstream list(bootstrap);
  std::string server;
  while (std::getline(list, server, ',')) {
    if (server.empty()) continue;
    std::string address = server;
    if (auto scheme = address.find("://"); scheme != std::string::npos) address = address.substr(scheme + 3);
    std::string host, port;
    if (!address.empty() && address.front() == '[') {  // [v6]:port
      auto close_bracket = address.find(']');
      if (close_bracket == std::string::npos) return "";  // Leave odd forms to librdkafka.
      host = address.substr(1, close_bracket - 1);
      if (close_bracket + 1 < address.size() && address[close_bracket + 1] == ':') port = address.substr(close_bracket + 2);
    } else if (auto colon = address.rfind(':'); colon != std::string::npos) {
      host = address.substr(0, colon);
      port = address.substr(colon + 1);
    } else {
      host = address;
    }
    if (port.empty()) port = "9092";
    std::string why = TryConnect(host, port, timeout);
    if (why.empty()) return "";
    failures += (failures.empty() ? "" : "; ") + server + ": " + why;
  }
  return failures;
}

// The adapter's topic configs with the user's on top.
std::map<std::string, std::string> TopicConfigs(const std::map<std::string, std::string>& defaults,
                                                const std::vector<std::pair<std::string, std::string>>& user) {
  std::map<std::string, std::string> configs = defaults;
  for (const auto& [name, value] : user) configs[name] = value;
  return configs;
}

void WriteOrWarn(const std::string& path, const std::string& text, bool& ok) {
  if (auto w = cli::WriteFile(path, text); !w) {
    std::fprintf(stderr, "live run: %s\n", w.error().c_str());
    ok = false;
  }
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


void AddLiveOptions(CLI::App& app, LiveOptions& o, const std::string& live, const std::string& on_brokers) {
  app.add_option("--brokers", o.brokers,
                 live + ": bootstrap servers of a real cluster (default: an embedded 3-broker mock)");
  app.add_option("--topic", o.topic,
                 on_brokers + ": the topic to create and use, which must not exist yet (default: kvsim-live-SEED-STAMP)");
  app.add_flag("--keep-topic", o.keep_topic, on_brokers + ": keep the topic at the end (default: delete it)");
  cli::AddNumber(app, "--replication-factor", o.replication_factor,
                 live + ": replication factor of the topic (0: the cluster's default.replication.factor; "
                 "on the mock min(3, brokers))",
                 0, 1000);
  cli::AddKeyValues(app, "-X", o.properties,
                    live + ": a librdkafka property for every client handle, repeatable (e.g. -X linger.ms=0)");
  cli::AddKeyValues(app, "--topic-config", o.topic_configs,
                    on_brokers + ": a config of the created topic, repeatable (e.g. "
                    "--topic-config min.insync.replicas=2), over cleanup.policy=compact,min.compaction.lag.ms=300000");
  app.add_flag("--allow-unsafe-acks", o.allow_unsafe_acks,
               live + ": accept -X acks other than all or enable.idempotence=false (they can lose "
               "acknowledged writes; the checker will say so)");
  auto* timeout = app.add_option_function<std::string>(
      "--connect-timeout-ms",
      [&o](const std::string& text) {
        auto ms = cli::ParseInt(text, 1, 600'000);
        if (!ms) throw CLI::ValidationError("--connect-timeout-ms", ms.error());
        o.connect_timeout = std::chrono::milliseconds(*ms);
      },
      on_brokers + ": how long to wait for the brokers before exiting 3");
  timeout->type_name("INT")->default_str(std::to_string(o.connect_timeout.count()));
  AddBrokerNemesisOptions(app, o.broker_nemesis);
}

std::string ValidateLiveOptions(const LiveOptions& o) {
  const bool mock = o.brokers.empty();
  if (mock && !o.topic_configs.empty()) {
    return "--topic-config needs --brokers: the embedded mock cluster has no topic configs";
  }
  if (mock && o.keep_topic) return "--keep-topic needs --brokers: the embedded mock's topics end with the process";
  if (mock && !o.topic.empty()) return "--topic needs --brokers: the embedded mock's topic is kvsim-live";
  if (mock && !o.broker_nemesis.faults.empty()) {
    return "--nemesis needs --brokers (a cluster run by scripts/kafka-cluster); on the mock use --faults";
  }
  log::kafka::KafkaOptions producer;
  producer.topic = o.topic.empty() ? "(the run's own)" : o.topic;
  producer.properties = o.properties;
  producer.allow_unsafe_acks = o.allow_unsafe_acks;
  if (auto safe = log::kafka::CheckProducerSafety(producer); !safe) {
    return safe.error().message() + "; on the command line: --allow-unsafe-acks (the checker reports what is lost)";
  }
  return "";
}

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
      std::fprintf(stderr, "live run: fault '%s' cannot be injected %s; live faults: %s\n", f.c_str(),
                   mock ? "into the mock cluster" : "into a real cluster from here", list.c_str());
      return cli::kExitUsage;
    }
  }
  if (std::string why = ValidateLiveOptions(options); !why.empty()) {
    std::fprintf(stderr, "live run: %s\n", why.c_str());
    return cli::kExitUsage;
  }
  auto wrap = sim::VariantWrapper(scenario.variant);
  if (!wrap) {
    std::fprintf(stderr, "live run: %s\n", wrap.error().message().c_str());
    return cli::kExitUsage;
  }

  std::unique_ptr<kafka::MockCluster> cluster;
  kafka::KafkaOptions log_options;
  if (mock) {
    auto started = kafka::MockCluster::Start(
        {.brokers = 3, .topic = "kvsim-live", .replication_factor = options.replication_factor});
    if (!started) {
      std::fprintf(stderr, "live run: starting the mock cluster: %s\n", started.error().ToString().c_str());
      return started.error().code() == ErrorCode::kInvalidArgument ? cli::kExitUsage : cli::kExitEnvironment;
    }
    cluster = std::move(*started);
    log_options = cluster->LogOptions();
  } else {
    log_options.brokers = options.brokers;
    log_options.topic = options.topic;
    if (log_options.topic.empty()) {
      // A fresh topic per run, so the history's log is this run's alone.
      const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
      log_options.topic = "kvsim-live-" + std::to_string(scenario.seed) + "-" + std::to_string(stamp);
    }
    // -1 asks the brokers for their default.replication.factor.
    log_options.replication_factor = options.replication_factor > 0 ? options.replication_factor : -1;
    log_options.topic_configs = TopicConfigs(log_options.topic_configs, options.topic_configs);
    log_options.admin_timeout = options.connect_timeout;
  }
  log_options.properties.insert(log_options.properties.end(), options.properties.begin(), options.properties.end());
  log_options.allow_unsafe_acks = options.allow_unsafe_acks;
  log_options.logger = nullptr;  // Faults are injected on purpose; the history tells what happened.

  // Reach the brokers and make the topic before any client starts: a run that
  // cannot be made says why at once, with exit 3 (2 for settings refused).
  if (!mock) {
    if (std::string why = ProbeBrokers(options.brokers, options.connect_timeout); !why.empty()) {
      std::fprintf(stderr, "live run: cannot reach any broker of %s: %s\n", options.brokers.c_str(), why.c_str());
      return cli::kExitEnvironment;
    }
  }
  const bool delete_topic = !mock && !options.keep_topic;
  if (!mock) {
    // The checker compares the log with this run's writes: the topic must be new.
    if (auto count = kafka::TopicPartitionCount(log_options); count) {
      std::fprintf(stderr,
                   "live run: topic '%s' exists already on %s; a live run needs a new topic (the checker compares "
                   "the whole log with this run's writes): name another, or leave --topic out\n",
                   log_options.topic.c_str(), options.brokers.c_str());
      return cli::kExitUsage;
    }
  }
  // Deletes the topic (unless kept) on every way out from here.
  auto remove_topic = [&] {
    if (!delete_topic) return;
    if (Status deleted = kafka::DeleteTopic(log_options); !deleted) {
      std::fprintf(stderr, "live run: the topic is left behind: %s\n", deleted.error().ToString().c_str());
    } else if (options.print) {
      std::printf("  deleted topic %s\n", log_options.topic.c_str());
    }
  };
  // One log opened and closed: makes the topic and tries the producer
  // settings (librdkafka refuses e.g. acks=1 with idempotence on only there).
  if (auto ready = kafka::OpenKafkaLog(log_options); !ready) {
    std::fprintf(stderr, "live run: cannot use topic '%s': %s\n", log_options.topic.c_str(),
                 ready.error().ToString().c_str());
    remove_topic();
    return ready.error().code() == ErrorCode::kInvalidArgument ? cli::kExitUsage : cli::kExitEnvironment;
  } else {
    (*ready)->Close();
  }
  if (options.print) {
    std::string rf = options.replication_factor > 0 ? std::to_string(options.replication_factor)
                                                    : (mock ? "min(3, brokers)" : "the cluster's default");
    std::printf("live topic %s on %s (replication factor %s); %s\n", log_options.topic.c_str(),
                mock ? "the embedded mock cluster" : options.brokers.c_str(), rf.c_str(),
                mock ? "it ends with this process"
                     : delete_topic ? "deleted at the end (--keep-topic keeps it)" : "kept (--keep-topic)");
    std::fflush(stdout);
  }

  // --nemesis: the broker faults, checked against the cluster before any client starts.
  std::unique_ptr<LiveBrokerNemesis> broker_nemesis;
  if (!options.broker_nemesis.faults.empty()) {
    auto made = LiveBrokerNemesis::Make(options.broker_nemesis, options.brokers, log_options.topic, scenario.seed,
                                        options.properties);
    if (!made) {
      std::fprintf(stderr, "live run: %s\n", made.error().c_str());
      remove_topic();
      return cli::kExitUsage;
    }
    broker_nemesis = std::move(*made);
  }
  sim::WorkloadOptions workload = scenario.workload;
  workload.seed = scenario.seed;
  sim::ConnectFn connect = [&](int slot) -> std::unique_ptr<log::Log> {
    kafka::KafkaOptions o = log_options;
    o.client_id = "kvsim-c" + std::to_string(slot);
    o.create_topic = false;  // Made above; a client must not make it again after a deletion.
    auto log = kafka::OpenKafkaLog(o);
    if (!log) return std::make_unique<UnavailableLog>(log.error());
    return std::move(*log);
  };

  cli::InstallInterruptHandler();
  sim::SimRun run;
  run.live = true;
  run.external_faults_untracked = !mock && !broker_nemesis;
  run.faults = scenario.fault_names;
  if (scenario.variant != "correct") run.faults.push_back("variant:" + scenario.variant);
  const auto wall_start = std::chrono::steady_clock::now();
  {
    std::unique_ptr<MockNemesis> nemesis;
    if (cluster) nemesis = std::make_unique<MockNemesis>(*cluster, scenario.fault_names);
    sim::ConnectFn connect_clients = connect;
    if (broker_nemesis) connect_clients = broker_nemesis->Start(connect, workload.clients);
    run.workload = sim::RunWorkload(Runtime::Real(), workload, connect_clients, *wrap);
  }
  std::string broker_nemesis_report;
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  run.outcome.virtual_end = TimePoint(std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(run.wall_seconds)));
  run.history = std::move(run.workload.history);
  if (broker_nemesis) broker_nemesis_report = broker_nemesis->Finish(run);
  run.history.source = std::string("kvsim --live seed ") + std::to_string(scenario.seed) +
                       (mock ? " (embedded mock cluster)" : " (" + options.brokers + ", topic " + log_options.topic + ")");
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
  run.checks = scenario.checks;
  checker::FullReport report = sim::Judge(run);
  const bool passed = sim::Passed(run, report);
  const bool violation = report.Overall() == checker::Verdict::kInvalid;
  if (options.print) {
    std::printf("live seed %llu on %s: %s\n%s", static_cast<unsigned long long>(scenario.seed),
                mock ? "the embedded mock cluster" : options.brokers.c_str(),
                passed ? "PASS" : violation ? "FAIL" : "NOT COMPLETED", sim::Describe(run, report).c_str());
    std::printf("%s", broker_nemesis_report.c_str());
    if (broker_nemesis) std::printf("%s", ExplainLostWrites(report).c_str());
    std::printf("  %.3f s wall, %.0f ops/s\n", run.wall_seconds,
                (run.workload.ops_completed + run.workload.ops_unknown) / std::max(run.wall_seconds, 1e-9));
  }
  bool written = true;
  if (!options.out_path.empty()) WriteOrWarn(options.out_path, checker::WriteJsonl(run.history), written);
  if (!options.edn_path.empty()) {
    auto edn = checker::WriteJepsenEdn(run.history);
    if (edn) {
      WriteOrWarn(options.edn_path, *edn, written);
    } else {
      std::fprintf(stderr, "live run: cannot write EDN: %s\n", edn.error().ToString().c_str());
      written = false;
    }
  }
  if (!options.html_path.empty()) WriteOrWarn(options.html_path, checker::HtmlReport(report), written);
  remove_topic();
  if (cli::Interrupted()) return cli::kExitInterrupted;
  if (violation) return cli::kExitFailed;
  if (!passed) {
    std::fprintf(stderr, "live run: the run could not be completed (no check failed): %s\n",
                 run.workload.errors.empty() ? "the workload did not complete"
                                             : run.workload.errors.front().c_str());
    return cli::kExitEnvironment;
  }
  return written ? cli::kExitOk : cli::kExitEnvironment;
}

}  // namespace kvlog::tools
