#include "checker/counter.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvlog::checker {
namespace {

// A counter value: an integer, or a decimal string; nil is 0.
std::optional<int64_t> CountOf(const Value& v) {
  if (v.is_nil()) return 0;
  if (v.is_int()) return v.as_int();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.as_string();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

// Amounts at event positions: Sum(p) adds those at positions < p.
class Sums {
 public:
  void Add(int64_t position, int64_t amount) { items_.emplace_back(position, amount); }
  void Seal() {
    std::sort(items_.begin(), items_.end());
    prefix_.assign(items_.size() + 1, 0);
    for (size_t i = 0; i < items_.size(); ++i) prefix_[i + 1] = prefix_[i] + items_[i].second;
  }
  int64_t Before(int64_t position) const {
    size_t n = std::lower_bound(items_.begin(), items_.end(), std::pair<int64_t, int64_t>{position, INT64_MIN}) -
               items_.begin();
    return prefix_[n];
  }
  int64_t Total() const { return prefix_.empty() ? 0 : prefix_.back(); }

 private:
  std::vector<std::pair<int64_t, int64_t>> items_;
  std::vector<int64_t> prefix_;
};

struct Counter {
  Sums maybe;  // not failed, by invocation
  Sums acked;  // ok, by completion
  std::map<int64_t, Sums> acked_by_process;
  int64_t acked_count = 0, unknown_count = 0, failed_count = 0;
  int64_t last_ret = -1;  // of ok and failed increments
  std::map<int64_t, size_t> new_values;  // value an ok incr reported -> op
};

}  // namespace

Result<CheckReport> CheckCounter(const std::vector<Operation>& ops) {
  CheckReport rep;
  rep.checker = "counter";
  std::map<std::string, Counter> counters;
  for (const Operation& o : ops) {
    if (o.f != "incr") continue;
    if (!o.input.is_int() || o.input.as_int() <= 0) {
      return MakeError("", o.line, "incr of " + o.key.value_or("(no key)") + " adds " + o.input.ToString() +
                                       ": the counter check needs an integer amount > 0");
    }
    Counter& c = counters[o.key.value_or("")];
    const int64_t amount = o.input.as_int();
    if (o.outcome == EventType::kFail) {
      ++c.failed_count;
      c.last_ret = std::max(c.last_ret, o.ret);
      continue;
    }
    c.maybe.Add(o.call, amount);
    if (o.ok()) {
      ++c.acked_count;
      c.acked.Add(o.ret, amount);
      c.acked_by_process[o.process].Add(o.ret, amount);
      c.last_ret = std::max(c.last_ret, o.ret);
    } else {
      ++c.unknown_count;
    }
  }
  for (auto& [key, c] : counters) {
    c.maybe.Seal();
    c.acked.Seal();
    for (auto& [p, s] : c.acked_by_process) s.Seal();
  }
  static const Counter kNone = [] {
    Counter c;
    c.maybe.Seal();
    c.acked.Seal();
    return c;
  }();
  auto counter = [&](const Operation& o) -> const Counter& {
    auto it = counters.find(o.key.value_or(""));
    return it == counters.end() ? kNone : it->second;
  };

  int64_t reads = 0;
  std::map<std::string, std::set<int64_t>> finals;  // values read once every increment had returned
  for (const Operation& o : ops) {
    if (!o.ok()) continue;
    const std::string key = o.key.value_or("");
    if (o.f == "incr") {
      if (o.output.is_nil()) continue;
      Counter& c = counters[key];
      auto v = CountOf(o.output);
      if (!v) {
        rep.Add({"not-a-count",
                 fmt::format("incr of {} reports new value {}, not an integer", key, o.output.ToString()),
                 {o.index}});
        continue;
      }
      auto [it, fresh] = c.new_values.emplace(*v, o.index);
      if (!fresh) {
        rep.Add({"lost-update",
                 fmt::format("two acknowledged increments of {} both report new value {}: one overwrote the other", key,
                             *v),
                 {it->second, o.index}});
      }
      const int64_t upper = c.maybe.Before(o.ret);
      const int64_t lower = c.acked.Before(o.call) + o.input.as_int();
      if (*v < lower || *v > upper) {
        rep.Add({"counter-bounds",
                 fmt::format("incr of {} reports new value {}, outside [{}, {}] (acknowledged before it began plus "
                             "its own; every increment not failed invoked before it returned)",
                             key, *v, lower, upper),
                 {o.index}});
      }
      continue;
    }
    if (o.f != "get" && o.f != "read") continue;
    const Counter& c = counter(o);
    ++reads;
    auto v = CountOf(o.output);
    if (!v) {
      rep.Add({"not-a-count", fmt::format("read of {} returned {}, not an integer", key, o.output.ToString()),
               {o.index}});
      continue;
    }
    const bool linearizable = o.level == "linearizable";
    int64_t lower = 0;
    if (linearizable) {
      lower = c.acked.Before(o.call);
    } else if (auto it = c.acked_by_process.find(o.process); it != c.acked_by_process.end()) {
      lower = it->second.Before(o.call);
    }
    const int64_t upper = c.maybe.Before(o.ret);
    if (*v < lower || *v > upper) {
      rep.Add({"counter-bounds",
               fmt::format("read of {} ({}) returned {}, outside [{}, {}]: {}, and every increment not failed "
                           "invoked before it returned",
                           key, linearizable ? std::string("linearizable") : o.level.value_or("local"), *v, lower,
                           upper,
                           linearizable ? "increments acknowledged before it began"
                                        : "its own process's increments acknowledged before it began"),
               {o.index}});
    }
    if (linearizable && o.call > c.last_ret) finals[key].insert(*v);
  }

  int64_t acked = 0, unknown = 0, failed = 0;
  std::string final_text;
  for (const auto& [key, c] : counters) {
    acked += c.acked_count;
    unknown += c.unknown_count;
    failed += c.failed_count;
    auto f = finals.find(key);
    if (f == finals.end()) continue;
    fmt::format_to(std::back_inserter(final_text), "{}{}={} in [{}, {}]", final_text.empty() ? "" : ", ", key,
                   fmt::join(f->second, "|"), c.acked.Total(), c.maybe.Total());
  }
  if (counters.empty() && reads == 0) return rep.Skip("no increments or reads");
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = fmt::format("{} increments acknowledged, {} unknown, {} failed on {} counter(s); {} reads judged{}; {} "
                            "violation(s)",
                            acked, unknown, failed, counters.size(), reads,
                            final_text.empty() ? "" : "; final reads " + final_text, rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
