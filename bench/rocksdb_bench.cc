// The durable stores (RocksDB, LMDB) beside the in-memory one, on the embedded mock:
//   BM_FullReplay/{memory,rocksdb,lmdb}  Open replaying the whole topic
//   BM_RestartWithTail/{0..5}       Open on a store holding all but the last 1,000 records:
//                                   0 RocksDB: a copied checkpoint, the store opened, then the log connected;
//                                   1 the same, the store opened on a second thread while the log connects;
//                                   2 a store closed cleanly (its memtables flushed on close);
//                                   3 a store closed without that flush (flush_on_close off: the log
//                                     of its writes is replayed at the open)
//                                   4 LMDB: a copied checkpoint (mdb_env_copy2, compacted), the store
//                                     opened, then the log connected;
//                                   5 LMDB: the store that replayed, closed
//   BM_Get/{memory,rocksdb,lmdb}    a local Get (block cache warm for RocksDB, pages cached for LMDB)
// The restart/replay ratio and the Get ratio come from one run of this binary.
//
//   rocksdb_bench [--smoke] [--timeline] [--rdkafka_debug=CONTEXTS] [--first_read_hint=0]
//                 [--reconnect_hint=0|alternate] [--defer_producer=1|alternate] [benchmark flags]
// --timeline prints each restart's steps on stderr (the store's open, the
// log's connection, and Client::Open's debug line of its own steps, then,
// outside the timed restart, when the log's producer first answered);
// --rdkafka_debug adds librdkafka's debug lines of the restarts' handles
// (e.g. broker,protocol,metadata,fetch), each stamped with the time since
// its restart began.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/scratch.h"

#include "bench/kafka_target.h"
#include "kv/client.h"
#include "kv/memory_storage.h"
#include "kv/lmdb/lmdb_storage.h"
#include "kv/rocksdb/rocksdb_storage.h"
#include "log/kafka/kafka_log.h"
#include "log/kafka/mock_cluster.h"

namespace kvlog {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool g_smoke = false;
bool g_timeline = false;  // --timeline: each restart's steps on stderr.
// --first_read_hint=0: restarts that open the store before the log do not
// pass the store's first read offset to the log (KafkaOptions::first_read_offset).
bool g_first_read_hint = true;
// --reconnect_hint=0: nor the leader's address the store kept
// (KafkaOptions::reconnect_hint), so the first reader connects to a broker
// chosen at random; =alternate: every other restart passes it (an A/B
// within one run, under the same load), which --timeline's lines say.
enum class HintMode { kOn, kOff, kAlternate };
HintMode g_reconnect_hint = HintMode::kOn;
int g_restarts_connected = 0;
// --defer_producer=1: restarts open the log with KafkaOptions::defer_producer
// (the producer is made after Client::Open's replay); =alternate: every other
// restart does (its own A/B, which --timeline's lines say). Default 0.
HintMode g_defer_producer = HintMode::kOff;
int g_restarts_deferrable = 0;
// --rdkafka_debug=CONTEXTS: librdkafka's `debug` property on the restarts'
// log, its lines on stderr stamped with the time since the restart began.
std::string g_rdkafka_debug;
Clock::time_point g_restart_began;
std::string g_brokers;
int g_replication_factor = 3;
int64_t g_records = 0;  // --records; 0: the default for the log.
// The mock keeps about 5 MB per partition: 20,000 short records fit.
int64_t Records() {
  if (g_records > 0) return g_records;
  if (g_smoke) return 3'000;
  return g_brokers.empty() ? 20'000 : 1'000'000;
}
// Distinct keys: each written twice on the mock, once on brokers.
int64_t Keys() { return g_brokers.empty() ? Records() / 2 : Records(); }
constexpr int64_t kTail = 1'000;

[[noreturn]] void Die(const std::string& what) {
  fmt::print(stderr, "rocksdb_bench: {}\n", what);
  std::exit(1);
}

fs::path Scratch() { return bench::ScratchDir("rocksdb-bench"); }

std::string KeyName(int64_t i) { return bench::StoreKey(i); }

std::unique_ptr<kv::Storage> RocksDb(const fs::path& dir, bool flush_on_close = true) {
  auto store = kv::rocksdb::OpenRocksDbStorage({.path = dir.string(), .flush_on_close = flush_on_close});
  if (!store) Die("open store: " + store.error().ToString());
  return std::move(*store);
}

std::unique_ptr<kv::Storage> Lmdb(const fs::path& dir) {
  auto store = kv::lmdb::OpenLmdbStorage({.path = dir.string()});
  if (!store) Die("open store: " + store.error().ToString());
  return std::move(*store);
}

enum Engine { kMemory = 0, kRocksDb = 1, kLmdb = 2 };
constexpr const char* kEngineNames[] = {"memory", "rocksdb", "lmdb"};

std::unique_ptr<kv::Storage> NewStore(int engine, const fs::path& dir) {
  switch (engine) {
    case kRocksDb: return RocksDb(dir);
    case kLmdb: return Lmdb(dir);
    default: return kv::NewMemoryStorage();
  }
}

// One mock cluster (or the --brokers cluster); the topic holds Records()
// records; `checkpoint` is a checkpoint of a store that applied all but the
// last kTail of them, `closed` that store itself, closed cleanly, and
// `unflushed` a copy of it closed without flushing its memtables.
struct World {
  std::unique_ptr<log::kafka::MockCluster> cluster;
  log::kafka::KafkaOptions brokers_topic;  // With --brokers.
  fs::path checkpoint;
  fs::path closed;
  fs::path unflushed;
  fs::path lmdb_checkpoint;  // The same for LMDB: a copy (mdb_env_copy2) and
  fs::path lmdb_closed;      // the store itself, closed.

  // `hints`: what the store gives a restart that opens it before the log
  // (the flags above choose which are passed).
  // `hinted`, if given, says whether the reconnect hint was passed;
  // `deferred`, whether the producer was deferred.
  std::unique_ptr<log::Log> Connect(const kv::Client::LogHints* hints = nullptr, bool* hinted = nullptr,
                                    bool* deferred = nullptr) const {
    log::kafka::KafkaOptions options = cluster ? cluster->LogOptions() : brokers_topic;
    options.logger = nullptr;
    if (hints != nullptr && g_first_read_hint) options.first_read_offset = hints->first_read_offset;
    if (hints != nullptr && (g_reconnect_hint == HintMode::kOn ||
                             (g_reconnect_hint == HintMode::kAlternate && g_restarts_connected++ % 2 == 0))) {
      options.reconnect_hint = hints->reconnect_hint;
    }
    if (hinted != nullptr) *hinted = !options.reconnect_hint.empty();
    if (hints != nullptr && (g_defer_producer == HintMode::kOn ||
                             (g_defer_producer == HintMode::kAlternate && g_restarts_deferrable++ % 2 == 0))) {
      options.defer_producer = true;
    }
    if (deferred != nullptr) *deferred = options.defer_producer;
    if (!g_rdkafka_debug.empty() && g_restart_began != Clock::time_point{}) {  // Restarts only.
      options.properties.emplace_back("debug", g_rdkafka_debug);
      options.logger = [](log::LogLevel, std::string_view line) {
        fmt::print(stderr, "{:9.3f} ms {}\n",
                   std::chrono::duration<double, std::milli>(Clock::now() - g_restart_began).count(), line);
      };
    }
    auto log = log::kafka::OpenKafkaLog(options);
    if (!log) Die("open log: " + log.error().ToString());
    return std::move(*log);
  }

  std::unique_ptr<kv::Client> Open(std::unique_ptr<kv::Storage> storage) const {
    return Open(Connect(), std::move(storage));
  }

  std::unique_ptr<kv::Client> Open(std::unique_ptr<log::Log> log, std::unique_ptr<kv::Storage> storage,
                                   std::string* open_line = nullptr) const {
    kv::ClientOptions options;
    options.startup_timeout = std::chrono::minutes(5);
    if (open_line != nullptr) {
      // Client::Open's debug line of where its time went (written before it returns).
      options.logger = [open_line, base = options.logger](kv::LogLevel level, std::string_view message) {
        if (level == kv::LogLevel::kDebug && message.find(": open: ") != std::string_view::npos) {
          *open_line = std::string(message);
        } else if (base && level != kv::LogLevel::kDebug) {
          base(level, message);
        }
      };
    }
    auto client = kv::Client::Open(std::move(log), std::move(storage), options);
    if (!client) Die("open client: " + client.error().ToString());
    return std::move(*client);
  }

  void Write(int64_t from, int64_t to) const {
    if (!cluster) {
      // Plain records, as kv_bench fills its topics (a client reads each as a Put).
      bench::RawProducer producer(brokers_topic);
      for (int64_t i = from; i < to; ++i) producer.Produce(KeyName(i % Keys()), fmt::format("value-{}", i));
      producer.Flush();
      if (producer.failed() != 0) Die(fmt::format("write: {} records failed", producer.failed()));
      return;
    }
    auto writer = Open(kv::NewMemoryStorage());
    for (int64_t base = from; base < to; base += 5'000) {
      auto batch = writer->Batch();
      for (int64_t i = base; i < std::min(to, base + 5'000); ++i) {
        batch.Put(KeyName(i % Keys()), fmt::format("value-{}", i));
      }
      if (auto r = batch.Execute(); !r) Die("write: " + r.error().ToString());
    }
  }
};

const World& TheWorld() {
  static const World world = [] {
    World w;
    if (g_brokers.empty()) {
      auto cluster = log::kafka::MockCluster::Start({.brokers = 1});
      if (!cluster) Die("mock cluster: " + cluster.error().ToString());
      w.cluster = std::move(*cluster);
    } else {
      w.brokers_topic = bench::KafkaTarget::Init(g_brokers, g_replication_factor).NewTopic("rocksdb");
    }
    w.Write(0, Records() - kTail);
    // The replay leaves every write in the memtable (1 M keys fit RocksDB's
    // 64 MB write buffer) and in the write-ahead log; closed without a
    // flush, the store stays that way: a copy of it is `unflushed`.
    w.closed = Scratch() / "base";
    w.Open(RocksDb(w.closed, /*flush_on_close=*/false)).reset();
    w.unflushed = Scratch() / "unflushed";
    fs::copy(w.closed, w.unflushed, fs::copy_options::recursive);
    {
      // Reopened (replaying its log once), checkpointed, and closed cleanly.
      std::unique_ptr<kv::Storage> store = RocksDb(w.closed);
      w.checkpoint = Scratch() / "checkpoint";
      if (auto at = store->Checkpoint(w.checkpoint.string()); !at || *at != Records() - kTail) {
        Die("checkpoint at the wrong position");
      }
    }
    w.lmdb_closed = Scratch() / "lmdb-base";
    {
      std::unique_ptr<kv::Client> client = w.Open(Lmdb(w.lmdb_closed));
      w.lmdb_checkpoint = Scratch() / "lmdb-checkpoint";
      if (auto at = client->Checkpoint(w.lmdb_checkpoint.string()); !at || *at != Records() - kTail) {
        Die("LMDB checkpoint at the wrong position");
      }
    }
    w.Write(Records() - kTail, Records());
    return w;
  }();
  return world;
}

void BM_FullReplay(benchmark::State& state) {
  const World& w = TheWorld();
  const int engine = static_cast<int>(state.range(0));
  int n = 0;
  double store_open_s = 0;
  for (auto _ : state) {
    const fs::path dir = Scratch() / fmt::format("full-{}", n++);
    const auto start = Clock::now();
    std::unique_ptr<kv::Storage> store = NewStore(engine, dir);
    store_open_s += std::chrono::duration<double>(Clock::now() - start).count();
    auto client = w.Open(std::move(store));
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    if (client->AppliedPosition() != Records()) Die("full replay ended early");
    if (g_smoke && client->storage().Size() != static_cast<std::size_t>(Keys())) Die("full replay: wrong key count");
    client.reset();
    fs::remove_all(dir);
  }
  state.SetLabel(kEngineNames[engine]);
  state.counters["records"] = static_cast<double>(Records());
  // Creating the store (a new database's files), within the time.
  state.counters["store_open_ms"] = 1e3 * store_open_s / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * Records());
}
BENCHMARK(BM_FullReplay)->Arg(kMemory)->Arg(kRocksDb)->Arg(kLmdb)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_RestartWithTail(benchmark::State& state) {
  const World& w = TheWorld();
  const int mode = static_cast<int>(state.range(0));
  const fs::path* sources[] = {&w.checkpoint, &w.checkpoint, &w.closed, &w.unflushed, &w.lmdb_checkpoint,
                               &w.lmdb_closed};
  const fs::path& source = *sources[mode];
  int n = 0;
  double store_open_s = 0;
  for (auto _ : state) {
    const fs::path dir = Scratch() / fmt::format("tail-{}", n++);
    fs::copy(source, dir, fs::copy_options::recursive);
    const auto start = Clock::now();
    g_restart_began = start;
    std::unique_ptr<kv::Storage> store;
    std::unique_ptr<log::Log> log;
    double connect_ms = 0;
    bool hinted = false;
    bool deferred = false;
    if (mode == 1) {
      // What a caller can do: the store's open (mostly waiting on its files'
      // syncs) runs while the log connects.
      auto opening = std::async(std::launch::async, [&dir] {
        const auto begin = Clock::now();
        auto opened = RocksDb(dir);
        return std::make_pair(std::move(opened), std::chrono::duration<double>(Clock::now() - begin).count());
      });
      log = w.Connect();
      auto [opened, seconds] = opening.get();
      store = std::move(opened);
      store_open_s += seconds;
    } else {
      store = mode >= 4 ? Lmdb(dir) : RocksDb(dir);
      store_open_s += std::chrono::duration<double>(Clock::now() - start).count();
      const auto connecting = Clock::now();
      const kv::Client::LogHints hints = kv::Client::HintsFor(*store);
      log = w.Connect(&hints, &hinted, &deferred);
      connect_ms = std::chrono::duration<double, std::milli>(Clock::now() - connecting).count();
    }
    const auto opening = Clock::now();
    std::string open_line;
    auto client = w.Open(std::move(log), std::move(store), g_timeline ? &open_line : nullptr);
    const auto done = Clock::now();
    state.SetIterationTime(std::chrono::duration<double>(done - start).count());
    if (g_timeline) {
      // Outside the restart's time: when the log first answers through its
      // producer (an end-offset query), which a deferred producer delays.
      if (auto stats = client->Stats({.end_offset = true}); !stats) Die("stats: " + stats.error().ToString());
      const auto producer_answered = Clock::now();
      const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
      fmt::print(stderr, "timeline /{}: restart {:.1f} ms = log connected {:.1f} ms (after the store's open {:.1f}{}{}), "
                 "then Client::Open {:.1f} ms [{}]; producer answered {:.1f} ms after\n",
                 mode, ms(done - start), connect_ms, ms(opening - start) - connect_ms,
                 hinted ? ", reconnect hint passed" : "", deferred ? ", producer deferred" : "", ms(done - opening),
                 open_line, ms(producer_answered - done));
    }
    if (client->resumed_from() != Records() - kTail || client->AppliedPosition() != Records()) {
      Die("restart did not replay exactly the tail");
    }
    client.reset();
    fs::remove_all(dir);
  }
  static constexpr const char* kLabels[] = {"checkpoint", "checkpoint, store and log opened together",
                                            "closed store", "closed store, not flushed", "lmdb checkpoint",
                                            "lmdb closed store"};
  state.SetLabel(kLabels[mode]);
  state.counters["records"] = static_cast<double>(Records());
  state.counters["tail"] = static_cast<double>(kTail);
  state.counters["keys"] = static_cast<double>(Keys());
  // Of each restart, the time spent opening the store (the rest is
  // connecting the log and Client::Open: the end offset, the store checks,
  // the tail). With /1 the open overlaps the log's connection.
  state.counters["store_open_ms"] = store_open_s * 1e3 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RestartWithTail)->DenseRange(0, 5)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_Get(benchmark::State& state) {
  const int engine = static_cast<int>(state.range(0));
  const int64_t keys = g_smoke ? 1'000 : 100'000;
  const fs::path dir = Scratch() / fmt::format("get-{}-{}", kEngineNames[engine], state.thread_index());
  fs::remove_all(dir);
  std::unique_ptr<kv::Storage> store = NewStore(engine, dir);
  std::vector<kv::Mutation> batch;
  for (int64_t i = 0; i < keys; ++i) {
    std::string value = fmt::format("v{}-", i);
    value.resize(100, 'x');
    batch.push_back(kv::Mutation{KeyName(i), std::move(value), i});
    if (batch.size() == 10'000) {
      store->Apply(batch, i + 1);
      batch.clear();
    }
  }
  store->Apply(batch, keys);
  std::string value;
  uint64_t x = 42;
  for (int64_t i = 0; i < keys; ++i) store->Get(KeyName(i), &value);  // Warm the block cache.
  std::vector<std::string> names;
  for (int64_t i = 0; i < keys; ++i) names.push_back(KeyName(i));
  for (auto _ : state) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    if (!store->Get(names[(x >> 33) % keys], &value)) Die("get: missing key");
  }
  state.SetLabel(kEngineNames[engine]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Get)->Arg(kMemory)->Arg(kRocksDb)->Arg(kLmdb);

}  // namespace
}  // namespace kvlog

int main(int argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--timeline") {
      kvlog::g_timeline = true;
    } else if (arg.starts_with("--rdkafka_debug=")) {
      kvlog::g_rdkafka_debug = arg.substr(std::strlen("--rdkafka_debug="));
    } else if (arg.starts_with("--first_read_hint=")) {
      kvlog::g_first_read_hint = arg != "--first_read_hint=0";
    } else if (arg.starts_with("--reconnect_hint=")) {
      const std::string mode = arg.substr(std::strlen("--reconnect_hint="));
      kvlog::g_reconnect_hint = mode == "0" ? kvlog::HintMode::kOff
                                : mode == "alternate" ? kvlog::HintMode::kAlternate
                                                      : kvlog::HintMode::kOn;
    } else if (arg.starts_with("--defer_producer=")) {
      const std::string mode = arg.substr(std::strlen("--defer_producer="));
      kvlog::g_defer_producer = mode == "1" ? kvlog::HintMode::kOn
                                : mode == "alternate" ? kvlog::HintMode::kAlternate
                                                      : kvlog::HintMode::kOff;
    } else if (arg == "--smoke") {
      kvlog::g_smoke = true;
    } else if (arg.starts_with("--brokers=")) {
      kvlog::g_brokers = arg.substr(std::strlen("--brokers="));
    } else if (arg.starts_with("--replication_factor=")) {
      kvlog::g_replication_factor = std::atoi(arg.c_str() + std::strlen("--replication_factor="));
    } else if (arg.starts_with("--records=")) {
      char* end = nullptr;
      const long long n = std::strtoll(arg.c_str() + std::strlen("--records="), &end, 10);
      if (end == nullptr || *end != '\0' || n < 2 * kvlog::kTail || n > 100'000'000) {
        fmt::print(stderr, "rocksdb_bench: {}: want a record count in [{}, 100000000]\n", arg, 2 * kvlog::kTail);
        return 2;
      }
      kvlog::g_records = n;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::AddCustomContext("suite", "rocksdb");
  benchmark::AddCustomContext("log", kvlog::g_brokers.empty() ? "embedded librdkafka mock cluster (1 broker)"
                                                              : "Kafka at " + kvlog::g_brokers);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(kvlog::Scratch());
  return 0;
}
