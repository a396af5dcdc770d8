#include "checker/read_levels.h"

#include <algorithm>
#include <iterator>
#include <map>

#include <fmt/format.h>

namespace kvlog::checker {

Result<CheckReport> CheckReadLevels(const std::vector<Operation>& ops) {
  CheckReport rep;
  rep.checker = "read-levels";
  // Acknowledged writes by completion: (ret, offset), and the running
  // maximum of the offsets.
  std::vector<std::pair<int64_t, int64_t>> acks;
  for (const Operation& o : ops) {
    if (o.ok() && !IsReadFunction(o.f) && o.offset) acks.emplace_back(o.ret, *o.offset);
  }
  std::sort(acks.begin(), acks.end());
  std::vector<int64_t> max_offset(acks.size());
  for (size_t i = 0; i < acks.size(); ++i) max_offset[i] = std::max(i ? max_offset[i - 1] : -1, acks[i].second);
  // 1 + the highest offset acknowledged before position `call`: a lower bound
  // of the log's end then.
  auto end_before = [&](int64_t call) -> int64_t {
    size_t n = std::lower_bound(acks.begin(), acks.end(), std::pair<int64_t, int64_t>{call, INT64_MIN}) -
               acks.begin();
    return n == 0 ? 0 : max_offset[n - 1] + 1;
  };

  std::map<std::string, int64_t> judged, unjudged;
  for (const Operation& o : ops) {
    if (!IsReadFunction(o.f) || !o.level) continue;
    const std::string& level = *o.level;
    const bool bounded = level == "bounded", at_least = level == "at_least";
    if (level != "local" && level != "linearizable" && !bounded && !at_least) {
      return MakeError("", o.line, "unknown read level \"" + level +
                                       "\": the read-levels check knows local, bounded, at_least and linearizable");
    }
    if ((bounded || at_least) && (!o.bound || *o.bound < 0)) {
      return MakeError("", o.line,
                       fmt::format("a {} read needs its \"bound\" ({}), an integer >= 0{}", level,
                                   bounded ? "the lag in records" : "the position token",
                                   o.bound ? fmt::format(", not {}", *o.bound) : std::string()));
    }
    if (!o.ok()) continue;
    if (level == "local") {
      ++judged[level];
      continue;
    }
    if (!o.applied) {
      ++unjudged[level];
      continue;
    }
    ++judged[level];
    const std::string where = fmt::format("read of {} served at position {}", o.key.value_or("(no key)"), *o.applied);
    if (at_least) {
      if (*o.applied <= *o.bound) {
        rep.Add({"at-least",
                 fmt::format("{} though at_least({}) promises every record at or below that position token", where,
                             *o.bound),
                 {o.index}});
      }
      continue;
    }
    const int64_t lag = bounded ? *o.bound : 0;
    const int64_t end = end_before(o.call);
    if (*o.applied < end - lag) {
      rep.Add({bounded ? "bounded-lag" : "linearizable-position",
               fmt::format("{}, but writes up to offset {} were acknowledged before it began: the log's end was at "
                           "least {}{}",
                           where, end - 1, end,
                           bounded ? fmt::format(", more than its bound of {} record(s) ahead", lag)
                                   : std::string(", so a linearizable read must be served at or past it")),
               {o.index}});
    }
  }
  std::string counts;
  int64_t total = 0;
  for (const auto& [level, n] : judged) {
    fmt::format_to(std::back_inserter(counts), "{}{} {}", counts.empty() ? "" : ", ", n, level);
    total += n;
  }
  int64_t skipped = 0;
  for (const auto& [level, n] : unjudged) skipped += n;
  if (total == 0) {
    rep.verdict = skipped ? Verdict::kUnknown : Verdict::kSkipped;
    rep.summary = skipped ? fmt::format("{} reads record a level but not the position they were served at", skipped)
                          : "no reads record their level";
    return rep;
  }
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = fmt::format("reads by level: {}{}; {} violation(s)", counts,
                            skipped ? fmt::format("; {} without a position, not judged", skipped) : "",
                            rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
