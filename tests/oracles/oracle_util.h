// Helpers the oracle tests share: running a program and reading its output,
// writing files into the test's temporary folder.
#pragma once

#include <string>
#include <vector>

namespace kvlog::oracles {

struct Ran {
  int status = -1;     // exit status, or -1 if the program did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `argv` (no shell) and collects its output.
Ran Run(const std::vector<std::string>& argv);

// $TEST_TMPDIR (or /tmp) / name.
std::string TempPath(const std::string& name);

bool WriteFile(const std::string& path, const std::string& text);

// The runfiles path of a workspace-relative file: $TEST_SRCDIR/kvlog/rel.
std::string Runfile(const std::string& rel);

// Lines of `text`.
std::vector<std::string> Lines(const std::string& text);

// Whether kvcheck's kv model judges batch and range (per key); without that,
// the oracle tests compare point operations only.
bool KvJudgesBatchAndRange();

}  // namespace kvlog::oracles
