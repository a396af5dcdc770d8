// Reports of a FullReport: text, JSON (machine-readable) and one
// self-contained HTML page (inline CSS and JS, no external resources; see
// html_report.cc): verdicts, violations linked to their operations, the
// linearizability witness, staleness figures, and one timeline per key with a
// lane per process on the events' time, zoomable, nemesis windows shaded.
#pragma once

#include <string>

#include "checker/check.h"

namespace kvlog::checker {

// Limits of the HTML page, so that a big history still gives a page a browser
// opens (a few MB at most): keys with violations are drawn first, each key at
// most kMaxHtmlOpsPerKey operations (a window around its first violation), at
// most kMaxHtmlDrawnOps in all; the page names what it leaves out. Values are
// shown up to 160 bytes. Nemesis windows: the first kMaxHtmlNemesisWindows.
inline constexpr size_t kMaxHtmlKeySections = 60;
inline constexpr size_t kMaxHtmlOpsPerKey = 2000;
inline constexpr size_t kMaxHtmlDrawnOps = 12000;
inline constexpr size_t kMaxHtmlPrefixListed = 300;
inline constexpr size_t kMaxHtmlNemesisWindows = 200;

std::string JsonReport(const FullReport& report);
std::string HtmlReport(const FullReport& report);

// A duration for people: "850 ns", "12.3 µs", "4.56 ms", "2.10 s".
std::string HumanDuration(int64_t ns);

// Plain text, one line per checker: "linearizability: invalid (summary)".
std::string TextReport(const FullReport& report);

}  // namespace kvlog::checker
