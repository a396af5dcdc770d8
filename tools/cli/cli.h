// What every kvlog command-line program shares: exit codes, strict parsing of
// numbers, seed ranges and key=value settings, a CLI11 set-up whose --help
// shows defaults and exit codes and whose parse errors exit 2, paths that
// resolve against the caller's directory under `bazel run`, file writing that
// says why it failed, terminal detection for progress lines, and SIGINT
// handling that lets a long run print its summary.
//
//   CLI::App app{"kvfoo: does foo"};
//   cli::Setup(app, {{cli::kExitFailed, "a check failed"}});
//   uint64_t ops = 100;
//   cli::AddNumber(app, "--ops", ops, "operations", 1, 1'000'000);
//   if (auto rc = cli::Parse(app, argc, argv)) return *rc;
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <expected>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace kvlog::cli {

// Exit codes. Each program documents what 1 means for it.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // The checks failed / the command failed as documented.
inline constexpr int kExitUsage = 2;        // Bad arguments: nothing was run.
inline constexpr int kExitEnvironment = 3;  // The run could not be made (broker unreachable, file unwritable).
inline constexpr int kExitUnknown = 4;      // The checks ran but could not decide (kvcheck: a verdict unknown).
inline constexpr int kExitInterrupted = 130;  // SIGINT: stopped early, after printing what was done.

// A value, or a message naming what was wrong and the limit.
template <class T>
using Parsed = std::expected<T, std::string>;

// Decimal integers only: an optional '-' (signed types), then digits; no
// sign '+', no spaces, no base prefix, no trailing characters; within
// [min, max].
Parsed<int64_t> ParseInt(std::string_view text, int64_t min = std::numeric_limits<int64_t>::min(),
                         int64_t max = std::numeric_limits<int64_t>::max());
Parsed<uint64_t> ParseUint(std::string_view text, uint64_t min = 0,
                           uint64_t max = std::numeric_limits<uint64_t>::max());

// Seeds: "7" or "1..200" (inclusive, first <= last).
struct SeedRange {
  uint64_t first = 1;
  uint64_t last = 1;
  uint64_t count() const { return last - first + 1; }  // Wraps only for 0..UINT64_MAX.
  bool single() const { return first == last; }
  std::string ToString() const;
};
Parsed<SeedRange> ParseSeedRange(std::string_view text);

// "key=value" with a non-empty key (the value may be empty or hold '=').
Parsed<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text);

// An exit code and what it means, for --help.
struct ExitCode {
  int code;
  std::string meaning;
};

// Call before adding options: defaults are captured and shown in --help
// (as TYPE=default), and the footer lists the exit codes: 0, 2 (usage) and
// `codes`, what 1, 3, 130 or others mean for this program (list only those
// it can return).
void Setup(CLI::App& app, std::vector<ExitCode> codes);

// Parses the command line. nullopt: carry on. Otherwise the program should
// return this code: 0 after --help, kExitUsage after printing the parse
// error (CLI11's own codes, e.g. 105/109, never escape).
std::optional<int> Parse(CLI::App& app, int argc, const char* const* argv);

// The message of a usage error, printed as "NAME: MESSAGE" plus a hint, and
// kExitUsage to return.
int UsageError(const CLI::App& app, std::string_view message);

// A strictly parsed integer option (see ParseInt), default shown in --help.
template <std::integral T>
CLI::Option* AddNumber(CLI::App& app, const std::string& name, T& target, const std::string& description,
                       T min = std::numeric_limits<T>::min(), T max = std::numeric_limits<T>::max());

// A seed or seed range option ("7", "1..200").
CLI::Option* AddSeedRange(CLI::App& app, const std::string& name, SeedRange& target,
                          const std::string& description);

// A repeatable key=value option (e.g. -X, --topic-config).
CLI::Option* AddKeyValues(CLI::App& app, const std::string& name,
                          std::vector<std::pair<std::string, std::string>>& target, const std::string& description);

// A path as the user meant it. Under `bazel run` the program runs in its
// runfiles folder and BUILD_WORKING_DIRECTORY names the caller's directory:
// a relative path resolves against it. "-" (stdin/stdout) and absolute paths
// stay as they are.
std::string ResolvePath(std::string_view path);

// Writes `text` to `path` (replacing it). The error names the path and why
// (errno), e.g. "cannot write /x/h.jsonl: No such file or directory".
std::expected<void, std::string> WriteFile(const std::string& path, std::string_view text);

// Whether the stream is a terminal (progress lines are drawn only there).
bool IsTerminal(std::FILE* stream);

// A one-line progress display on stderr, redrawn in place; silent unless
// stderr is a terminal (or `enabled` is false).
class Progress {
 public:
  explicit Progress(bool enabled = true);
  ~Progress();  // Ends the line if one was drawn.
  void Update(std::string_view line);
  void Finish();  // Ends the line; later Updates start a new one.
  bool active() const { return active_; }

 private:
  bool active_;
  bool drawn_ = false;
};

// SIGINT handling: the first SIGINT sets a flag the program polls and lets it
// stop after the current unit of work and print a summary; a second one ends
// the process at once (the default action). Installs once; idempotent.
void InstallInterruptHandler();
bool Interrupted();
// For tests: clears the flag.
void ResetInterrupted();

// ---- implementation of the templates ----

template <std::integral T>
CLI::Option* AddNumber(CLI::App& app, const std::string& name, T& target, const std::string& description, T min,
                       T max) {
  auto* option = app.add_option_function<std::string>(
      name,
      [&target, name, min, max](const std::string& text) {
        if constexpr (std::is_signed_v<T>) {
          auto v = ParseInt(text, min, max);
          if (!v) throw CLI::ValidationError(name, v.error());
          target = static_cast<T>(*v);
        } else {
          auto v = ParseUint(text, min, max);
          if (!v) throw CLI::ValidationError(name, v.error());
          target = static_cast<T>(*v);
        }
      },
      description);
  option->type_name(std::is_signed_v<T> ? "INT" : "UINT");
  option->default_str(fmt::format("{}", target));
  return option;
}

}  // namespace kvlog::cli
