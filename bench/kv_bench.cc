// The KV layer over Kafka, each figure beside raw librdkafka with the same
// producer/consumer settings on the same topic, in the same run.
//
//   kv_bench [--brokers=host:port,...] [--replication_factor=3] [--smoke] [--io_min_time=SECONDS]
//            [--rdkafka=NAME=VALUE ...] [--lone_appends_at_once=0|1] [benchmark flags]
//
// Without --brokers it starts the embedded mock cluster (3 brokers, RF 3); the
// JSON context's "log" names which log was measured. --smoke shrinks every size
// so CI can check that the suite still runs (its numbers mean nothing).
// --io_min_time is the least time one repetition of a Kafka row runs (default
// 1 s): the latency rows report their sample count beside p50/p99.
// --rdkafka=NAME=VALUE (repeatable) adds a librdkafka property to every handle,
// raw and KV alike (KafkaOptions::properties), e.g. --rdkafka=linger.ms=0; the
// JSON context's "rdkafka" lists them. --lone_appends_at_once sets the KV
// layer's KafkaOptions::send_lone_appends_at_once (default on), for A/B runs.
// The JSON context's "librdkafka" is rd_kafka_version_str() of the library that
// ran (another librdkafka.so.1 can be swapped in with LD_LIBRARY_PATH).
//
// Pairs (bench/report.py computes the ratios):
//   BM_RawRoundTrip        produce one record, consume it: p50/p99 (us)
//   BM_Put                 kv Put one at a time: p50/p99 (us)       vs BM_RawRoundTrip
//   BM_RawPipelined/N      produce N records, consume all N (one consumer thread)
//   BM_Batch/N             kv Batch of N Puts                       vs BM_RawPipelined/N
//   BM_PutAsync/N          one thread keeps N PutAsync in flight    vs BM_RawPipelined/N
//   BM_PutAsyncLimited/N/L the same N on a client with max_writes_in_flight = L (waiting at it) vs BM_PutAsync/N
//   BM_PutThreads/T        T threads calling Put on one client      vs BM_RawPipelined/<largest>
//   BM_RawConsume/R/W      a fresh consumer reads R records (R/W keys written W times each; cpu_us/op:
//                          the process's CPU per record, librdkafka's threads included)
//   BM_Replay/R/W          kv Client::Open replays the same topic   vs BM_RawConsume/R/W (cpu_us/op too)
//   BM_ReplayInMemory/R/W  the same replay from a log in memory: the KV layer's own cost (cpu_us/op: the
//                          process's CPU per record during Open)
//   BM_GetInto/N           Get into the caller's buffer (no allocation)
//   BM_MultiGet/N          MultiGet of 16 random keys per call (items = keys)
//   BM_Get/N, BM_Range/N   local reads on a client holding N keys (filled from a log in
//                          memory: reads never touch the log), 1 and 2 threads
// Conditional writes, transactions and read levels (same client and topic as BM_Put,
// resp. BM_Batch):
//   BM_PutIf               PutIf at the version the last write returned: p50/p99   vs BM_Put
//   BM_Update              Update (read, fn, conditional write), uncontended       vs BM_Put
//   BM_LinearizableGet     Get at ReadLevel::Linearizable (end-offset request + wait)
//                                                                                   vs BM_RawRoundTrip
//   BM_Txn/N               Transaction() of N Puts (one record)                     vs BM_Batch/N
//   BM_AtomicBatch/N       Batch().Atomic() of N Puts (one record)                  vs BM_Batch/N
//   BM_Counter/W/C/K       W threads over C clients each Update-incrementing one of K keys:
//                          successful updates/s, and the Updates that gave up (kConflict);
//                          W/C/1 (contended) beside 1/1/1 and W/C/W (one key per writer)
// TTL and watch (issue 16):
//   BM_PutTtl              Put with a TTL (deadline + envelope): p50/p99            vs BM_Put
//   BM_GetTtl/N            Get on a client holding N keys that all carry a deadline, one in
//                          ten already past (those Gets find nothing)              vs BM_Get/N
//   BM_WatchDelivery       Put on one client until the change reaches a watcher on another
//                          client of the topic: p50/p99 (us)                        vs BM_RawRoundTrip
//   BM_Watchers/W          a Batch of 1,000 Puts to 1,000 keys on a client holding W watchers,
//                          one per key (each event checked, drained outside the timing and
//                          outside cpu_us/op):
//                          W = 1000                                                 vs W = 0
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "bench/kafka_target.h"
#include "bench/memory_log.h"
#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/ttl.h"
#include "log/kafka/kafka_log.h"

namespace kvlog::bench {
namespace {

using Clock = std::chrono::steady_clock;
using log::kafka::KafkaOptions;

constexpr std::size_t kValueBytes = 100;

[[noreturn]] void Die(const std::string& what) {
  fmt::print(stderr, "kv_bench: {}\n", what);
  std::exit(2);
}

std::string Value(int64_t i) {
  std::string v = fmt::format("v{}-", i);
  v.resize(kValueBytes, 'x');
  return v;
}

std::string KeyName(int64_t i) {
  return fmt::format("key/{:08}", i);
}

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// --raw_consume_batch=1: BM_RawConsume takes records with
// rd_kafka_consume_batch_queue instead of one rd_kafka_consumer_poll each.
bool& RawConsumeInBatches() {
  static bool batches = false;
  return batches;
}

// CPU time of the whole process (every thread, librdkafka's and the mock
// cluster's included), in microseconds. On a shared machine, CPU per operation
// moves less than wall-clock rates do.
double ProcessCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// The process's context switches so far, every thread's (a thread that
// blocks and is woken counts one voluntary switch).
double ProcessContextSwitches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_nvcsw + usage.ru_nivcsw);
}

// Measures process CPU and context switches per item over a benchmark's
// iterations: csw/op counts the thread hand-offs (wake-ups) an item costs.
class CpuPerItem {
 public:
  CpuPerItem() : start_(ProcessCpuMicros()), switches_(ProcessContextSwitches()) {}
  void Report(benchmark::State& state, int64_t items) const {
    if (items <= 0) return;
    state.counters["cpu_us/op"] = (ProcessCpuMicros() - start_) / static_cast<double>(items);
    state.counters["csw/op"] = (ProcessContextSwitches() - switches_) / static_cast<double>(items);
  }

 private:
  double start_;
  double switches_;
};

// Sets p50_us and p99_us counters from per-operation latencies.
void ReportLatency(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  auto at = [&](double q) {
    auto it = us.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(us.size() - 1));
    std::nth_element(us.begin(), it, us.end());
    return *it;
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["samples"] = static_cast<double>(us.size());
}

// One topic per benchmark pair, made on first use and kept for the run.
const KafkaOptions& Topic(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, KafkaOptions> topics;
  std::lock_guard lock(mu);
  auto it = topics.find(name);
  if (it == topics.end()) it = topics.emplace(name, KafkaTarget::Get().NewTopic(name)).first;
  return it->second;
}

// A topic holding `records` records over records/writes_per_key keys
// ("key/00000000"...), 100-byte values, written by the raw producer.
const KafkaOptions& Prefilled(int64_t records, int64_t writes_per_key) {
  const std::string name = fmt::format("fill-{}x{}", records, writes_per_key);
  static std::mutex mu;
  static std::map<std::string, bool> filled;
  std::lock_guard lock(mu);
  const KafkaOptions& options = Topic(name);
  if (!filled[name]) {
    RawProducer producer(options);
    const int64_t keys = records / writes_per_key;
    for (int64_t i = 0; i < records; ++i) producer.Produce(KeyName(i % keys), Value(i));
    producer.Flush();
    if (const int64_t start = producer.LogStart(); start != 0) {
      Die(fmt::format("topic {} starts at offset {} after writing {} records: the log dropped its head (the mock "
                      "cluster keeps about 5 MB per partition); use smaller sizes or --brokers",
                      options.topic, start, records));
    }
    filled[name] = true;
  }
  return options;
}

std::unique_ptr<kv::Client> OpenClientOn(std::unique_ptr<log::Log> log, kv::ClientOptions client_options = {}) {
  client_options.startup_timeout = std::chrono::minutes(5);
  auto client = kv::Client::Open(std::move(log), kv::NewMemoryStorage(), client_options);
  if (!client) Die("open client: " + client.error().ToString());
  return std::move(*client);
}

std::unique_ptr<kv::Client> OpenClient(const KafkaOptions& options) {
  auto log = log::kafka::OpenKafkaLog(options);
  if (!log) Die("open log: " + log.error().ToString());
  return OpenClientOn(std::move(*log));
}

// The records Prefilled writes, held in memory.
std::shared_ptr<const std::vector<log::Record>> MemoryRecords(int64_t records, int64_t writes_per_key) {
  auto out = std::make_shared<std::vector<log::Record>>();
  out->reserve(static_cast<std::size_t>(records));
  const int64_t keys = records / writes_per_key;
  for (int64_t i = 0; i < records; ++i) {
    log::Record r;
    r.key = KeyName(i % keys);
    r.value = Value(i);
    out->push_back(std::move(r));
  }
  return out;
}

// One client per topic for the whole run, opened after the raw baseline on
// that topic has run, so it does not apply records while the baseline writes.
kv::Client& SharedClient(const KafkaOptions& options) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<kv::Client>> clients;
  std::lock_guard lock(mu);
  auto& client = clients[options.topic];
  if (!client) client = OpenClient(options);
  return *client;
}

// ---- Round trip ----

void BM_RawRoundTrip(benchmark::State& state) {
  const KafkaOptions& options = Topic("put");
  RawProducer producer(options);
  RawConsumer consumer(options, RD_KAFKA_OFFSET_END);
  // Wait until the consumer is positioned: its first record is a warm-up.
  producer.Produce("warmup", Value(0));
  if (consumer.Next(30'000) < 0) Die("raw round trip: the warm-up record never arrived");
  producer.Flush();
  // The timeline of each round trip: produce -> delivery report (ack_us) and
  // produce -> record read (us). A read before the report is counted too.
  std::vector<double> us, ack_us;
  int64_t i = 0, delivered = producer.delivered();
  for (auto _ : state) {
    const auto start = Clock::now();
    producer.Produce("rt", Value(++i));
    if (consumer.Next(30'000) < 0) Die("raw round trip: a record never arrived");
    us.push_back(Micros(Clock::now() - start));
    state.PauseTiming();
    ++delivered;
    while (producer.delivered() < delivered) std::this_thread::sleep_for(std::chrono::microseconds(20));
    ack_us.push_back(Micros(Clock::duration(producer.last_delivery_ns()) - start.time_since_epoch()));
    state.ResumeTiming();
  }
  ReportLatency(state, ack_us);
  state.counters["ack_p50_us"] = state.counters["p50_us"];
  state.counters["ack_p99_us"] = state.counters["p99_us"];
  ReportLatency(state, us);
}

void BM_Put(benchmark::State& state) {
  kv::Client& client = SharedClient(Topic("put"));
  std::vector<double> us;
  int64_t i = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    if (auto r = client.Put("put", Value(++i)); !r) Die("put: " + r.error().ToString());
    us.push_back(Micros(Clock::now() - start));
  }
  ReportLatency(state, us);
}

// ---- Conditional writes and read levels (topic "put", BM_Put's client) ----

void BM_PutIf(benchmark::State& state) {
  kv::Client& client = SharedClient(Topic("put"));
  auto first = client.Put("put-if", Value(0));
  if (!first) Die("put-if: " + first.error().ToString());
  log::Offset version = *first;
  std::vector<double> us;
  int64_t i = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto r = client.PutIf("put-if", Value(++i), version);
    if (!r) Die("put-if: " + r.error().ToString());
    us.push_back(Micros(Clock::now() - start));
    version = *r;
  }
  ReportLatency(state, us);
}

// A counter as text: the value is the decimal count.
Result<std::string> Increment(const std::optional<std::string>& current) {
  return fmt::format("{}", (current ? std::stoll(*current) : 0) + 1);
}

void BM_Update(benchmark::State& state) {
  kv::Client& client = SharedClient(Topic("put"));
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = Clock::now();
    if (auto r = client.Update("update", Increment); !r) Die("update: " + r.error().ToString());
    us.push_back(Micros(Clock::now() - start));
  }
  ReportLatency(state, us);
}

// The same Put with a TTL: the deadline read from the wall clock and the
// 17-byte envelope (kv/ttl.h); the target is within 1.05x of BM_Put.
void BM_PutTtl(benchmark::State& state) {
  kv::Client& client = SharedClient(Topic("put"));
  std::vector<double> us;
  int64_t i = 0;
  const kv::CallOptions ttl{.ttl = std::chrono::hours(1)};
  for (auto _ : state) {
    const auto start = Clock::now();
    if (auto r = client.Put("put-ttl", Value(++i), ttl); !r) Die("put with ttl: " + r.error().ToString());
    us.push_back(Micros(Clock::now() - start));
  }
  ReportLatency(state, us);
}

// ---- Watch ----

// A Put on one client, timed until the change arrives at a watcher on another
// client of the same topic (the watcher's consumer thread stamps it). The
// issue's target is within 1.3x of BM_RawRoundTrip.
void BM_WatchDelivery(benchmark::State& state) {
  const KafkaOptions& options = Topic("watch");
  kv::Client& writer = SharedClient(options);
  std::unique_ptr<kv::Client> other = OpenClient(options);
  auto watcher = other->Watch({.key = "watched", .progress_interval = Duration(0)});
  if (!watcher) Die("watch delivery: " + watcher.error().ToString());
  std::mutex mu;
  std::condition_variable arrived;
  log::Offset received = -1;
  Clock::time_point received_at;
  std::string failure;
  std::thread consumer([&] {
    while (true) {
      auto e = (*watcher)->Next(std::chrono::milliseconds(100));
      if (!e && e.error().code() == ErrorCode::kTimeout) continue;
      const auto now = Clock::now();
      std::lock_guard lock(mu);
      if (!e) {
        if (e.error().code() != ErrorCode::kClosed) failure = e.error().ToString();
        arrived.notify_all();
        return;
      }
      if (e->type == kv::WatchEvent::Type::kFellBehind) failure = "the watcher fell behind";
      if (e->type == kv::WatchEvent::Type::kChanges) {
        received = e->version;
        received_at = now;
      }
      arrived.notify_all();
    }
  });
  std::vector<double> us;
  int64_t i = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto r = writer.Put("watched", Value(++i));
    if (!r) Die("watch delivery: put: " + r.error().ToString());
    std::unique_lock lock(mu);
    if (!arrived.wait_for(lock, std::chrono::seconds(30), [&] { return received >= *r || !failure.empty(); })) {
      Die(fmt::format("watch delivery: the change at offset {} never reached the watcher", *r));
    }
    if (!failure.empty()) Die("watch delivery: " + failure);
    us.push_back(Micros(received_at - start));
  }
  (*watcher)->Cancel();
  consumer.join();
  ReportLatency(state, us);
}

// The applier with W watchers: one Batch of 1,000 Puts to keys w/0..w/999 per
// iteration, on a client whose W watchers each watch one key (so every change
// goes to a watcher). Between iterations, outside the timing, every watcher is
// drained and must hold its key's change. W = 0 is the baseline; the issue's
// target is at most 2x for 1,000 watchers.
void BM_Watchers(benchmark::State& state) {
  constexpr int64_t kKeys = 1000;
  const int64_t watchers = state.range(0);
  // One client per topic for every repetition: the mock keeps about 5 MB per
  // partition, so a client opened later could not replay the topic.
  kv::Client* client = &SharedClient(Topic(fmt::format("watchers-{}", watchers)));
  std::vector<std::string> keys;
  for (int64_t i = 0; i < kKeys; ++i) keys.push_back(fmt::format("w/{}", i));
  std::vector<std::unique_ptr<kv::Watcher>> ws;
  for (int64_t i = 0; i < watchers; ++i) {
    auto w = client->Watch({.key = keys[static_cast<std::size_t>(i % kKeys)], .buffer_events = 64,
                            .progress_interval = Duration(0)});
    if (!w) Die("watchers: " + w.error().ToString());
    ws.push_back(std::move(*w));
  }
  const std::string value = Value(5);
  const double cpu_start = ProcessCpuMicros();
  double drain_cpu = 0;  // The consumers' share, left out of cpu_us/op.
  int64_t delivered = 0;
  for (auto _ : state) {
    kv::WriteBatch batch = client->Batch();
    for (const std::string& key : keys) batch.Put(key, value);
    if (auto r = batch.Execute(); !r) Die("watchers: batch: " + r.error().ToString());
    state.PauseTiming();
    const double drain_start = ProcessCpuMicros();
    for (auto& w : ws) {
      auto e = w->Next(std::chrono::seconds(10));
      if (!e || e->type != kv::WatchEvent::Type::kChanges || e->changes.size() != 1) {
        Die("watchers: a watcher did not get its key's change: " + (e ? std::string(kv::WatchEventTypeName(e->type))
                                                                      : e.error().ToString()));
      }
      ++delivered;
    }
    drain_cpu += ProcessCpuMicros() - drain_start;
    state.ResumeTiming();
  }
  if (state.iterations() > 0) {
    state.counters["cpu_us/op"] =
        (ProcessCpuMicros() - cpu_start - drain_cpu) / static_cast<double>(state.iterations() * kKeys);
  }
  state.counters["events"] = static_cast<double>(delivered);
  state.SetItemsProcessed(state.iterations() * kKeys);
}

// Each Get asks the log for its end offset and waits until the client has
// applied that far (here nothing else writes, so it has: the cost is the
// end-offset request).
void BM_LinearizableGet(benchmark::State& state) {
  kv::Client& client = SharedClient(Topic("put"));
  if (auto r = client.Put("lin", Value(0)); !r) Die("linearizable get: " + r.error().ToString());
  const kv::ReadOptions linearizable{.level = kv::ReadLevel::Linearizable()};
  std::vector<double> us;
  std::string value;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto r = client.Get("lin", linearizable);
    if (!r) Die("linearizable get: " + r.error().ToString());
    us.push_back(Micros(Clock::now() - start));
    benchmark::DoNotOptimize(r);
  }
  ReportLatency(state, us);
}

// ---- Counter under contention (a topic of its own) ----

void BM_Counter(benchmark::State& state) {
  const int writers = static_cast<int>(state.range(0));
  const int clients = static_cast<int>(state.range(1));
  const int keys = static_cast<int>(state.range(2));
  constexpr int kPerWriter = 16;
  static std::mutex mu;
  static std::map<int, std::vector<std::unique_ptr<kv::Client>>> pools;  // By client count, for the run.
  std::vector<std::unique_ptr<kv::Client>>* pool;
  {
    std::lock_guard lock(mu);
    pool = &pools[clients];
    if (pool->empty()) {
      const KafkaOptions& options = Topic(fmt::format("counter-{}", clients));
      for (int c = 0; c < clients; ++c) {
        KafkaOptions o = options;
        o.client_id = fmt::format("counter-{}", c);
        auto log = log::kafka::OpenKafkaLog(o);
        if (!log) Die("counter: open log: " + log.error().ToString());
        pool->push_back(OpenClientOn(std::move(*log)));
      }
    }
  }
  // Keys of their own per call: Google Benchmark calls this function more
  // than once per row (to size it, and per repetition) on the same clients.
  static std::atomic<int> calls{0};
  const std::string prefix = fmt::format("counter/{}/", calls.fetch_add(1));
  std::atomic<int64_t> ok{0}, gave_up{0};
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        kv::Client& client = *(*pool)[static_cast<std::size_t>(w % clients)];
        const std::string key = fmt::format("{}{}", prefix, w % keys);
        for (int i = 0; i < kPerWriter; ++i) {
          auto r = client.Update(key, Increment);
          if (r) {
            ok.fetch_add(1);
          } else if (r.error().code() == ErrorCode::kConflict) {
            gave_up.fetch_add(1);
          } else {
            Die("counter: " + r.error().ToString());
          }
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  // Every successful Update is in the counters, and nothing else.
  kv::Client& reader = *pool->front();
  if (Status s = reader.Sync(); !s) Die("counter: sync: " + s.error().ToString());
  int64_t total = 0;
  for (int k = 0; k < keys; ++k) {
    auto v = reader.Get(fmt::format("{}{}", prefix, k));
    if (v) total += std::stoll(*v);
  }
  if (total != ok.load()) {
    Die(fmt::format("counter: the counters hold {} increments, {} Updates succeeded", total, ok.load()));
  }
  state.SetItemsProcessed(ok.load());
  state.counters["gave_up"] = static_cast<double>(gave_up.load());
  state.counters["gave_up_share"] =
      static_cast<double>(gave_up.load()) / static_cast<double>(std::max<int64_t>(1, ok.load() + gave_up.load()));
}

// ---- Pipelined and batched ----

// Counts what a consumer thread reads, so the producing thread can wait for
// the last record of a burst.
class CountingConsumer {
 public:
  explicit CountingConsumer(const KafkaOptions& options) : consumer_(options, RD_KAFKA_OFFSET_END) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        if (consumer_.Next(100) < 0) continue;
        std::lock_guard lock(mu_);
        if (++count_ >= target_) seen_.notify_one();
      }
    });
  }
  ~CountingConsumer() {
    stop_.store(true);
    thread_.join();
  }
  // Waits until `total` records have been read in all.
  void WaitFor(int64_t total) {
    std::unique_lock lock(mu_);
    target_ = total;
    if (!seen_.wait_for(lock, std::chrono::minutes(2), [&] { return count_ >= total; })) {
      Die("raw pipelined: records never arrived");
    }
  }

 private:
  RawConsumer consumer_;
  std::mutex mu_;
  std::condition_variable seen_;
  int64_t count_ = 0;
  int64_t target_ = 1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void BM_RawPipelined(benchmark::State& state) {
  const int64_t n = state.range(0);
  const KafkaOptions& options = Topic("pipelined");
  RawProducer producer(options);
  CountingConsumer consumer(options);
  producer.Produce("warmup", Value(0));
  consumer.WaitFor(1);
  int64_t total = 1;
  const std::string value = Value(1);
  CpuPerItem cpu;
  for (auto _ : state) {
    for (int64_t i = 0; i < n; ++i) producer.Produce(KeyName(i), value);
    total += n;
    consumer.WaitFor(total);
  }
  cpu.Report(state, state.iterations() * n);
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_Batch(benchmark::State& state) {
  const int64_t n = state.range(0);
  kv::Client& client = SharedClient(Topic("pipelined"));
  const std::string value = Value(1);
  std::vector<std::string> keys;
  for (int64_t i = 0; i < n; ++i) keys.push_back(KeyName(i));
  CpuPerItem cpu;
  for (auto _ : state) {
    kv::WriteBatch batch = client.Batch();
    for (const std::string& key : keys) batch.Put(key, value);
    if (auto r = batch.Execute(); !r) Die("batch: " + r.error().ToString());
  }
  cpu.Report(state, state.iterations() * n);
  state.SetItemsProcessed(state.iterations() * n);
}

// One record holding N writes, applied all or nothing: a transaction with no
// conditions, or an atomic batch.
void BM_Txn(benchmark::State& state) {
  const int64_t n = state.range(0);
  kv::Client& client = SharedClient(Topic("pipelined"));
  const std::string value = Value(1);
  std::vector<std::string> keys;
  for (int64_t i = 0; i < n; ++i) keys.push_back(KeyName(i));
  CpuPerItem cpu;
  for (auto _ : state) {
    kv::Txn txn = client.Transaction();
    for (const std::string& key : keys) txn.Put(key, value);
    auto r = txn.Commit();
    if (!r) Die("txn: " + r.error().ToString());
    if (!r->succeeded) Die("txn: a transaction without conditions failed");
  }
  cpu.Report(state, state.iterations() * n);
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_AtomicBatch(benchmark::State& state) {
  const int64_t n = state.range(0);
  kv::Client& client = SharedClient(Topic("pipelined"));
  const std::string value = Value(1);
  std::vector<std::string> keys;
  for (int64_t i = 0; i < n; ++i) keys.push_back(KeyName(i));
  CpuPerItem cpu;
  for (auto _ : state) {
    kv::WriteBatch batch = client.Batch().Atomic();
    for (const std::string& key : keys) batch.Put(key, value);
    if (auto r = batch.Execute(); !r) Die("atomic batch: " + r.error().ToString());
  }
  cpu.Report(state, state.iterations() * n);
  state.SetItemsProcessed(state.iterations() * n);
}

// Pipelined Puts: N in flight from one thread, each timed from the call to
// its callback (applied locally).
void RunPutAsync(benchmark::State& state, kv::Client& client, int64_t n);

void BM_PutAsync(benchmark::State& state) { RunPutAsync(state, SharedClient(Topic("pipelined")), state.range(0)); }

// The same N PutAsync on a client with max_writes_in_flight = L that waits
// for a slot at the limit (wait_for_write_slot), beside BM_PutAsync/N: what
// back-pressure costs a producer that issues more than the limit at once.
void BM_PutAsyncLimited(benchmark::State& state) {
  const int64_t limit = state.range(1);
  static std::mutex mu;
  static std::map<int64_t, std::unique_ptr<kv::Client>> clients;
  kv::Client* client;
  {
    std::lock_guard lock(mu);
    auto& c = clients[limit];
    if (!c) {
      auto log = log::kafka::OpenKafkaLog(Topic(fmt::format("pipelined-limit-{}", limit)));
      if (!log) Die("open log: " + log.error().ToString());
      kv::ClientOptions options;
      options.max_writes_in_flight = static_cast<std::size_t>(limit);
      options.wait_for_write_slot = true;
      c = OpenClientOn(std::move(*log), options);
    }
    client = c.get();
  }
  RunPutAsync(state, *client, state.range(0));
  auto stats = client->Stats();
  if (stats) state.counters["waited_at_limit"] = static_cast<double>(stats->writes_waited_at_limit);
}

void RunPutAsync(benchmark::State& state, kv::Client& client, int64_t n) {
  const std::string value = Value(3);
  std::vector<std::string> keys;
  for (int64_t i = 0; i < n; ++i) keys.push_back(KeyName(i));
  std::vector<Clock::time_point> started(static_cast<std::size_t>(n));
  std::vector<double> us;
  std::mutex mu;
  std::condition_variable all_done;
  CpuPerItem cpu;
  for (auto _ : state) {
    int64_t finished = 0;
    std::string failure;
    for (int64_t i = 0; i < n; ++i) {
      started[i] = Clock::now();
      client.PutAsync(keys[i], value, [&, i](Result<log::Offset> r) {
        const auto now = Clock::now();
        std::lock_guard lock(mu);
        if (!r && failure.empty()) failure = r.error().ToString();
        us.push_back(Micros(now - started[i]));
        if (++finished == n) all_done.notify_one();
      });
    }
    std::unique_lock lock(mu);
    if (!all_done.wait_for(lock, std::chrono::minutes(2), [&] { return finished == n; })) {
      Die("put async: writes never finished");
    }
    if (!failure.empty()) Die("put async: " + failure);
  }
  cpu.Report(state, state.iterations() * n);
  ReportLatency(state, us);
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_PutThreads(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int per_thread = std::max(8, 1024 / threads);
  kv::Client& client = SharedClient(Topic("pipelined"));
  std::vector<std::vector<double>> us(threads);
  const std::string value = Value(2);
  for (auto _ : state) {
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&, t] {
        const std::string prefix = fmt::format("w{}/", t);
        for (int i = 0; i < per_thread; ++i) {
          const auto start = Clock::now();
          if (auto r = client.Put(fmt::format("{}{}", prefix, i % 64), value); !r) Die("put: " + r.error().ToString());
          us[t].push_back(Micros(Clock::now() - start));
        }
      });
    }
    for (auto& w : writers) w.join();
  }
  std::vector<double> all;
  for (auto& v : us) all.insert(all.end(), v.begin(), v.end());
  ReportLatency(state, all);
  state.SetItemsProcessed(state.iterations() * threads * per_thread);
}

// ---- Start-up replay ----

void BM_RawConsume(benchmark::State& state) {
  const int64_t records = state.range(0);
  const KafkaOptions& options = Prefilled(records, state.range(1));
  double cpu_us = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    // From offset 0 (Prefilled checked that the log starts there), not the
    // logical BEGINNING: librdkafka 2.0.2 resolves BEGINNING with a
    // ListOffsets request that a new handle, without the partition's leader
    // yet, retries on a fixed 500 ms timer, a cost the adapter's reader
    // (which assigns an absolute offset) never pays.
    const double cpu_start = ProcessCpuMicros();
    RawConsumer consumer(options, 0, RawConsumeInBatches());
    int64_t last = -1, count = 0;
    while (last < records - 1) {
      last = consumer.Next(30'000);
      if (last < 0) Die("raw consume: stalled");
      ++count;
    }
    if (count != records) Die(fmt::format("raw consume: {} records, expected {}", count, records));
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    cpu_us += ProcessCpuMicros() - cpu_start;
  }
  state.SetItemsProcessed(state.iterations() * records);
  // The whole process's CPU (librdkafka's threads included) while reading,
  // beside BM_Replay's: on a shared machine it moves less than the wall rate.
  state.counters["cpu_us/op"] = cpu_us / static_cast<double>(state.iterations() * records);
}

void BM_Replay(benchmark::State& state) {
  const int64_t records = state.range(0);
  const KafkaOptions& options = Prefilled(records, state.range(1));
  const std::size_t keys = static_cast<std::size_t>(records / state.range(1));
  double cpu_us = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    const double cpu_start = ProcessCpuMicros();
    std::unique_ptr<kv::Client> client = OpenClient(options);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    cpu_us += ProcessCpuMicros() - cpu_start;
    if (client->storage().Size() != keys) {
      Die(fmt::format("replay: {} keys, expected {}; applied position {}", client->storage().Size(), keys,
                      client->AppliedPosition()));
    }
  }
  state.SetItemsProcessed(state.iterations() * records);
  // The process's CPU during Open (every thread), as in BM_RawConsume.
  state.counters["cpu_us/op"] = cpu_us / static_cast<double>(state.iterations() * records);
}

// The KV layer's own replay cost: the same records from a log in memory.
void BM_ReplayInMemory(benchmark::State& state) {
  const int64_t records = state.range(0);
  const auto contents = MemoryRecords(records, state.range(1));
  const std::size_t keys = static_cast<std::size_t>(records / state.range(1));
  double cpu_us = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    const double cpu_start = ProcessCpuMicros();
    std::unique_ptr<kv::Client> client = OpenClientOn(MemoryLog(contents));
    cpu_us += ProcessCpuMicros() - cpu_start;
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (client->storage().Size() != keys) Die("replay in memory: wrong key count");
  }
  state.SetItemsProcessed(state.iterations() * records);
  // The process's CPU during Open only (the client's teardown excluded): on a
  // shared machine it moves less than the wall-clock rate does.
  state.counters["cpu_us/op"] = cpu_us / static_cast<double>(state.iterations() * records);
}

// ---- Local reads ----

struct ReadFixture {
  std::unique_ptr<kv::Client> client;
  std::vector<std::string> keys;
};

// One in kExpiredEvery keys of the TTL fixture is already past its deadline.
constexpr int64_t kExpiredEvery = 10;

// `keys` keys written once each; with `ttl`, every value carries a deadline in
// its envelope (kv/ttl.h), as a Put with a TTL writes it: one key in
// kExpiredEvery expired long ago, the others an hour after the fixture is made.
const ReadFixture& Reads(int64_t keys, bool ttl = false) {
  static std::mutex mu;
  static std::map<std::pair<int64_t, bool>, ReadFixture> fixtures;
  std::lock_guard lock(mu);
  auto it = fixtures.find({keys, ttl});
  if (it == fixtures.end()) {
    auto records = MemoryRecords(keys, 1);
    if (ttl) {
      auto with_deadlines = std::make_shared<std::vector<log::Record>>(*records);
      const int64_t later = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                (std::chrono::system_clock::now() + std::chrono::hours(1)).time_since_epoch())
                                .count();
      for (std::size_t i = 0; i < with_deadlines->size(); ++i) {
        log::Record& r = (*with_deadlines)[i];
        const int64_t deadline = i % kExpiredEvery == 0 ? 1 : later;
        r.value = kv::internal::EncodeTtlValue(deadline, *r.value);
      }
      records = std::move(with_deadlines);
    }
    ReadFixture f{OpenClientOn(MemoryLog(records)), {}};
    for (int64_t i = 0; i < keys; ++i) f.keys.push_back(KeyName(i));
    it = fixtures.emplace(std::pair{keys, ttl}, std::move(f)).first;
  }
  return it->second;
}

// A cheap per-thread key sequence, so the generator does not dominate a Get.
struct KeyPicker {
  uint64_t x;
  std::size_t Next(std::size_t n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::size_t>((x >> 33) % n);
  }
};

void BM_Get(benchmark::State& state) {
  const ReadFixture& f = Reads(state.range(0));
  KeyPicker pick{static_cast<uint64_t>(state.thread_index()) + 1};
  for (auto _ : state) {
    auto v = f.client->Get(f.keys[pick.Next(f.keys.size())]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}

// BM_Get on keys with deadlines: each Get unwraps the envelope and compares
// the deadline with the wall clock; the expired tenth reads as absent.
void BM_GetTtl(benchmark::State& state) {
  const ReadFixture& f = Reads(state.range(0), /*ttl=*/true);
  KeyPicker pick{static_cast<uint64_t>(state.thread_index()) + 1};
  int64_t found = 0;
  for (auto _ : state) {
    auto v = f.client->Get(f.keys[pick.Next(f.keys.size())]);
    found += v.has_value();
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
  // About 1 - 1/kExpiredEvery: the expired keys are hidden.
  state.counters["found_fraction"] = static_cast<double>(found) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

// The allocation-free form: the value lands in the caller's buffer.
void BM_GetInto(benchmark::State& state) {
  const ReadFixture& f = Reads(state.range(0));
  KeyPicker pick{static_cast<uint64_t>(state.thread_index()) + 1};
  std::string value;
  for (auto _ : state) {
    auto s = f.client->Get(f.keys[pick.Next(f.keys.size())], &value);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(value.data());
  }
  state.SetItemsProcessed(state.iterations());
}

// MultiGet of kMultiGetKeys random keys per call; items are keys.
constexpr std::size_t kMultiGetKeys = 16;

void BM_MultiGet(benchmark::State& state) {
  const ReadFixture& f = Reads(state.range(0));
  KeyPicker pick{static_cast<uint64_t>(state.thread_index()) + 1};
  std::vector<std::string_view> keys(kMultiGetKeys);
  std::vector<std::optional<std::string>> values;
  for (auto _ : state) {
    for (auto& key : keys) key = f.keys[pick.Next(f.keys.size())];
    auto s = f.client->MultiGet(keys, &values);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kMultiGetKeys));
}

constexpr std::size_t kRangeKeys = 100;

void BM_Range(benchmark::State& state) {
  const ReadFixture& f = Reads(state.range(0));
  KeyPicker pick{static_cast<uint64_t>(state.thread_index()) + 1};
  const kv::QueryOptions limit{.limit = kRangeKeys};
  int64_t returned = 0;
  for (auto _ : state) {
    auto r = f.client->Range(kv::KeyConstraint{f.keys[pick.Next(f.keys.size())], std::nullopt}, limit);
    returned += static_cast<int64_t>(r->size());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["keys/s"] = benchmark::Counter(static_cast<double>(returned), benchmark::Counter::kIsRate);
}

// The malloc this process runs on, linked (//third_party:allocator) or
// preloaded: the write rows depend on it (bench/README.md).
std::string AllocatorName() {
  if (dlsym(RTLD_DEFAULT, "mallctl") != nullptr) return "jemalloc";
  if (dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr) return "tcmalloc";
  return "glibc malloc";
}

void Register(bool smoke, bool on_mock, double io_min_time_flag) {
  const std::vector<int64_t> batches = smoke ? std::vector<int64_t>{100} : std::vector<int64_t>{100, 1000, 10000};
  const std::vector<int64_t> writers = smoke ? std::vector<int64_t>{1, 4} : std::vector<int64_t>{1, 4, 16, 64};
  const std::vector<int64_t> stores = smoke ? std::vector<int64_t>{1000} : std::vector<int64_t>{10'000, 100'000, 1'000'000};
  using Sizes = std::vector<std::pair<int64_t, int64_t>>;  // {records, writes per key}
  // The sizes need a real cluster: the mock keeps only about 5 MB per
  // partition, about 30,000 of these records, so on the mock replay is
  // measured at 20,000 records; the in-memory replay always runs full size.
  const Sizes full = {{100'000, 1}, {1'000'000, 1}, {1'000'000, 10}};
  const Sizes replays = smoke ? Sizes{{1000, 1}, {1000, 10}} : on_mock ? Sizes{{20'000, 1}, {20'000, 10}} : full;
  const Sizes in_memory = smoke ? Sizes{{1000, 1}} : full;
  const double io_min_time = smoke ? 0.01 : io_min_time_flag;

  benchmark::RegisterBenchmark("BM_RawRoundTrip", BM_RawRoundTrip)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Put", BM_Put)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_PutIf", BM_PutIf)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Update", BM_Update)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_LinearizableGet", BM_LinearizableGet)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_PutTtl", BM_PutTtl)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_WatchDelivery", BM_WatchDelivery)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMicrosecond);
  for (int64_t w : {int64_t{0}, int64_t{1000}}) {
    benchmark::RegisterBenchmark("BM_Watchers", BM_Watchers)->Arg(w)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  for (int64_t n : batches) {
    benchmark::RegisterBenchmark("BM_RawPipelined", BM_RawPipelined)->Arg(n)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  for (int64_t n : batches) {
    benchmark::RegisterBenchmark("BM_Batch", BM_Batch)->Arg(n)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  // Atomic forms beside BM_Batch/100 (one record: the kv limits allow up to
  // max_value_bytes of encoding, so 100 writes of 100 bytes; 1000 also fit).
  for (int64_t n : {int64_t{100}}) {
    benchmark::RegisterBenchmark("BM_Txn", BM_Txn)->Arg(n)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_AtomicBatch", BM_AtomicBatch)->Arg(n)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  // {writers, clients, keys}: uncontended, 16 writers on one key, 16 writers on a key each.
  for (const auto& args : std::vector<std::vector<int64_t>>{{1, 1, 1}, {16, 4, 1}, {16, 4, 16}}) {
    benchmark::RegisterBenchmark("BM_Counter", BM_Counter)->Args(args)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  for (int64_t n : batches) {
    benchmark::RegisterBenchmark("BM_PutAsync", BM_PutAsync)->Arg(n)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  // {N, max_writes_in_flight}: the largest N under a tenth and a hundredth of it as the limit.
  for (int64_t limit : {batches.back() / 10, batches.back() / 100}) {
    benchmark::RegisterBenchmark("BM_PutAsyncLimited", BM_PutAsyncLimited)->Args({batches.back(), limit})->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  for (int64_t t : writers) {
    benchmark::RegisterBenchmark("BM_PutThreads", BM_PutThreads)->Arg(t)->UseRealTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  for (auto [records, writes] : replays) {
    benchmark::RegisterBenchmark("BM_RawConsume", BM_RawConsume)->Args({records, writes})->UseManualTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_Replay", BM_Replay)->Args({records, writes})->UseManualTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  for (auto [records, writes] : in_memory) {
    benchmark::RegisterBenchmark("BM_ReplayInMemory", BM_ReplayInMemory)->Args({records, writes})->UseManualTime()->MinTime(io_min_time)->Unit(benchmark::kMillisecond);
  }
  const double read_min_time = smoke ? 0.01 : 0.5;
  for (int64_t n : stores) {
    benchmark::RegisterBenchmark("BM_Get", BM_Get)->Arg(n)->Threads(1)->Threads(2)->UseRealTime()->MinTime(read_min_time);
    benchmark::RegisterBenchmark("BM_GetTtl", BM_GetTtl)->Arg(n)->Threads(1)->UseRealTime()->MinTime(read_min_time);
    benchmark::RegisterBenchmark("BM_GetInto", BM_GetInto)->Arg(n)->Threads(1)->Threads(2)->UseRealTime()->MinTime(read_min_time);
    benchmark::RegisterBenchmark("BM_MultiGet", BM_MultiGet)->Arg(n)->Threads(1)->Threads(2)->UseRealTime()->MinTime(read_min_time);
    benchmark::RegisterBenchmark("BM_Range", BM_Range)->Arg(n)->Threads(1)->Threads(2)->UseRealTime()->MinTime(read_min_time);
  }
}

}  // namespace
}  // namespace kvlog::bench

int main(int argc, char** argv) {
  std::string brokers;
  int replication_factor = 3;
  bool smoke = false;
  double io_min_time = 1.0;
  std::vector<std::pair<std::string, std::string>> rdkafka;
  std::string rdkafka_list;
  std::optional<bool> lone_appends_at_once;
  // Take our own flags out before Google Benchmark sees the rest.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--brokers=")) {
      brokers = arg.substr(std::strlen("--brokers="));
    } else if (arg.starts_with("--replication_factor=")) {
      replication_factor = std::atoi(argv[i] + std::strlen("--replication_factor="));
    } else if (arg.starts_with("--io_min_time=")) {
      char* end = nullptr;
      io_min_time = std::strtod(argv[i] + std::strlen("--io_min_time="), &end);
      if (end == nullptr || *end != '\0' || !(io_min_time > 0) || io_min_time > 3600) {
        fmt::print(stderr, "kv_bench: --io_min_time={}: want seconds in (0, 3600]\n",
                   argv[i] + std::strlen("--io_min_time="));
        return 2;
      }
    } else if (arg.starts_with("--rdkafka=")) {
      const std::string_view kv = arg.substr(std::strlen("--rdkafka="));
      const auto eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        fmt::print(stderr, "kv_bench: {}: want --rdkafka=NAME=VALUE\n", argv[i]);
        return 2;
      }
      rdkafka.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
      rdkafka_list += (rdkafka_list.empty() ? "" : " ") + std::string(kv);
    } else if (arg == "--lone_appends_at_once=0" || arg == "--lone_appends_at_once=1") {
      lone_appends_at_once = arg.back() == '1';
    } else if (arg.starts_with("--lone_appends_at_once")) {
      fmt::print(stderr, "kv_bench: {}: want --lone_appends_at_once=0 or =1\n", argv[i]);
      return 2;
    } else if (arg == "--raw_consume_batch=0" || arg == "--raw_consume_batch=1") {
      kvlog::bench::RawConsumeInBatches() = arg.back() == '1';
    } else if (arg == "--smoke") {
      smoke = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  auto& target = kvlog::bench::KafkaTarget::Init(brokers, replication_factor);
  for (auto& [name, value] : rdkafka) target.AddProperty(name, value);
  if (lone_appends_at_once) target.SetLoneAppendsAtOnce(*lone_appends_at_once);
  benchmark::AddCustomContext("rdkafka", rdkafka_list.empty() ? "(defaults)" : rdkafka_list);
  benchmark::AddCustomContext("lone_appends_at_once",
                              lone_appends_at_once.value_or(kvlog::log::kafka::KafkaOptions{}.send_lone_appends_at_once)
                                  ? "on"
                                  : "off");
  // The librdkafka that runs (LD_LIBRARY_PATH can swap librdkafka.so.1 without
  // rebuilding: scripts/librdkafka-build), beside the one the binary was built with.
  benchmark::AddCustomContext("librdkafka", fmt::format("{} (built with headers 0x{:08x})",
                                                        rd_kafka_version_str(), RD_KAFKA_VERSION));
  benchmark::AddCustomContext("log", target.description());
  benchmark::AddCustomContext("allocator", kvlog::bench::AllocatorName());
  benchmark::AddCustomContext("raw_consume", kvlog::bench::RawConsumeInBatches() ? "consume_batch_queue" : "consumer_poll");
  benchmark::AddCustomContext("smoke", smoke ? "true" : "false");
  kvlog::bench::Register(smoke, brokers.empty(), io_min_time);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
