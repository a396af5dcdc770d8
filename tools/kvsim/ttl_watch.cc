#include "tools/kvsim/ttl_watch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/jsonl.h"
#include "checker/report.h"
#include "sim/live/ttl_watch.h"
#include "sim/ttl_watch_faults.h"
#include "sim/ttl_workload.h"
#include "sim/watch_workload.h"
#include "tools/cli/cli.h"

namespace kvlog::tools {

bool IsTtlWatchWorkload(const std::string& name) { return name == "ttl" || name == "watch"; }

const std::vector<std::string>& TtlWatchVariants(const std::string& workload) {
  static const std::vector<std::string> kWatch = {"correct", "watch-drop"};
  return workload == "ttl" ? sim::TtlVariants() : kWatch;
}

namespace {

// A live run's refusal as kvsim's exit code.
void Refused(const sim::live::LiveTtlWatchResult& r, TtlWatchRun& out) {
  out.refused_exit = r.kind == sim::live::LiveTtlWatchResult::Kind::kUsage ? cli::kExitUsage : cli::kExitEnvironment;
  out.refused = r.message;
}

}  // namespace

TtlWatchRun RunTtlWatchSeed(const TtlWatchOptions& o, uint64_t seed) {
  TtlWatchRun out;
  std::string where = "";  // Live: ", live on ..." for the account.
  if (o.workload == "ttl") {
    sim::TtlScenario s;
    s.seed = seed;
    s.variant = o.variant;
    if (o.clients >= 0) s.clients = o.clients;
    if (o.ops >= 0) s.ops_per_client = o.ops;
    if (o.keys >= 0) s.keys = o.keys;
    if (auto f = sim::ApplyTtlWatchFaults(o.faults, s.broker, s.slot_faults, s.clients); !f.empty()) {
      out.refused_exit = cli::kExitUsage;
      out.refused = f;
      return out;
    }
    sim::TtlRun run;
    if (o.live) {
      auto r = sim::live::RunTtlLive(s, o.live_options, run);
      out.warnings = r.warnings;
      if (r.kind != sim::live::LiveTtlWatchResult::Kind::kRan) {
        Refused(r, out);
        return out;
      }
      where = ", live on " + r.where;
    } else {
      run = sim::RunTtlScenario(s);
    }
    out.history = std::move(run.history);
    out.errors = std::move(run.errors);
    if (run.outcome.kind != sim::RunOutcome::Kind::kCompleted) out.errors.push_back("the simulation did not complete");
    out.ops = run.ops;
    out.virtual_seconds = std::chrono::duration<double>(run.outcome.virtual_end.time_since_epoch()).count();
    int64_t deadlines = 0, tombstones = 0;
    for (const auto& r : out.history.log) {
      deadlines += r.deadline.has_value();
      tombstones += r.f == "cas" && !r.value;
    }
    out.account = fmt::format(
        "{} clients {} {} us), {} operations, {} log records ({} with a deadline, {} janitor tombstones){}", s.clients,
        o.live ? "sharing one clock (the machine's bound" : "with skewed clocks (bound", run.skew_bound_ns / 1000,
        run.ops, out.history.log.size(), deadlines, tombstones, where);
  } else {
    sim::WatchWorkloadOptions w;
    w.seed = seed;
    w.variant = o.variant;
    if (o.clients >= 0) w.watchers = o.clients;
    if (o.ops >= 0) w.ops_per_writer = o.ops;
    if (o.keys >= 0) w.keys = o.keys;
    if (auto f = sim::ApplyTtlWatchFaults(o.faults, w.broker, w.slot_faults, w.writers + w.watchers); !f.empty()) {
      out.refused_exit = cli::kExitUsage;
      out.refused = f;
      return out;
    }
    sim::WatchRun run;
    if (o.live) {
      auto r = sim::live::RunWatchLive(w, o.live_options, run);
      out.warnings = r.warnings;
      if (r.kind != sim::live::LiveTtlWatchResult::Kind::kRan) {
        Refused(r, out);
        return out;
      }
      where = ", live on " + r.where;
    } else {
      run = sim::RunWatchWorkload(w);
    }
    out.history.source = run.history.source;
    out.history.watch = std::move(run.history);
    out.errors = std::move(run.errors);
    if (run.outcome.kind != sim::RunOutcome::Kind::kCompleted) out.errors.push_back("the simulation did not complete");
    out.ops = static_cast<int64_t>(w.writers) * w.ops_per_writer;
    out.virtual_seconds = std::chrono::duration<double>(run.outcome.virtual_end.time_since_epoch()).count();
    out.account = fmt::format(
        "{} writers, {} watchers, {} log changes, {} watch sessions, {} change events, {} fell behind and resumed, "
        "{} progress events{}{}",
        w.writers, w.watchers, out.history.watch->log.size(), out.history.watch->sessions.size(), run.change_events,
        run.fell_behind, run.progress,
        run.dropped > 0 ? fmt::format(", {} dropped by the consumer", run.dropped) : "", where);
  }
  return out;
}

int RunTtlWatch(const TtlWatchOptions& o) {
  const auto& variants = TtlWatchVariants(o.workload);
  if (std::find(variants.begin(), variants.end(), o.variant) == variants.end()) {
    std::string known;
    for (const auto& v : variants) known += (known.empty() ? "" : ", ") + v;
    fmt::print(stderr, "kvsim: --variant '{}' is not one of the {} workload's: {}\n", o.variant, o.workload, known);
    return cli::kExitUsage;
  }
  const bool sweep = o.last_seed != o.first_seed;
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint64_t> failing;
  std::optional<TtlWatchRun> kept;  // The history --out writes.
  std::optional<checker::FullReport> kept_report;
  uint64_t kept_seed = 0, runs = 0;
  int64_t ops = 0;
  double virtual_seconds = 0;
  bool files_ok = true;
  for (uint64_t seed = o.first_seed; seed <= o.last_seed && !cli::Interrupted(); ++seed) {
    TtlWatchRun run = RunTtlWatchSeed(o, seed);
    for (const auto& w : run.warnings) fmt::print(stderr, "kvsim: warning: {}\n", w);
    if (run.refused_exit != 0) {
      fmt::print(stderr, "kvsim: {}{}\n", o.live ? "--live: " : "", run.refused);
      return run.refused_exit;
    }
    ++runs;
    ops += run.ops;
    virtual_seconds += run.virtual_seconds;
    auto report = checker::CheckHistory(run.history, checker::Format::kJsonl, checker::CheckOptions{});
    const bool failed = !report || report->Overall() != checker::Verdict::kValid || !run.errors.empty();
    if (!sweep) {
      fmt::print("seed {}: {}\n{}: {}\n", seed, failed ? "FAIL" : "PASS", o.workload, run.account);
      if (report) {
        fmt::print("{}", checker::TextReport(*report));
      } else {
        fmt::print("the history could not be judged: {}\n", report.error().ToString());
      }
      for (const auto& e : run.errors) fmt::print("workload error: {}\n", e);
    }
    if (failed) failing.push_back(seed);
    // --out and --html: the seed's; in a sweep the first failing seed's (the
    // last seed's if none failed).
    const bool keep = !sweep || (failed && failing.size() == 1) || (failing.empty() && seed == o.last_seed);
    if (keep) {
      kept_seed = seed;
      kept_report = report ? std::optional<checker::FullReport>(std::move(*report)) : std::nullopt;
      kept = std::move(run);
    }
  }
  if (kept && !o.out_path.empty()) {
    if (auto w = cli::WriteFile(o.out_path, checker::WriteJsonl(kept->history)); !w) {
      fmt::print(stderr, "kvsim: {}\n", w.error());
      files_ok = false;
    } else if (sweep) {
      fmt::print("history of seed {} written to {}\n", kept_seed, o.out_path);
    }
  }
  if (kept_report && !o.html_path.empty()) {
    if (auto w = cli::WriteFile(o.html_path, checker::HtmlReport(*kept_report)); !w) {
      fmt::print(stderr, "kvsim: {}\n", w.error());
      files_ok = false;
    }
  }
  if (kept && !o.run_dir.empty()) {
    const std::string seed = std::to_string(kept_seed);
    const std::string replay = std::string("kvsim") + (o.live ? " --live" : "") + " --seed " + seed + o.replay_rest;
    std::string parameters = "command:" + std::string(o.live ? " kvsim --live" : " kvsim") + " --seed " + seed +
                             o.replay_rest + "\nseed: " + seed + "\nmode: " + (o.live ? "live" : "simulated") +
                             "\nworkload: " + o.workload + "\nvariant: " + o.variant + "\nfaults:";
    for (const auto& f : o.faults) parameters += " " + f;
    parameters += "\nrun: " + kept->account + "\n";
    std::vector<std::pair<std::string, std::string>> files = {
        {o.run_dir + "/parameters.txt", parameters},
        {o.run_dir + "/replay.sh", "#!/bin/sh\n# Replays this run" +
                                       std::string(o.live ? " (live: real time, not byte for byte)" : "") +
                                       ". kvsim is bazel-bin/tools/kvsim/kvsim.\nexec " + replay + " \"$@\"\n"}};
    if (kept_report) {
      files.emplace_back(o.text_path, checker::TextReport(*kept_report));
      files.emplace_back(o.json_path, checker::JsonReport(*kept_report));
    }
    for (const auto& [path, body] : files) {
      if (auto w = cli::WriteFile(path, body); !w) {
        fmt::print(stderr, "kvsim: {}\n", w.error());
        files_ok = false;
      }
    }
    if (files_ok) fmt::print("run folder: {}\n", o.run_dir);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t planned = o.last_seed - o.first_seed + 1;
  fmt::print("\n{:<26} {}..{}{}\n", "seeds", o.first_seed, o.last_seed,
             runs < planned ? fmt::format(" (INTERRUPTED after {} of {})", runs, planned) : "");
  fmt::print("{:<26} {}, variant {}\n", "workload", o.workload, o.variant);
  fmt::print("{:<26} {} passed, {} failed\n", "verdict", runs - failing.size(), failing.size());
  if (o.live) {
    fmt::print("{:<26} {}\n", "live operations", ops);
    fmt::print("{:<26} {:.3f} s wall (real time: not replayable byte for byte)\n", "time", wall);
  } else {
    fmt::print("{:<26} {}\n", "simulated operations", ops);
    fmt::print("{:<26} {:.3f} s virtual, {:.3f} s wall\n", "time", virtual_seconds, wall);
  }
  for (std::size_t i = 0; i < failing.size() && i < 20; ++i) {
    fmt::print("FAILED seed {0}: {1} with: kvsim{2} --seed {0}{3}\n", failing[i],
               o.live ? "run again (live: not the same history)" : "replay", o.live ? " --live" : "", o.replay_rest);
  }
  if (failing.size() > 20) fmt::print("... and {} more failing seeds\n", failing.size() - 20);
  if (runs < planned) return cli::kExitInterrupted;
  if (!failing.empty()) return cli::kExitFailed;
  return files_ok ? cli::kExitOk : cli::kExitEnvironment;
}

int RunTtlWatchCli(const CLI::App& app, int argc, char** argv, const std::string& workload, const std::string& variant,
                   int clients, int ops, int keys, const cli::SeedRange& range, const std::string& out_path,
                   const std::string& html_path, const std::vector<std::string>& faults, bool live,
                   const sim::live::LiveOptions& live_options, const std::string& run_dir) {
  for (const char* name : {"--mix", "--get-level", "--edn", "--nemesis", "--cluster-script", "--nemesis-cycle",
                           "--swarm", "--summary", "--shard", "--jobs"}) {
    if (app.count(name) > 0) return cli::UsageError(app, std::string(name) + " does not apply to --workload " + workload);
  }
  if (live && app.count("--faults") > 0) {
    return cli::UsageError(app, "--faults does not apply to --workload " + workload +
                                    " --live (its faults run on the simulator; live, the ttl workload's clients share "
                                    "this machine's clock)");
  }
  if (!live) {
    for (const char* name : {"--brokers", "--topic", "--keep-topic", "--replication-factor", "-X", "--topic-config",
                             "--allow-unsafe-acks", "--connect-timeout-ms"}) {
      if (app.count(name) > 0) return cli::UsageError(app, std::string(name) + " needs --live");
    }
  }
  if (live && range.first != range.last) {
    return cli::UsageError(app, "--live runs one seed (real time is not replayable); got " + range.ToString());
  }
  const auto& variants = TtlWatchVariants(workload);
  if (std::find(variants.begin(), variants.end(), variant) == variants.end()) {
    std::string known;
    for (const auto& v : variants) known += (known.empty() ? "" : ", ") + v;
    return cli::UsageError(app, "--variant '" + variant + "' is not one of the " + workload + " workload's: " + known);
  }
  if (!run_dir.empty() && range.first != range.last) {
    return cli::UsageError(app, "--run-dir takes one seed (got " + range.ToString() + ")");
  }
  TtlWatchOptions o;
  o.workload = workload;
  o.variant = variant;
  o.first_seed = range.first;
  o.last_seed = range.last;
  if (app.count("--clients") > 0) o.clients = clients;
  if (app.count("--ops") > 0) o.ops = ops;
  if (app.count("--keys") > 0) o.keys = keys;
  o.out_path = out_path;
  o.html_path = html_path;
  if (!run_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    if (ec) {
      fmt::print(stderr, "kvsim: cannot make the run folder {}: {}\n", run_dir, ec.message());
      return cli::kExitEnvironment;
    }
    o.run_dir = run_dir;
    if (o.out_path.empty()) o.out_path = run_dir + "/history.jsonl";
    if (o.html_path.empty()) o.html_path = run_dir + "/report.html";
    o.text_path = run_dir + "/report.txt";
    o.json_path = run_dir + "/report.json";
  }
  o.faults = faults;
  o.live = live;
  o.live_options = live_options;
  o.live_options.broker_nemesis = nullptr;  // No faults live for these workloads.
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seed" || a == "--seeds" || a == "--out" || a == "--html" || a == "--run-dir") {
      ++i;
      continue;
    }
    if (a.rfind("--seed", 0) == 0 || a.rfind("--out=", 0) == 0 || a.rfind("--html=", 0) == 0 ||
        a.rfind("--run-dir=", 0) == 0 || a == "--quiet" ||
        a == "--live") {
      continue;
    }
    o.replay_rest += " " + a;
  }
  return RunTtlWatch(o);
}

}  // namespace kvlog::tools
