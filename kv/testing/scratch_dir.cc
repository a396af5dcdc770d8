#include "kv/testing/scratch_dir.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

namespace kvlog::kv::testing {

std::string NewScratchDir(std::string_view name) {
  static std::atomic<int> n{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::filesystem::path dir = std::filesystem::path(tmp != nullptr ? tmp : "/tmp") / fmt::format("{}-{}", name, n++);
  std::filesystem::remove_all(dir);
  return dir.string();
}

}  // namespace kvlog::kv::testing
