#include "checker/check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/propagate.h"
#include "checker/bank.h"
#include "checker/convergence.h"
#include "checker/counter.h"
#include "checker/durability.h"
#include "checker/edn.h"
#include "checker/expiry.h"
#include "checker/jsonl.h"
#include "checker/read_levels.h"
#include "checker/session.h"
#include "checker/writes.h"

namespace kvlog::checker {

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "jsonl") return Format::kJsonl;
  if (name == "edn" || name == "jepsen-edn" || name == "jepsen-edn-lines") return Format::kJepsenEdn;
  if (name == "jepsen-log" || name == "log") return Format::kJepsenLog;
  return std::nullopt;
}

Format SniffFormat(std::string_view text) {
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return Format::kJsonl;
  if (text[i] == '[' || text[i] == '(' || text[i] == ';') return Format::kJepsenEdn;
  if (text[i] == '{') {
    size_t j = text.find_first_not_of(" \t\r\n", i + 1);
    return j != std::string_view::npos && text[j] == ':' ? Format::kJepsenEdn : Format::kJsonl;
  }
  return Format::kJepsenLog;
}

Result<History> ParseHistory(std::string_view text, Format format, const std::string& source) {
  switch (format) {
    case Format::kJsonl:
      return ParseJsonl(text, source);
    case Format::kJepsenEdn:
      return ParseJepsenEdn(text, source);
    case Format::kJepsenLog:
      return ParseJepsenLog(text, source);
  }
  return MakeError(source, 0, "unknown format");
}

Result<History> ReadHistoryFile(const std::string& path, std::optional<Format> format, const ReadOptions& read) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return MakeError(path, 0, "is a directory, not a history file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path, 0, "cannot open file");
  const bool regular = std::filesystem::is_regular_file(path, ec);
  const uint64_t total = regular ? std::filesystem::file_size(path, ec) : 0;
  if (!format && !regular) {  // a pipe cannot be read twice: read it whole
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    return ParseHistory(text, SniffFormat(text), path);
  }
  if (!format) {
    std::string head(4096, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<size_t>(in.gcount()));
    format = SniffFormat(head);
    in.clear();
    in.seekg(0);
  }
  if (*format == Format::kJsonl) {
    JsonlReadOptions jsonl;
    jsonl.pair_events = read.pair_events;
    jsonl.size_hint = total;
    if (read.progress) jsonl.progress = [&](uint64_t done) { read.progress(done, total); };
    if (regular && read.threads > 1 && read.pair_events) {
      jsonl.threads = read.threads;
      in.close();
      return ReadJsonlFile(path, jsonl);
    }
    return ReadJsonl(in, path, jsonl);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseHistory(ss.str(), *format, path);
}

Verdict FullReport::Overall() const {
  bool unknown = false;
  for (const auto& r : reports) {
    if (r.verdict == Verdict::kInvalid) return Verdict::kInvalid;
    unknown = unknown || r.verdict == Verdict::kUnknown;
  }
  return unknown ? Verdict::kUnknown : Verdict::kValid;
}

int ExitCode(Verdict overall) {
  switch (overall) {
    case Verdict::kValid:
    case Verdict::kSkipped:
      return 0;
    case Verdict::kInvalid:
      return 1;
    case Verdict::kUnknown:
      return 2;
  }
  return 2;
}

namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Without the log, session and durability judge only what the completions
// reported: a violation found that way is one, but finding none proves
// nothing (a lost write, a nil read of a logged value, a read of a write whose
// acknowledgement was lost cannot be told), so "valid" becomes "unknown".
// A check with nothing to judge stays skipped (no reads; no writes).
CheckReport WithoutLog(const History& history, bool anything_to_judge, CheckReport report) {
  if (history.has_log || report.verdict == Verdict::kInvalid || report.verdict == Verdict::kUnknown) return report;
  if (report.verdict == Verdict::kSkipped && !anything_to_judge) return report;
  report.verdict = Verdict::kUnknown;
  report.summary = fmt::format(
      "not judged valid: the history carries no log (no JSONL {{\"log\": ...}} lines; an EDN export cannot carry "
      "it), and without it lost writes and reads of unacknowledged writes go unseen; from the reported offsets "
      "alone: {}",
      report.summary);
  return report;
}

// The checks a history gets when none are asked for: the one place that
// decides them.
//   - Jepsen formats: linearizability.
//   - JSONL, as kvsim judges its workloads: the session and durability checks
//     name a write by its value, which the counter and bank workloads repeat
//     by design, so they get their own checks; a TTL run (an {"expiry": ...}
//     line) gets convergence and expiry, since its reads hide expired values,
//     which read-your-writes and durability would call lost; any other
//     session, convergence and durability.
//   - Watch sessions add the watch check; with no operations beside them, it
//     runs alone.
std::vector<std::string> DefaultChecks(const History& history, const std::vector<Operation>& ops, Format format) {
  std::vector<std::string> checks;
  bool transfer = false, incr = false;
  if (format == Format::kJsonl && history.op_kinds) {
    // The reader that paired the operations noted their functions: a pass
    // over 800 K operations here was ~0.06 s on one core, a cache miss per
    // ~220-byte operation.
    transfer = history.op_kinds->transfer;
    incr = history.op_kinds->incr;
  } else if (format == Format::kJsonl) {
    // One pass over the operations for both questions.
    for (const Operation& o : ops) {
      if (o.f == "transfer") {
        transfer = true;
        break;
      }
      incr = incr || o.f == "incr";
    }
  }
  if (format != Format::kJsonl) {
    checks = {"linearizability"};
  } else if (transfer) {
    checks = {"bank", "read-levels", "convergence"};
  } else if (incr) {
    checks = {"counter", "read-levels", "convergence"};
  } else {
    checks = {"session", "convergence", "durability"};
  }
  if (history.expiry) checks = {"convergence", "expiry"};
  if (history.watch && !history.watch->sessions.empty()) {
    if (ops.empty()) checks.clear();
    checks.push_back("watch");
  }
  return checks;
}

Result<FullReport> CheckPaired(const History& history, std::vector<Operation> ops, Format format,
                               const CheckOptions& options) {
  FullReport out;
  out.source = history.source;
  out.ops = std::move(ops);
  out.nemesis = history.nemesis;
  const bool watched = history.watch && !history.watch->sessions.empty();
  if (out.ops.empty() && !options.allow_empty && !watched) {
    return MakeError(history.source, 0,
                     "the history holds no operations (an empty file, or only blank lines, log or final-state "
                     "records): nothing to check; pass --allow-empty to accept that");
  }

  const std::vector<std::string> checks =
      options.checks.empty() ? DefaultChecks(history, out.ops, format) : options.checks;
  auto wants = [&](std::string_view c) { return std::find(checks.begin(), checks.end(), c) != checks.end(); };
  for (const auto& c : checks) {
    if (c != "linearizability" && c != "session" && c != "convergence" && c != "durability" && c != "counter" &&
        c != "bank" && c != "read-levels" && c != "expiry" && c != "watch") {
      return MakeError("", 0,
                       fmt::format("unknown check '{}' (known: linearizability, session, convergence, durability, "
                                   "counter, bank, read-levels, expiry, watch)",
                                   c));
    }
  }
  auto phase = [&](std::string_view name) {
    if (options.on_phase) options.on_phase(name);
  };

  if (wants("linearizability")) {
    phase("linearizability");
    const auto start = std::chrono::steady_clock::now();
    const std::string model_name = options.model.empty() ? ChooseModel(out.ops) : options.model;
    auto model = MakeModel(model_name);
    if (!model) return MakeError("", 0, fmt::format("unknown model '{}'", model_name));
    out.model = model_name;
    out.linearizability = CheckLinearizability(out.ops, *model, options.linearizability);
    out.reports.push_back(LinearizabilityReport(*model, *out.linearizability));
    out.reports.back().seconds = SecondsSince(start);
  }
  const bool session = wants("session"), durability = wants("durability");
  // With two threads or more, convergence and the staleness figures (which
  // read only the history and the operations) run on a worker beside the
  // write index's build, which would otherwise hold one core alone; their
  // results take their usual places below. The worker waits until the
  // index's writes are made (on two threads: with the worker beside them,
  // three threads shared two cores there, and the index's one-thread part
  // that follows had a core to spare), or until the index is built or
  // abandoned, whichever comes first.
  std::optional<CheckReport> convergence_result;
  StalenessFigures staleness_result;
  std::atomic<bool> side_go{false};
  auto start_side = [&side_go] {
    side_go.store(true);
    side_go.notify_all();
  };
  std::jthread side_worker;
  const bool side = options.linearizability.threads >= 2 && (session || durability);
  if (side) {
    side_worker = std::jthread([&history, &out, &convergence_result, &staleness_result, &side_go,
                                convergence = wants("convergence")] {
      side_go.wait(false);
      if (convergence) {
        const auto start = std::chrono::steady_clock::now();
        convergence_result = CheckConvergence(history);
        convergence_result->seconds = SecondsSince(start);
      }
      staleness_result = MeasureStaleness(out.ops);
    });
  }
  // With two threads or more, the session check (the longest on kvsim's
  // histories) runs on a worker beside durability and the other checks:
  // they only read the operations and the write index. Its report takes its
  // place in the order when the worker is joined (before any return: the
  // jthread is declared after what it reads, so it is joined first).
  std::optional<WriteIndex> index;
  CheckReport session_result;
  size_t session_slot = 0;
  std::jthread session_worker;
  if (session || durability) {
    phase("indexing writes");
    auto start = std::chrono::steady_clock::now();
    struct Go {  // the side worker starts at the latest here, whatever happens
      std::atomic<bool>& go;
      ~Go() {
        go.store(true);
        go.notify_all();
      }
    } guard{side_go};
    const WriteIndex& writes = index.emplace(history, out.ops, options.linearizability.threads,
                                             WriteIndex::kParallelMinOps, start_side);
    start_side();
    if (auto repeat = writes.RepeatedValue()) {
      const Write& first = writes.writes()[repeat->first];
      const Write& again = writes.writes()[repeat->second];
      return MakeError(history.source, out.ops[again.op].line,
                       fmt::format("writes {}={} again (first written at line {}): the session and durability "
                                   "checks need every written value to be unique per key, since a read and a log "
                                   "record name their write by its value",
                                   again.key, *again.value, out.ops[first.op].line));
    }
    const double index_seconds = SecondsSince(start);
    if (session && options.linearizability.threads >= 2) {
      phase("session (started on a worker)");
      session_slot = out.reports.size();
      out.reports.emplace_back();
      session_worker = std::jthread([&history, &out, &writes, &session_result, index_seconds,
                                     threads = options.linearizability.threads] {
        const auto begin = std::chrono::steady_clock::now();
        // The sessions split among `threads` (this worker one of them).
        session_result =
            WithoutLog(history, /*anything_to_judge=*/false, CheckSessions(history, out.ops, writes, threads));
        session_result.seconds = index_seconds + SecondsSince(begin);
      });
    } else if (session) {
      phase("session");
      start = std::chrono::steady_clock::now();
      out.reports.push_back(WithoutLog(history, /*anything_to_judge=*/false, CheckSessions(history, out.ops, writes)));
      out.reports.back().seconds = index_seconds + SecondsSince(start);
    }
    if (durability) {
      phase("durability");
      start = std::chrono::steady_clock::now();
      out.reports.push_back(WithoutLog(history, !writes.writes().empty(), CheckDurability(history, out.ops, writes)));
      out.reports.back().seconds = index_seconds + SecondsSince(start);
    }
  }
  if (!session_worker.joinable()) index.reset();  // its memory, for what follows
  if (wants("convergence")) {
    phase("convergence");
    if (side_worker.joinable()) {
      side_worker.join();
      out.reports.push_back(std::move(*convergence_result));
    } else {
      const auto start = std::chrono::steady_clock::now();
      out.reports.push_back(CheckConvergence(history));
      out.reports.back().seconds = SecondsSince(start);
    }
  }
  if (wants("read-levels")) {
    phase("read-levels");
    const auto start = std::chrono::steady_clock::now();
    auto levels = CheckReadLevels(out.ops);
    if (!levels) return MakeError(history.source, levels.error().line, levels.error().reason);
    out.reports.push_back(std::move(*levels));
    out.reports.back().seconds = SecondsSince(start);
  }
  if (wants("counter")) {
    phase("counter");
    const auto start = std::chrono::steady_clock::now();
    auto counter = CheckCounter(out.ops);
    if (!counter) return MakeError(history.source, counter.error().line, counter.error().reason);
    out.reports.push_back(std::move(*counter));
    out.reports.back().seconds = SecondsSince(start);
  }
  if (wants("bank")) {
    phase("bank");
    const auto start = std::chrono::steady_clock::now();
    out.reports.push_back(CheckBank(out.ops, options.bank));
    out.reports.back().seconds = SecondsSince(start);
  }
  if (wants("expiry")) {
    phase("expiry");
    const auto start = std::chrono::steady_clock::now();
    if (!history.expiry) {
      CheckReport r;
      r.checker = "expiry";
      r.verdict = Verdict::kUnknown;
      r.summary = "the history carries no {\"expiry\": {\"skew_bound\": ...}} line: without the clocks' skew bound "
                  "no read can be judged early or late";
      out.reports.push_back(std::move(r));
    } else {
      auto expiry = CheckExpiry(history, out.ops,
                                ExpiryOptions{history.expiry->skew_bound_ns, history.expiry->time_origin_ns,
                                              history.expiry->reclaimed_before});
      if (!expiry) return MakeError(history.source, history.expiry->line, expiry.error().reason);
      out.reports.push_back(std::move(*expiry));
    }
    out.reports.back().seconds = SecondsSince(start);
  }
  if (wants("watch")) {
    phase("watch");
    const auto start = std::chrono::steady_clock::now();
    if (!history.watch) {
      CheckReport r;
      r.checker = "watch";
      r.verdict = Verdict::kSkipped;
      r.summary = "the history records no watch sessions";
      out.reports.push_back(std::move(r));
    } else {
      out.reports.push_back(CheckWatches(*history.watch));
    }
    out.reports.back().seconds = SecondsSince(start);
  }
  phase("staleness");
  if (side) {
    if (side_worker.joinable()) side_worker.join();
    out.staleness = std::move(staleness_result);
  } else {
    out.staleness = MeasureStaleness(out.ops);
  }
  if (session_worker.joinable()) {
    phase("session (finishing on its worker)");
    session_worker.join();
    out.reports[session_slot] = std::move(session_result);
  }
  // The order kvcheck has always printed: the linearizability report first,
  // then session, convergence, durability.
  std::stable_sort(out.reports.begin(), out.reports.end(), [](const CheckReport& a, const CheckReport& b) {
    auto rank = [](const std::string& c) {
      return c == "linearizability" ? 0 : c == "session" ? 1 : c == "convergence" ? 2 : 3;
    };
    return rank(a.checker) < rank(b.checker);
  });
  return out;
}

std::optional<Error> ValidateOptions(const CheckOptions& options) {
  if (options.linearizability.budget.count() < 0) {
    return Error{"", 0,
                 fmt::format("the linearizability budget must be >= 0 ms, not {}",
                             options.linearizability.budget.count())};
  }
  if (options.linearizability.threads < 1) {
    return Error{"", 0, fmt::format("threads must be >= 1, not {}", options.linearizability.threads)};
  }
  if (options.linearizability.max_cache_entries < 1) return Error{"", 0, "max_cache_entries must be >= 1"};
  if (!options.model.empty() && !MakeModel(options.model)) {
    return Error{"", 0, fmt::format("unknown model '{}' (known: {})", options.model, fmt::join(ModelNames(), ", "))};
  }
  return std::nullopt;
}

}  // namespace

Result<FullReport> CheckHistory(const History& history, Format format, const CheckOptions& options) {
  if (auto invalid = ValidateOptions(options)) return std::unexpected(*invalid);
  if (options.on_phase) options.on_phase("pairing");
  KVLOG_ASSIGN_OR_RETURN(std::vector<Operation> ops, PairOperations(history, options.linearizability.threads));
  return CheckPaired(history, std::move(ops), format, options);
}

Result<FullReport> CheckHistory(History&& history, Format format, const CheckOptions& options) {
  if (auto invalid = ValidateOptions(options)) return std::unexpected(*invalid);
  std::vector<Operation> ops;
  if (history.ops) {
    ops = std::move(*history.ops);
    history.ops.reset();
  } else {
    if (options.on_phase) options.on_phase("pairing");
    KVLOG_ASSIGN_OR_RETURN(ops, PairOperations(history, options.linearizability.threads));
    std::vector<Event>().swap(history.events);
  }
  return CheckPaired(history, std::move(ops), format, options);
}

}  // namespace kvlog::checker
