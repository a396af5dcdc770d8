// kvcheck: judges a recorded history.
//
//   kvcheck FILE [--format jsonl|edn|jepsen-log] [--model M] [--check C]...
//                [--html report.html] [--json] [--budget-ms N] [--threads N]
//                [--knossos-jar PATH]
//
// Prints a verdict per checker. Exit status: 0 valid, 1 invalid, 2 unknown or
// unreadable (including a missing Knossos jar). With --knossos-jar, Knossos's
// verdict (checker/knossos.h) is combined with kvcheck's: either invalid => 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "checker/check.h"
#include "checker/edn.h"
#include "checker/knossos.h"
#include "checker/report.h"

namespace {

using namespace kvlog::checker;

// The model Knossos judges the history under: the one kvcheck used, else
// kv when operations carry keys (or batch/range), cas-register when there is a
// cas, else register.
std::string KnossosModel(const FullReport& report) {
  if (!report.model.empty()) return report.model;
  bool keys = false, cas = false;
  for (const Operation& o : report.ops) {
    keys = keys || o.key.has_value() || o.f == "batch" || o.f == "range";
    cas = cas || o.f == "cas";
  }
  return keys ? "kv" : cas ? "cas-register" : "register";
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvcheck: judge a recorded kvlog or Jepsen history"};
  std::string file, format_name, html, knossos_jar;
  CheckOptions options;
  // Independent keys are checked in parallel, one worker per core by default.
  options.linearizability.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bool json = false;
  int64_t budget_ms = 60'000;
  app.add_option("file", file, "history file (JSONL, Jepsen EDN or Jepsen log)")->required();
  app.add_option("--format", format_name, "jsonl | edn | jepsen-log (default: guessed from the content)");
  app.add_option("--model", options.model, "linearizability model: register | cas-register | kv | kv-append-per-key");
  app.add_option("--check", options.checks,
                 "checkers to run (repeatable): linearizability, session, convergence, durability");
  app.add_option("--html", html, "write a self-contained HTML report to this file");
  app.add_flag("--json", json, "print the report as JSON instead of text");
  app.add_option("--budget-ms", budget_ms, "linearizability time budget; exceeding it gives 'unknown'");
  app.add_option("--threads", options.linearizability.threads, "workers for independent keys (default: one per core)");
  app.add_option("--knossos-jar", knossos_jar,
                 "also run Knossos (java -jar PATH) on the history, one register history per key");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  options.linearizability.budget = std::chrono::milliseconds(budget_ms);
  if (options.linearizability.threads < 1) options.linearizability.threads = 1;

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
  auto history = ReadHistoryFile(file, format);
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
  auto report = CheckHistory(*history, *format, options);
  if (!report) {
    std::cerr << "kvcheck: " << report.error().ToString() << "\n";
    return 2;
  }
  std::cout << (json ? JsonReport(*report) : TextReport(*report));
  if (!html.empty()) {
    std::ofstream out(html, std::ios::binary);
    out << HtmlReport(*report);
    if (!out) {
      std::cerr << "kvcheck: cannot write " << html << "\n";
      return 2;
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
