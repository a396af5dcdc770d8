// Issue 13 item 4: a RocksDB store several times larger than the process's
// memory limit works. A child process gets an address-space limit
// (RLIMIT_AS, what `ulimit -v` sets), applies a simulated log whose values
// add up to several times that limit, reopens the store and reads every key
// back (Get, GetEntry's version, Range in pages), still under the limit. The
// in-memory store could not hold the same data in that process at all.
//
// RLIMIT_AS bounds virtual memory, which AddressSanitizer (and the other
// sanitizers) reserve by the terabyte, so under a sanitizer the test skips,
// visibly. The limit and the data size can be raised through the environment
// (KVLOG_LTM_LIMIT_MB, KVLOG_LTM_DATA_MB) for a longer manual run.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/rng.h"
#include "kv/rocksdb/rocksdb_storage.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KVLOG_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define KVLOG_UNDER_SANITIZER 1
#endif
#endif

namespace kvlog::kv::rocksdb {
namespace {

namespace fs = std::filesystem;

#ifdef KVLOG_UNDER_SANITIZER
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif

// The simulated log: record `offset` writes key (offset mod keys) with a
// value that is a function of the offset alone, so the reader recomputes what
// it expects instead of keeping it (which would not fit). Incompressible, so
// the store's files really are as large as the values.
std::string Key(uint64_t index) { return fmt::format("key/{:010}", index); }

void FillValue(uint64_t offset, std::size_t size, std::string* out) {
  out->resize(size);
  uint64_t state = base::SplitMix64(offset);
  for (std::size_t i = 0; i < size; i += 8) {
    state = base::SplitMix64(state);
    for (std::size_t b = 0; b < 8 && i + b < size; ++b) (*out)[i + b] = static_cast<char>(state >> (8 * b));
  }
}

std::size_t EnvMb(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

struct Plan {
  std::size_t limit_bytes;   // RLIMIT_AS of the child.
  std::size_t value_bytes;   // Size of every value.
  uint64_t keys;             // Distinct keys.
  uint64_t records;          // Log records: every key once, then every 8th key again.
  std::size_t batch = 256;   // Records per applied batch.
};

// The latest offset that wrote key `index`, given the plan.
uint64_t LatestOffset(const Plan& plan, uint64_t index) {
  // Records [0, keys) write keys 0..keys-1; records [keys, records) rewrite
  // keys 0, 8, 16, ... in order.
  if (index % 8 == 0 && index / 8 < plan.records - plan.keys) return plan.keys + index / 8;
  return index;
}

uint64_t KeyOfOffset(const Plan& plan, uint64_t offset) {
  return offset < plan.keys ? offset : (offset - plan.keys) * 8;
}

// Runs in the child, under the limit. Returns "" or what went wrong.
std::string ApplyAndReadBack(const Plan& plan, const std::string& dir) {
  const RocksDbOptions options{.path = dir,
                               .block_cache_bytes = 4 << 20,
                               .write_buffer_bytes = 4 << 20};
  {
    auto store = OpenRocksDbStorage(options);
    if (!store) return "open: " + store.error().ToString();
    std::vector<Mutation> batch;
    std::string value;
    for (uint64_t offset = 0; offset < plan.records;) {
      batch.clear();
      for (; offset < plan.records && batch.size() < plan.batch; ++offset) {
        FillValue(offset, plan.value_bytes, &value);
        batch.push_back(Mutation{Key(KeyOfOffset(plan, offset)), value, static_cast<Version>(offset)});
      }
      (*store)->Apply(batch, static_cast<int64_t>(offset));
    }
  }
  // Reopened: the position, then every key.
  auto store = OpenRocksDbStorage(options);
  if (!store) return "reopen: " + store.error().ToString();
  const auto durable = (*store)->Durable();
  if (!durable || durable->position != static_cast<int64_t>(plan.records)) {
    return fmt::format("reopened position {}, want {}", durable ? durable->position : -1, plan.records);
  }
  std::string expected;
  std::string got;
  for (uint64_t index = 0; index < plan.keys; ++index) {
    const uint64_t offset = LatestOffset(plan, index);
    FillValue(offset, plan.value_bytes, &expected);
    if (index % 16 == 3) {
      auto entry = (*store)->GetEntry(Key(index));
      if (!entry) return "GetEntry(" + Key(index) + ") missing";
      if (entry->version != static_cast<Version>(offset) || entry->value != expected) {
        return fmt::format("GetEntry({}) has version {}, want {}{}", Key(index), entry->version, offset,
                           entry->value == expected ? "" : " (and a wrong value)");
      }
    } else if (!(*store)->Get(Key(index), &got) || got != expected) {
      return "Get(" + Key(index) + ") is missing or wrong";
    }
  }
  if ((*store)->Get("key/", &got)) return "Get of an absent key found one";
  // Range, in pages of 1000 with versions, over the whole store.
  uint64_t next = 0;
  std::string start = "key/";
  for (;;) {
    std::vector<KeyValue> page = (*store)->Range(KeyConstraint{start, std::nullopt}, {.limit = 1000, .versions = true});
    for (const KeyValue& kv : page) {
      if (kv.key != Key(next)) return "Range gave " + kv.key + " where " + Key(next) + " was due";
      const uint64_t offset = LatestOffset(plan, next);
      FillValue(offset, plan.value_bytes, &expected);
      if (kv.version != static_cast<Version>(offset) || kv.value != expected) {
        return fmt::format("Range: {} has a wrong value or version {}", kv.key, kv.version);
      }
      ++next;
    }
    if (page.size() < 1000) break;
    start = page.back().key + '\0';
  }
  if (next != plan.keys) return fmt::format("Range saw {} keys, want {}", next, plan.keys);
  return "";
}

TEST(RocksDbLargerThanMemoryTest, StoreSeveralTimesTheAddressSpaceLimitAppliesAndReadsBack) {
  if (kUnderSanitizer) {
    GTEST_SKIP() << "skipped under a sanitizer: RLIMIT_AS (ulimit -v) cannot bound a process whose sanitizer "
                    "reserves terabytes of shadow memory; the plain build runs it";
  }
  Plan plan{};
  plan.limit_bytes = EnvMb("KVLOG_LTM_LIMIT_MB", 64) << 20;
  const std::size_t data_bytes = EnvMb("KVLOG_LTM_DATA_MB", 4 * (plan.limit_bytes >> 20)) << 20;
  plan.value_bytes = 4096;
  plan.keys = data_bytes / plan.value_bytes * 8 / 9;
  plan.records = plan.keys + plan.keys / 8;
  const uint64_t applied_bytes = plan.records * plan.value_bytes;
  ASSERT_GE(applied_bytes, 3 * plan.limit_bytes) << "the plan must apply several times the limit";

  if (const char* child_dir = std::getenv("KVLOG_LTM_CHILD_DIR"); child_dir != nullptr) {
    // The child (see below): under the limit, with stdout to the parent.
    std::string error;
    void* too_big = std::malloc(plan.limit_bytes);
    if (too_big != nullptr) {
      std::free(too_big);
      error = "an allocation of the whole limit succeeded: the limit does not hold";
    } else {
      error = ApplyAndReadBack(plan, child_dir);
    }
    std::fflush(stdout);
    (void)!write(STDOUT_FILENO, error.data(), error.size());
    _exit(error.empty() ? 0 : 1);
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = (fs::path(tmp != nullptr ? tmp : "/tmp") / "larger-than-memory").string();
  fs::remove_all(dir);

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: its stdout goes to the pipe; limits set here hold across
    // exec. glibc sizes thread stacks from RLIMIT_STACK at start-up, so a
    // small stack limit keeps RocksDB's threads (8 MB stacks by default) from
    // using up the address space (ulimit -s, as a deployment under ulimit -v
    // would set it too); the program is this test again, told by
    // the environment to be the child.
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    const rlimit stack{1 << 20, 1 << 20};
    const rlimit limit{plan.limit_bytes, plan.limit_bytes};
    if (setrlimit(RLIMIT_STACK, &stack) != 0 || setrlimit(RLIMIT_AS, &limit) != 0) {
      std::fputs("setrlimit failed", stdout);
      _exit(1);
    }
    setenv("KVLOG_LTM_CHILD_DIR", dir.c_str(), 1);
    // One malloc arena: glibc reserves 64 MB of address space for each extra
    // arena (one per thread that allocates), which is a budget under
    // RLIMIT_AS, not memory used.
    setenv("MALLOC_ARENA_MAX", "1", 1);
    const std::string filter = "--gtest_filter=" + std::string(::testing::UnitTest::GetInstance()->current_test_suite()->name()) +
                               "." + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    execl("/proc/self/exe", "/proc/self/exe", filter.c_str(), static_cast<char*>(nullptr));
    std::fputs("exec of the child failed", stdout);
    _exit(1);
  }
  close(pipe_fds[1]);
  std::string child_error;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) child_error.append(buf, static_cast<std::size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  rusage usage{};
  ASSERT_EQ(wait4(pid, &status, 0, &usage), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died (signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0)
                                 << "): out of memory under the limit?";
  EXPECT_EQ(WEXITSTATUS(status), 0) << child_error;

  uintmax_t store_bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) store_bytes += entry.file_size();
  }
  const long peak_rss_bytes = usage.ru_maxrss * 1024L;
  fmt::print("address-space limit {} MB; applied {} records, {} MB of values; store on disk {} MB "
             "({:.1f}x the limit); child peak RSS {} MB\n",
             plan.limit_bytes >> 20, plan.records, applied_bytes >> 20, store_bytes >> 20,
             static_cast<double>(store_bytes) / static_cast<double>(plan.limit_bytes), peak_rss_bytes >> 20);
  EXPECT_GE(store_bytes, 3 * plan.limit_bytes) << "the store on disk should be several times the limit";
  EXPECT_LT(static_cast<std::size_t>(peak_rss_bytes), plan.limit_bytes);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvlog::kv::rocksdb
