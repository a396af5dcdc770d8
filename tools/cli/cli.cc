#include "tools/cli/cli.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace kvlog::cli {
namespace {

std::string Quote(std::string_view text) { return fmt::format("'{}'", text); }

template <class T>
Parsed<T> ParseDecimal(std::string_view text, T min, T max) {
  if (text.empty()) return std::unexpected(std::string("expected a number, got an empty string"));
  std::string_view digits = text;
  if (digits.front() == '-') {
    if constexpr (std::is_unsigned_v<T>) {
      return std::unexpected(fmt::format("expected a number >= {}, got {}", min, Quote(text)));
    }
    digits.remove_prefix(1);
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::unexpected(fmt::format("expected a decimal integer, got {}", Quote(text)));
  }
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && (value < min || value > max))) {
    return std::unexpected(fmt::format("{} is out of range: must be in {}..{}", text, min, max));
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::unexpected(fmt::format("expected a decimal integer, got {}", Quote(text)));
  }
  return value;
}

std::atomic<bool> g_interrupted{false};
std::atomic<bool> g_installed{false};

void OnInterrupt(int) {
  if (g_interrupted.exchange(true)) {
    // The second SIGINT: the default action, now.
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  static const char kMessage[] = "\ninterrupted: finishing the current step and printing a summary "
                                 "(SIGINT again to stop at once)\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
}

}  // namespace

Parsed<int64_t> ParseInt(std::string_view text, int64_t min, int64_t max) {
  return ParseDecimal<int64_t>(text, min, max);
}

Parsed<uint64_t> ParseUint(std::string_view text, uint64_t min, uint64_t max) {
  return ParseDecimal<uint64_t>(text, min, max);
}

std::string SeedRange::ToString() const {
  return single() ? fmt::format("{}", first) : fmt::format("{}..{}", first, last);
}

Parsed<SeedRange> ParseSeedRange(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return std::unexpected(fmt::format("bad seed range {}: {} (write N or A..B with A <= B, e.g. 7 or 1..200)",
                                       Quote(text), why));
  };
  if (text.empty()) return bad("empty");
  const auto dots = text.find("..");
  if (dots == std::string_view::npos) {
    auto seed = ParseUint(text);
    if (!seed) return bad(seed.error());
    return SeedRange{*seed, *seed};
  }
  if (text.find("..", dots + 2) != std::string_view::npos) return bad("more than one '..'");
  auto first = ParseUint(text.substr(0, dots));
  if (!first) return bad("first seed: " + first.error());
  auto last = ParseUint(text.substr(dots + 2));
  if (!last) return bad("last seed: " + last.error());
  if (*first > *last) return bad(fmt::format("{} > {}", *first, *last));
  return SeedRange{*first, *last};
}

Parsed<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return std::unexpected(fmt::format("expected key=value, got {} (no '=')", Quote(text)));
  }
  if (eq == 0) return std::unexpected(fmt::format("expected key=value, got {} (empty key)", Quote(text)));
  return std::pair<std::string, std::string>(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

void Setup(CLI::App& app, std::vector<ExitCode> codes) {
  app.option_defaults()->always_capture_default();
  std::vector<ExitCode> all = std::move(codes);
  const auto has = [&](int code) {
    return std::any_of(all.begin(), all.end(), [&](const ExitCode& c) { return c.code == code; });
  };
  if (!has(kExitOk)) all.push_back({kExitOk, "success"});
  if (!has(kExitUsage)) all.push_back({kExitUsage, "usage error (bad option or value; nothing was run)"});
  std::stable_sort(all.begin(), all.end(), [](const ExitCode& a, const ExitCode& b) { return a.code < b.code; });
  std::string footer = "Exit codes:";
  for (const auto& c : all) footer += fmt::format("\n  {:<4} {}", c.code, c.meaning);
  app.footer(footer);
}

std::optional<int> Parse(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      app.exit(e);
      return kExitOk;
    }
    return UsageError(app, e.what());
  }
  return std::nullopt;
}

int UsageError(const CLI::App& app, std::string_view message) {
  std::string name = app.get_name();
  if (name.empty()) name = "error";
  std::cerr << name << ": " << message << "\nRun with --help for the options.\n";
  return kExitUsage;
}

CLI::Option* AddSeedRange(CLI::App& app, const std::string& name, SeedRange& target,
                          const std::string& description) {
  auto* option = app.add_option_function<std::string>(
      name,
      [&target, name](const std::string& text) {
        auto range = ParseSeedRange(text);
        if (!range) throw CLI::ValidationError(name, range.error());
        target = *range;
      },
      description);
  option->type_name("N|A..B");
  option->default_str(target.ToString());
  return option;
}

CLI::Option* AddKeyValues(CLI::App& app, const std::string& name,
                          std::vector<std::pair<std::string, std::string>>& target, const std::string& description) {
  auto* option = app.add_option_function<std::vector<std::string>>(
      name,
      [&target, name](const std::vector<std::string>& items) {
        for (const auto& item : items) {
          auto kv = ParseKeyValue(item);
          if (!kv) throw CLI::ValidationError(name, kv.error());
          target.push_back(std::move(*kv));
        }
      },
      description);
  option->type_name("KEY=VALUE");
  option->allow_extra_args(false);
  option->take_all();
  option->default_str("");
  return option;
}

std::string ResolvePath(std::string_view path) {
  if (path.empty() || path == "-" || path.front() == '/') return std::string(path);
  const char* base = std::getenv("BUILD_WORKING_DIRECTORY");
  if (base == nullptr || *base == '\0') return std::string(path);
  return (std::filesystem::path(base) / std::filesystem::path(path)).string();
}

std::expected<void, std::string> WriteFile(const std::string& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return std::unexpected(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  const std::size_t written = text.empty() ? 0 : std::fwrite(text.data(), 1, text.size(), f);
  const int write_errno = errno;
  if (written != text.size()) {
    std::fclose(f);
    return std::unexpected(fmt::format("cannot write {}: {} (wrote {} of {} bytes)", path,
                                       std::strerror(write_errno), written, text.size()));
  }
  if (std::fclose(f) != 0) return std::unexpected(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  return {};
}

bool IsTerminal(std::FILE* stream) { return stream != nullptr && isatty(fileno(stream)) == 1; }

Progress::Progress(bool enabled) : active_(enabled && IsTerminal(stderr)) {}

Progress::~Progress() { Finish(); }

void Progress::Update(std::string_view line) {
  if (!active_) return;
  // Carriage return, the line, then clear what a longer previous line left.
  fmt::print(stderr, "\r{}\033[K", line);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!drawn_) return;
  std::fputc('\n', stderr);
  std::fflush(stderr);
  drawn_ = false;
}

void InstallInterruptHandler() {
  if (g_installed.exchange(true)) return;
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
}

bool Interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

void ResetInterrupted() { g_interrupted.store(false); }

}  // namespace kvlog::cli
