// kvcheck: judges a recorded history.
//
//   kvcheck FILE [--format jsonl|edn|jepsen-log] [--model M] [--check C]...
//                [--html report.html] [--json] [--budget-ms N] [--threads N]
//                [--knossos-jar PATH]
//
// Prints a verdict per checker. Exit status: 0 valid, 1 invalid, 2 usage
// error, unknown verdict or unreadable history (including a missing Knossos
// jar), 3 the HTML report could not be written. With --knossos-jar, Knossos's
// verdict (checker/knossos.h) is combined with kvcheck's: either invalid => 1.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

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

// Runs Knossos (one JVM for every key's register history); returns kvcheck's
// exit status for its verdict. Prints to `out`.
int RunKnossos(const std::string& jar, const History& history, const FullReport& report, std::ostream& out) {
  const std::string model = KnossosModel(report);
  const char* tmp = std::getenv("TMPDIR");
  auto result = CheckWithKnossos(jar, history, model, tmp && *tmp ? tmp : "/tmp");
  if (!result) {
    std::cerr << "kvcheck: " << result.error().ToString() << "\n";
    return 2;
  }
  out << "knossos: " << VerdictName(result->verdict) << " (model " << model << ", " << result->parts
      << (result->parts == 1 ? " register history" : " register histories, one per key") << ")";
  if (!result->detail.empty()) out << ": " << result->detail;
  out << "\n";
  return ExitCode(result->verdict);
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvcheck: judge a recorded kvlog or Jepsen history", "kvcheck"};
  kvlog::cli::Setup(app, {{kvlog::cli::kExitFailed, "invalid: a check found a violation"},
                          {kvlog::cli::kExitUsage, "usage error, an unreadable or malformed history, a verdict "
                                                   "unknown (e.g. --budget-ms ran out), or Knossos could not run"},
                          {kvlog::cli::kExitEnvironment, "the --html report could not be written"}});
  std::string file, format_name, html, knossos_jar;
  CheckOptions options;
  // Independent keys are checked in parallel, one worker per core by default.
  options.linearizability.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool json = false;
  int64_t budget_ms = 60'000;
  app.add_option("file", file, "history file (JSONL, Jepsen EDN or Jepsen log)")->required();
  app.add_option("--format", format_name, "jsonl | edn | jepsen-log (default: guessed from the content)");
  app.add_option("--model", options.model,
                 "linearizability model: register | cas-register | kv | kv-append-per-key (default: chosen from "
                 "the history)")
      ->check(CLI::IsMember(ModelNames()));
  app.add_option("--check", options.checks,
                 "checkers to run (repeatable): linearizability, session, convergence, durability, counter, bank, "
                 "read-levels")
      ->default_str("");
  app.add_option("--html", html, "write a self-contained HTML report to this file");
  app.add_flag("--json", json, "print the report as JSON instead of text");
  kvlog::cli::AddNumber<int64_t>(app, "--budget-ms", budget_ms,
                                 "linearizability time budget; exceeding it gives 'unknown'", 0, 86'400'000);
  kvlog::cli::AddNumber(app, "--threads", options.linearizability.threads,
                        "workers for independent keys (default: one per core)", 1, 1024);
  app.add_option("--knossos-jar", knossos_jar,
                 "also run Knossos (java -jar PATH) on the history, one register history per key");
  app.add_flag("--allow-empty", options.allow_empty,
               "accept a history with no operations (default: an error, exit 2)");
  if (auto rc = kvlog::cli::Parse(app, argc, argv)) return *rc;
  file = kvlog::cli::ResolvePath(file);
  html = kvlog::cli::ResolvePath(html);
  knossos_jar = kvlog::cli::ResolvePath(knossos_jar);
  options.linearizability.budget = std::chrono::milliseconds(budget_ms);

  std::optional<Format> format;
  if (!format_name.empty()) {
    format = ParseFormat(format_name);
    if (!format) {
      std::cerr << "kvcheck: unknown format '" << format_name << "'\n";
      return 2;
    }
  }
  if (!knossos_jar.empty() && !std::filesystem::exists(knossos_jar)) {
    std::cerr << "kvcheck: --knossos-jar: no file at " << knossos_jar << "\n";
    return 2;
  }
  Progress progress;
  ReadOptions read;
  read.pair_events = knossos_jar.empty();  // Knossos is handed the events as EDN
  read.progress = [&](uint64_t done, uint64_t total) { progress.Bytes(done, total); };
  options.on_phase = [&](std::string_view phase) { progress.Phase(phase); };
  auto history = ReadHistoryFile(file, format, read);
  if (!history) {
    std::cerr << "kvcheck: " << history.error().ToString() << "\n";
    return 2;
  }
  if (!format) {
    std::ifstream in(file);
    std::string head(256, '\0');
    in.read(head.data(), head.size());
    head.resize(in.gcount());
    format = SniffFormat(head);
  }
  auto report = knossos_jar.empty() ? CheckHistory(std::move(*history), *format, options)
                                    : CheckHistory(*history, *format, options);
  progress.Clear();
  if (!report) {
    std::cerr << "kvcheck: " << report.error().ToString() << "\n";
    return 2;
  }
  std::cout << (json ? JsonReport(*report) : TextReport(*report));
  if (!html.empty()) {
    if (auto written = kvlog::cli::WriteFile(html, HtmlReport(*report)); !written) {
      std::cerr << "kvcheck: " << written.error() << "\n";
      return kvlog::cli::kExitEnvironment;
    }
  }
  int rc = ExitCode(report->Overall());
  if (!knossos_jar.empty()) {
    int k = RunKnossos(knossos_jar, *history, *report, json ? std::cerr : std::cout);
    if (k == 1 || rc == 1) return 1;
    rc = std::max(rc, k);
  }
  return rc;
}
