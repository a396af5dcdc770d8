#include "sim/scenario.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "checker/jsonl.h"
#include "sim/variants.h"

namespace kvlog::sim {
namespace {

using namespace std::chrono_literals;
using log::sim::Window;

}  // namespace

std::vector<checker::NemesisEvent> PlannedNemesis(const Scenario& s) {
  std::vector<checker::NemesisEvent> out;
  auto add = [&](log::sim::Duration at, std::string f, std::string value) {
    checker::NemesisEvent n;
    n.f = std::move(f);
    n.value = std::move(value);
    n.time = at.count();
    out.push_back(std::move(n));
  };
  for (const Window& w : s.broker.outages) {
    add(w.start, "start-outage", "broker unreachable");
    add(w.start + w.length, "stop-outage", "broker unreachable");
  }
  for (log::sim::Duration at : s.broker.failovers) {
    add(at, "failover",
        s.broker.unclean_election               ? "unclean leader election"
        : s.broker.acks == log::sim::Acks::kLeader ? "leader failover, acks=1"
                                                   : "leader failover");
  }
  if (!s.slot_faults.empty()) {
    for (int slot = 0; slot < s.workload.clients; ++slot) {
      const auto& faults = s.slot_faults[static_cast<std::size_t>(slot) % s.slot_faults.size()];
      for (const Window& w : faults.reader_pauses) {
        add(w.start, "pause-reader-" + std::to_string(slot), "client slot " + std::to_string(slot) + "'s reader");
        add(w.start + w.length, "resume-reader-" + std::to_string(slot),
            "client slot " + std::to_string(slot) + "'s reader");
      }
    }
  }
  // In time order; at one time, in the order added (a window's end before a
  // later one's start only when their times say so).
  std::stable_sort(out.begin(), out.end(),
                   [](const checker::NemesisEvent& a, const checker::NemesisEvent& b) { return *a.time < *b.time; });
  return out;
}

const std::vector<FaultPreset>& FaultPresets() {
  static const auto* presets = new std::vector<FaultPreset>{
      {"latency", "append latency 2 ms plus up to 3 ms jitter", true},
      {"lagging-reader", "odd client slots see records 20 ms late", true},
      {"paused-reader", "client slot 1's reader returns nothing from 100 to 400 ms", true},
      {"lost-ack", "10% of appends commit but lose their ack; the idempotent producer retries", true},
      {"lost-ack-no-idempotence", "as lost-ack, with idempotence off: retries commit duplicates", false},
      {"failed-append", "5% of appends fail without committing", true},
      {"outage", "the broker is unreachable from 200 to 500 ms", true},
      {"failover", "acks=all, 5 ms replication, leader failovers at 300 and 700 ms", true},
      {"failover-acks1", "acks=1, 5 ms replication, failovers truncate the unreplicated tail", false},
      {"unclean-failover", "unclean leader election: failovers lose up to 3 replicated records", false},
      {"compaction", "compaction every 100 ms of records older than 1 s, tombstones kept 200 ms", true},
      {"compaction-without-lag", "compaction every 100 ms with min.compaction.lag 0 (Kafka's default); shows with lagging-reader", false},
      {"corrupt", "2% of records are stored damaged; every replica skips them", true},
      {"crash", "two client crash-and-restart events in the first second", true},
  };
  return *presets;
}

Status ApplyFaults(const std::vector<std::string>& names, Scenario& s) {
  auto slot_faults = [&](std::size_t n) -> std::vector<log::sim::ConnectionFaults>& {
    if (s.slot_faults.size() < n) s.slot_faults.resize(n);
    return s.slot_faults;
  };
  for (const std::string& name : names) {
    if (name.empty()) continue;
    auto& b = s.broker;
    if (name == "latency") {
      b.append_latency = 2ms;
      b.append_jitter = 3ms;
    } else if (name == "lagging-reader") {
      slot_faults(2)[1].reader_lag = 20ms;
    } else if (name == "paused-reader") {
      slot_faults(2)[1].reader_pauses.push_back(Window{100ms, 300ms});
    } else if (name == "lost-ack") {
      b.lost_ack_probability = 0.1;
      b.idempotent_producer = true;
    } else if (name == "lost-ack-no-idempotence") {
      b.lost_ack_probability = 0.1;
      b.idempotent_producer = false;
    } else if (name == "failed-append") {
      b.failed_append_probability = 0.05;
    } else if (name == "outage") {
      b.outages.push_back(Window{200ms, 300ms});
    } else if (name == "failover") {
      b.acks = log::sim::Acks::kAll;
      b.replication_delay = 5ms;
      b.failovers = {300ms, 700ms};
    } else if (name == "failover-acks1") {
      b.acks = log::sim::Acks::kLeader;
      b.replication_delay = 5ms;
      b.failovers = {300ms, 700ms};
    } else if (name == "unclean-failover") {
      b.replication_delay = 5ms;
      b.failovers = {300ms, 700ms};
      b.unclean_election = true;
    } else if (name == "compaction") {
      b.compaction_interval = 100ms;
      b.min_compaction_lag = 1s;
      b.tombstone_retention = 200ms;
    } else if (name == "compaction-without-lag") {
      b.compaction_interval = 100ms;
      b.min_compaction_lag = 0ms;
      b.tombstone_retention = 200ms;
    } else if (name == "corrupt") {
      b.corrupt_probability = 0.02;
    } else if (name == "crash") {
      s.workload.crashes = 2;
      s.workload.crash_window = 1s;
    } else {
      std::string known;
      for (const auto& p : FaultPresets()) known += (known.empty() ? "" : ", ") + p.name;
      return MakeError(ErrorCode::kInvalidArgument, "unknown fault '" + name + "'; known faults: " + known);
    }
    s.fault_names.push_back(name);
  }
  return OkStatus();
}

SimRun RunScenario(const Scenario& s) {
  SimRun run;
  auto wrap = VariantWrapper(s.variant);
  if (!wrap) {
    run.workload.errors.push_back(wrap.error().ToString());
    return run;
  }
  WorkloadOptions options = s.workload;
  options.seed = s.seed;
  options.planned_nemesis = PlannedNemesis(s);
  run.faults = s.fault_names;
  run.checks = s.checks;
  for (const auto& n : log::sim::FaultNames(s.broker)) {
    if (std::find(run.faults.begin(), run.faults.end(), n) == run.faults.end()) run.faults.push_back(n);
  }
  if (s.variant != "correct") run.faults.push_back("variant:" + s.variant);

  std::ofstream stream;
  if (!s.stream_history_to.empty()) {
    stream.open(s.stream_history_to, std::ios::binary | std::ios::trunc);
    if (!stream) {
      run.workload.errors.push_back("cannot write the history to " + s.stream_history_to);
      return run;
    }
    options.event_sink = [&stream](const checker::Event& e) { stream << checker::EventToJsonl(e) << '\n'; };
    options.nemesis_sink = [&stream](const checker::NemesisEvent& n) {
      stream << checker::NemesisToJsonl(n) << '\n';
    };
  }

  SimRuntime rt(s.seed, s.limits);
  // A check that fails anywhere in the run (client, broker, runtime) names how to repeat it.
  std::string faults_named;
  for (const std::string& f : s.fault_names) faults_named += (faults_named.empty() ? "" : ",") + f;
  base::ScopedCheckContext replay("simulation seed " + std::to_string(s.seed) + " (faults: " +
                                  (faults_named.empty() ? "none" : faults_named) + "; variant: " + s.variant +
                                  "): replay with kvsim --seed " + std::to_string(s.seed) +
                                  " and this run's other options");
  const auto wall_start = std::chrono::steady_clock::now();  // Reported only; never feeds the run.
  run.outcome = rt.Run([&] {
    log::sim::Broker broker(rt, s.broker, s.seed);
    ConnectFn connect = [&](int slot) {
      log::sim::ConnectionFaults faults;
      if (!s.slot_faults.empty()) faults = s.slot_faults[static_cast<std::size_t>(slot) % s.slot_faults.size()];
      return broker.Connect(faults);
    };
    WorkloadResult result = RunWorkload(rt, options, connect, *wrap);
    run.history = std::move(result.history);
    LogRecordTranslator translator;
    broker.VisitLogAsWritten([&](const log::sim::StoredEntry& e) {
      if (!e.record) return;
      auto records = translator.Translate(e.offset, *e.record);
      if (!records) {
        result.errors.push_back("recording the log: " + records.error().ToString());
        return;
      }
      for (auto& r : *records) run.history.log.push_back(std::move(r));
    });
    run.history.has_log = true;
    run.history.source = "kvsim seed " + std::to_string(s.seed);
    run.stats = broker.stats();
    run.workload = std::move(result);
  });
  if (stream.is_open()) {
    stream << checker::JsonlTail(run.history);
    stream.close();
    if (stream.fail()) {
      run.workload.errors.push_back("cannot write the history to " + s.stream_history_to);
    } else {
      run.history_file = s.stream_history_to;
      run.log_records = run.history.log.size();
      std::vector<checker::LogRecord>().swap(run.history.log);
    }
  }
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
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
    r.summary = "the recorded history could not be checked: " + report.error().ToString();
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
