#include "sim/live/live.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"
#include "sim/live/failed_log.h"
#include "sim/fault_registry.h"
#include "sim/variants.h"

namespace kvlog::sim::live {
namespace {

using namespace std::chrono_literals;
namespace kafka = log::kafka;

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
        why = fmt::format("no answer within {} ms", timeout.count());
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

// Carries out the registry's mock schedules of the scenario's faults on the
// cluster, on its own thread, recording each action in the history, until
// stopped; then heals the cluster.
class MockNemesis {
 public:
  MockNemesis(kafka::MockCluster& cluster, const std::vector<std::string>& faults,
              std::shared_ptr<NemesisChannel> channel)
      : cluster_(cluster), channel_(std::move(channel)) {
    for (const auto& name : faults) {
      const FaultSpec* f = FindFault(name);
      if (!f || !f->mock) continue;
      for (const MockStep& step : f->mock()) steps_.push_back(step);
    }
    std::stable_sort(steps_.begin(), steps_.end(), [](const MockStep& a, const MockStep& b) { return a.at < b.at; });
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
  void Act(const MockStep& step) {
    switch (step.action) {
      case MockStep::Action::kSetRtt:
        (void)cluster_.SetRtt(-1, step.arg);
        channel_->Record("rtt", fmt::format("{} ms on every broker", step.arg));
        break;
      case MockStep::Action::kBrokersDown:
        (void)cluster_.SetBrokerDown(-1);
        channel_->Record("start-outage", "every broker down");
        break;
      case MockStep::Action::kBrokersUp:
        (void)cluster_.SetBrokerUp(-1);
        channel_->Record("stop-outage", "every broker down");
        break;
      case MockStep::Action::kSetLeader:
        (void)cluster_.SetLeader(step.arg);
        channel_->Record("failover", fmt::format("leader := broker {}", step.arg));
        break;
      case MockStep::Action::kProduceErrors: {
        const int code = step.error == MockStep::Error::kRequestTimedOut ? kafka::kafka_errors::kRequestTimedOut
                                                                              : kafka::kafka_errors::kNotEnoughReplicas;
        cluster_.PushRequestErrors(kafka::KafkaApi::kProduce, std::vector<int>(static_cast<std::size_t>(step.arg), code));
        channel_->Record("produce-errors",
                         fmt::format("{} x {}", step.arg,
                                     step.error == MockStep::Error::kRequestTimedOut ? "REQUEST_TIMED_OUT"
                                                                                     : "NOT_ENOUGH_REPLICAS"));
        break;
      }
    }
  }
  void Run() {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    for (const MockStep& step : steps_) {
      if (cv_.wait_until(lock, start + step.at, [&] { return stop_; })) return;
      Act(step);
    }
  }

  kafka::MockCluster& cluster_;
  std::shared_ptr<NemesisChannel> channel_;
  std::vector<MockStep> steps_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::string ValidateLiveOptions(const LiveOptions& o) {
  const bool mock = o.brokers.empty();
  if (mock && !o.topic_configs.empty()) {
    return "--topic-config needs --brokers: the embedded mock cluster has no topic configs";
  }
  if (mock && o.keep_topic) return "--keep-topic needs --brokers: the embedded mock's topics end with the process";
  if (mock && !o.topic.empty()) return "--topic needs --brokers: the embedded mock's topic is kvsim-live";
  log::kafka::KafkaOptions producer;
  producer.topic = o.topic.empty() ? "(the run's own)" : o.topic;
  producer.properties = o.properties;
  producer.allow_unsafe_acks = o.allow_unsafe_acks;
  if (auto safe = log::kafka::CheckProducerSafety(producer); !safe) {
    return safe.error().message() + "; on the command line: --allow-unsafe-acks (the checker reports what is lost)";
  }
  return "";
}

std::vector<std::string> LiveFaults(const LiveOptions& o) {
  return LiveFaultNames(o.brokers.empty(), o.broker_nemesis != nullptr);
}

LiveResult RunLive(const Scenario& scenario, const LiveOptions& options) {
  LiveResult result;
  const bool mock = options.brokers.empty();
  result.where = mock ? "the embedded mock cluster" : options.brokers;
  auto refuse = [&](LiveResult::Kind kind, std::string message) {
    result.kind = kind;
    result.message = std::move(message);
    return std::move(result);
  };
  const auto allowed = LiveFaults(options);
  std::vector<std::string> nemesis_faults;  // Those the broker nemesis handles.
  const std::vector<std::string> nemesis_names =
      options.broker_nemesis && !mock ? options.broker_nemesis->FaultNames() : std::vector<std::string>{};
  for (const auto& f : scenario.fault_names) {
    if (std::find(allowed.begin(), allowed.end(), f) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return refuse(LiveResult::Kind::kUsage,
                    "fault '" + f + "' cannot be injected " +
                        (mock ? "into the mock cluster" : "into a real cluster from here") + "; live faults: " + list);
    }
    if (std::find(nemesis_names.begin(), nemesis_names.end(), f) != nemesis_names.end()) nemesis_faults.push_back(f);
  }
  if (std::string why = ValidateLiveOptions(options); !why.empty()) return refuse(LiveResult::Kind::kUsage, why);
  auto wrap = VariantWrapper(scenario.variant);
  if (!wrap) return refuse(LiveResult::Kind::kUsage, wrap.error().message());

  std::unique_ptr<kafka::MockCluster> cluster;
  kafka::KafkaOptions log_options;
  if (mock) {
    auto started = kafka::MockCluster::Start(
        {.brokers = 3, .topic = "kvsim-live", .replication_factor = options.replication_factor});
    if (!started) {
      return refuse(started.error().code() == ErrorCode::kInvalidArgument ? LiveResult::Kind::kUsage
                                                                          : LiveResult::Kind::kEnvironment,
                    "starting the mock cluster: " + started.error().ToString());
    }
    cluster = std::move(*started);
    log_options = cluster->LogOptions();
  } else {
    log_options.brokers = options.brokers;
    log_options.topic = options.topic;
    if (log_options.topic.empty()) {
      // A fresh topic per run, so the history's log is this run's alone.
      const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
      log_options.topic = fmt::format("kvsim-live-{}-{}", scenario.seed, stamp);
    }
    // -1 asks the brokers for their default.replication.factor.
    log_options.replication_factor = options.replication_factor > 0 ? options.replication_factor : -1;
    log_options.topic_configs = TopicConfigs(log_options.topic_configs, options.topic_configs);
    log_options.admin_timeout = options.connect_timeout;
  }
  result.topic = log_options.topic;
  log_options.properties.insert(log_options.properties.end(), options.properties.begin(), options.properties.end());
  log_options.allow_unsafe_acks = options.allow_unsafe_acks;
  log_options.logger = nullptr;  // Faults are injected on purpose; the history tells what happened.

  // Reach the brokers and make the topic before any client starts: a run that
  // cannot be made says why at once.
  if (!mock) {
    if (std::string why = ProbeBrokers(options.brokers, options.connect_timeout); !why.empty()) {
      return refuse(LiveResult::Kind::kEnvironment, "cannot reach any broker of " + options.brokers + ": " + why);
    }
    // The checker compares the log with this run's writes: the topic must be new.
    if (auto count = kafka::TopicPartitionCount(log_options); count) {
      return refuse(LiveResult::Kind::kUsage,
                    "topic '" + log_options.topic + "' exists already on " + options.brokers +
                        "; a live run needs a new topic (the checker compares the whole log with this run's "
                        "writes): name another, or leave --topic out");
    }
  }
  const bool delete_topic = !mock && !options.keep_topic;
  // Deletes the topic (unless kept) on every way out from here.
  auto remove_topic = [&] {
    if (!delete_topic) return;
    if (Status deleted = kafka::DeleteTopic(log_options); !deleted) {
      result.warnings.push_back("the topic is left behind: " + deleted.error().ToString());
    } else if (options.say) {
      options.say("  deleted topic " + log_options.topic);
    }
  };
  // One log opened and closed: makes the topic and tries the producer
  // settings (librdkafka refuses e.g. acks=1 with idempotence on only there).
  if (auto ready = kafka::OpenKafkaLog(log_options); !ready) {
    remove_topic();
    return refuse(ready.error().code() == ErrorCode::kInvalidArgument ? LiveResult::Kind::kUsage
                                                                      : LiveResult::Kind::kEnvironment,
                  "cannot use topic '" + log_options.topic + "': " + ready.error().ToString());
  } else {
    (*ready)->Close();
  }
  if (options.say) {
    std::string rf = options.replication_factor > 0 ? std::to_string(options.replication_factor)
                                                    : (mock ? "min(3, brokers)" : "the cluster's default");
    options.say(fmt::format("live topic {} on {} (replication factor {}); {}", log_options.topic, result.where, rf,
                            mock           ? "it ends with this process"
                            : delete_topic ? "deleted at the end (--keep-topic keeps it)"
                                           : "kept (--keep-topic)"));
  }

  WorkloadOptions workload = scenario.workload;
  workload.seed = scenario.seed;
  auto channel = std::make_shared<NemesisChannel>();
  workload.external_nemesis = channel;
  ConnectFn connect = [&](int slot) -> std::unique_ptr<log::Log> {
    kafka::KafkaOptions o = log_options;
    o.client_id = fmt::format("kvsim-c{}", slot);
    o.create_topic = false;  // Made above; a client must not make it again after a deletion.
    auto log = kafka::OpenKafkaLog(o);
    if (!log) return std::make_unique<FailedLog>(log.error());
    return std::move(*log);
  };

  SimRun& run = result.run;
  run.live = true;

  run.faults = scenario.fault_names;
  if (scenario.variant != "correct") run.faults.push_back("variant:" + scenario.variant);
  std::shared_ptr<BrokerNemesis> broker_nemesis = mock ? nullptr : options.broker_nemesis;
  if (broker_nemesis && !nemesis_faults.empty()) {
    BrokerNemesisContext context{.seed = scenario.seed,
                                 .faults = nemesis_faults,
                                 .brokers = options.brokers,
                                 .topic = log_options.topic,
                                 .record = [channel](const std::string& f, const std::string& v) {
                                   channel->Record(f, v);
                                 }};
    if (Status started = broker_nemesis->Start(context); !started) {
      remove_topic();
      return refuse(LiveResult::Kind::kEnvironment, "starting the broker nemesis: " + started.error().ToString());
    }
  } else {
    broker_nemesis = nullptr;
  }
  // On brokers, faults from outside the harness go unrecorded unless a broker
  // nemesis runs (the report says so).
  run.external_faults_untracked = !mock && !broker_nemesis;
  // The broker nemesis hears when the workload's clients are all connected,
  // and keeps them going while its schedule has faults left.
  if (broker_nemesis) workload.keep_going = [broker_nemesis] { return broker_nemesis->Busy(); };
  ConnectFn connect_clients = connect;
  auto connected = std::make_shared<std::atomic<int>>(0);
  if (broker_nemesis) {
    connect_clients = [&connect, broker_nemesis, connected, clients = workload.clients](int slot) {
      auto log = connect(slot);
      if (slot >= 0 && connected->fetch_add(1) + 1 == clients) broker_nemesis->ClientsConnected();
      return log;
    };
  }
  const auto wall_start = std::chrono::steady_clock::now();
  {
    std::unique_ptr<MockNemesis> nemesis;
    if (cluster) nemesis = std::make_unique<MockNemesis>(*cluster, scenario.fault_names, channel);
    run.workload = RunWorkload(Runtime::Real(), workload, connect_clients, *wrap);
  }
  if (broker_nemesis) {
    if (Status stopped = broker_nemesis->Stop(); !stopped) {
      run.workload.errors.push_back("healing the cluster after the broker nemesis: " + stopped.error().ToString());
    }
  }
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  run.outcome.virtual_end =
      TimePoint(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(run.wall_seconds)));
  run.history = std::move(run.workload.history);
  run.history.source =
      fmt::format("kvsim --live seed {} {}", scenario.seed,
                  mock ? std::string("(embedded mock cluster)")
                       : fmt::format("({}, topic {})", options.brokers, log_options.topic));
  {
    auto reader_log = connect(-1);
    auto records = ReadLogForHistory(*reader_log, 30s);
    if (records) {
      run.history.log = std::move(*records);
      run.history.has_log = true;
    } else {
      run.workload.errors.push_back("reading the log back: " + records.error().ToString());
    }
  }
  run.checks = scenario.checks;
  result.report = Judge(run);
  remove_topic();
  if (result.report.Overall() == checker::Verdict::kInvalid) {
    result.kind = LiveResult::Kind::kFailed;
  } else if (!Passed(run, result.report)) {
    result.kind = LiveResult::Kind::kNotCompleted;
    result.message = run.workload.errors.empty() ? "the workload did not complete" : run.workload.errors.front();
  } else {
    result.kind = LiveResult::Kind::kPassed;
  }
  return result;
}

}  // namespace kvlog::sim::live
