// Knossos (Jepsen's linearizability checker, a JVM program) as a second
// opinion on kvcheck's linearizability verdict.
//
// Knossos checks one register per history (models register, cas-register), so
// a kvlog history is exported as one register history per key, with kvcheck's
// kv semantics (checker/README.md):
//   - get/read -> :read, put/write -> :write, delete -> :write of absence, cas
//     -> :cas; failed operations and reads with an unknown outcome are left
//     out (they did not happen / observed nothing known);
//   - a batch is one write per record on its key's history; two records of one
//     batch on one key become one :write of the last (equivalent when no read
//     returns the earlier record's value; when one does, the records are
//     written as concurrent writes of fresh processes, which loses their order:
//     Knossos's register cannot say "a before b");
//   - a range is a read of every key it covers: the keys it returned, and every
//     key of the history between its lower bound and the greatest key returned,
//     which read absent;
//   - absence is the keyword :kvlog/absent, written by a first operation that
//     completes before any other: Knossos reads a nil :read value as "unknown";
//   - after an operation with an unknown outcome (:info, written at the end) the
//     process's later operations get a fresh process id (Jepsen's convention,
//     which Knossos enforces);
//   - a cas whose compare failed (result=false) is left out: to Knossos a
//     :fail cas is one that did not happen, which is weaker than kvcheck's
//     "the state was not the expected value then".
// Histories with `append` are refused: Knossos has no append model.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "checker/history.h"
#include "checker/status.h"
#include "checker/verdict.h"

namespace kvlog::checker {

// One register history for Knossos.
struct KnossosPart {
  std::string name;  // the key ("" for a single-register history)
  std::string edn;   // one EDN vector of op maps
  size_t ops = 0;    // operations in it
  // False when the export had to weaken the history (a failed cas left out,
  // two ordered records of one batch written as concurrent writes): Knossos's
  // "valid" then does not contradict kvcheck's "invalid"; its "invalid" still
  // does contradict kvcheck's "valid".
  bool exact = true;
};

// Exports `history` for Knossos under kvcheck model `model`: "register" and
// "cas-register" give one part, "kv" one part per key. Errors name the line of
// an operation that cannot be exported and why.
Result<std::vector<KnossosPart>> ExportForKnossos(const History& history, std::string_view model);

struct KnossosFileVerdict {
  std::string file;
  Verdict verdict = Verdict::kUnknown;  // Knossos's true / false / :unknown
};

// Runs `java -jar JAR --model MODEL FILE...` once for every file and reads
// the verdict of each (the jar's standard output: the file name, a tab, the
// analysis, then true, false or :unknown alone on a line; its log lines go to
// standard error and are kept apart). Error when java cannot be run, Knossos
// fails, or a file gets no verdict; *output gets what Knossos printed.
Result<std::vector<KnossosFileVerdict>> RunKnossosOnFiles(const std::string& jar, const std::string& model,
                                                          const std::vector<std::string>& files,
                                                          std::string* output);

struct KnossosResult {
  Verdict verdict = Verdict::kUnknown;  // invalid if any part is; unknown if any is; else valid
  size_t parts = 0;
  std::string detail;  // the first part Knossos found not linearizable, or why unknown
  std::string output;  // what Knossos printed
};

// Exports, writes the parts into a fresh folder under `dir` (e.g. /tmp), runs
// the jar once on all of them and combines the verdicts. An empty history
// (no operation to judge) is valid without running Knossos.
Result<KnossosResult> CheckWithKnossos(const std::string& jar, const History& history, std::string_view model,
                                       const std::string& dir);

}  // namespace kvlog::checker
