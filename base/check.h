// Always-on invariant checks (not compiled out under NDEBUG).
//
//   KVLOG_CHECK(position >= applied) << "reader went back to " << position;
//   KVLOG_CHECK_LE(deadline_a, deadline_b) << "timer heap out of order";
//
// A failing check prints "file:line: check failed: <condition>", the values of
// a comparison's two sides, the streamed message and every context a caller
// registered on this thread (a simulation registers its seed's replay
// command), then aborts. Under a seeded simulator a check is the cheapest
// oracle there is: use one wherever a comment states an invariant.
//
// The message is only built when the check fails.
#pragma once

#include <chrono>
#include <concepts>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace kvlog::base {

// Adds a line of context to any check that fails on this thread while it
// lives (nested contexts print innermost last). A simulation run registers
// "seed N; replay with: ..." so a failing check names how to repeat it.
// Fibers of a simulated run all run on the thread that drives it, so a
// context registered around the run covers every fiber in it.
class ScopedCheckContext {
 public:
  explicit ScopedCheckContext(std::string text);
  ~ScopedCheckContext();
  ScopedCheckContext(const ScopedCheckContext&) = delete;
  ScopedCheckContext& operator=(const ScopedCheckContext&) = delete;

 private:
  std::string text_;
  const ScopedCheckContext* outer_;
  friend std::string CheckContextForTesting();
  friend class CheckFailure;
};

// The contexts in force on this thread, one per line (for tests).
std::string CheckContextForTesting();

// Collects a failed check's message; its destructor prints it and aborts.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, std::string condition);
  [[noreturn]] ~CheckFailure();
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  std::ostream& stream() { return message_; }

 private:
  const char* file_;
  int line_;
  std::string condition_;
  std::ostringstream message_;
};

namespace internal {

// A value in a failed comparison's message: numbers as is, durations and
// time points in nanoseconds, strings quoted, anything else streamable as it
// streams.
template <typename T>
std::string CheckValue(const T& value) {
  std::ostringstream out;
  if constexpr (requires { value.time_since_epoch(); }) {
    out << std::chrono::duration_cast<std::chrono::nanoseconds>(value.time_since_epoch()).count() << " ns";
  } else if constexpr (requires { std::chrono::duration_cast<std::chrono::nanoseconds>(value); }) {
    out << std::chrono::duration_cast<std::chrono::nanoseconds>(value).count() << " ns";
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out << '"' << std::string_view(value) << '"';
  } else if constexpr (std::is_enum_v<T>) {
    out << static_cast<std::underlying_type_t<T>>(value);
  } else if constexpr (requires { out << value; }) {
    out << value;
  } else {
    out << "(unprintable)";
  }
  return out.str();
}

// Null when the comparison holds; otherwise "a op b (va vs vb)".
template <typename A, typename B, typename Op>
std::string* CheckOp(const A& a, const B& b, Op op, const char* text) {
  if (op(a, b)) [[likely]] return nullptr;
  return new std::string(std::string(text) + " (" + CheckValue(a) + " vs " + CheckValue(b) + ")");
}

std::string TakeCheckText(std::string* text);  // Frees it.

}  // namespace internal
}  // namespace kvlog::base

// A loop rather than an if, so `if (x) KVLOG_CHECK(y); else ...` binds its
// else to the caller's if; the body aborts, so it never runs twice.
#define KVLOG_CHECK(condition) \
  while (!(condition)) [[unlikely]] ::kvlog::base::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define KVLOG_CHECK_OP_(a, b, op)                                                                        \
  while (std::string* kvlog_check_failed_ = ::kvlog::base::internal::CheckOp(                           \
             (a), (b), [](const auto& x, const auto& y) { return x op y; }, #a " " #op " " #b))         \
  ::kvlog::base::CheckFailure(__FILE__, __LINE__, ::kvlog::base::internal::TakeCheckText(kvlog_check_failed_)).stream()

#define KVLOG_CHECK_EQ(a, b) KVLOG_CHECK_OP_(a, b, ==)
#define KVLOG_CHECK_NE(a, b) KVLOG_CHECK_OP_(a, b, !=)
#define KVLOG_CHECK_LT(a, b) KVLOG_CHECK_OP_(a, b, <)
#define KVLOG_CHECK_LE(a, b) KVLOG_CHECK_OP_(a, b, <=)
#define KVLOG_CHECK_GT(a, b) KVLOG_CHECK_OP_(a, b, >)
#define KVLOG_CHECK_GE(a, b) KVLOG_CHECK_OP_(a, b, >=)
