// Early returns for std::expected, whatever its error type (kvlog::Error,
// checker::Error, nemesis's std::string), and "context: message" for string
// errors. log/status.h adds the same context helper for kvlog::Error.
//
//   KVLOG_RETURN_IF_ERROR(writer.Flush());
//   KVLOG_ASSIGN_OR_RETURN(auto ops, PairOperations(history));
//   return base::WithContext(RunScript(...), "broker 3");
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace kvlog::base {

// `error` with `context` before it: "context: error".
inline std::string WithContext(std::string error, std::string_view context) {
  std::string out;
  out.reserve(context.size() + 2 + error.size());
  out.append(context).append(": ").append(error);
  return out;
}

// The same result, its error (if any) prefixed with `context`.
template <typename T>
std::expected<T, std::string> WithContext(std::expected<T, std::string> result, std::string_view context) {
  if (!result) return std::unexpected(WithContext(std::move(result).error(), context));
  return result;
}

}  // namespace kvlog::base

// Returns the error of `expr` (a std::expected) from the enclosing function,
// which returns a std::expected with the same error type.
#define KVLOG_RETURN_IF_ERROR(expr)                                                   \
  do {                                                                                \
    if (auto&& kvlog_status_ = (expr); !kvlog_status_) {                              \
      return ::std::unexpected(::std::move(kvlog_status_).error());                   \
    }                                                                                 \
  } while (0)

#define KVLOG_CONCAT_INNER_(a, b) a##b
#define KVLOG_CONCAT_(a, b) KVLOG_CONCAT_INNER_(a, b)

// Evaluates `expr` (a std::expected with a value); on error returns it from
// the enclosing function, else moves its value into `lhs` (a declaration or an
// lvalue):
//   KVLOG_ASSIGN_OR_RETURN(auto reader, log->OpenReader(0));
#define KVLOG_ASSIGN_OR_RETURN(lhs, expr) \
  KVLOG_ASSIGN_OR_RETURN_(KVLOG_CONCAT_(kvlog_result_, __LINE__), lhs, expr)
#define KVLOG_ASSIGN_OR_RETURN_(result, lhs, expr)                      \
  auto result = (expr);                                                 \
  if (!result) return ::std::unexpected(::std::move(result).error());   \
  lhs = ::std::move(*result)
