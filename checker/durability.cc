#include "checker/durability.h"

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace kvlog::checker {
namespace {

std::string Describe(const Write& w) {
  return w.value ? fmt::format("{} {}={}", w.f, w.key, *w.value) : fmt::format("{} {}", w.f, w.key);
}

}  // namespace

CheckReport CheckDurability(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes) {
  CheckReport rep;
  rep.checker = "durability";
  size_t judged = 0;
  absl::flat_hash_map<int64_t, const Write*> claimed;  // offset -> acknowledged write
  absl::flat_hash_set<std::string> deleted_keys;
  for (const Write& w : writes.writes()) {
    if (!w.value) deleted_keys.insert(w.key);
    if (w.definite && w.offset) {
      auto [it, inserted] = claimed.try_emplace(*w.offset, &w);
      if (!inserted && it->second->op != w.op) {
        rep.Add({"offset-claimed-twice",
                 fmt::format("{} and {} were both acknowledged at offset {}", Describe(*it->second), Describe(w),
                             *w.offset),
                 {it->second->op, w.op}});
      }
    }
    if (!history.has_log) continue;
    if (!w.value && !w.op_id && !w.offset) continue;  // a delete nothing can name
    ++judged;
    // Its records that took effect: a cas record whose condition failed
    // (an Update attempt that conflicted) is no copy of the write.
    const std::vector<size_t> records = writes.LogRecords(w);
    std::vector<int64_t> offsets;
    for (size_t i : records) {
      if (writes.RecordApplied(i)) offsets.push_back(history.log[i].offset);
    }
    const Operation& o = ops[w.op];
    if (w.definite) {
      if (offsets.empty() && !records.empty()) {
        rep.Add({"lost-write",
                 fmt::format("acknowledged {} (line {}) is in the log only where its condition failed (offset {})",
                             Describe(w), o.line, history.log[records[0]].offset),
                 {w.op}});
      } else if (offsets.empty()) {
        rep.Add({"lost-write", fmt::format("acknowledged {} (line {}) is not in the log", Describe(w), o.line),
                 {w.op}});
      } else if (offsets.size() > 1) {
        rep.Add({"duplicated-write",
                 fmt::format("acknowledged {} appears {} times in the log (first at offset {})", Describe(w),
                             offsets.size(), offsets[0]),
                 {w.op}});
      } else if (w.offset && offsets[0] != *w.offset) {
        rep.Add({"misplaced-write",
                 fmt::format("{} was acknowledged at offset {} but the log holds it at offset {}", Describe(w),
                             *w.offset, offsets[0]),
                 {w.op}});
      }
    } else if (w.possible) {
      if (offsets.size() > 1) {
        rep.Add({"duplicated-write",
                 fmt::format("unacknowledged {} appears {} times in the log", Describe(w), offsets.size()),
                 {w.op}});
      }
    } else if (!offsets.empty()) {
      rep.Add({"failed-write-in-log", fmt::format("failed {} appears in the log at offset {}", Describe(w), offsets[0]),
               {w.op}});
    }
  }
  if (history.has_log) {
    for (size_t i = 0; i < history.log.size(); ++i) {
      const LogRecord& r = history.log[i];
      bool known = false;
      if (r.op && writes.RecordOpInvoked(i)) known = true;
      if (!known && r.value) known = writes.Invoked(r.key, *r.value);
      if (!known && !r.value) known = deleted_keys.contains(r.key);
      if (!known) {
        rep.Add({"phantom-write",
                 fmt::format("log offset {} ({}={}, line {}) was never invoked", r.offset, r.key,
                             r.value.value_or("<tombstone>"), r.line),
                 {}});
      }
    }
  }
  if (!history.has_log && claimed.empty()) return rep.Skip("no log and no reported offsets");
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = history.has_log ? fmt::format("{} writes against {} log records; {} violation(s)", judged,
                                              history.log.size(), rep.violation_count)
                                : fmt::format("log not recorded: checked reported offsets only; {} violation(s)",
                                              rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
