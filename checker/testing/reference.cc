#include "checker/testing/reference.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/propagate.h"
#include "checker/edn.h"

namespace kvlog::checker::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRelative = "checker/testdata/reference";

bool HasManifest(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "MANIFEST.tsv", ec);
}

Result<std::string> Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(path.string(), 0, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::string> ReferenceDir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("KVLOG_REFERENCE_DIR"); env && *env) candidates.emplace_back(env);
  // A test: $TEST_SRCDIR/<workspace>/...; `bazel run`: $RUNFILES_DIR, or the
  // runfiles tree beside the binary (/proc/self/exe.runfiles).
  for (const char* var : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    if (const char* v = std::getenv(var); v && *v) candidates.push_back(fs::path(v) / "kvlog" / kRelative);
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(fs::path(exe.string() + ".runfiles") / "kvlog" / kRelative);
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY"); ws && *ws) {
    candidates.push_back(fs::path(ws) / kRelative);
  }
  for (const fs::path& c : candidates) {
    if (HasManifest(c)) return c.string();
  }
  return MakeError("", 0,
                   std::string("reference histories not found: expected ") + kRelative +
                       "/MANIFEST.tsv in the runfiles (declare the data dependency) or $KVLOG_REFERENCE_DIR");
}

Result<std::vector<ReferenceHistory>> LoadReferenceSet() {
  KVLOG_ASSIGN_OR_RETURN(const auto dir, ReferenceDir());
  const fs::path manifest_path = fs::path(dir) / "MANIFEST.tsv";
  KVLOG_ASSIGN_OR_RETURN(const auto manifest, Slurp(manifest_path));
  std::vector<ReferenceHistory> rows;
  std::istringstream lines(manifest);
  int line_number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ReferenceHistory r;
    std::string expected;
    std::getline(fields, r.path, '\t');
    std::getline(fields, r.format, '\t');
    std::getline(fields, r.model, '\t');
    std::getline(fields, expected, '\t');
    if (r.path.empty() || r.format.empty() || r.model.empty() ||
        (expected != "linearizable" && expected != "not-linearizable")) {
      return MakeError(manifest_path.string(), line_number,
                       "want four tab-separated fields: path, format, model, linearizable|not-linearizable");
    }
    r.linearizable = expected == "linearizable";
    KVLOG_ASSIGN_OR_RETURN(r.text, Slurp(fs::path(dir) / r.path));
    rows.push_back(std::move(r));
  }
  if (rows.empty()) return MakeError(manifest_path.string(), 0, "no rows");
  return rows;
}

Result<std::vector<Operation>> ReferenceOperations(std::string_view text, const std::string& path,
                                                   std::string_view format) {
  KVLOG_ASSIGN_OR_RETURN(const History h,
                         format == "jepsen-log" ? ParseJepsenLog(text, path) : ParseJepsenEdn(text, path));
  return PairOperations(h);
}

}  // namespace kvlog::checker::testing
