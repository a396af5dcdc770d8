// Errors for the history checker. Public functions return Result<T>: either a
// value or an Error naming where a history went wrong (file, line) and why.
#pragma once

#include <expected>
#include <string>

namespace kvlog::checker {

struct Error {
  std::string file;    // empty when the error is not about a file
  int line = 0;        // 1-based; 0 when not about a line
  std::string reason;  // what is wrong, for a human

  // "file:line: reason" (parts that are unknown are left out).
  std::string ToString() const;
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> MakeError(std::string file, int line,
                                        std::string reason) {
  return std::unexpected<Error>(Error{std::move(file), line, std::move(reason)});
}

}  // namespace kvlog::checker
