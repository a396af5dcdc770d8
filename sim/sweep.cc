#include "sim/sweep.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "checker/jsonl.h"

namespace kvlog::sim {
namespace {

SeedSummary Summarise(uint64_t seed, const SimRun& run, const checker::FullReport& report, bool passed,
                      bool digest) {
  SeedSummary out;
  out.seed = seed;
  out.passed = passed;
  out.verdict = std::string(checker::VerdictName(report.Overall()));
  out.outcome = run.outcome.kind == RunOutcome::Kind::kCompleted  ? "completed"
                : run.outcome.kind == RunOutcome::Kind::kDeadlock ? "deadlock"
                                                                  : "time-limit";
  out.operations = run.workload.ops_completed + run.workload.ops_unknown;
  out.virtual_seconds = std::chrono::duration<double>(run.outcome.virtual_end.time_since_epoch()).count();
  out.wall_seconds = run.wall_seconds;
  out.faults = run.faults;
  out.parameters = run.parameters;
  for (const auto& r : report.reports) {
    for (const auto& v : r.violations) {
      if (std::find(out.violations.begin(), out.violations.end(), v.kind) == out.violations.end()) {
        out.violations.push_back(v.kind);
      }
    }
  }
  for (const auto& e : run.workload.errors) out.violations.push_back("workload-error: " + e);
  if (digest) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : checker::WriteJsonl(run.history)) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    out.history_digest = h;
  }
  return out;
}

}  // namespace

std::string SeedSummaryToJson(const SeedSummary& s) {
  nlohmann::ordered_json j;
  j["seed"] = s.seed;
  j["passed"] = s.passed;
  j["verdict"] = s.verdict;
  j["outcome"] = s.outcome;
  j["operations"] = s.operations;
  j["virtual_seconds"] = s.virtual_seconds;
  j["wall_seconds"] = s.wall_seconds;
  j["faults"] = s.faults;
  if (!s.parameters.empty()) j["parameters"] = s.parameters;
  if (!s.violations.empty()) j["violations"] = s.violations;
  if (!s.replay.empty()) j["replay"] = s.replay;
  if (s.history_digest != 0) j["history_digest"] = s.history_digest;
  return j.dump();
}

Result<SeedSummary> ParseSeedSummary(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "not a JSON object: " + std::string(line.substr(0, 80)));
  }
  SeedSummary s;
  try {
    if (!j.contains("seed") || !j["seed"].is_number_unsigned()) {
      return MakeError(ErrorCode::kInvalidArgument, "no \"seed\" (an unsigned integer)");
    }
    if (!j.contains("passed") || !j["passed"].is_boolean()) {
      return MakeError(ErrorCode::kInvalidArgument, "no \"passed\" (true or false)");
    }
    s.seed = j["seed"].get<uint64_t>();
    s.passed = j["passed"].get<bool>();
    s.verdict = j.value("verdict", "");
    s.outcome = j.value("outcome", "");
    s.operations = j.value("operations", int64_t{0});
    s.virtual_seconds = j.value("virtual_seconds", 0.0);
    s.wall_seconds = j.value("wall_seconds", 0.0);
    s.faults = j.value("faults", std::vector<std::string>{});
    s.parameters = j.value("parameters", std::vector<std::string>{});
    s.violations = j.value("violations", std::vector<std::string>{});
    s.replay = j.value("replay", "");
    s.history_digest = j.value("history_digest", uint64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("a field has the wrong type: ") + e.what());
  }
  return s;
}

SweepResult Sweep(const Scenario& base, uint64_t first, uint64_t last, const SweepProgress& progress,
                  const SweepStop& stop) {
  return Sweep(base, first, last, SweepOptions{}, progress, stop);
}

SweepResult Sweep(const Scenario& base, uint64_t first, uint64_t last, const SweepOptions& options,
                  const SweepProgress& progress, const SweepStop& stop) {
  SweepResult result;
  result.jobs = std::max(1, options.jobs);
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds;
  const uint64_t shards = static_cast<uint64_t>(std::max(1, options.shards));
  const uint64_t shard = static_cast<uint64_t>(std::clamp(options.shard, 1, options.shards < 1 ? 1 : options.shards)) - 1;
  for (uint64_t seed = first; seed <= last && seed >= first; ++seed) {
    if ((seed - first) % shards == shard) seeds.push_back(seed);
    if (seed == last) break;
  }
  const uint64_t total = seeds.size();

  std::mutex mu;  // Guards result and the callbacks.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stopped{false};
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= seeds.size()) return;
      if (i != 0 && stop) {
        bool halt;
        {
          std::lock_guard lock(mu);
          halt = stopped.load() || stop();
        }
        if (halt) {
          stopped.store(true);
          return;
        }
      }
      const uint64_t seed = seeds[i];
      Scenario scenario = base;
      scenario.seed = seed;
      SimRun run = RunScenario(scenario);
      checker::FullReport report = Judge(run);
      const bool passed = Passed(run, report);
      SeedSummary summary = Summarise(seed, run, report, passed, options.digest_histories);
      std::lock_guard lock(mu);
      ++result.runs;
      result.wall_seconds += run.wall_seconds;
      result.virtual_seconds += summary.virtual_seconds;
      result.operations += summary.operations;
      result.last_seed = std::max(result.last_seed, seed);
      if (!passed) {
        if (!result.first_failing_run || seed < result.failing_seeds.front()) {
          result.failing_seeds.insert(result.failing_seeds.begin(), seed);  // Sorted below.
          if (i + 1 == seeds.size()) {
            result.first_failure = report;
            result.first_failing_run = run;
          } else {
            result.first_failure = std::move(report);
            result.first_failing_run = std::move(run);
          }
        } else {
          result.failing_seeds.push_back(seed);
        }
      }
      if (options.on_seed) options.on_seed(summary);
      if (progress) {
        std::size_t failing = result.failing_seeds.size();
        progress(result.runs, total, failing);
      }
      if (i + 1 == seeds.size()) {  // Copied, not moved, into first_failing_run above.
        result.last_run = std::move(run);
        result.last_report = std::move(report);
      }
    }
  };
  const int jobs = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(result.jobs), std::max<uint64_t>(total, 1)));
  if (jobs <= 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }
  std::sort(result.failing_seeds.begin(), result.failing_seeds.end());
  result.stopped = stopped.load();
  result.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace kvlog::sim
