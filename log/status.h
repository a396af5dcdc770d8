// Errors that kvlog returns instead of throwing. A caller branches on the code;
// the message says what was wrong and which limit applied.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include "base/propagate.h"  // KVLOG_RETURN_IF_ERROR, KVLOG_ASSIGN_OR_RETURN

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
  kResourceExhausted,  // A bound on what the caller may hold at once was reached (a client's
                       // max_writes_in_flight); nothing was done. Retry once earlier work finishes.
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
