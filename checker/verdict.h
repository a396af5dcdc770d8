// Verdict: what one checker concluded.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kvlog::checker {

enum class Verdict {
  kValid,
  kInvalid,
  kUnknown,  // could not decide (time budget, missing data the check needs)
  kSkipped,  // the history carries nothing this checker judges
};

inline const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kValid: return "valid";
    case Verdict::kInvalid: return "invalid";
    case Verdict::kUnknown: return "unknown";
    case Verdict::kSkipped: return "skipped";
  }
  return "?";
}

// One thing a checker found wrong, tied to the operations involved.
struct Violation {
  std::string kind;         // e.g. "read-your-writes", "lost-write"
  std::string message;      // a sentence for a human
  std::vector<size_t> ops;  // Operation::index of the operations involved
};

// Limit: a checker reports at most this many violations (it counts all).
inline constexpr size_t kMaxReportedViolations = 100;

struct CheckReport {
  std::string checker;
  Verdict verdict = Verdict::kSkipped;
  std::string summary;
  size_t violation_count = 0;
  std::vector<Violation> violations;  // the first kMaxReportedViolations
  double seconds = 0;  // analysis time of this check (its share of indexing included)

  void Add(Violation v) {
    ++violation_count;
    if (violations.size() < kMaxReportedViolations) violations.push_back(std::move(v));
  }

  // Marks the check skipped (nothing in the history for it to judge), saying why:
  //   if (history.finals.empty()) return rep.Skip("no final states recorded");
  CheckReport& Skip(std::string why) {
    verdict = Verdict::kSkipped;
    summary = std::move(why);
    return *this;
  }
};

}  // namespace kvlog::checker
