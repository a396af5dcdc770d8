// The folder and names the store benchmarks (rocksdb_bench, store_open_bench)
// share for the stores they fill.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace kvlog::bench {

// This process's scratch folder, <system temp>/kvlog-<program>-<pid>, made
// empty at the first call; later calls return it whatever `program` they pass.
// The caller removes it at exit.
inline const std::filesystem::path& ScratchDir(std::string_view program) {
  static const std::filesystem::path dir = [program] {
    std::filesystem::path d = std::filesystem::temp_directory_path() / fmt::format("kvlog-{}-{}", program, ::getpid());
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

// The i-th key of a filled store: fixed width, so keys sort in fill order.
inline std::string StoreKey(int64_t i) { return fmt::format("key/{:08}", i); }

}  // namespace kvlog::bench
