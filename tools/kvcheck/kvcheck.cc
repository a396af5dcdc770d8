// kvcheck: judges a recorded history.
//
//   kvcheck FILE [--format jsonl|edn|jepsen-log] [--model M] [--check C]...
//                [--html report.html] [--json] [--budget-ms N] [--threads N]
//                [--knossos-jar PATH]
//
// Prints a verdict per checker. Exit status: 0 valid, 1 invalid, 2 usage
// error (nothing was read), 3 the history could not be judged (unreadable or
// malformed, no operations, a value written twice; Knossos could not run; the
// HTML report could not be written), 4 a verdict unknown (e.g. --budget-ms ran
// out, no log to judge against), 130 interrupted (SIGINT: a summary of what
// was done is printed). With --knossos-jar, Knossos's verdict
// (checker/knossos.h) is combined with kvcheck's: either invalid => 1.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "checker/check.h"
#include "checker/edn.h"
#include "checker/knossos.h"
#include "checker/model.h"
#include "checker/report.h"
#include "tools/cli/cli.h"

namespace {

using namespace kvlog::checker;

// The model Knossos judges the history under: the one kvcheck used, else the
// one kvcheck would choose.
std::string KnossosModel(const FullReport& report) {
  return report.model.empty() ? ChooseModel(report.ops) : report.model;
}

namespace cli = kvlog::cli;

// kvcheck's exit status for a verdict: 0 valid (or skipped), 1 invalid,
// 4 unknown (2 is a usage error).
int VerdictExit(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid:
    case Verdict::kSkipped:
      return cli::kExitOk;
    case Verdict::kInvalid:
      return cli::kExitFailed;
    case Verdict::kUnknown:
      return cli::kExitUnknown;
  }
  return cli::kExitUnknown;
}

// Runs Knossos (one JVM for every key's register history); returns kvcheck's
// exit status for its verdict. Prints to `out`.
int RunKnossos(const std::string& jar, const History& history, const FullReport& report, std::ostream& out) {
  const std::string model = KnossosModel(report);
  const char* tmp = std::getenv("TMPDIR");
  auto result = CheckWithKnossos(jar, history, model, tmp && *tmp ? tmp : "/tmp");
  if (!result) {
    std::cerr << "kvcheck: " << result.error().ToString() << "\n";
    return cli::kExitEnvironment;
  }
  out << "knossos: " << VerdictName(result->verdict) << " (model " << model << ", " << result->parts
      << (result->parts == 1 ? " register history" : " register histories, one per key") << ")";
  if (!result->detail.empty()) out << ": " << result->detail;
  out << "\n";
  return VerdictExit(result->verdict);
}

// Progress on stderr, only when it is a terminal and the work has taken more
// than a couple of seconds: bytes read, then the check running.
class Progress {
 public:
  Progress() : tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}
  ~Progress() { Clear(); }
  void Bytes(uint64_t done, uint64_t total) {
    if (!Due()) return;
    if (total > 0) {
      std::fprintf(stderr, "\rkvcheck: reading %llu of %llu MB (%.0f%%)   ", MB(done), MB(total), 100.0 * done / total);
    } else {
      std::fprintf(stderr, "\rkvcheck: reading %llu MB   ", MB(done));
    }
    drawn_ = true;
  }
  void Phase(std::string_view phase) {
    phase_ = phase;
    if (!Due()) return;
    std::fprintf(stderr, "\rkvcheck: %s (%.0f s)                              ", phase_.c_str(), Elapsed());
    drawn_ = true;
  }
  void Clear() {
    if (drawn_) std::fprintf(stderr, "\r%60s\r", "");
    drawn_ = false;
  }

 private:
  static unsigned long long MB(uint64_t b) { return static_cast<unsigned long long>(b >> 20); }
  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  bool Due() const { return tty_ && Elapsed() >= 2.0; }
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::string phase_;
  bool drawn_ = false;
};

// What the check has done so far, for the summary printed on SIGINT: the
// check runs on a worker thread while the main thread watches for it.
class Steps {
 public:
  void Bytes(uint64_t done, uint64_t total) {
    std::lock_guard<std::mutex> lock(mu_);
    bytes_ = done;
    total_ = total;
  }
  void Begin(std::string_view step) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.push_back(current_);
    current_ = step;
  }
  void Read(std::size_t count, std::string what) {
    std::lock_guard<std::mutex> lock(mu_);
    read_ = count;
    read_what_ = std::move(what);
  }
  std::string Summary(double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out =
        fmt::format("kvcheck: INTERRUPTED after {} s, during {}", static_cast<long long>(seconds), current_);
    if (current_ == "reading") {
      out += fmt::format(" ({}{} MB read)", bytes_ >> 20, total_ > 0 ? fmt::format(" of {}", total_ >> 20) : "");
    }
    out += "\nsteps finished: ";
    if (finished_.empty()) out += "none";
    for (std::size_t i = 0; i < finished_.size(); ++i) out += (i ? ", " : "") + finished_[i];
    if (!read_what_.empty()) out += fmt::format("\n{} read: {}", read_what_, read_);
    out += "\nverdict: unknown (the check was stopped before it reported; run again to judge)\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::string current_ = "reading";
  std::vector<std::string> finished_;
  uint64_t bytes_ = 0, total_ = 0;
  std::size_t read_ = 0;
  std::string read_what_;
};

}  // namespace

namespace {

struct Job {
  std::string file, html, knossos_jar;
  std::optional<Format> format;
  CheckOptions options;
  bool json = false;
};

// What Judge reads and makes, kept until the process exits: kvcheck ends
// right after judging, and freeing an 800 K-op history's operations, values
// and log record by record cost several per cent of its run. Reachable from a
// static, so a leak checker does not count it as a leak.
struct Kept {
  std::optional<Result<History>> history;
  std::optional<Result<FullReport>> report;
};

Kept& KeptUntilExit() {
  static Kept* const kept = new Kept;
  return *kept;
}

// Reads, judges and reports; returns the exit status. Runs on a worker
// thread, once per process.
int Judge(Job job, Progress& progress, Steps& steps) {
  ReadOptions read;
  read.pair_events = job.knossos_jar.empty();  // Knossos is handed the events as EDN
  read.threads = job.options.linearizability.threads;  // a large JSONL file is read on two
  read.progress = [&](uint64_t done, uint64_t total) {
    progress.Bytes(done, total);
    steps.Bytes(done, total);
  };
  job.options.on_phase = [&](std::string_view phase) {
    progress.Phase(phase);
    steps.Begin(phase);
  };
  Result<History>& history = KeptUntilExit().history.emplace(ReadHistoryFile(job.file, job.format, read));
  if (!history) {
    progress.Clear();
    std::cerr << "kvcheck: " << history.error().ToString() << "\n";
    return cli::kExitEnvironment;
  }
  steps.Read(history->ops ? history->ops->size() : history->events.size(), history->ops ? "operations" : "events");
  if (!job.format) {
    std::ifstream in(job.file);
    std::string head(256, '\0');
    in.read(head.data(), head.size());
    head.resize(in.gcount());
    job.format = SniffFormat(head);
  }
  Result<FullReport>& report =
      KeptUntilExit().report.emplace(job.knossos_jar.empty() ? CheckHistory(std::move(*history), *job.format, job.options)
                                                             : CheckHistory(*history, *job.format, job.options));
  progress.Clear();
  if (!report) {
    std::cerr << "kvcheck: " << report.error().ToString() << "\n";
    return cli::kExitEnvironment;
  }
  std::cout << (job.json ? JsonReport(*report) : TextReport(*report));
  if (!job.html.empty()) {
    if (auto written = cli::WriteFile(job.html, HtmlReport(*report)); !written) {
      std::cerr << "kvcheck: " << written.error() << "\n";
      return cli::kExitEnvironment;
    }
  }
  int rc = VerdictExit(report->Overall());
  if (!job.knossos_jar.empty()) {
    steps.Begin("knossos");
    int k = RunKnossos(job.knossos_jar, *history, *report, job.json ? std::cerr : std::cout);
    if (k == cli::kExitFailed || rc == cli::kExitFailed) return cli::kExitFailed;
    if (k == cli::kExitEnvironment || rc == cli::kExitEnvironment) return cli::kExitEnvironment;
    rc = std::max(rc, k);
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvcheck: judge a recorded kvlog or Jepsen history", "kvcheck"};
  cli::Setup(app, {{cli::kExitOk, "valid: every check passed"},
                   {cli::kExitFailed, "invalid: a check found a violation (or Knossos did)"},
                   {cli::kExitUsage, "usage error (bad option or value, --knossos-jar not a file; nothing was read)"},
                   {cli::kExitEnvironment, "the history could not be judged (unreadable or malformed, no operations, "
                                           "a value written twice), Knossos could not run, or the --html report "
                                           "could not be written"},
                   {cli::kExitUnknown, "a verdict is unknown: the checks could not decide (--budget-ms ran out, "
                                       "the history carries no log to judge against)"},
                   {cli::kExitInterrupted, "interrupted (SIGINT): what was read and judged so far is summarised"}});
  Job job;
  std::string format_name;
  CheckOptions& options = job.options;
  // Independent keys are checked in parallel, one worker per core by default.
  options.linearizability.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int64_t budget_ms = 60'000;
  app.add_option("file", job.file, "history file (JSONL, Jepsen EDN or Jepsen log)")->required();
  app.add_option("--format", format_name, "jsonl | edn | jepsen-log (default: guessed from the content)");
  app.add_option("--model", options.model,
                 "linearizability model: register | cas-register | kv | kv-append-per-key (default: chosen from "
                 "the history)")
      ->check(CLI::IsMember(ModelNames()));
  app.add_option("--check", options.checks,
                 "checkers to run (repeatable): linearizability, session, convergence, durability, counter, bank, "
                 "read-levels, expiry, watch (default: a JSONL history's workload's checks, as kvsim runs them: "
                 "bank, read-levels and convergence for transfers; counter, read-levels and convergence for "
                 "increments; convergence and expiry for a TTL run; watch for watch sessions; else session, "
                 "convergence and durability; an EDN history: linearizability)")
      ->default_str("");
  app.add_option("--html", job.html, "write a self-contained HTML report to this file");
  app.add_flag("--json", job.json, "print the report as JSON instead of text");
  cli::AddNumber<int64_t>(app, "--budget-ms", budget_ms,
                          "linearizability time budget; exceeding it gives 'unknown' (exit 4)", 0, 86'400'000);
  cli::AddNumber(app, "--threads", options.linearizability.threads,
                 "workers checking independent keys in parallel, 1 to 1024 (the default is this machine's core "
                 "count); with 2 or more, a JSONL file of 32 MiB or more is also read by two threads",
                 1, 1024);
  app.add_option("--knossos-jar", job.knossos_jar,
                 "also run Knossos (java -jar PATH) on the history, one register history per key");
  app.add_flag("--allow-empty", options.allow_empty,
               "accept a history with no operations (default: an error, exit 3)");
  if (auto rc = cli::Parse(app, argc, argv)) return *rc;
  job.file = cli::ResolvePath(job.file);
  job.html = cli::ResolvePath(job.html);
  job.knossos_jar = cli::ResolvePath(job.knossos_jar);
  options.linearizability.budget = std::chrono::milliseconds(budget_ms);

  if (!format_name.empty()) {
    job.format = ParseFormat(format_name);
    if (!job.format) return cli::UsageError(app, "unknown format '" + format_name + "'; known: jsonl, edn, jepsen-log");
  }
  if (!job.knossos_jar.empty() && !std::filesystem::exists(job.knossos_jar)) {
    return cli::UsageError(app, "--knossos-jar: no file at " + job.knossos_jar);
  }

  // The check runs on a worker; this thread watches for SIGINT, and on one
  // prints what was done and exits 130 without waiting for the check to end
  // (a linearizability search may take its whole budget).
  cli::InstallInterruptHandler();
  const auto start = std::chrono::steady_clock::now();
  Progress progress;
  Steps steps;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = cli::kExitOk;
  std::thread worker([&] {
    int code = Judge(std::move(job), progress, steps);
    std::lock_guard<std::mutex> lock(mu);
    rc = code;
    done = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
    if (!cli::Interrupted()) continue;
    progress.Clear();
    std::cout.flush();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fputs(steps.Summary(seconds).c_str(), stdout);
    std::fflush(stdout);
    std::_Exit(cli::kExitInterrupted);
  }
  lock.unlock();
  worker.join();
  return rc;
}
