// Reports of a FullReport: JSON (machine-readable) and one self-contained HTML
// page (no external resources): verdicts, the linearizability witness
// explained, violations, staleness figures, and a timeline per process with
// the failing operations highlighted.
#ifndef KVLOG_CHECKER_REPORT_H_
#define KVLOG_CHECKER_REPORT_H_

#include <string>

#include "checker/check.h"

namespace kvlog::checker {

// Limit: the timeline draws at most this many operations (a window around the
// first failing one); the page says when it leaves some out.
inline constexpr size_t kMaxTimelineOps = 4000;

std::string JsonReport(const FullReport& report);
std::string HtmlReport(const FullReport& report);

// Plain text, one line per checker: "linearizability: invalid (summary)".
std::string TextReport(const FullReport& report);

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_REPORT_H_
