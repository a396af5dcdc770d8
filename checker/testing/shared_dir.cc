#include "checker/testing/shared_dir.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace kvlog::checker::testing {

std::string FindSharedDir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("KVLOG_SHARED_DIR"); env && *env) return env;
  std::vector<fs::path> starts;
  std::error_code ec;
  starts.push_back(fs::current_path(ec));
  for (const char* var : {"BUILD_WORKSPACE_DIRECTORY", "TEST_SRCDIR", "RUNFILES_DIR"}) {
    if (const char* v = std::getenv(var); v && *v) starts.emplace_back(v);
  }
  // Bazel's runfiles tree links back into the source tree: follow the links.
  std::vector<fs::path> more;
  for (const auto& s : starts) {
    for (const char* probe : {"kvlog/WORKSPACE", "WORKSPACE", "kvlog/checker/BUILD", "checker/BUILD"}) {
      fs::path p = s / probe;
      if (fs::exists(p, ec)) more.push_back(fs::canonical(p, ec).parent_path());
    }
    more.push_back(fs::weakly_canonical(s, ec));
  }
  starts.insert(starts.end(), more.begin(), more.end());
  for (fs::path dir : starts) {
    for (int up = 0; up < 12 && !dir.empty(); ++up) {
      fs::path candidate = dir / "shared" / "histories" / "MANIFEST.tsv";
      if (fs::exists(candidate, ec)) return (dir / "shared").string();
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  return "";
}

}  // namespace kvlog::checker::testing
