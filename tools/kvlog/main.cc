// The main job: runs clients over the in-process log and shows what the store
// promises. Several clients write from their own threads; each reads its own
// writes at once; at the end every client holds the same state.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "kv/client.h"
#include "kv/memory_storage.h"
#include "log/sim/broker.h"

namespace {

struct Totals {
  std::atomic<int> writes{0};
  std::atomic<int> own_write_misses{0};
  std::atomic<int> errors{0};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvlog main job: clients over the in-process log"};
  int clients = 3;
  int ops = 2000;
  app.add_option("--clients", clients, "clients, each on its own thread")->check(CLI::Range(1, 64));
  app.add_option("--ops", ops, "puts per client")->check(CLI::Range(1, 1'000'000));
  CLI11_PARSE(app, argc, argv);

  using namespace kvlog;
  log::sim::Broker broker;
  std::vector<std::unique_ptr<kv::Client>> replicas;
  for (int i = 0; i < clients; ++i) {
    kv::ClientOptions options;
    options.client_id = "replica-" + std::to_string(i);
    auto client = kv::Client::Open(broker.Connect(), kv::NewMemoryStorage(), options);
    if (!client) {
      std::fprintf(stderr, "kvlog: opening %s failed: %s\n", options.client_id.c_str(),
                   client.error().ToString().c_str());
      return 3;
    }
    replicas.push_back(std::move(*client));
  }

  Totals totals;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      kv::Client& c = *replicas[i];
      for (int n = 0; n < ops; ++n) {
        // Each client owns its keys, so the value it reads back must be its own.
        std::string key = c.id() + "/key/" + std::to_string(n % 100);
        std::string value = c.id() + "#" + std::to_string(n);
        auto put = (n % 10 == 9) ? c.Delete(key) : c.Put(key, value);
        if (!put) {
          ++totals.errors;
          continue;
        }
        ++totals.writes;
        auto got = c.Get(key);
        bool expected_missing = n % 10 == 9;
        bool ok = expected_missing ? (!got && got.error().code() == ErrorCode::kNotFound) : (got && *got == value);
        if (!ok) ++totals.own_write_misses;
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  bool converged = true;
  for (auto& r : replicas) {
    if (auto s = r->Sync(); !s) {
      std::fprintf(stderr, "kvlog: sync of %s failed: %s\n", r->id().c_str(), s.error().ToString().c_str());
      return 3;
    }
  }
  auto reference = *replicas[0]->Range(kv::KeyConstraint{});
  for (auto& r : replicas) converged = converged && *r->Range(kv::KeyConstraint{}) == reference;

  std::printf("kvlog main job: %d clients over the in-process log (log/sim)\n", clients);
  std::printf("  writes acknowledged      %d (%d errors) in %.3f s, %.0f writes/s\n", totals.writes.load(),
              totals.errors.load(), seconds, totals.writes.load() / seconds);
  std::printf("  log end offset           %lld\n", static_cast<long long>(broker.end_offset()));
  std::printf("  read-your-own-writes     %s (%d misses)\n", totals.own_write_misses == 0 ? "held" : "VIOLATED",
              totals.own_write_misses.load());
  std::printf("  convergence              %s (%zu keys on every replica)\n", converged ? "held" : "VIOLATED",
              reference.size());
  for (auto& r : replicas) {
    std::printf("  %-24s applied position %lld\n", r->id().c_str(), static_cast<long long>(r->AppliedPosition()));
  }
  bool ok = totals.errors == 0 && totals.own_write_misses == 0 && converged;
  return ok ? 0 : 1;
}
