#include "sim/live/ttl_watch.h"

#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "base/propagate.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"
#include "sim/live/failed_log.h"

namespace kvlog::sim::live {
namespace {

using namespace std::chrono_literals;
namespace kafka = log::kafka;

// The run's cluster and topic: the embedded mock, or a fresh topic on the
// brokers (deleted at the end unless kept).
class LiveTopic {
 public:
  // Empty on success; else sets result.kind and message.
  bool Open(const LiveOptions& options, uint64_t seed, LiveTtlWatchResult& result) {
    options_ = &options;
    result_ = &result;
    const bool mock = options.brokers.empty();
    result.where = mock ? "the embedded mock cluster" : options.brokers;
    auto refuse = [&](LiveTtlWatchResult::Kind kind, std::string message) {
      result.kind = kind;
      result.message = std::move(message);
      return false;
    };
    if (options.broker_nemesis) {
      return refuse(LiveTtlWatchResult::Kind::kUsage,
                    "a broker nemesis does not run with the ttl and watch workloads live (no faults live)");
    }
    if (std::string why = ValidateLiveOptions(options); !why.empty()) {
      return refuse(LiveTtlWatchResult::Kind::kUsage, why);
    }
    if (mock) {
      auto started = kafka::MockCluster::Start(
          {.brokers = 3, .topic = "kvsim-live", .replication_factor = options.replication_factor});
      if (!started) {
        return refuse(started.error().code() == ErrorCode::kInvalidArgument ? LiveTtlWatchResult::Kind::kUsage
                                                                            : LiveTtlWatchResult::Kind::kEnvironment,
                      "starting the mock cluster: " + started.error().ToString());
      }
      cluster_ = std::move(*started);
      log_options_ = cluster_->LogOptions();
    } else {
      log_options_.brokers = options.brokers;
      log_options_.topic = options.topic;
      if (log_options_.topic.empty()) {
        const auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
        log_options_.topic = fmt::format("kvsim-live-{}-{}", seed, stamp);
      }
      log_options_.replication_factor = options.replication_factor > 0 ? options.replication_factor : -1;
      for (const auto& [name, value] : options.topic_configs) log_options_.topic_configs[name] = value;
      log_options_.admin_timeout = options.connect_timeout;
    }
    result.topic = log_options_.topic;
    log_options_.properties.insert(log_options_.properties.end(), options.properties.begin(), options.properties.end());
    log_options_.allow_unsafe_acks = options.allow_unsafe_acks;
    log_options_.logger = nullptr;
    if (!mock) {
      // The history's log is the whole topic: it must be new.
      if (auto count = kafka::TopicPartitionCount(log_options_); count) {
        return refuse(LiveTtlWatchResult::Kind::kUsage,
                      "topic '" + log_options_.topic + "' exists already on " + options.brokers +
                          "; a live run needs a new topic (its whole log is checked against the run): name "
                          "another, or leave --topic out");
      }
      delete_topic_ = !options.keep_topic;
    }
    // One log opened and closed: makes the topic and tries the settings.
    auto ready = kafka::OpenKafkaLog(log_options_);
    if (!ready) {
      return refuse(ready.error().code() == ErrorCode::kInvalidArgument ? LiveTtlWatchResult::Kind::kUsage
                                                                        : LiveTtlWatchResult::Kind::kEnvironment,
                    "cannot use topic '" + log_options_.topic + "' on " + result.where + ": " +
                        ready.error().ToString());
    }
    (*ready)->Close();
    if (options.say) options.say("live topic " + log_options_.topic + " on " + result.where);
    return true;
  }

  ~LiveTopic() {
    if (query_) query_->Close();
    if (!delete_topic_) return;
    if (Status deleted = kafka::DeleteTopic(log_options_); !deleted) {
      result_->warnings.push_back("the topic is left behind: " + deleted.error().ToString());
    } else if (options_->say) {
      options_->say("  deleted topic " + log_options_.topic);
    }
  }

  std::unique_ptr<log::Log> Connect(int slot) {
    kafka::KafkaOptions o = log_options_;
    o.client_id = slot >= 0 ? fmt::format("kvsim-c{}", slot) : "kvsim-reader";
    o.create_topic = false;
    auto log = kafka::OpenKafkaLog(o);
    if (!log) return std::make_unique<FailedLog>(log.error());
    return std::move(*log);
  }

  WorkloadLog Log() {
    WorkloadLog out;
    out.connect = [this](int slot) { return Connect(slot); };
    out.end_offset = [this]() -> Result<log::Offset> {
      std::lock_guard lock(mu_);
      if (!query_) query_ = Connect(-1);
      return query_->EndOffset(30s);
    };
    out.visit = [this](const std::function<void(log::Offset, const log::Record&)>& visit) -> Status {
      auto log = Connect(-1);
      KVLOG_ASSIGN_OR_RETURN(const log::Offset end, log->EndOffset(30s));
      KVLOG_ASSIGN_OR_RETURN(auto reader, log->OpenReader(0));
      while (reader->Position() < end) {
        KVLOG_ASSIGN_OR_RETURN(auto entries, reader->Poll(10'000, 30s));
        if (entries.empty()) {
          return MakeError(ErrorCode::kTimeout,
                           fmt::format("reading the log back stopped at offset {} of {}", reader->Position(), end));
        }
        for (const log::LogEntry& e : entries) {
          if (e.record) visit(e.offset, *e.record);
        }
      }
      reader->Close();
      log->Close();
      return Status{};
    };
    out.start_offset = [] { return log::Offset{0}; };  // A new topic.
    return out;
  }

 private:
  const LiveOptions* options_ = nullptr;
  LiveTtlWatchResult* result_ = nullptr;
  std::unique_ptr<kafka::MockCluster> cluster_;
  kafka::KafkaOptions log_options_;
  bool delete_topic_ = false;
  std::mutex mu_;
  std::unique_ptr<log::Log> query_;  // Guarded by mu_: end offsets.
};

std::string Source(const std::string& workload, uint64_t seed, const std::string& variant,
                   const LiveTtlWatchResult& r) {
  const bool name_topic = !r.topic.empty() && r.where != "the embedded mock cluster";
  return fmt::format("kvsim --live --workload {} seed {} variant {} ({}{})", workload, seed, variant, r.where,
                     name_topic ? ", topic " + r.topic : std::string());
}

}  // namespace

LiveTtlWatchResult RunTtlLive(const TtlScenario& s, const LiveOptions& options, TtlRun& run) {
  LiveTtlWatchResult result;
  if (std::string why = TtlScenarioError(s); !why.empty()) {
    result.kind = LiveTtlWatchResult::Kind::kUsage;
    result.message = why;
    return result;
  }
  LiveTopic topic;
  if (!topic.Open(options, s.seed, result)) return result;
  // One clock for every client: no skew.
  run.skews.assign(static_cast<std::size_t>(s.clients), ClockSkew{});
  const auto start = std::chrono::steady_clock::now();
  RunTtlWorkload(Runtime::Real(), topic.Log(), s, kLiveClockMargin, run);
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.outcome.virtual_end = TimePoint(std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(result.wall_seconds)));
  run.ops = static_cast<int64_t>(run.history.events.size() / 2);
  result.kind = LiveTtlWatchResult::Kind::kRan;
  run.history.source = Source("ttl", s.seed, s.variant, result);
  return result;
}

LiveTtlWatchResult RunWatchLive(const WatchWorkloadOptions& w, const LiveOptions& options, WatchRun& run) {
  LiveTtlWatchResult result;
  if (w.variant != "correct" && w.variant != "watch-drop") {
    result.kind = LiveTtlWatchResult::Kind::kUsage;
    result.message = "unknown watch variant '" + w.variant + "'; known: correct, watch-drop";
    return result;
  }
  LiveTopic topic;
  if (!topic.Open(options, w.seed, result)) return result;
  const auto start = std::chrono::steady_clock::now();
  RunWatchWorkloadOn(Runtime::Real(), topic.Log(), w, run);
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.outcome.virtual_end = TimePoint(std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(result.wall_seconds)));
  result.kind = LiveTtlWatchResult::Kind::kRan;
  run.history.source = Source("watch", w.seed, w.variant, result);
  return result;
}

}  // namespace kvlog::sim::live
