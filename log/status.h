// Errors that kvlog returns instead of throwing. A caller branches on the code;
// the message says what was wrong and which limit applied.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace kvlog {

enum class ErrorCode {
  kInvalidArgument,  // The caller's input broke a stated limit; nothing was done.
  kNotFound,         // The key has no value.
  kTimeout,          // The deadline passed first. The operation may still take effect.
  kClosed,           // The client or log was closed before or during the call.
  kUnavailable,      // The log cannot be reached now; retrying later may succeed.
  kCorrupt,          // A record could not be decoded or failed its checksum.
  kFailedPrecondition,  // The log is not in a usable shape (e.g. wrong partition count).
  kDataLoss,         // The log lost records: a write it acknowledged is not at its offset, or records a
                     // reader had not read yet were deleted (retention) or truncated.
  kInternal,         // A bug or an unexpected error from a dependency.
  kConflict,         // A conditional write's condition was false where the log placed it: nothing was
                     // written. Not retryable as is; the message names the key and its current version.
  kCompacted,        // What was asked for is older than what is still held (a watch from a version its
                     // history no longer covers); the message names the oldest version available.
  kCancelled,        // The caller cancelled the call (a std::stop_token in its options). Like kTimeout, a
                     // write already handed to the log may still take effect; the message says whether.
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Timeout: put did not complete within 5000 ms"
  std::string ToString() const;

  friend bool operator==(const Error&, const Error&) = default;

 private:
  ErrorCode code_;
  std::string message_;
};

// A value or the reason there is none.
template <typename T>
using Result = std::expected<T, Error>;

// Success or the reason for failure.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

inline Status OkStatus() { return {}; }

// The same error with `context` before its message ("context: message"), for
// a caller that knows what was being done when a callee failed.
inline Error WithContext(Error error, std::string_view context) {
  return Error(error.code(), std::string(context) + ": " + error.message());
}
template <typename T>
std::expected<T, Error> WithContext(std::expected<T, Error> result, std::string_view context) {
  if (!result) return std::unexpected(WithContext(std::move(result).error(), context));
  return result;
}

}  // namespace kvlog

// Returns the error of `expr` (a Status or Result) from the enclosing
// function, which returns a Status or any Result.
#define KVLOG_RETURN_IF_ERROR(expr)                                                   \
  do {                                                                                \
    if (auto&& kvlog_status_ = (expr); !kvlog_status_) {                              \
      return ::std::unexpected(::std::move(kvlog_status_).error());                   \
    }                                                                                 \
  } while (0)

#define KVLOG_CONCAT_INNER_(a, b) a##b
#define KVLOG_CONCAT_(a, b) KVLOG_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Result); on error returns it from the enclosing
// function, else moves its value into `lhs` (a declaration or an lvalue):
//   KVLOG_ASSIGN_OR_RETURN(auto reader, log->OpenReader(0));
#define KVLOG_ASSIGN_OR_RETURN(lhs, expr) \
  KVLOG_ASSIGN_OR_RETURN_(KVLOG_CONCAT_(kvlog_result_, __LINE__), lhs, expr)
#define KVLOG_ASSIGN_OR_RETURN_(result, lhs, expr)                      \
  auto result = (expr);                                                 \
  if (!result) return ::std::unexpected(::std::move(result).error());   \
  lhs = ::std::move(*result)
