// Opening a store that holds 1 M keys, as a restart does before it reads the
// log's tail: kvlog's RocksDB store (kv/rocksdb: RocksDB's open, then the
// store's position and identity) beside LMDB (the environment's open and one
// read transaction for a stored position), and kvlog's LMDB store (kv/lmdb)
// (issue 13 asked which opens faster).
//   BM_Open/0/0       OpenRocksDbStorage + Durable() on a store closed cleanly
//   BM_Open/1/0       mdb_env_open + a read transaction of the position
//   BM_Open/2/0       OpenLmdbStorage + Durable() on a store closed cleanly
//   BM_Open/{0,1,2}/1 the same, then one batch of one key and
//                     its position, each store's default durability (RocksDB:
//                     write-ahead log, no sync; raw LMDB: a synced commit;
//                     kv/lmdb: MDB_NOSYNC, no sync)
//
//   store_open_bench [--keys=N] [benchmark flags]
#include <benchmark/benchmark.h>
#include <lmdb.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/scratch.h"

#include "kv/lmdb/lmdb_storage.h"
#include "kv/rocksdb/rocksdb_storage.h"

namespace kvlog {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int64_t g_keys = 1'000'000;

[[noreturn]] void Die(const std::string& what) {
  fmt::print(stderr, "store_open_bench: {}\n", what);
  std::exit(1);
}

void Check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) Die(fmt::format("{}: {}", what, mdb_strerror(rc)));
}

fs::path Scratch() { return bench::ScratchDir("store-open-bench"); }

std::string KeyName(int64_t i) { return bench::StoreKey(i); }
std::string Value(int64_t i) { return fmt::format("value-{}", i); }

fs::path RocksDbDir() { return Scratch() / "rocksdb"; }
fs::path LmdbDir() { return Scratch() / "lmdb"; }
fs::path LmdbStoreDir() { return Scratch() / "lmdb-store"; }

struct Lmdb {
  MDB_env* env = nullptr;
  MDB_dbi data = 0;
  MDB_dbi meta = 0;
  explicit Lmdb(const fs::path& dir) {
    Check(mdb_env_create(&env), "mdb_env_create");
    Check(mdb_env_set_maxdbs(env, 2), "mdb_env_set_maxdbs");
    Check(mdb_env_set_mapsize(env, std::size_t{4} << 30), "mdb_env_set_mapsize");
    Check(mdb_env_open(env, dir.c_str(), 0, 0644), "mdb_env_open");
  }
  ~Lmdb() { mdb_env_close(env); }
  void OpenDbs(MDB_txn* txn, unsigned flags) {
    Check(mdb_dbi_open(txn, "data", flags, &data), "mdb_dbi_open data");
    Check(mdb_dbi_open(txn, "meta", flags, &meta), "mdb_dbi_open meta");
  }
  static void Put(MDB_txn* txn, MDB_dbi dbi, const std::string& key, const std::string& value) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    Check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put");
  }
};

// Both stores hold g_keys keys and the position g_keys, closed cleanly.
void Build() {
  static bool built = false;
  if (built) return;
  built = true;
  const auto fill = [](kv::Storage& store) {
    std::vector<kv::Mutation> batch;
    for (int64_t i = 0; i < g_keys; ++i) {
      batch.push_back(kv::Mutation{KeyName(i), Value(i), i});
      if (batch.size() == 10'000 || i + 1 == g_keys) {
        store.Apply(batch, i + 1);
        batch.clear();
      }
    }
  };
  {
    auto store = kv::rocksdb::OpenRocksDbStorage({.path = RocksDbDir().string()});
    if (!store) Die("rocksdb: " + store.error().ToString());
    fill(**store);
  }
  {
    auto store = kv::lmdb::OpenLmdbStorage({.path = LmdbStoreDir().string()});
    if (!store) Die("kv/lmdb: " + store.error().ToString());
    fill(**store);
  }
  fs::create_directories(LmdbDir());
  Lmdb db(LmdbDir());
  for (int64_t base = 0; base < g_keys; base += 10'000) {
    MDB_txn* txn = nullptr;
    Check(mdb_txn_begin(db.env, nullptr, 0, &txn), "mdb_txn_begin");
    db.OpenDbs(txn, MDB_CREATE);
    const int64_t to = std::min(g_keys, base + 10'000);
    for (int64_t i = base; i < to; ++i) Lmdb::Put(txn, db.data, KeyName(i), Value(i));
    Lmdb::Put(txn, db.meta, "position", std::to_string(to));
    Check(mdb_txn_commit(txn), "mdb_txn_commit");
  }
}


void BM_Open(benchmark::State& state) {
  Build();
  const bool lmdb = state.range(0) == 1;
  const bool lmdb_store = state.range(0) == 2;
  const bool write = state.range(1) == 1;
  for (auto _ : state) {
    const auto start = Clock::now();
    if (lmdb_store) {
      auto store = kv::lmdb::OpenLmdbStorage({.path = LmdbStoreDir().string(), .create_if_missing = false});
      if (!store) Die("kv/lmdb: " + store.error().ToString());
      auto durable = (*store)->Durable();
      if (!durable || durable->position < g_keys) Die("kv/lmdb: wrong position");
      if (write) {
        std::vector<kv::Mutation> one{kv::Mutation{KeyName(0), "again", durable->position}};
        (*store)->Apply(one, durable->position + 1);
      }
      state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
      // Closing (an fsync of what the write left unsynced) is not timed.
    } else if (!lmdb) {
      auto store = kv::rocksdb::OpenRocksDbStorage({.path = RocksDbDir().string(), .create_if_missing = false});
      if (!store) Die("rocksdb: " + store.error().ToString());
      auto durable = (*store)->Durable();
      if (!durable || durable->position < g_keys) Die("rocksdb: wrong position");
      if (write) {
        std::vector<kv::Mutation> one{kv::Mutation{KeyName(0), "again", durable->position}};
        (*store)->Apply(one, durable->position + 1);
      }
      state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
      // Closing (a flush of what the write left in the memtable) is not timed.
    } else {
      Lmdb db(LmdbDir());
      MDB_txn* txn = nullptr;
      Check(mdb_txn_begin(db.env, nullptr, write ? 0 : MDB_RDONLY, &txn), "mdb_txn_begin");
      db.OpenDbs(txn, 0);
      MDB_val k{8, const_cast<char*>("position")}, v{};
      Check(mdb_get(txn, db.meta, &k, &v), "mdb_get position");
      const int64_t position = std::atoll(std::string(static_cast<const char*>(v.mv_data), v.mv_size).c_str());
      if (position < g_keys) Die("lmdb: wrong position");
      if (write) {
        Lmdb::Put(txn, db.data, KeyName(0), "again");
        Lmdb::Put(txn, db.meta, "position", std::to_string(position + 1));
        Check(mdb_txn_commit(txn), "mdb_txn_commit");
      } else {
        mdb_txn_abort(txn);
      }
      state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
  state.SetLabel(fmt::format("{}{}", lmdb_store ? "kv/lmdb store" : lmdb ? "lmdb" : "rocksdb",
                             write ? ", then one synced-or-logged batch" : ""));
  state.counters["keys"] = static_cast<double>(g_keys);
}
BENCHMARK(BM_Open)->ArgsProduct({{0, 1, 2}, {0, 1}})->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kvlog

int main(int argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("--keys=")) {
      kvlog::g_keys = std::atoll(arg.c_str() + std::strlen("--keys="));
      if (kvlog::g_keys < 1) {
        fmt::print(stderr, "store_open_bench: {}: want a key count of at least 1\n", arg);
        return 2;
      }
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  benchmark::AddCustomContext("suite", "store_open");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(kvlog::Scratch());
  return 0;
}
