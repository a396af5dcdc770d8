// kvsim: runs seeded simulations of kvlog clients against the faulty
// simulated log, checks every history, and names each failing seed with the
// command that replays it. --live runs the same workload on Kafka.
//
//   kvsim --seed 7 --faults latency,lost-ack,crash --out history.jsonl
//   kvsim --seeds 1..200 --faults outage,compaction
//   kvsim --seeds 1..50 --variant early-ack      # a broken client: expect failures
//   kvsim --seeds 1..100 --swarm --faults latency,outage,client-partition,crash
//                                                 # each seed picks faults, magnitudes, client knobs
//   kvsim --live --faults outage,crash            # embedded mock cluster
//   kvsim --live --mix put=15,get=40,del=5,cas=40 --get-level linearizable --out h.jsonl
//                                                 # the CAS register workload, live
//   kvsim --workload watch --seeds 1..20 --faults latency,outage   # ttl | watch with the registry's faults
//   kvsim --live --workload ttl --out ttl.jsonl  # ttl | watch live: the same checks
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "CLI/CLI.hpp"
#include "checker/edn.h"
#include "checker/jsonl.h"
#include "checker/report.h"
#include "sim/fault_registry.h"
#include "sim/scenario.h"
#include "sim/sweep.h"
#include "sim/variants.h"
#include "sim/workload_names.h"
#include "tools/cli/cli.h"
#include "tools/kvsim/live.h"
#include "tools/kvsim/broker_logs.h"
#include "tools/kvsim/ttl_watch.h"

namespace {

using namespace kvlog;

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Writes the history files of `run` (seed `seed`); false after printing why.
bool WriteHistoryFiles(const sim::SimRun& run, uint64_t seed, const std::string& out_path,
                       const std::string& edn_path, bool say_seed) {
  if (!out_path.empty()) {
    if (auto w = cli::WriteFile(out_path, checker::WriteJsonl(run.history)); !w) {
      fmt::print(stderr, "kvsim: {}\n", w.error());
      return false;
    }
    if (say_seed) fmt::print("history of seed {} written to {}\n", seed, out_path);
  }
  if (!edn_path.empty()) {
    auto edn = checker::WriteJepsenEdn(run.history);
    if (!edn) {
      fmt::print(stderr, "kvsim: cannot write EDN to {}: {}\n", edn_path, edn.error().ToString());
      return false;
    }
    if (auto w = cli::WriteFile(edn_path, *edn); !w) {
      fmt::print(stderr, "kvsim: {}\n", w.error());
      return false;
    }
    if (say_seed) fmt::print("EDN history of seed {} written to {}\n", seed, edn_path);
  }
  return true;
}

// "put=15,get=40,cas=40": the operation mix; kinds left out weigh 0.
kvlog::Result<sim::OperationMix> ParseMix(const std::string& text) {
  sim::OperationMix mix{.put = 0, .get = 0, .del = 0, .batch = 0, .range = 0, .cas = 0, .put_async = 0};
  const std::map<std::string, int*> kinds = {{"put", &mix.put},     {"get", &mix.get},     {"del", &mix.del},
                                             {"batch", &mix.batch}, {"range", &mix.range}, {"cas", &mix.cas},
                                             {"put_async", &mix.put_async}};
  int total = 0;
  for (const std::string& item : Split(text)) {
    auto pair = cli::ParseKeyValue(item);
    if (!pair) return MakeError(ErrorCode::kInvalidArgument, "--mix: " + pair.error());
    auto it = kinds.find(pair->first);
    if (it == kinds.end()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("--mix: unknown operation '{}'; the kinds are put, get, del, batch, range, cas, put_async",
                                   pair->first));
    }
    auto weight = cli::ParseInt(pair->second, 0, 1000);
    if (!weight) return MakeError(ErrorCode::kInvalidArgument, "--mix " + pair->first + ": " + weight.error());
    *it->second = static_cast<int>(*weight);
    total += static_cast<int>(*weight);
  }
  if (total == 0) return MakeError(ErrorCode::kInvalidArgument, "--mix: every weight is 0; give at least one kind");
  return mix;
}

// --get-level: local, linearizable or bounded:N (records).
kvlog::Result<kv::ReadLevel> ParseGetLevel(const std::string& text) {
  if (text == "local") return kv::ReadLevel::Local();
  if (text == "linearizable") return kv::ReadLevel::Linearizable();
  if (text.starts_with("bounded:")) {
    auto lag = cli::ParseInt(std::string_view(text).substr(8), 0, 1'000'000);
    if (lag) return kv::ReadLevel::Bounded(*lag);
    return MakeError(ErrorCode::kInvalidArgument, "--get-level " + text + ": the lag in records: " + lag.error());
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "--get-level '" + text + "': expected local, linearizable or bounded:N");
}

// kvsim --merge: the --summary files of shards or machines as one sweep.
int Merge(const std::vector<std::string>& paths) {
  std::map<uint64_t, sim::SeedSummary> seeds;
  for (const std::string& given : paths) {
    const std::string path = cli::ResolvePath(given);
    std::ifstream in(path);
    if (!in) {
      fmt::print(stderr, "kvsim --merge: cannot read {}\n", path);
      return cli::kExitUsage;
    }
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      auto s = sim::ParseSeedSummary(line);
      if (!s) {
        fmt::print(stderr, "kvsim --merge: {} line {}: {}\n", path, n, s.error().message());
        return cli::kExitUsage;
      }
      if (seeds.contains(s->seed)) {
        fmt::print(stderr, "kvsim --merge: {} line {}: seed {} is in two summaries (overlapping shards?)\n", path, n,
                   s->seed);
        return cli::kExitUsage;
      }
      seeds.emplace(s->seed, std::move(*s));
    }
  }
  std::size_t failed = 0;
  int64_t operations = 0;
  double virtual_seconds = 0, wall_seconds = 0;
  for (const auto& [seed, s] : seeds) {
    failed += s.passed ? 0 : 1;
    operations += s.operations;
    virtual_seconds += s.virtual_seconds;
    wall_seconds += s.wall_seconds;
  }
  fmt::print("{:<26} {} from {} file{}", "seeds", seeds.size(), paths.size(), paths.size() == 1 ? "" : "s");
  if (!seeds.empty()) {
    fmt::print(" ({}..{}{})", seeds.begin()->first, seeds.rbegin()->first,
               seeds.rbegin()->first - seeds.begin()->first + 1 == seeds.size() ? "" : ", with gaps");
  }
  fmt::print("\n{:<26} {} passed, {} failed\n", "verdict", seeds.size() - failed, failed);
  fmt::print("{:<26} {}\n", "simulated operations", operations);
  fmt::print("{:<26} {:.3f} s virtual, {:.3f} s wall\n", "time", virtual_seconds, wall_seconds);
  std::size_t shown = 0;
  for (const auto& [seed, s] : seeds) {
    if (s.passed) continue;
    if (++shown > 20) break;
    std::string kinds;
    for (const auto& v : s.violations) kinds += (kinds.empty() ? "" : ", ") + v;
    const std::string replay = s.replay.empty() ? fmt::format("kvsim --seed {}", seed) : s.replay;
    fmt::print("FAILED seed {} ({}): replay with: {}\n", seed, kinds.empty() ? s.verdict : kinds, replay);
  }
  if (failed > 20) fmt::print("... and {} more failing seeds\n", failed - 20);
  return failed > 0 ? cli::kExitFailed : cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvsim: deterministic simulation of kvlog clients over a faulty log, checked", "kvsim"};
  cli::Setup(app, {{cli::kExitFailed, "a check failed (on some seed of a sweep; the replay commands are printed)"},
                   {cli::kExitEnvironment, "--live: the run could not be made (brokers unreachable, topic not "
                                           "created, workload stopped with no violation found); an output file "
                                           "could not be written"},
                   {cli::kExitInterrupted, "interrupted (SIGINT): the seeds done so far are summarised"}});
  cli::SeedRange seed{1, 1};
  cli::SeedRange seeds{1, 1};
  sim::Scenario base;
  std::string faults_text;
  std::string out_path, edn_path, html_path;
  bool list_faults = false, quiet = false, live = false;
  tools::LiveOptions live_options;
  auto* seed_opt = cli::AddSeedRange(app, "--seed", seed, "one seed to run");
  seed_opt->type_name("N");
  auto* seeds_opt = cli::AddSeedRange(app, "--seeds", seeds, "a sweep: N or A..B inclusive");
  seed_opt->excludes(seeds_opt);
  cli::AddNumber(app, "--clients", base.workload.clients, "clients (replicas)", 1, 64);
  cli::AddNumber(app, "--ops", base.workload.ops_per_client, "operations per client", 1, 1'000'000);
  cli::AddNumber(app, "--keys", base.workload.keys, "size of the key space", 1, 1'000'000);
  cli::AddNumber(app, "--max-async-writes", base.workload.max_async_writes,
                 "--mix put_async: a process's async puts in flight at most", 1, 1'000'000);
  int max_writes_in_flight = 0;
  auto* in_flight_opt = cli::AddNumber(app, "--max-writes-in-flight", max_writes_in_flight,
                                       "each client's ClientOptions::max_writes_in_flight (0: no limit; default: "
                                       "the client's)",
                                       0, 100'000'000);
  int jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cli::AddNumber(app, "--jobs", jobs, "seeds run in parallel, one thread each (default: the cores); results as with 1",
                 1, 1024);
  std::string shard_text, summary_path;
  std::vector<std::string> merge_paths;
  app.add_option("--shard", shard_text,
                 "I/N: run only shard I (1..N) of the seeds: seed s where (s - first) % N == I - 1 (CI jobs, machines)");
  app.add_option("--summary", summary_path,
                 "write one JSON line per seed (verdict, figures, faults, swarm choices, replay command), by seed");
  app.add_option("--merge", merge_paths,
                 "merge --summary files (of shards or machines): totals, failing seeds and their replay commands; "
                 "exit 1 if any seed failed")
      ->expected(1, -1);
  std::string workload_name = "kv";
  app.add_option("--workload", workload_name,
                 "kv (the operation mix), counter (Update increments, reads at every level) or bank (transfers "
                 "as transactions, atomic reads of every account); ttl (puts with TTLs under clock skew, janitors; "
                 "--clients, --ops, --keys) or watch (watchers falling behind and resuming; --clients is the "
                 "watchers, --ops per writer)")
      ->check(CLI::IsMember([] {
        auto names = sim::WorkloadNames();
        for (const auto& n : sim::StandaloneWorkloadNames()) names.push_back(n);
        return names;
      }()));
  app.add_option("--faults", faults_text, "comma-separated faults (see --list-faults)");
  std::string mix_text, get_level_text = "local";
  app.add_option("--mix", mix_text,
                 "operation weights, e.g. put=15,get=40,del=5,cas=40 (a CAS register per key); kinds: put, get, del, "
                 "batch, range, cas, put_async (PutAsync: the process goes on, up to --max-async-writes in flight); "
                 "kinds left out weigh 0 (default: put=40,get=30,del=10,batch=10,range=10)");
  app.add_option("--get-level", get_level_text, "read level of every get: local, linearizable or bounded:N");
  std::string variants = "correct";
  for (const std::string& name : sim::BrokenVariantNames()) variants += ", " + name;
  variants += "; with --workload ttl: apply-time-expiry, clock-beyond-bound; with --workload watch: watch-drop";
  app.add_option("--variant", base.variant, "client variant: " + variants + " (all but correct are broken on purpose)");
  app.add_option("--out", out_path,
                 "write a history as JSONL: the seed's; in a sweep the first failing seed's (the last seed's if "
                 "none failed), the seed is printed");
  app.add_option("--edn", edn_path, "write the same history as --out, as Jepsen EDN");
  app.add_option("--html", html_path,
                 "write an HTML report: the seed's; in a sweep the first failing seed's (none if none failed)");
  bool swarm = false;
  app.add_flag("--swarm", swarm,
               "swarm testing: each seed picks which of --faults are on (none given: every safe fault), their "
               "magnitudes, windows and probabilities, and the client's knobs; the report prints the choices");
  std::string run_dir;
  app.add_option("--run-dir", run_dir,
                 "one seed (simulated or --live): write a run folder with parameters.txt, history.jsonl, "
                 "history.edn, report.txt, report.json, report.html and replay.sh (each unless given elsewhere); "
                 "with --brokers, the brokers' logs too (broker-logs/, from scripts/kafka-cluster's folder)");
  std::string storage_mode = "memory";
  app.add_option("--storage", storage_mode,
                 "the clients' stores: memory (a restarted client replays the whole log) or durable (each client "
                 "slot keeps a simulated disk that its crashes tear: unsynced writes lost, the last batch torn; a "
                 "restarted client resumes from what is left; see --sync-every)")
      ->check(CLI::IsMember({"memory", "durable"}));
  int sync_every = 3;
  auto* sync_every_opt = cli::AddNumber(app, "--sync-every", sync_every,
                                        "--storage durable: a store syncs after every N-th write (1: every write "
                                        "durable; 0: never synced)",
                                        0, 1000);
  app.add_flag("--list-faults", list_faults, "list the faults and exit");
  app.add_flag("--quiet", quiet, "no progress line (it is drawn only when stderr is a terminal)");
  app.add_flag("--live", live, "run the workload on Kafka with real threads (embedded mock cluster by default)");
  tools::AddLiveOptions(app, live_options);
  if (auto rc = cli::Parse(app, argc, argv)) return *rc;
  if (!merge_paths.empty()) return Merge(merge_paths);
  int shard = 1, shards = 1;
  if (!shard_text.empty()) {
    auto slash = shard_text.find('/');
    auto i = cli::ParseInt(shard_text.substr(0, slash), 1, 1'000'000);
    auto n = slash == std::string::npos ? i : cli::ParseInt(shard_text.substr(slash + 1), 1, 1'000'000);
    if (slash == std::string::npos || !i || !n || *i > *n) {
      return cli::UsageError(app, "--shard '" + shard_text + "': expected I/N with 1 <= I <= N (e.g. 2/4)");
    }
    shard = static_cast<int>(*i);
    shards = static_cast<int>(*n);
  }

  if (list_faults) {
    fmt::print("faults (where: sim = the simulated log, mock = --live on the embedded mock cluster, brokers = "
               "--live --brokers, broker faults by --nemesis or --faults on a cluster run by "
               "scripts/kafka-cluster):\n");
    for (const auto& f : sim::Faults()) {
      std::string text = f.description;
      if (!f.aliases.empty()) text += fmt::format(" [also: {}]", fmt::join(f.aliases, ", "));
      if (!f.related.empty()) text += fmt::format(" [related: {}]", fmt::join(f.related, ", "));
      fmt::print("  {:<26} {:<6} {:<20} {}\n", f.name, f.safe ? "safe" : "UNSAFE", sim::FaultSites(f), text);
    }
    fmt::print("client variants: correct");
    for (const auto& v : sim::BrokenVariantNames()) fmt::print(", {}", v);
    fmt::print("\n");
    return cli::kExitOk;
  }
  if (storage_mode == "durable") {
    if (live) return cli::UsageError(app, "--storage durable runs on the simulator only (not with --live)");
    if (tools::IsTtlWatchWorkload(workload_name)) {
      return cli::UsageError(app, "--storage durable runs the kv, counter and bank workloads (not " + workload_name + ")");
    }
    base.durable_storage = sim::DurableStorageOptions{.sync_every = sync_every};
  } else if (sync_every_opt->count() > 0) {
    return cli::UsageError(app, "--sync-every needs --storage durable");
  }
  if (tools::IsTtlWatchWorkload(workload_name)) {  // Not a Scenario workload: its own runs and checks.
    if (seed_opt->count() > 0 && !seed.single()) {
      return cli::UsageError(app, "--seed takes one seed (got " + seed.ToString() + "); use --seeds for a range");
    }
    return tools::RunTtlWatchCli(app, argc, argv, workload_name, base.variant, base.workload.clients,
                                 base.workload.ops_per_client, base.workload.keys,
                                 seeds_opt->count() > 0 ? seeds : seed, cli::ResolvePath(out_path),
                                 cli::ResolvePath(html_path), Split(faults_text), live, live_options,
                                 run_dir.empty() ? "" : cli::ResolvePath(run_dir));
  }
  if (auto s = sim::UseWorkload(workload_name, base); !s) return cli::UsageError(app, s.error().message());
  if (swarm) {
    if (live) return cli::UsageError(app, "--swarm runs on the simulator only (a live run's faults keep their schedule)");
    sim::Scenario scratch;  // Checks and canonicalises the names.
    const auto requested = faults_text.empty() ? sim::SafeFaultNames() : Split(faults_text);
    if (auto s = sim::ApplyFaults(requested, scratch); !s) return cli::UsageError(app, s.error().message());
    base.swarm = scratch.fault_names;
  } else if (auto s = sim::ApplyFaults(Split(faults_text), base); !s) {
    return cli::UsageError(app, s.error().message());
  }
  if (!live) {
    for (const auto& name : base.fault_names) {
      const sim::FaultSpec* f = sim::FindFault(name);
      if (f && !f->apply) return cli::UsageError(app, "fault '" + name + "' runs only live (" + sim::FaultSites(*f) + ")");
    }
  }
  if (!mix_text.empty()) {
    auto mix = ParseMix(mix_text);
    if (!mix) return cli::UsageError(app, mix.error().message());
    base.workload.mix = *mix;
  }
  if (in_flight_opt->count() > 0) base.workload.max_writes_in_flight = static_cast<std::size_t>(max_writes_in_flight);
  auto get_level = ParseGetLevel(get_level_text);
  if (!get_level) return cli::UsageError(app, get_level.error().message());
  base.workload.get_level = *get_level;
  if (auto v = sim::VariantWrapper(base.variant); !v) return cli::UsageError(app, v.error().message());
  if (seed_opt->count() > 0 && !seed.single()) {
    return cli::UsageError(app, "--seed takes one seed (got " + seed.ToString() + "); use --seeds for a range");
  }
  const cli::SeedRange range = seeds_opt->count() > 0 ? seeds : seed;
  std::string text_path, json_path;
  if (!run_dir.empty()) {
    if (!range.single()) return cli::UsageError(app, "--run-dir takes one seed (got " + range.ToString() + ")");
    run_dir = cli::ResolvePath(run_dir);
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    if (ec) {
      fmt::print(stderr, "kvsim: cannot make the run folder {}: {}\n", run_dir, ec.message());
      return cli::kExitEnvironment;
    }
    if (out_path.empty()) out_path = run_dir + "/history.jsonl";
    if (edn_path.empty()) edn_path = run_dir + "/history.edn";
    if (html_path.empty()) html_path = run_dir + "/report.html";
    text_path = run_dir + "/report.txt";
    json_path = run_dir + "/report.json";
  }
  out_path = cli::ResolvePath(out_path);
  edn_path = cli::ResolvePath(edn_path);
  html_path = cli::ResolvePath(html_path);
  // The run folder's parameters and replay command (swarm choices: known after the run).
  auto write_run_dir = [&](uint64_t the_seed, const std::vector<std::string>& parameters) {
    if (run_dir.empty()) return true;
    std::string command = "kvsim";
    for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
    std::string replay = fmt::format("kvsim{} --seed {}", live ? " --live" : "", the_seed);
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--seed" || a == "--run-dir" || a == "--out" || a == "--edn" || a == "--html") {
        ++i;
        continue;
      }
      if (a == "--live" || a.rfind("--seed=", 0) == 0 || a.rfind("--run-dir=", 0) == 0) continue;
      replay += " " + a;
    }
    if (base.swarm && faults_text.empty()) {  // The safe list as it is today, named.
      std::string names;
      for (const auto& f : *base.swarm) names += (names.empty() ? "" : ",") + f;
      if (!names.empty()) replay += " --faults " + names;
    }
    std::string text = fmt::format(
        "command: {}\nseed: {}\nmode: {}\nworkload: {}\nclients: {}\nops_per_client: {}\nkeys: {}\nvariant: {}"
        "\nstorage: {}{}\nfaults:",
        command, the_seed, live ? "live" : "simulated", workload_name, base.workload.clients,
        base.workload.ops_per_client, base.workload.keys, base.variant, storage_mode,
        base.durable_storage ? fmt::format(" (sync every {})", sync_every) : "");
    for (const auto& f : base.swarm ? *base.swarm : base.fault_names) text += " " + f;
    if (base.swarm) text += " (swarm)";
    text += "\n";
    for (const auto& p : parameters) text += "parameter: " + p + "\n";
    bool ok = true;
    for (const auto& [name, body] : {std::pair<std::string, std::string>{"parameters.txt", text},
                                     {"replay.sh", "#!/bin/sh\n# Replays this run" +
                                                       std::string(live ? " (live: real time, not byte for byte)" : "") +
                                                       ". kvsim is bazel-bin/tools/kvsim/kvsim.\nexec " + replay + " \"$@\"\n"}}) {
      if (auto w = cli::WriteFile(run_dir + "/" + name, body); !w) {
        fmt::print(stderr, "kvsim: {}\n", w.error());
        ok = false;
      }
    }
    if (ok) fmt::print("run folder: {}\n", run_dir);
    return ok;
  };

  if (live) {
    if (!range.single()) {
      return cli::UsageError(app, "--live runs one seed (real time is not replayable); got " + range.ToString());
    }
    base.seed = range.first;
    live_options.out_path = out_path;
    live_options.edn_path = edn_path;
    live_options.html_path = html_path;
    live_options.text_path = text_path;
    live_options.json_path = json_path;
    const bool dir_ok = write_run_dir(range.first, {});
    const int code = tools::RunLive(base, live_options);
    if (!run_dir.empty() && !live_options.brokers.empty()) {  // Not on the mock: it has no logs of its own.
      auto logs = tools::CollectBrokerLogs(tools::KafkaClusterStateDir(), run_dir);
      if (logs) {
        fmt::print("broker logs: {} files in {}/broker-logs\n", logs->size() - 1, run_dir);
      } else {
        fmt::print(stderr, "kvsim: the broker logs are not in the run folder: {}\n", logs.error());
      }
    }
    return code == cli::kExitOk && !dir_ok ? cli::kExitEnvironment : code;
  }
  for (const char* name : {"--brokers", "--topic", "--keep-topic", "--replication-factor", "-X", "--topic-config",
                           "--allow-unsafe-acks", "--connect-timeout-ms", "--nemesis"}) {
    if (app.count(name) > 0) return cli::UsageError(app, std::string(name) + " needs --live");
  }

  std::string fault_list;  // The registry's names of the faults asked for.
  for (const auto& name : base.swarm ? *base.swarm : base.fault_names) {
    fault_list += (fault_list.empty() ? "" : ",") + name;
  }
  // Everything but the seed and output options, for replay commands.
  std::string replay_rest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seed" || a == "--seeds" || a == "--out" || a == "--edn" || a == "--html" || a == "--jobs" ||
        a == "--shard" || a == "--summary" || a == "--run-dir") {
      ++i;
      continue;
    }
    if (a.rfind("--seed", 0) == 0 || a.rfind("--out=", 0) == 0 || a.rfind("--edn=", 0) == 0 ||
        a.rfind("--html=", 0) == 0 || a == "--quiet" || a.rfind("--jobs=", 0) == 0 || a.rfind("--shard=", 0) == 0 ||
        a.rfind("--summary=", 0) == 0 || a.rfind("--run-dir=", 0) == 0) {
      continue;
    }
    if (a == "--faults" || a.rfind("--faults=", 0) == 0) {  // By the registry's names.
      if (a == "--faults") ++i;
      if (!fault_list.empty()) replay_rest += " --faults " + fault_list;
      continue;
    }
    replay_rest += " " + a;
  }
  if (base.swarm && faults_text.empty() && !fault_list.empty()) replay_rest += " --faults " + fault_list;

  const bool sweep = !range.single();
  // One seed with --out (and no --edn, which needs the events): the history
  // goes to the file as it is recorded and is checked from there, so a long
  // run never holds its events in memory.
  const bool streamed = !sweep && !out_path.empty() && edn_path.empty();
  if (streamed) {
    // The run writes the file as it goes: find out now if it cannot.
    if (auto w = cli::WriteFile(out_path, ""); !w) {
      fmt::print(stderr, "kvsim: {}\n", w.error());
      return cli::kExitEnvironment;
    }
    base.stream_history_to = out_path;
  }
  bool files_ok_early = true;
  cli::Progress bar(sweep && !quiet);
  sim::SweepProgress progress;
  if (bar.active()) {
    progress = [&bar](uint64_t done, uint64_t total, std::size_t failing) {
      const int width = 40;
      const int filled = static_cast<int>(width * done / std::max<uint64_t>(total, 1));
      bar.Update(fmt::format("[{}{}] {}/{} seeds, {} failing", std::string(filled, '#'),
                             std::string(width - filled, '.'), done, total, failing));
    };
  }
  cli::InstallInterruptHandler();
  std::vector<sim::SeedSummary> summaries;
  sim::SweepOptions sweep_options{.jobs = jobs, .shard = shard, .shards = shards};
  if (!summary_path.empty()) {
    summary_path = cli::ResolvePath(summary_path);
    sweep_options.on_seed = [&](const sim::SeedSummary& s) {
      summaries.push_back(s);
      summaries.back().replay = fmt::format("kvsim --seed {}{}", s.seed, replay_rest);
    };
  }
  sim::SweepResult result =
      sim::Sweep(base, range.first, range.last, sweep_options, progress, [] { return cli::Interrupted(); });
  if (!summary_path.empty()) {
    std::sort(summaries.begin(), summaries.end(),
              [](const sim::SeedSummary& a, const sim::SeedSummary& b) { return a.seed < b.seed; });
    std::string text;
    for (const auto& s : summaries) text += sim::SeedSummaryToJson(s) + "\n";
    if (auto w = cli::WriteFile(summary_path, text); !w) {
      fmt::print(stderr, "kvsim: {}\n", w.error());
      files_ok_early = false;
    }
  }
  bar.Finish();
  const bool interrupted = result.stopped || cli::Interrupted();
  bool files_ok = files_ok_early;
  if (!sweep) {
    const sim::SimRun& run = result.last_run;
    const checker::FullReport& report = result.last_report;  // Judged once, by the sweep.
    fmt::print("seed {}: {}\n{}", range.first, result.failing_seeds.empty() ? "PASS" : "FAIL",
               sim::Describe(run, report));
    if (!html_path.empty()) {
      if (auto w = cli::WriteFile(html_path, checker::HtmlReport(report)); !w) {
        fmt::print(stderr, "kvsim: {}\n", w.error());
        files_ok = false;
      }
    }
    files_ok = WriteHistoryFiles(run, range.first, streamed ? "" : out_path, edn_path, false) && files_ok;
    for (const auto& [path, body] : {std::pair<std::string, std::string>{text_path, ""}, {json_path, ""}}) {
      if (path.empty()) continue;
      const std::string text = path == text_path ? checker::TextReport(report) : checker::JsonReport(report);
      if (auto w = cli::WriteFile(path, text); !w) {
        fmt::print(stderr, "kvsim: {}\n", w.error());
        files_ok = false;
      }
    }
    files_ok = write_run_dir(range.first, run.parameters) && files_ok;
  } else {
    if (!html_path.empty()) {
      if (result.first_failure) {
        if (auto w = cli::WriteFile(html_path, checker::HtmlReport(*result.first_failure)); !w) {
          fmt::print(stderr, "kvsim: {}\n", w.error());
          files_ok = false;
        } else {
          fmt::print("report of seed {} written to {}\n", result.failing_seeds.front(), html_path);
        }
      } else {
        fmt::print("no seed failed: no HTML report written\n");
      }
    }
    if (result.first_failing_run) {
      files_ok = WriteHistoryFiles(*result.first_failing_run, result.failing_seeds.front(), out_path, edn_path,
                                   true) && files_ok;
    } else if (result.runs > 0 && !result.stopped) {
      files_ok = WriteHistoryFiles(result.last_run, result.last_seed, out_path, edn_path, true) && files_ok;
    } else if (!out_path.empty() || !edn_path.empty()) {
      fmt::print("interrupted before any seed failed: no history written\n");
    }
  }

  const std::string shown = shards > 1 ? fmt::format("{} shard {}/{} ({} seeds)", range.ToString(), shard, shards,
                                                     result.runs)
                                       : range.ToString();
  fmt::print("\n{:<26} {}{}\n", "seeds", shown,
             interrupted ? fmt::format(" (INTERRUPTED after {} of {}, at seed {})", result.runs, range.count(),
                                       result.last_seed)
                         : "");
  fmt::print("{:<26} {}{}\n", "faults", fault_list.empty() ? "none" : fault_list,
             base.swarm ? " (swarm: each seed picks some, and their magnitudes)" : "");
  if (base.durable_storage) {
    fmt::print("{:<26} durable, synced every {} write{} (a crash loses unsynced writes or tears the last)\n",
               "storage", base.durable_storage->sync_every, base.durable_storage->sync_every == 1 ? "" : "s");
  }
  fmt::print("{:<26} {} passed, {} failed\n", "verdict", result.runs - result.failing_seeds.size(),
             result.failing_seeds.size());
  fmt::print("{:<26} {}\n", "simulated operations", result.operations);
  fmt::print("{:<26} {:.3f} s virtual, {:.3f} s wall ({:.3f} s elapsed on {} job{})\n", "time", result.virtual_seconds,
             result.wall_seconds, result.elapsed_seconds, result.jobs, result.jobs == 1 ? "" : "s");
  fmt::print("{:<26} {:.0f}x\n", "virtual / wall", result.VirtualPerWall());
  fmt::print("{:<26} {:.0f} per job, {:.0f} in all\n", "simulated ops per second", result.OperationsPerSecond(),
             result.elapsed_seconds > 0 ? result.operations / result.elapsed_seconds : 0);
  for (std::size_t i = 0; i < result.failing_seeds.size() && i < 20; ++i) {
    fmt::print("FAILED seed {0}: replay with: kvsim --seed {0}{1}\n", result.failing_seeds[i], replay_rest);
  }
  if (result.failing_seeds.size() > 20) {
    fmt::print("... and {} more failing seeds\n", result.failing_seeds.size() - 20);
  }
  if (interrupted) return cli::kExitInterrupted;
  if (!result.failing_seeds.empty()) return cli::kExitFailed;
  return files_ok ? cli::kExitOk : cli::kExitEnvironment;
}
