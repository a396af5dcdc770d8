#include "log/status.h"

namespace kvlog {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "InvalidArgument";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kTimeout: return "Timeout";
    case ErrorCode::kClosed: return "Closed";
    case ErrorCode::kUnavailable: return "Unavailable";
    case ErrorCode::kCorrupt: return "Corrupt";
    case ErrorCode::kFailedPrecondition: return "FailedPrecondition";
    case ErrorCode::kDataLoss: return "DataLoss";
    case ErrorCode::kInternal: return "Internal";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kCompacted: return "Compacted";
    case ErrorCode::kResourceExhausted: return "ResourceExhausted";
    case ErrorCode::kCancelled: return "Cancelled";
  }
  return "Unknown";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace kvlog
