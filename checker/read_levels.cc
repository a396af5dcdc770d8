#include "checker/read_levels.h"

#include <algorithm>
#include <map>

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
      return MakeError("", o.line, "a " + level + " read needs its \"bound\" (" +
                                       (bounded ? "the lag in records" : "the position token") +
                                       "), an integer >= 0" +
                                       (o.bound ? ", not " + std::to_string(*o.bound) : std::string()));
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
    const std::string where = "read of " + o.key.value_or("(no key)") + " served at position " +
                              std::to_string(*o.applied);
    if (at_least) {
      if (*o.applied <= *o.bound) {
        rep.Add({"at-least", where + " though at_least(" + std::to_string(*o.bound) +
                                 ") promises every record at or below that position token",
                 {o.index}});
      }
      continue;
    }
    const int64_t lag = bounded ? *o.bound : 0;
    const int64_t end = end_before(o.call);
    if (*o.applied < end - lag) {
      rep.Add({bounded ? "bounded-lag" : "linearizable-position",
               where + ", but writes up to offset " + std::to_string(end - 1) +
                   " were acknowledged before it began: the log's end was at least " + std::to_string(end) +
                   (bounded ? ", more than its bound of " + std::to_string(lag) + " record(s) ahead"
                            : ", so a linearizable read must be served at or past it"),
               {o.index}});
    }
  }
  std::string counts;
  int64_t total = 0;
  for (const auto& [level, n] : judged) {
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + level;
    total += n;
  }
  int64_t skipped = 0;
  for (const auto& [level, n] : unjudged) skipped += n;
  if (total == 0) {
    rep.verdict = skipped ? Verdict::kUnknown : Verdict::kSkipped;
    rep.summary = skipped ? std::to_string(skipped) + " reads record a level but not the position they were served at"
                          : "no reads record their level";
    return rep;
  }
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = "reads by level: " + counts +
                (skipped ? "; " + std::to_string(skipped) + " without a position, not judged" : "") + "; " +
                std::to_string(rep.violation_count) + " violation(s)";
  return rep;
}

}  // namespace kvlog::checker
