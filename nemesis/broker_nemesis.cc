#include "nemesis/broker_nemesis.h"

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "base/propagate.h"

namespace kvlog::nemesis {
namespace {

using Clock = std::chrono::steady_clock;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string NodeList(const std::vector<int>& nodes) {
  return fmt::format("{}", fmt::join(nodes, ","));
}

std::string WallNow() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

class ScriptControlImpl final : public BrokerControl {
 public:
  ScriptControlImpl(ScriptControlOptions o, std::vector<std::pair<int, std::string>> brokers, bool netns)
      : o_(std::move(o)), brokers_(std::move(brokers)), netns_(netns) {}

  // Runs the script; its output (stdout and stderr) or why it failed.
  static Result<std::string> RunScript(const std::string& script, const std::vector<std::string>& args) {
    std::vector<std::string> quoted;
    for (const auto& a : args) quoted.push_back(Quote(a));
    const std::string cmd = fmt::format("bash {} {} 2>&1", Quote(script), fmt::join(quoted, " "));
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return std::unexpected(fmt::format("cannot run {}", script));
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int rc = pclose(p);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
      return std::unexpected(fmt::format("kafka-cluster {} failed: {}", fmt::join(args, " "), Trim(out)));
    }
    return out;
  }

  std::vector<int> Brokers() const override {
    std::vector<int> ids;
    for (const auto& [id, _] : brokers_) ids.push_back(id);
    return ids;
  }

  bool CanPartition() const override { return netns_; }

  Result<PartitionState> Describe(const std::vector<int>& avoid) override {
    std::string why = "no broker to ask (all avoided)";
    for (const auto& [id, address] : brokers_) {
      if (std::find(avoid.begin(), avoid.end(), id) != avoid.end()) continue;
      auto state = DescribeVia(address);
      if (state) return state;
      why = base::WithContext(state.error(), fmt::format("broker {}", id));
    }
    return std::unexpected(why);
  }

  Status Kill(int node) override { return Do({"kill", fmt::format("{}", node)}); }
  Status Restart(int node) override { return Do({"restart", fmt::format("{}", node)}); }
  Status Pause(int node) override { return Do({"pause", fmt::format("{}", node)}); }
  Status Resume(int node) override { return Do({"resume", fmt::format("{}", node)}); }
  Status Partition(const std::vector<int>& side) override { return Do({"partition", NodeList(side)}); }
  Status Heal() override { return Do({"heal"}); }
  Result<int> Elect() override {
    KVLOG_ASSIGN_OR_RETURN(const std::string out, RunScript(o_.script, {"elect", o_.topic}));
    try {
      return std::stoi(Trim(out));
    } catch (...) {
      return std::unexpected(fmt::format("kafka-cluster elect printed '{}', not a node id", Trim(out)));
    }
  }

 private:
  Status Do(const std::vector<std::string>& args) {
    KVLOG_RETURN_IF_ERROR(RunScript(o_.script, args));
    return {};
  }

  // Partition 0's metadata from one broker, through a fresh handle whose only
  // bootstrap server is that broker (librdkafka connects sparsely, so the
  // request goes there).
  Result<PartitionState> DescribeVia(const std::string& address) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const std::string& k, const std::string& v) {
      return rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK;
    };
    for (const auto& [k, v] : o_.properties) {
      if (k == "bootstrap.servers" || k.starts_with("acks") || k.starts_with("enable.idempotence")) continue;
      if (!set(k, v)) {
        rd_kafka_conf_destroy(conf);
        return std::unexpected(std::string(err));
      }
    }
    set("bootstrap.servers", address);
    set("log_level", "0");
    set("socket.timeout.ms", "3000");
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return std::unexpected(std::string(err));
    }
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o_.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 3000);
    Result<PartitionState> out = std::unexpected(std::string(rd_kafka_err2str(e)));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = std::unexpected(fmt::format("topic {} has no partition 0 in the metadata", o_.topic));
      for (int t = 0; t < md->topic_cnt; ++t) {
        const auto& topic = md->topics[t];
        if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          out = std::unexpected(std::string(rd_kafka_err2str(topic.err)));
          continue;
        }
        for (int p = 0; p < topic.partition_cnt; ++p) {
          const auto& part = topic.partitions[p];
          if (part.id != 0) continue;
          PartitionState s;
          s.leader = part.leader;
          s.replicas.assign(part.replicas, part.replicas + part.replica_cnt);
          s.isr.assign(part.isrs, part.isrs + part.isr_cnt);
          out = s;
        }
      }
      rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return out;
  }

  const ScriptControlOptions o_;
  const std::vector<std::pair<int, std::string>> brokers_;  // id, host:port
  const bool netns_;
};

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kKill: return "kill";
    case Kind::kPause: return "pause";
    case Kind::kPartition: return "partition";
    case Kind::kElect: return "elect";
    case Kind::kLoneLeader: return "kill-lone-leader";
  }
  return "?";
}
const char* TargetName(Target t) {
  switch (t) {
    case Target::kLeader: return "leader";
    case Target::kRandom: return "random";
    case Target::kMinority: return "minority";
    case Target::kAll: return "all";
  }
  return "?";
}

}  // namespace

bool PartitionState::FullIsr() const {
  if (leader < 0 || replicas.empty()) return false;
  std::set<int> in(isr.begin(), isr.end());
  return std::all_of(replicas.begin(), replicas.end(), [&](int r) { return in.contains(r); });
}

Result<std::unique_ptr<BrokerControl>> ScriptControl(const ScriptControlOptions& options) {
  if (options.script.empty()) return std::unexpected(std::string("no kafka-cluster script given"));
  if (options.topic.empty()) return std::unexpected(std::string("no topic given"));
  if (FILE* f = std::fopen(options.script.c_str(), "r"); f == nullptr) {
    return std::unexpected(fmt::format("cannot read the kafka-cluster script {}", options.script));
  } else {
    std::fclose(f);
  }
  KVLOG_ASSIGN_OR_RETURN(const std::string nodes, ScriptControlImpl::RunScript(options.script, {"nodes"}));
  std::vector<std::pair<int, std::string>> brokers;
  bool netns = false;
  std::istringstream lines(nodes);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    int id = 0;
    std::string role, address, where;
    if (!(fields >> id >> role >> address)) continue;
    if (fields >> where && where == "netns") netns = true;
    if (role.find("broker") == std::string::npos) continue;
    brokers.emplace_back(id, address);
  }
  if (brokers.empty()) {
    return std::unexpected(
        fmt::format("kafka-cluster nodes lists no broker (is the cluster running? output: {})", Trim(nodes)));
  }
  // The cluster the script runs must be the one the workload uses.
  if (!options.bootstrap.empty()) {
    for (const auto& [id, address] : brokers) {
      if (options.bootstrap.find(address) == std::string::npos) {
        return std::unexpected(fmt::format(
            "broker {} of the script's cluster ({}) is not in the bootstrap address {}: the nemesis would hit another "
            "cluster than the workload's",
            id, address, options.bootstrap));
      }
    }
  }
  return std::make_unique<ScriptControlImpl>(options, std::move(brokers), netns);
}

std::string Fault::Name() const {
  if (!name.empty()) return name;
  if (action.kind == Kind::kElect || action.kind == Kind::kLoneLeader) return KindName(action.kind);
  return fmt::format("{}-{}", KindName(action.kind), TargetName(action.target));
}

BrokerNemesis::BrokerNemesis(BrokerControl& control, std::vector<Fault> faults, ScheduleOptions options)
    : control_(control), faults_(std::move(faults)), options_(options) {}

BrokerNemesis::~BrokerNemesis() { Stop(); }

void BrokerNemesis::Start(bool wait_for_go) {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  go_ = !wait_for_go;
  start_ = Clock::now();
  thread_ = std::thread([this] { Run(); });
}

void BrokerNemesis::Go() {
  {
    std::lock_guard lock(mu_);
    go_ = true;
  }
  cv_.notify_all();
}

void BrokerNemesis::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_ || stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  HealAll();
}

bool BrokerNemesis::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stop_; });
}

void BrokerNemesis::Record(const std::string& f, const std::string& value) {
  std::string described = fmt::format("{} at {}", value, WallNow());
  {
    std::lock_guard lock(mu_);
    checker::NemesisEvent n;
    n.type = checker::EventType::kInfo;
    n.f = f;
    n.value = described;
    n.time = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
    events_.push_back(std::move(n));
  }
  if (options_.on_record) options_.on_record(f, described);
}

bool BrokerNemesis::ScheduleDone() const {
  std::lock_guard lock(mu_);
  return schedule_done_;
}

void BrokerNemesis::Run() {
  if (faults_.empty()) {
    std::lock_guard lock(mu_);
    schedule_done_ = options_.max_faults > 0;
    return;
  }
  base::Rng rng = base::Rng(options_.seed).Fork("nemesis/brokers");
  auto draw = [&](std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    return std::chrono::milliseconds(rng.Between(lo.count(), hi.count()));
  };
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || go_; });
    if (stop_) return;
  }
  if (!SleepFor(options_.first_delay)) return;
  for (int done = 0; options_.max_faults == 0 || done < options_.max_faults; ++done) {
    const size_t drawn = static_cast<size_t>(rng.Below(faults_.size()));
    const Fault& fault = faults_[options_.cycle ? static_cast<size_t>(done) % faults_.size() : drawn];
    Apply(fault, rng);
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      if (options_.max_faults > 0 && done + 1 == options_.max_faults) {
        schedule_done_ = true;
        return;
      }
    }
    if (!SleepFor(draw(options_.min_gap, options_.max_gap))) return;
  }
}

void BrokerNemesis::Apply(const Fault& fault, base::Rng& rng) {
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start_).count(); };
  FaultRecord rec;
  rec.name = fault.Name();
  auto before = control_.Describe({});
  rec.leader_before = before ? before->leader : -1;
  std::vector<int> brokers = control_.Brokers();
  // Targets. Drawn even when unused, so a seed's later choices do not depend
  // on what the cluster answered.
  std::vector<int> shuffled = brokers;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const int64_t duration_ms =
      rng.Between(options_.min_duration.count(), std::max(options_.min_duration, options_.max_duration).count());
  std::vector<int> nodes;
  std::string role;
  switch (fault.action.target) {
    case Target::kLeader:
      if (rec.leader_before >= 0) nodes = {rec.leader_before};
      role = "leader";
      break;
    case Target::kRandom:
      nodes = {shuffled.front()};
      role = shuffled.front() == rec.leader_before ? "random, the leader" : "random, a follower";
      break;
    case Target::kMinority:
      nodes.assign(shuffled.begin(), shuffled.begin() + static_cast<long>((brokers.size() - 1) / 2));
      role = "minority";
      if (std::find(nodes.begin(), nodes.end(), rec.leader_before) != nodes.end()) role += ", with the leader";
      break;
    case Target::kAll:
      nodes = brokers;
      role = "all";
      break;
  }
  rec.start_s = seconds();
  const Kind kind = fault.action.kind;
  if (kind == Kind::kLoneLeader) nodes = rec.leader_before >= 0 ? std::vector<int>{rec.leader_before} : nodes;
  if (kind != Kind::kElect && nodes.empty()) {
    rec.error = before ? "no leader to target" : fmt::format("no leader to target: {}", before.error());
    Record("info", fmt::format("{} skipped: {}", rec.name, rec.error));
    std::lock_guard lock(mu_);
    records_.push_back(std::move(rec));
    return;
  }
  rec.nodes = nodes;
  const std::string who = fmt::format("node {} ({})", NodeList(nodes), role);
  auto note_error = [&](const Status& s) {
    if (!s && rec.error.empty()) rec.error = s.error();
  };
  auto mark = [&](std::vector<int>& list, bool add) {
    std::lock_guard lock(mu_);
    for (int n : nodes) {
      if (add) {
        list.push_back(n);
      } else {
        list.erase(std::remove(list.begin(), list.end(), n), list.end());
      }
    }
  };
  const auto duration = std::chrono::milliseconds(duration_ms);
  switch (kind) {
    case Kind::kKill: {
      Record("kill", fmt::format("{}: SIGKILL", who));
      for (int n : nodes) note_error(control_.Kill(n));
      mark(killed_, true);
      SleepFor(duration);
      if (auto during = control_.Describe(nodes)) rec.leader_after = during->leader;
      rec.heal_s = seconds();
      Record("restart", fmt::format("{}: restarted", who));
      for (int n : nodes) note_error(control_.Restart(n));
      mark(killed_, false);
      break;
    }
    case Kind::kPause: {
      Record("pause", fmt::format("{}: SIGSTOP", who));
      for (int n : nodes) note_error(control_.Pause(n));
      mark(paused_, true);
      SleepFor(duration);
      if (auto during = control_.Describe(nodes)) rec.leader_after = during->leader;
      rec.heal_s = seconds();
      Record("resume", fmt::format("{}: SIGCONT", who));
      for (int n : nodes) note_error(control_.Resume(n));
      mark(paused_, false);
      break;
    }
    case Kind::kPartition: {
      Record("start-partition",
             fmt::format("{} cut off the other brokers and the controllers; clients reach every node", who));
      note_error(control_.Partition(nodes));
      {
        std::lock_guard lock(mu_);
        cut_ = true;
      }
      SleepFor(duration);
      if (auto during = control_.Describe(nodes)) rec.leader_after = during->leader;
      rec.heal_s = seconds();
      Record("stop-partition", fmt::format("{} reconnected (heal)", who));
      note_error(control_.Heal());
      std::lock_guard lock(mu_);
      cut_ = false;
      break;
    }
    case Kind::kLoneLeader: {
      const int leader = nodes.front();
      std::vector<int> followers;
      for (int b : brokers) {
        if (b != leader) followers.push_back(b);
      }
      const std::string them = fmt::format("node {} (followers)", NodeList(followers));
      Record("pause", fmt::format("{}: SIGSTOP until the ISR is the leader alone", them));
      {
        std::lock_guard lock(mu_);
        paused_.insert(paused_.end(), followers.begin(), followers.end());
      }
      for (int f : followers) note_error(control_.Pause(f));
      bool alone = false;
      const auto deadline = Clock::now() + options_.recovery_timeout;
      while (!alone && Clock::now() < deadline) {
        auto state = control_.Describe(followers);
        alone = state && state->isr == std::vector<int>{leader};
        if (!alone && !SleepFor(options_.poll)) break;
      }
      if (!alone) note_error(std::unexpected(std::string("the ISR did not shrink to the leader alone")));
      Record("info", alone ? fmt::format("node {} (leader) is the ISR alone", leader)
                                            : "the ISR did not shrink to the leader alone");
      SleepFor(duration / 2);
      Record("kill", fmt::format("{}: SIGKILL, the ISR's only member", who));
      note_error(control_.Kill(leader));
      {
        std::lock_guard lock(mu_);
        killed_.push_back(leader);
      }
      Record("resume", fmt::format("{}: SIGCONT; only an unclean election gives the partition a leader", them));
      for (int f : followers) note_error(control_.Resume(f));
      {
        std::lock_guard lock(mu_);
        for (int f : followers) paused_.erase(std::find(paused_.begin(), paused_.end(), f));
      }
      SleepFor(duration / 2);
      if (auto during = control_.Describe(nodes)) rec.leader_after = during->leader;
      rec.heal_s = seconds();
      Record("restart", fmt::format("{}: restarted", who));
      note_error(control_.Restart(leader));
      mark(killed_, false);
      break;
    }
    case Kind::kElect: {
      auto elected = control_.Elect();
      rec.heal_s = seconds();
      if (elected) {
        rec.leader_after = *elected;
        Record("elect", fmt::format("leader election forced: node {} -> node {}", rec.leader_before, *elected));
      } else {
        rec.error = elected.error();
        Record("elect", fmt::format("leader election failed: {}", elected.error()));
      }
      break;
    }
  }
  if (!rec.error.empty()) Record("info", fmt::format("{}: {}", rec.name, rec.error));
  // Recovery: a leader and every replica back in sync, timed from the heal
  // action's start (a restart's start-up time counts).
  const auto healed = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rec.heal_s));
  while (Clock::now() - healed < options_.recovery_timeout) {
    auto state = control_.Describe({});
    if (state && state->FullIsr()) {
      rec.recovered_s = std::chrono::duration<double>(Clock::now() - healed).count();
      break;
    }
    if (!SleepFor(options_.poll)) break;
  }
  std::lock_guard lock(mu_);
  records_.push_back(std::move(rec));
}

void BrokerNemesis::HealAll() {
  std::vector<int> killed, paused;
  bool cut;
  {
    std::lock_guard lock(mu_);
    killed.swap(killed_);
    paused.swap(paused_);
    cut = cut_;
    cut_ = false;
  }
  for (int n : paused) {
    auto s = control_.Resume(n);
    Record("resume", fmt::format("node {}: SIGCONT at the end{}", n, s ? std::string() : fmt::format(" failed: {}", s.error())));
  }
  if (cut) {
    auto s = control_.Heal();
    Record("stop-partition", fmt::format("every link healed at the end{}", s ? std::string() : fmt::format(" failed: {}", s.error())));
  }
  for (int n : killed) {
    auto s = control_.Restart(n);
    Record("restart", fmt::format("node {}: restarted at the end{}", n, s ? std::string() : fmt::format(" failed: {}", s.error())));
  }
}

std::vector<checker::NemesisEvent> BrokerNemesis::Events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::vector<FaultRecord> BrokerNemesis::Records() const {
  std::lock_guard lock(mu_);
  return records_;
}

void MergeInto(checker::History& history, const std::vector<checker::NemesisEvent>& events) {
  std::vector<checker::NemesisEvent> merged = history.nemesis;
  for (checker::NemesisEvent n : events) {
    const int64_t t = n.time.value_or(0);
    // The number of client events at or before the action's time.
    auto it = std::upper_bound(history.events.begin(), history.events.end(), t,
                               [](int64_t time, const checker::Event& e) { return time < e.time.value_or(0); });
    n.position = it - history.events.begin();
    merged.push_back(std::move(n));
  }
  std::stable_sort(merged.begin(), merged.end(), [](const checker::NemesisEvent& a, const checker::NemesisEvent& b) {
    if (a.position != b.position) return a.position < b.position;
    return a.time.value_or(0) < b.time.value_or(0);
  });
  history.nemesis = std::move(merged);
}

std::string Describe(const std::vector<FaultRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    out += fmt::format("  {:<18} node {} (leader {} -> {}) at {:.1f} s, healed {:.1f} s", r.name, NodeList(r.nodes),
                       r.leader_before, r.leader_after, r.start_s, r.heal_s);
    if (r.recovered_s) {
      out += fmt::format(", recovered (leader, full ISR) {:.1f} s after heal", *r.recovered_s);
    } else {
      out += ", not recovered in time";
    }
    if (!r.error.empty()) out += fmt::format("; error: {}", r.error);
    out += "\n";
  }
  return out;
}

}  // namespace kvlog::nemesis
