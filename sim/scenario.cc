#include "sim/scenario.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "base/check.h"
#include "checker/jsonl.h"
#include "sim/fault_registry.h"
#include "sim/swarm.h"
#include "sim/variants.h"

namespace kvlog::sim {
std::vector<checker::NemesisEvent> PlannedNemesis(const Scenario& s) {
  std::vector<checker::NemesisEvent> out;
  for (const FaultSpec& f : Faults()) {
    if (f.plan) f.plan(s, out);
  }
  // In time order; at one time, in the registry's order.
  std::stable_sort(out.begin(), out.end(),
                   [](const checker::NemesisEvent& a, const checker::NemesisEvent& b) { return *a.time < *b.time; });
  return out;
}

const std::vector<FaultPreset>& FaultPresets() {
  static const auto* presets = [] {
    auto* out = new std::vector<FaultPreset>;
    for (const FaultSpec& f : Faults()) out->push_back({f.name, f.description, f.safe});
    return out;
  }();
  return *presets;
}

Status ApplyFaults(const std::vector<std::string>& names, Scenario& s) {
  for (const std::string& name : names) {
    if (name.empty()) continue;
    const FaultSpec* fault = FindFault(name);
    if (!fault) return MakeError(ErrorCode::kInvalidArgument, UnknownFaultMessage(name));
    if (fault->apply) fault->apply(s, nullptr);  // None: it runs only live.
    if (std::find(s.fault_names.begin(), s.fault_names.end(), fault->name) == s.fault_names.end()) {
      s.fault_names.push_back(fault->name);
    }
  }
  return OkStatus();
}

SimRun RunScenario(const Scenario& s) {
  if (s.swarm) {
    Scenario chosen = s;
    chosen.swarm.reset();
    auto choice = ApplySwarm(s.seed, *s.swarm, chosen);
    if (!choice) {
      SimRun failed;
      failed.workload.errors.push_back(fmt::format("swarm: {}", choice.error().ToString()));
      return failed;
    }
    SimRun run = RunScenario(chosen);
    run.parameters = std::move(choice->parameters);
    return run;
  }
  SimRun run;
  auto wrap = VariantWrapper(s.variant);
  if (!wrap) {
    run.workload.errors.push_back(wrap.error().ToString());
    return run;
  }
  WorkloadOptions options = s.workload;
  options.seed = s.seed;
  options.planned_nemesis = PlannedNemesis(s);
  std::shared_ptr<DurableDisks> disks;
  if (s.durable_storage && !options.storage) {
    disks = std::make_shared<DurableDisks>(s.seed, *s.durable_storage);
    options.storage = [disks](int slot, int restarts) { return disks->Open(slot, restarts); };
  }
  run.faults = FaultsOn(s);
  run.checks = s.checks;
  if (s.variant != "correct") run.faults.push_back(fmt::format("variant:{}", s.variant));

  std::ofstream stream;
  if (!s.stream_history_to.empty()) {
    stream.open(s.stream_history_to, std::ios::binary | std::ios::trunc);
    if (!stream) {
      run.workload.errors.push_back(fmt::format("cannot write the history to {}", s.stream_history_to));
      return run;
    }
    options.event_sink = [&stream](const checker::Event& e) { stream << checker::EventToJsonl(e) << '\n'; };
    options.nemesis_sink = [&stream](const checker::NemesisEvent& n) {
      stream << checker::NemesisToJsonl(n) << '\n';
    };
  }

  SimRuntime rt(s.seed, s.limits);
  // A check that fails anywhere in the run (client, broker, runtime) names how to repeat it.
  const std::string faults_named = fmt::format("{}", fmt::join(s.fault_names, ","));
  base::ScopedCheckContext replay(fmt::format(
      "simulation seed {} (faults: {}; variant: {}): replay with kvsim --seed {} and this run's other options", s.seed,
      faults_named.empty() ? "none" : faults_named, s.variant, s.seed));
  const auto wall_start = std::chrono::steady_clock::now();  // Reported only; never feeds the run.
  run.outcome = rt.Run([&] {
    log::sim::Broker broker(rt, s.broker, s.seed);
    ConnectFn connect = [&](int slot) {
      log::sim::ConnectionFaults faults;
      if (!s.slot_faults.empty()) faults = s.slot_faults[static_cast<std::size_t>(slot) % s.slot_faults.size()];
      for (const ClientPartition& p : s.client_partitions) {
        if (p.slot == slot) faults.partitions.push_back(p.window);
      }
      for (const SlotFaults& extra : s.client_faults) {
        if (extra.slot != slot) continue;
        const log::sim::ConnectionFaults& f = extra.faults;
        faults.reader_lag = std::max(faults.reader_lag, f.reader_lag);
        faults.delivery_delay_per_record = std::max(faults.delivery_delay_per_record, f.delivery_delay_per_record);
        faults.reader_pauses.insert(faults.reader_pauses.end(), f.reader_pauses.begin(), f.reader_pauses.end());
        faults.partitions.insert(faults.partitions.end(), f.partitions.begin(), f.partitions.end());
        faults.applier_stalls.insert(faults.applier_stalls.end(), f.applier_stalls.begin(), f.applier_stalls.end());
      }
      return broker.Connect(faults);
    };
    WorkloadResult result = RunWorkload(rt, options, connect, *wrap);
    run.history = std::move(result.history);
    LogRecordTranslator translator;
    broker.VisitLogAsWritten([&](const log::sim::StoredEntry& e) {
      if (!e.record) return;
      auto records = translator.Translate(e.offset, *e.record);
      if (!records) {
        result.errors.push_back(fmt::format("recording the log: {}", records.error().ToString()));
        return;
      }
      for (auto& r : *records) run.history.log.push_back(std::move(r));
    });
    run.history.has_log = true;
    run.history.source = fmt::format("kvsim seed {}", s.seed);
    run.stats = broker.stats();
    run.workload = std::move(result);
  });
  if (stream.is_open()) {
    stream << checker::JsonlTail(run.history);
    stream.close();
    if (stream.fail()) {
      run.workload.errors.push_back(fmt::format("cannot write the history to {}", s.stream_history_to));
    } else {
      run.history_file = s.stream_history_to;
      run.log_records = run.history.log.size();
      std::vector<checker::LogRecord>().swap(run.history.log);
    }
  }
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (disks) run.storage = disks->Describe();
  return run;
}

checker::FullReport Judge(const SimRun& run) {
  checker::CheckOptions options;
  options.checks = run.checks.empty() ? std::vector<std::string>{"session", "convergence", "durability"} : run.checks;
  options.allow_empty = true;  // a run that could not start reports its own errors
  checker::Result<checker::FullReport> report = checker::FullReport{};
  if (!run.history_file.empty()) {
    checker::ReadOptions read;
    read.pair_events = true;
    auto history = checker::ReadHistoryFile(run.history_file, checker::Format::kJsonl, read);
    report = history ? checker::CheckHistory(std::move(*history), checker::Format::kJsonl, options)
                     : std::unexpected(history.error());
  } else {
    report = checker::CheckHistory(run.history, checker::Format::kJsonl, options);
  }
  if (!report) {
    checker::FullReport failed;
    failed.source = run.history.source;
    checker::CheckReport r;
    r.checker = "history";
    r.verdict = checker::Verdict::kInvalid;
    r.summary = fmt::format("the recorded history could not be checked: {}", report.error().ToString());
    failed.reports.push_back(r);
    return failed;
  }
  return std::move(*report);
}

bool Passed(const SimRun& run, const checker::FullReport& report) {
  return run.outcome.kind == RunOutcome::Kind::kCompleted && run.workload.errors.empty() &&
         report.Overall() != checker::Verdict::kInvalid;
}

std::string Describe(const SimRun& run, const checker::FullReport& report) {
  std::ostringstream out;
  const char* outcome = run.outcome.kind == RunOutcome::Kind::kCompleted  ? "completed"
                        : run.outcome.kind == RunOutcome::Kind::kDeadlock ? "DEADLOCK"
                                                                          : "TIME LIMIT";
  out << "run " << outcome << " at " << (run.live ? "wall" : "virtual") << " "
      << std::chrono::duration_cast<std::chrono::milliseconds>(run.outcome.virtual_end.time_since_epoch()).count()
      << " ms; " << run.workload.ops_completed << " ops completed, " << run.workload.ops_unknown
      << " unknown; log " << std::max(run.log_records, run.history.log.size()) << " records; faults: ";
  if (run.faults.empty()) out << (run.external_faults_untracked ? "none injected by the harness" : "none");
  for (std::size_t i = 0; i < run.faults.size(); ++i) out << (i ? "," : "") << run.faults[i];
  if (run.external_faults_untracked) {
    out << (run.faults.empty() ? "" : " (injected by the harness)")
        << "; faults outside the harness (brokers killed, paused or partitioned) are not tracked";
  }
  out << "\n";
  const auto& st = run.stats;
  if (run.live) {
    out << "  " << run.workload.crashes << " client crashes\n";
  } else {
    out << "  broker: " << st.lost_acks << " lost acks, " << st.duplicates_committed << " duplicates, "
      << st.deduplicated_retries << " deduplicated retries, " << st.failed_appends << " failed appends, "
      << st.failovers << " failovers truncating " << st.truncated_records << " records, " << st.compacted_records
        << " compacted, " << st.corrupted_records << " corrupted; " << run.workload.crashes << " client crashes\n";
  }
  if (run.workload.async_writes > 0 || run.workload.writes_waited_at_limit > 0 ||
      run.workload.writes_refused_at_limit > 0) {
    out << fmt::format("  writes: {} async puts; at the in-flight limit {} waited, {} refused\n",
                       run.workload.async_writes, run.workload.writes_waited_at_limit,
                       run.workload.writes_refused_at_limit);
  }
  // Losses the clients saw (the safe outcome of an unsafe setting): without
  // this line a run whose lost writes all failed loudly looks like a quiet one.
  if (run.workload.data_loss > 0 || run.workload.reader_data_loss > 0) {
    out << fmt::format("  data loss: {} writes failed with DataLoss; readers reported it {} times\n",
                       run.workload.data_loss, run.workload.reader_data_loss);
  }
  if (!run.storage.empty()) out << "  storage: " << run.storage << "\n";
  if (!run.parameters.empty()) {
    out << "  swarm parameters:";
    for (const auto& p : run.parameters) out << " " << p;
    out << "\n";
  }
  for (const auto& blocked : run.outcome.blocked_tasks) out << "  blocked task: " << blocked << "\n";
  for (const auto& e : run.workload.errors) out << "  workload error: " << e << "\n";
  for (const auto& r : report.reports) {
    out << "  " << r.checker << ": " << checker::VerdictName(r.verdict) << " (" << r.summary << ")\n";
    for (std::size_t i = 0; i < r.violations.size() && i < 3; ++i) {
      out << "    " << r.violations[i].kind << ": " << r.violations[i].message << "\n";
    }
  }
  return out.str();
}

}  // namespace kvlog::sim
