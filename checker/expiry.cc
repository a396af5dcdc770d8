#include "checker/expiry.h"

#include <algorithm>
#include <map>
#include <string>

#include <fmt/format.h>

namespace kvlog::checker {
namespace {

struct Held {
  std::string value;
  std::optional<int64_t> deadline;
};

// A key's state after each record that touched it, in offset order.
struct KeyTimeline {
  std::vector<int64_t> offsets;
  std::vector<std::optional<Held>> states;

  // The state below `position`.
  const std::optional<Held>* At(int64_t position) const {
    auto it = std::lower_bound(offsets.begin(), offsets.end(), position);
    if (it == offsets.begin()) return nullptr;
    return &states[static_cast<size_t>(it - offsets.begin()) - 1];
  }
};

std::string Ns(int64_t ns) { return fmt::format("{} ns", ns); }

std::string Show(const std::optional<Held>& h) {
  if (!h) return "nothing";
  return h->deadline ? fmt::format("'{}' (deadline {} ns)", h->value, *h->deadline)
                     : fmt::format("'{}' (no deadline)", h->value);
}

}  // namespace

Result<CheckReport> CheckExpiry(const History& history, const std::vector<Operation>& ops,
                                const ExpiryOptions& options) {
  if (options.skew_bound_ns < 0) {
    return MakeError(history.source, 0,
                     fmt::format("expiry check: the skew bound is negative ({} ns)", options.skew_bound_ns));
  }
  CheckReport rep;
  rep.checker = "expiry";
  const bool any_deadline =
      std::any_of(history.log.begin(), history.log.end(), [](const LogRecord& r) { return r.deadline.has_value(); });
  if (!history.has_log || !any_deadline) {
    return rep.Skip(history.has_log ? "no record carries a deadline" : "the log was not recorded");
  }
  // Fold the log, keeping each key's states by offset.
  std::map<std::string, std::optional<Held>> state;
  std::map<std::string, KeyTimeline, std::less<>> timelines;
  for (const LogRecord& r : history.log) {
    std::optional<Held>& cur = state[r.key];
    if (r.f == "cas") {
      const bool matches = r.expected ? (cur && cur->value == *r.expected) : !cur;
      if (!matches) continue;
    }
    if (r.value) {
      cur = Held{std::string(*r.value), r.deadline};
    } else {
      cur.reset();
    }
    KeyTimeline& t = timelines[r.key];
    t.offsets.push_back(r.offset);
    t.states.push_back(cur);
  }
  const int64_t b = options.skew_bound_ns;
  size_t reads = 0, expired_hidden = 0;
  for (const Operation& o : ops) {
    if (o.f != "get" || !o.ok() || !o.key || !o.applied || !o.call_time || !o.ret_time) continue;
    ++reads;
    const int64_t call = *o.call_time + options.time_origin_ns;
    const int64_t ret = *o.ret_time + options.time_origin_ns;
    static const std::optional<Held> kNothing;
    const auto found_key = timelines.find(*o.key);
    const KeyTimeline* t = found_key != timelines.end() ? &found_key->second : nullptr;
    const std::optional<Held>* found = t != nullptr ? t->At(*o.applied) : nullptr;
    const std::optional<Held>& held = found != nullptr ? *found : kNothing;
    const bool got_nil = o.output.is_nil();
    const std::string where = fmt::format("get of '{}' by {} at position {} (invoked {} ns, completed {} ns)", *o.key,
                                          o.replica.value_or("?"), *o.applied, call, ret);
    if (!held) {
      if (!got_nil) {
        rep.Add({"wrong-value",
                 fmt::format("{} returned '{}' but the log holds nothing there", where, o.output.ToString()),
                 {o.index}});
      }
      continue;
    }
    if (got_nil) {
      if (!held->deadline || ret + b < *held->deadline) {
        rep.Add({"early-expiry",
                 fmt::format("{} returned nothing but the log holds {}{}", where, Show(held),
                             held->deadline ? fmt::format(", live until at least {} with the skew bound of {}",
                                                          Ns(*held->deadline - b), Ns(b))
                                            : std::string()),
                 {o.index}});
      } else {
        ++expired_hidden;
      }
      continue;
    }
    if (!o.output.is_string() || o.output.as_string() != held->value) {
      rep.Add({"wrong-value",
               fmt::format("{} returned {} but the log holds {}", where, o.output.ToString(), Show(held)),
               {o.index}});
      continue;
    }
    if (held->deadline && call >= *held->deadline + b) {
      rep.Add({"expired-read", fmt::format("{} returned {}, expired since {} with the skew bound of {}", where,
                                           Show(held), Ns(*held->deadline + b), Ns(b)),
               {o.index}});
    }
  }
  size_t finals_checked = 0;
  if (options.reclaimed_before) {
    for (const FinalState& f : history.finals) {
      ++finals_checked;
      for (const auto& [key, t] : timelines) {
        const std::optional<Held>* at = t.At(f.applied);
        if (at != nullptr && *at && (*at)->deadline && *(*at)->deadline <= *options.reclaimed_before) {
          rep.Add({"not-reclaimed",
                   fmt::format("replica {} at position {} still holds '{}' = {}, expired before {} ns when the "
                               "janitor should have removed it",
                               f.replica, f.applied, key, Show(**at), *options.reclaimed_before),
                   {}});
        }
      }
    }
  }
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = fmt::format("{} get(s) judged with a skew bound of {} ns ({} hid an expired value), {} final state(s) "
                            "checked for reclamation; {} violation(s)",
                            reads, b, expired_hidden, finals_checked, rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
