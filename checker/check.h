// Runs every checker a history calls for and collects their reports: what
// kvcheck prints and what the HTML/JSON reports render.
#ifndef KVLOG_CHECKER_CHECK_H_
#define KVLOG_CHECKER_CHECK_H_

#include <optional>
#include <string>
#include <vector>

#include "checker/history.h"
#include "checker/linearizability.h"
#include "checker/staleness.h"
#include "checker/verdict.h"

namespace kvlog::checker {

enum class Format { kJsonl, kJepsenEdn, kJepsenLog };

// "jsonl", "edn" (also "jepsen-edn", "jepsen-edn-lines"), "jepsen-log".
std::optional<Format> ParseFormat(std::string_view name);
// Guesses from the first non-blank character(s) of the text.
Format SniffFormat(std::string_view text);
Result<History> ParseHistory(std::string_view text, Format format, const std::string& source);
Result<History> ReadHistoryFile(const std::string& path, std::optional<Format> format);

struct CheckOptions {
  // Model for linearizability; "" = chosen from the operations (ChooseModel).
  std::string model;
  // Which checkers run: linearizability, session, convergence, durability.
  // Empty = by history: Jepsen formats get linearizability; JSONL histories
  // get session, convergence and durability (kvlog's local reads are not
  // linearizable by design: ask for it explicitly).
  std::vector<std::string> checks;
  LinearizabilityOptions linearizability;
};

struct FullReport {
  std::string source;
  std::vector<Operation> ops;
  std::string model;
  std::vector<CheckReport> reports;
  std::optional<LinearizabilityResult> linearizability;
  StalenessFigures staleness;
  std::vector<NemesisEvent> nemesis;  // the history's, for reports

  // Invalid if any is invalid; else unknown if any is unknown; else valid.
  Verdict Overall() const;
};

Result<FullReport> CheckHistory(const History& history, Format format, const CheckOptions& options);

// Exit status for kvcheck: 0 valid, 1 invalid, 2 unknown.
int ExitCode(Verdict overall);

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_CHECK_H_
