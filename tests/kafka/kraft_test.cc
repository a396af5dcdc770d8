// The adapter against a genuine Apache Kafka (KRaft) cluster of 3 nodes that
// scripts/kafka-cluster starts for this suite: what the mock cannot do
// (CreateTopics, compaction, real leader failover) and process-level faults
// (SIGKILL, SIGSTOP).
//
// Run: scripts/kafka-cluster fetch && bazel test //tests/kafka:kraft_test
// The jars come from the running user's ~/.cache/kvlog (or KVLOG_KAFKA_CACHE,
// passed with --test_env). It needs Java and fails, saying so, when it has none.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "kv/client.h"
#include "kv/memory_storage.h"
#include "tests/kafka/put_latency.h"
#include "log/kafka/kafka_log.h"

namespace kvlog::log::kafka {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string g_script;  // Path of scripts/kafka-cluster, from argv.
std::string g_bootstrap;
constexpr char kTestPort[] = "30092";  // Away from the script's default (a developer's cluster) and below the ephemeral range.
constexpr auto kWait = 120s;

struct RunResult {
  int status;
  std::string output;
};

// The jar cache of the user running the test: Bazel points HOME at a
// temporary folder, which would mean a fresh download on every run.
std::string UserCache() {
  if (const char* cache = std::getenv("KVLOG_KAFKA_CACHE")) return cache;
  const passwd* pw = getpwuid(getuid());
  return pw != nullptr ? std::string(pw->pw_dir) + "/.cache/kvlog" : "";
}

RunResult RunScript(const std::string& args) {
  std::string cache = UserCache();
  const char* tmp = std::getenv("TMPDIR");
  std::string command =
      fmt::format("{}KVLOG_KAFKA_PORT={} KVLOG_KAFKA_DIR={}/kvlog-kraft-test-{} '{}' {} 2>&1",
                  cache.empty() ? "" : "KVLOG_KAFKA_CACHE='" + cache + "' ", kTestPort, tmp ? tmp : "/tmp", getuid(),
                  g_script, args);
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  int status = pclose(pipe);
  return {status, out};
}

// Starts the cluster once for the suite. A failure is recorded, not asserted,
// so every test then fails with it (a failed global set-up alone would leave
// the tests "not run" and a result counter would see no failure).
std::string g_setup_error;

class KraftEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (g_script.empty()) {
      g_setup_error = "usage: kraft_test <path to scripts/kafka-cluster>";
      return;
    }
    if (std::system("command -v java >/dev/null 2>&1") != 0) {
      g_setup_error = "the KRaft suite was asked to run but java is not on PATH (Debian: default-jdk-headless)";
      return;
    }
    RunScript("stop");  // A cluster left over by a crashed run holds the ports.
    auto start = Clock::now();
    RunResult r = RunScript("start --brokers 3");
    if (r.status != 0) {
      g_setup_error = "kafka-cluster start failed:\n" + r.output;
      return;
    }
    auto nl = r.output.find_last_not_of("\n");
    auto line_start = r.output.rfind('\n', nl);
    g_bootstrap = r.output.substr(line_start == std::string::npos ? 0 : line_start + 1,
                                  nl - (line_start == std::string::npos ? 0 : line_start + 1) + 1);
    fmt::print(stderr, "kraft: 3 nodes at {}, started in {} ms\n", g_bootstrap,
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  }
  void TearDown() override {
    if (g_bootstrap.empty()) return;
    RunResult r = RunScript("stop");
    EXPECT_EQ(r.status, 0) << r.output;
  }
};

class Kraft : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(g_setup_error.empty()) << g_setup_error; }
};

KafkaOptions OptionsFor(const std::string& topic) {
  KafkaOptions o;
  o.brokers = g_bootstrap;
  o.topic = topic;
  o.replication_factor = 3;
  o.logger = nullptr;  // Fault tests make librdkafka noisy on purpose.
  return o;
}

// Waits for `n` callback results.
class Results {
 public:
  AppendCallback Callback(std::size_t index) {
    return [this, index](AppendResult r) {
      std::lock_guard<std::mutex> lock(mu_);
      results_[index] = std::move(r);
      cv_.notify_all();
    };
  }
  bool WaitFor(std::size_t n, std::chrono::seconds timeout = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.size();
  }
  std::map<std::size_t, AppendResult> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::size_t, AppendResult> results_;
};

std::vector<LogEntry> ReadAll(Log& log) {
  auto end = log.EndOffset(30s);
  EXPECT_TRUE(end) << end.error().ToString();
  if (!end) return {};
  auto reader = log.OpenReader(0);
  EXPECT_TRUE(reader) << reader.error().ToString();
  if (!reader) return {};
  std::vector<LogEntry> all;
  const auto deadline = Clock::now() + kWait;
  while ((*reader)->Position() < *end && Clock::now() < deadline) {
    auto batch = (*reader)->Poll(10'000, 500ms);
    if (!batch) continue;
    for (auto& e : *batch) all.push_back(std::move(e));
  }
  EXPECT_GE((*reader)->Position(), *end) << "reader did not reach the end offset";
  return all;
}

// Partition 0 of a topic as the metadata shows it.
struct PartitionZero {
  int leader = -1;   // Broker id, or -1 when none is elected (yet) or the topic is missing.
  int replicas = 0;  // The replica count: the topic's replication factor.
};

PartitionZero DescribePartitionZero(const std::string& topic) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", g_bootstrap.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) return {};
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  PartitionZero out;
  // A topic just created may not have its leader elected yet: ask again, bounded.
  for (int attempt = 0; attempt < 100 && out.leader < 0; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(200ms);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].partition_cnt >= 1) {
        out.leader = md->topics[0].partitions[0].leader;
        out.replicas = md->topics[0].partitions[0].replica_cnt;
      }
      rd_kafka_metadata_destroy(md);
    }
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return out;
}

// The broker id leading partition 0 of `topic`, or -1.
int LeaderOf(const std::string& topic) { return DescribePartitionZero(topic).leader; }

// Appends "w<i>" for i in [0, count) keeping at most `window` in flight;
// calls `at_half` once, from this thread, when half have been acknowledged.
void WriteWindowed(Log& log, Results& results, int count, int window, const std::function<void()>& at_half) {
  bool fired = false;
  for (int i = 0; i < count; ++i) {
    while (static_cast<int>(results.size()) + window <= i) std::this_thread::sleep_for(1ms);
    if (!fired && static_cast<int>(results.size()) >= count / 2) {
      fired = true;
      at_half();
    }
    std::vector<Record> one = {Record{fmt::format("w{}", i), "v", {}}};
    log.Append(one, results.Callback(i));
  }
}

// Every acknowledged write appears exactly once; nothing appears twice.
void ExpectAckedExactlyOnce(const std::map<std::size_t, AppendResult>& results, const std::vector<LogEntry>& log) {
  std::map<std::string, int> seen;
  for (const auto& e : log) {
    ASSERT_TRUE(e.record) << e.record.error().ToString();
    ++seen[e.record->key];
  }
  std::size_t acked = 0;
  for (const auto& [i, r] : results) {
    if (!r) continue;
    ++acked;
    EXPECT_EQ(seen[fmt::format("w{}", i)], 1) << "acknowledged write w" << i << " at offset " << (*r)[0];
  }
  for (const auto& [key, n] : seen) EXPECT_LE(n, 1) << key << " appears " << n << " times";
  std::fprintf(stderr, "kraft: %zu of %zu writes acknowledged, %zu records in the log\n", acked, results.size(),
               log.size());
}

TEST_F(Kraft, CreatesTheTopicWithOnePartitionAndAcceptsAnExistingOne) {
  KafkaOptions o = OptionsFor("kraft-create");
  auto first = OpenKafkaLog(o);
  ASSERT_TRUE(first) << first.error().ToString();
  // At once, although the producer's metadata may not show the new topic yet.
  auto end = (*first)->EndOffset(30s);
  ASSERT_TRUE(end) << end.error().ToString();
  EXPECT_EQ(*end, 0);
  auto count = TopicPartitionCount(o);
  ASSERT_TRUE(count) << count.error().ToString();
  EXPECT_EQ(*count, 1);
  auto second = OpenKafkaLog(o);  // Already exists: accepted.
  ASSERT_TRUE(second) << second.error().ToString();
  Results results;
  std::vector<Record> one = {Record{"k", "v", {}}};
  (*second)->Append(one, results.Callback(0));
  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_TRUE(results.Take()[0]);
}

TEST_F(Kraft, TheBrokersDefaultReplicationFactorIsAskedForWithMinusOne) {
  // KafkaOptions' default: CreateTopics with replication factor -1 (KIP-464),
  // so the topic takes the brokers' default.replication.factor (the cluster
  // script sets it to the broker count, 3).
  KafkaOptions o = OptionsFor("kraft-default-rf");
  o.replication_factor = kBrokerDefaultReplicationFactor;
  auto log = OpenKafkaLog(o);
  ASSERT_TRUE(log) << log.error().ToString();
  const PartitionZero p = DescribePartitionZero(o.topic);
  EXPECT_GE(p.leader, 0) << "no leader elected for the new topic";
  EXPECT_EQ(p.replicas, 3) << "a replication factor of -1 did not take the brokers' default";
  Results results;
  std::vector<Record> one = {Record{"k", "v", {}}};
  (*log)->Append(one, results.Callback(0));
  ASSERT_TRUE(results.WaitFor(1));
  EXPECT_TRUE(results.Take()[0]);
}

TEST_F(Kraft, DeleteTopicRemovesTheTopicAndAMissingOneIsNoError) {
  KafkaOptions o = OptionsFor("kraft-delete");
  auto log = OpenKafkaLog(o);
  ASSERT_TRUE(log) << log.error().ToString();
  (*log)->Close();
  Status deleted = DeleteTopic(o);
  ASSERT_TRUE(deleted) << deleted.error().ToString();
  // Brokers learn of the deletion one by one: the topic may show a moment longer.
  auto count = TopicPartitionCount(o);
  for (int attempt = 0; attempt < 50 && count; ++attempt) {
    std::this_thread::sleep_for(200ms);
    count = TopicPartitionCount(o);
  }
  ASSERT_FALSE(count) << "topic still has " << *count << " partition(s) 10 s after its deletion";
  EXPECT_EQ(count.error().code(), ErrorCode::kFailedPrecondition) << count.error().ToString();
  Status again = DeleteTopic(o);  // Already gone: success.
  EXPECT_TRUE(again) << again.error().ToString();
}

TEST_F(Kraft, CompactionDropsOverwrittenKeysAndANewReaderRebuildsTheSameState) {
  KafkaOptions o = OptionsFor("kraft-compact");
  o.topic_configs = {{"cleanup.policy", "compact"},     {"segment.ms", "200"},
                     {"min.cleanable.dirty.ratio", "0.01"}, {"delete.retention.ms", "100"},
                     {"min.compaction.lag.ms", "0"}};
  auto log = OpenKafkaLog(o);
  ASSERT_TRUE(log) << log.error().ToString();
  constexpr int kKeys = 10, kRounds = 30;
  std::map<std::string, std::string> expected;
  Results results;
  std::size_t n = 0;
  for (int round = 0; round < kRounds; ++round) {
    for (int k = 0; k < kKeys; ++k) {
      std::string key = fmt::format("k{}", k), value = fmt::format("r{}", round);
      bool tombstone = round == kRounds - 1 && k % 3 == 0;
      std::vector<Record> one = {tombstone ? Record{key, std::nullopt, {}} : Record{key, value, {}}};
      if (tombstone) expected.erase(key); else expected[key] = value;
      (*log)->Append(one, results.Callback(n++));
    }
  }
  ASSERT_TRUE(results.WaitFor(n));
  for (auto& [i, r] : results.Take()) ASSERT_TRUE(r) << r.error().ToString();

  // The cleaner never touches the active segment: keep appending a filler so
  // segments roll (segment.ms), until the log has shrunk. Bounded.
  std::size_t records = 0;
  const auto deadline = Clock::now() + 90s;
  std::size_t fillers = 0;
  while (Clock::now() < deadline) {
    Results filler;
    std::vector<Record> one = {Record{"filler", "x", {}}};
    (*log)->Append(one, filler.Callback(0));
    ASSERT_TRUE(filler.WaitFor(1));
    ++fillers;
    records = ReadAll(**log).size();
    if (records < n / 2) break;
    std::this_thread::sleep_for(1s);
  }
  std::fprintf(stderr, "kraft: %zu appended + %zu fillers; %zu records left after compaction\n", n, fillers, records);
  ASSERT_LT(records, n / 2) << "the log was not compacted within 90 s";

  // A later reader replays from offset 0 over the gaps to the same state.
  std::map<std::string, std::string> state;
  for (auto& e : ReadAll(**log)) {
    ASSERT_TRUE(e.record);
    if (e.record->key == "filler") continue;
    if (e.record->value) state[e.record->key] = *e.record->value; else state.erase(e.record->key);
  }
  EXPECT_EQ(state, expected);

  // And so does a kv::Client bootstrapping from the compacted topic.
  kv::ClientOptions client_options;
  client_options.logger = nullptr;
  auto client = kv::Client::Open(std::move(*OpenKafkaLog(o)), kv::NewMemoryStorage(), client_options);
  ASSERT_TRUE(client) << client.error().ToString();
  std::map<std::string, std::string> client_state;
  auto contents = (*client)->Range(kv::KeyConstraint{});
  ASSERT_TRUE(contents) << contents.error().ToString();
  for (auto& kv : *contents) {
    if (kv.key != "filler") client_state[kv.key] = kv.value;
  }
  EXPECT_EQ(client_state, expected);
}

// A transaction's commit marker takes an offset no reader returns, so the end
// offset sits past a gap. A reader's position and a client's start-up must
// still get there.
TEST_F(Kraft, StartUpFinishesWhenTheEndOffsetSitsPastACommitMarker) {
  KafkaOptions o = OptionsFor("kraft-gap");
  {
    auto log = OpenKafkaLog(o);  // Creates the topic.
    ASSERT_TRUE(log) << log.error().ToString();
  }
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", g_bootstrap.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "transactional.id", "kraft-gap-maker", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  ASSERT_NE(producer, nullptr) << errstr;
  auto check = [](rd_kafka_error_t* error) {
    std::string what = error ? rd_kafka_error_string(error) : "";
    if (error) rd_kafka_error_destroy(error);
    return what;
  };
  ASSERT_EQ(check(rd_kafka_init_transactions(producer, 60'000)), "");
  ASSERT_EQ(check(rd_kafka_begin_transaction(producer)), "");
  char key[] = "txn", value[] = "committed";
  ASSERT_EQ(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_KEY(key, 3), RD_KAFKA_V_VALUE(value, 9),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(check(rd_kafka_commit_transaction(producer, 60'000)), "");
  rd_kafka_destroy(producer);

  auto log = OpenKafkaLog(o);
  ASSERT_TRUE(log) << log.error().ToString();
  // The coordinator writes the marker after the commit returns; until then
  // the end offset is the last stable offset, 0.
  Result<Offset> end = 0;
  for (auto deadline = Clock::now() + 30s; Clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
    end = (*log)->EndOffset(30s);
    ASSERT_TRUE(end) << end.error().ToString();
    if (*end >= 2) break;
  }
  ASSERT_EQ(*end, 2) << "expected the record at 0 and the commit marker at 1";
  auto entries = ReadAll(**log);  // Checks that the position reaches 2.
  ASSERT_EQ(entries.size(), 1u);

  kv::ClientOptions client_options;
  client_options.logger = nullptr;
  auto client = kv::Client::Open(std::move(*log), kv::NewMemoryStorage(), client_options);
  ASSERT_TRUE(client) << client.error().ToString();
  EXPECT_EQ((*client)->AppliedPosition(), 2);
  EXPECT_EQ((*client)->Get("txn").value_or(""), "committed");
  auto next = (*client)->Put("k", "v");
  ASSERT_TRUE(next) << next.error().ToString();
  EXPECT_EQ(*next, 2);
  kv::testing::ReportPutLatency(**client, "kraft, 3 nodes, RF 3, acks=all");
}

TEST_F(Kraft, LeaderKilledAndRestartedDuringWritesLosesNothingAcknowledged) {
  KafkaOptions o = OptionsFor("kraft-kill");
  o.delivery_timeout = 60s;
  auto log = OpenKafkaLog(o);
  ASSERT_TRUE(log) << log.error().ToString();
  int leader = LeaderOf(o.topic);
  ASSERT_GE(leader, 1);
  constexpr int kWrites = 3000;
  Results results;
  WriteWindowed(**log, results, kWrites, 50, [&] {
    RunResult r = RunScript(fmt::format("kill {}", leader));
    EXPECT_EQ(r.status, 0) << r.output;
    std::fprintf(stderr, "kraft: SIGKILLed leader node %d\n", leader);
  });
  ASSERT_TRUE(results.WaitFor(kWrites, 180s)) << results.size() << " of " << kWrites << " appends completed";
  RunResult r = RunScript(fmt::format("restart {}", leader));
  ASSERT_EQ(r.status, 0) << r.output;
  ExpectAckedExactlyOnce(results.Take(), ReadAll(**log));
}

TEST_F(Kraft, LeaderPausedPastTheRequestTimeoutLosesNothingAcknowledged) {
  KafkaOptions o = OptionsFor("kraft-pause");
  o.request_timeout = 2s;
  o.delivery_timeout = 60s;
  auto log = OpenKafkaLog(o);
  ASSERT_TRUE(log) << log.error().ToString();
  int leader = LeaderOf(o.topic);
  ASSERT_GE(leader, 1);
  constexpr int kWrites = 2000;
  Results results;
  std::thread resumer;
  WriteWindowed(**log, results, kWrites, 50, [&] {
    RunResult r = RunScript(fmt::format("pause {}", leader));
    EXPECT_EQ(r.status, 0) << r.output;
    std::fprintf(stderr, "kraft: SIGSTOPped leader node %d\n", leader);
    resumer = std::thread([leader] {
      std::this_thread::sleep_for(12s);  // Past request.timeout.ms and the broker session timeout.
      RunResult r = RunScript(fmt::format("resume {}", leader));
      EXPECT_EQ(r.status, 0) << r.output;
    });
  });
  ASSERT_TRUE(results.WaitFor(kWrites, 180s)) << results.size() << " of " << kWrites << " appends completed";
  resumer.join();
  for (auto& [i, res] : results.Take()) {
    if (!res) {
      EXPECT_TRUE(res.error().code() == ErrorCode::kTimeout || res.error().code() == ErrorCode::kUnavailable)
          << res.error().ToString();
    }
  }
  ExpectAckedExactlyOnce(results.Take(), ReadAll(**log));
}

// ---- Producer acknowledgement settings under a failover that drops records ----
//
// The nemesis of issue 11: several kv::Client writers keep writes in flight;
// both followers are paused (SIGSTOP), so the leader alone holds what it
// accepts; then the leader is SIGKILLed and the followers resumed, so one of
// them leads without those records. With acks=1 the old leader acknowledged
// them, so they are lost; the client must never report such a write as a
// success (it finds another record, or none, at the acknowledged offset and
// fails the write with kDataLoss, or the write times out: unknown). With the
// defaults (acks=all, idempotence) nothing is acknowledged that the new leader
// lacks.

// When a write was started, relative to the nemesis.
enum Phase : int { kBefore = 0, kFollowersPaused = 1, kFailingOver = 2, kAfter = 3, kPhases = 4 };
constexpr const char* kPhaseNames[kPhases] = {"before", "followers paused", "failing over", "after failover"};

struct WriteOutcome {
  std::string value;  // Unique over the run: "w<writer>-<n>".
  Phase phase = kBefore;
  std::optional<Result<Offset>> result;
};

// Outcomes of every write of one writer, filled by the client's callbacks.
class WriterLog {
 public:
  std::size_t Start(std::string value, Phase phase) {
    std::lock_guard<std::mutex> lock(mu_);
    writes_.push_back(WriteOutcome{std::move(value), phase, std::nullopt});
    return writes_.size() - 1;
  }
  void Finish(std::size_t index, Result<Offset> result) {
    std::lock_guard<std::mutex> lock(mu_);
    writes_[index].result = std::move(result);
    ++finished_;
    cv_.notify_all();
  }
  std::size_t InFlight() {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_.size() - finished_;
  }
  bool WaitAll(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return finished_ == writes_.size(); });
  }
  std::vector<WriteOutcome> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WriteOutcome> writes_;
  std::size_t finished_ = 0;
};

struct FailoverTally {
  std::size_t writes = 0, succeeded = 0, data_loss = 0, unknown = 0, other_errors = 0;
  std::size_t lost = 0;                // Not in the final log at all.
  std::size_t lost_data_loss = 0;      // ... and the write failed with kDataLoss.
  std::size_t lost_unknown = 0;        // ... and its outcome was unknown (kTimeout, kUnavailable).
  std::size_t lost_other = 0;          // ... and it failed otherwise.
  std::size_t lost_succeeded = 0;      // ... and it returned success: the violation.
  std::size_t succeeded_elsewhere = 0;  // Returned success but the log holds another record at its offset.
  std::size_t duplicated = 0;          // Values the log holds more than once.
  std::size_t client_lost_writes = 0;  // Sum of kv::Client::lost_writes().
  std::array<std::size_t, kPhases> started{}, succeeded_in{};
  int old_leader = -1, new_leader = -1;
  std::size_t log_records = 0;
  // The failures counted in other_errors, by code and message (numbers
  // blanked), so a failing run says what went wrong.
  std::map<std::string, std::size_t> other_by_error;
};

// "Internal: append not acknowledged: ..." with every digit run as "N", so
// one cause is one key however many offsets or ids it names.
std::string ErrorKind(const Error& e) {
  std::string out(ErrorCodeName(e.code()));
  out += ": ";
  bool in_digits = false;
  for (char c : e.message()) {
    const bool digit = c >= '0' && c <= '9';
    if (digit && in_digits) continue;
    in_digits = digit;
    out += digit ? 'N' : c;
  }
  return out;
}

std::string Describe(const std::map<std::string, std::size_t>& by_error) {
  std::string out;
  for (const auto& [kind, n] : by_error) out += fmt::format("\n  {} x {}", n, kind);
  return out;
}

// Runs the nemesis on a fresh topic with `producer` settings on every writer.
FailoverTally RunLeaderLossNemesis(const std::string& topic, const KafkaProperties& producer, bool allow_unsafe) {
  FailoverTally tally;
  constexpr int kWriters = 3;
  // Each writer starts a write every kPace, up to kWindow in flight. A write
  // finishes only once its client has applied it, which needs the followers;
  // so while they are paused the window fills, and a small one would leave
  // the leader nothing to acknowledge alone (the writes it takes in the first
  // moments reach the followers anyway, in the fetch responses already on
  // their sockets).
  constexpr std::size_t kWindow = 4000;
  constexpr auto kPace = 10ms;
  const auto kWriteTimeout = std::chrono::seconds(90);

  KafkaOptions base = OptionsFor(topic);
  base.request_timeout = 5s;
  base.delivery_timeout = 60s;
  {
    auto created = OpenKafkaLog(base);  // Creates the topic (RF 3) with safe settings.
    EXPECT_TRUE(created) << created.error().ToString();
    if (!created) return tally;
  }
  tally.old_leader = LeaderOf(topic);
  EXPECT_GE(tally.old_leader, 1) << "no leader for " << topic;
  if (tally.old_leader < 1) return tally;

  KafkaOptions writer_options = base;
  writer_options.producer_properties = producer;
  writer_options.allow_unsafe_acks = allow_unsafe;
  std::vector<std::unique_ptr<kv::Client>> clients;
  for (int w = 0; w < kWriters; ++w) {
    auto log = OpenKafkaLog(writer_options);
    EXPECT_TRUE(log) << log.error().ToString();
    if (!log) return tally;
    kv::ClientOptions client_options;
    client_options.logger = nullptr;
    client_options.client_id = fmt::format("w{}", w);
    client_options.default_timeout = kWriteTimeout;
    auto client = kv::Client::Open(std::move(*log), kv::NewMemoryStorage(), client_options);
    EXPECT_TRUE(client) << client.error().ToString();
    if (!client) return tally;
    clients.push_back(std::move(*client));
  }

  std::atomic<int> phase{kBefore};
  std::atomic<bool> stop{false};
  std::array<WriterLog, kWriters> logs;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 0; !stop.load(); ++n) {
        std::this_thread::sleep_for(kPace);
        while (logs[w].InFlight() >= kWindow && !stop.load()) std::this_thread::sleep_for(1ms);
        if (stop.load()) break;
        std::string value = fmt::format("w{}-{}", w, n);
        std::size_t index = logs[w].Start(value, static_cast<Phase>(phase.load()));
        clients[w]->PutAsync(fmt::format("k{}", n % 8), value,
                             [&logs, w, index](Result<Offset> r) { logs[w].Finish(index, std::move(r)); });
      }
    });
  }
  auto script = [](const std::string& args) {
    RunResult r = RunScript(args);
    EXPECT_EQ(r.status, 0) << args << ": " << r.output;
  };

  std::this_thread::sleep_for(3s);  // Writes replicated and acknowledged.
  std::vector<int> followers;
  for (int node = 1; node <= 3; ++node) {
    if (node != tally.old_leader) followers.push_back(node);
  }
  for (int f : followers) script(fmt::format("pause {}", f));
  phase = kFollowersPaused;
  std::fprintf(stderr, "kraft[%s]: paused followers %d and %d of leader %d\n", topic.c_str(), followers[0],
               followers[1], tally.old_leader);
  std::this_thread::sleep_for(3s);  // The leader alone takes (and with acks=1 acknowledges) writes.
  script(fmt::format("kill {}", tally.old_leader));
  phase = kFailingOver;
  for (int f : followers) script(fmt::format("resume {}", f));
  std::fprintf(stderr, "kraft[%s]: SIGKILLed leader %d, resumed the followers\n", topic.c_str(), tally.old_leader);
  // Until the metadata names a surviving leader.
  for (auto deadline = Clock::now() + 120s; Clock::now() < deadline; std::this_thread::sleep_for(500ms)) {
    int leader = LeaderOf(topic);
    if (leader >= 1 && leader != tally.old_leader) {
      tally.new_leader = leader;
      break;
    }
  }
  phase = kAfter;
  std::fprintf(stderr, "kraft[%s]: node %d leads now\n", topic.c_str(), tally.new_leader);
  std::this_thread::sleep_for(5s);  // Writes under the new leader.
  stop = true;
  for (auto& t : writers) t.join();
  for (auto& l : logs) EXPECT_TRUE(l.WaitAll(kWriteTimeout + 30s)) << "writes still unfinished";
  for (auto& c : clients) tally.client_lost_writes += c->lost_writes();
  clients.clear();
  script(fmt::format("restart {}", tally.old_leader));  // The cluster whole again for what follows.

  // The log as it is now, read with safe settings.
  auto reader_log = OpenKafkaLog(base);
  EXPECT_TRUE(reader_log) << reader_log.error().ToString();
  if (!reader_log) return tally;
  std::map<Offset, std::string> at;
  std::map<std::string, int> copies;
  for (auto& e : ReadAll(**reader_log)) {
    if (!e.record || !e.record->value) continue;
    at[e.offset] = *e.record->value;
    ++copies[*e.record->value];
  }
  tally.log_records = at.size();
  for (const auto& [value, n] : copies) tally.duplicated += n > 1 ? 1 : 0;

  for (int w = 0; w < kWriters; ++w) {
    for (const WriteOutcome& write : logs[w].Take()) {
      ++tally.writes;
      ++tally.started[write.phase];
      const bool in_log = copies.contains(write.value);
      if (!write.result) continue;  // Reported by WaitAll above.
      const Result<Offset>& r = *write.result;
      if (r) {
        ++tally.succeeded;
        ++tally.succeeded_in[write.phase];
        auto found = at.find(*r);
        if (found == at.end() || found->second != write.value) {
          ++tally.succeeded_elsewhere;
          ADD_FAILURE() << "write " << write.value << " (" << kPhaseNames[write.phase]
                        << ") returned success at offset " << *r << ", where the log holds "
                        << (found == at.end() ? std::string("nothing") : "'" + found->second + "'");
        }
      } else if (r.error().code() == ErrorCode::kDataLoss) {
        ++tally.data_loss;
      } else if (r.error().code() == ErrorCode::kTimeout || r.error().code() == ErrorCode::kUnavailable) {
        ++tally.unknown;
      } else {
        ++tally.other_errors;
        ++tally.other_by_error[ErrorKind(r.error())];
      }
      if (in_log) continue;
      ++tally.lost;
      if (r) {
        ++tally.lost_succeeded;
      } else if (r.error().code() == ErrorCode::kDataLoss) {
        ++tally.lost_data_loss;
      } else if (r.error().code() == ErrorCode::kTimeout || r.error().code() == ErrorCode::kUnavailable) {
        ++tally.lost_unknown;
      } else {
        ++tally.lost_other;
      }
    }
  }
  std::fprintf(stderr,
               "kraft[%s]: %zu writes (started before/paused/failing over/after: %zu/%zu/%zu/%zu), %zu succeeded "
               "(%zu/%zu/%zu/%zu), %zu DataLoss, %zu unknown, %zu other errors; the log holds %zu records, %zu "
               "values twice; lost: %zu (%zu DataLoss, %zu unknown, %zu other, %zu returned success); "
               "kv::Client::lost_writes %zu; leader %d -> %d\n",
               topic.c_str(), tally.writes, tally.started[0], tally.started[1], tally.started[2], tally.started[3],
               tally.succeeded, tally.succeeded_in[0], tally.succeeded_in[1], tally.succeeded_in[2],
               tally.succeeded_in[3], tally.data_loss, tally.unknown, tally.other_errors, tally.log_records,
               tally.duplicated, tally.lost, tally.lost_data_loss, tally.lost_unknown, tally.lost_other,
               tally.lost_succeeded, tally.client_lost_writes, tally.old_leader, tally.new_leader);
  if (!tally.other_by_error.empty()) {
    std::fprintf(stderr, "kraft[%s]: the other errors:%s\n", topic.c_str(), Describe(tally.other_by_error).c_str());
  }
  return tally;
}

// The nemesis ran as meant: writes on both sides of it, a new leader.
void ExpectTheNemesisRan(const FailoverTally& t) {
  EXPECT_GT(t.succeeded_in[kBefore], 0u) << "no write succeeded before the nemesis";
  EXPECT_GT(t.started[kFollowersPaused], 0u) << "no write was started while the followers were paused";
  EXPECT_GE(t.new_leader, 1) << "no new leader was elected";
  EXPECT_NE(t.new_leader, t.old_leader);
  EXPECT_GT(t.succeeded_in[kAfter], 0u) << "no write succeeded after the failover";
}

TEST_F(Kraft, Acks1FailoverLosesWritesButNoneReturnsSuccess) {
  FailoverTally t = RunLeaderLossNemesis("kraft-acks1",
                                         {{"acks", "1"}, {"enable.idempotence", "false"}}, /*allow_unsafe=*/true);
  ExpectTheNemesisRan(t);
  // The safety property: every write the log lost failed (kDataLoss) or is
  // unknown; none returned success.
  EXPECT_EQ(t.lost_succeeded, 0u);
  EXPECT_EQ(t.succeeded_elsewhere, 0u);
  EXPECT_EQ(t.lost_other, 0u) << "a lost write failed with neither DataLoss nor an unknown outcome";
  // The client counts what it failed with kDataLoss.
  EXPECT_EQ(t.client_lost_writes, t.data_loss);
  std::fprintf(stderr, "kraft: acks=1, idempotence off: %zu of %zu writes lost, %zu of them reported as DataLoss\n",
               t.lost, t.writes, t.lost_data_loss);
}

TEST_F(Kraft, DefaultProducerSettingsUnderTheSameFailoverRefuseAndLoseNothing) {
  FailoverTally t = RunLeaderLossNemesis("kraft-acks-all", {}, /*allow_unsafe=*/false);
  ExpectTheNemesisRan(t);
  EXPECT_EQ(t.lost_succeeded, 0u);
  EXPECT_EQ(t.succeeded_elsewhere, 0u);
  EXPECT_EQ(t.data_loss, 0u) << "acks=all lost an acknowledged record";
  EXPECT_EQ(t.client_lost_writes, 0u);
  EXPECT_EQ(t.duplicated, 0u) << "the idempotent producer wrote a record twice";
  EXPECT_EQ(t.other_errors, 0u) << Describe(t.other_by_error);
}

}  // namespace
}  // namespace kvlog::log::kafka

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) kvlog::log::kafka::g_script = argv[1];
  ::testing::AddGlobalTestEnvironment(new kvlog::log::kafka::KraftEnvironment);
  return RUN_ALL_TESTS();
}
