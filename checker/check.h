// Runs every checker a history calls for and collects their reports: what
// kvcheck prints and what the HTML/JSON reports render.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/bank.h"
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
struct ReadOptions {
  // JSONL only: pair events into History::ops while reading, keep no events
  // (see JsonlReadOptions). Writers of the history (EDN) need the events.
  bool pair_events = false;
  // Hears of the bytes read so far and the file's size (0 if unknown).
  std::function<void(uint64_t bytes, uint64_t total)> progress;
  // JSONL with pair_events: a large file is read by this many threads (at
  // most two; see JsonlReadOptions::threads), with the same result.
  int threads = 1;
};
// Reads a file (a directory or an unreadable path is an error). JSONL is read
// a block at a time.
Result<History> ReadHistoryFile(const std::string& path, std::optional<Format> format,
                                const ReadOptions& read = {});

struct CheckOptions {
  // Model for linearizability; "" = chosen from the operations (ChooseModel).
  std::string model;
  // Which checkers run: linearizability, session, convergence, durability,
  // and on request counter (counter.h), bank (bank.h), read-levels
  // (read_levels.h), expiry (expiry.h), watch (watch.h).
  // Empty = by history: Jepsen formats get linearizability; JSONL histories
  // get session, convergence and durability (kvlog's local reads are not
  // linearizable by design: ask for it explicitly); a JSONL history with an
  // "expiry" line (a TTL run) gets convergence and expiry instead; one with
  // watch sessions also gets watch (only watch if it holds no operations).
  std::vector<std::string> checks;
  LinearizabilityOptions linearizability;
  // A history with no operations (an empty file, only blank lines) is an
  // error unless this is set: every check would be skipped, which reads as a
  // pass.
  bool allow_empty = false;
  // Hears which check runs now ("pairing", then each check's name), for
  // progress output.
  std::function<void(std::string_view phase)> on_phase;
  BankOptions bank;  // For the bank check.
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

// Errors (not verdicts): options out of range, no operations (unless
// allow_empty or the history holds watch sessions), an unknown f, and, for session and durability, a value
// written twice (their checks name a write by its value). Session and
// durability on a history without its log are "unknown", saying so.
Result<FullReport> CheckHistory(const History& history, Format format, const CheckOptions& options);
// The same, moving the history's operations (History::ops) or freeing its
// events once paired, so that a large history is not held twice.
Result<FullReport> CheckHistory(History&& history, Format format, const CheckOptions& options);

// Exit status for kvcheck: 0 valid, 1 invalid, 2 unknown.
int ExitCode(Verdict overall);

}  // namespace kvlog::checker
