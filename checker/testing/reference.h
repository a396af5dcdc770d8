// The published reference histories that live in the repository
// (checker/testdata/reference, see its README): their MANIFEST.tsv rows and
// texts, for tests and benchmarks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "checker/history.h"
#include "checker/status.h"

namespace kvlog::checker::testing {

struct ReferenceHistory {
  std::string path;      // relative to the reference directory
  std::string format;    // "jepsen-edn", "jepsen-edn-lines" or "jepsen-log"
  std::string model;     // a MakeModel name
  bool linearizable;     // the verdict its authors published
  std::string text;      // the file's bytes
};

// The reference directory: in a test, the runfiles copy; under `bazel run`,
// the binary's runfiles; otherwise $KVLOG_REFERENCE_DIR. Error when none holds
// a MANIFEST.tsv.
Result<std::string> ReferenceDir();

// Every MANIFEST.tsv row with its file read. Error (naming the file) when the
// manifest or a file it lists cannot be read, or a row is malformed.
Result<std::vector<ReferenceHistory>> LoadReferenceSet();

// A reference file's text read as `format` ("jepsen-log", else Jepsen EDN)
// and its operations paired. Error names `path` and the line.
Result<std::vector<Operation>> ReferenceOperations(std::string_view text, const std::string& path,
                                                   std::string_view format);

}  // namespace kvlog::checker::testing
