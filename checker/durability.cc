#include "checker/durability.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace kvlog::checker {
namespace {

std::string Describe(const Write& w) {
  std::string s = std::string(w.f) + " " + w.key;
  if (w.value) s += "=" + *w.value;
  return s;
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
        rep.Add({"offset-claimed-twice", Describe(*it->second) + " and " + Describe(w) +
                                             " were both acknowledged at offset " + std::to_string(*w.offset),
                 {it->second->op, w.op}});
      }
    }
    if (!history.has_log) continue;
    if (!w.value && !w.op_id && !w.offset) continue;  // a delete nothing can name
    ++judged;
    const std::vector<int64_t> offsets = writes.LogOffsets(w);
    const Operation& o = ops[w.op];
    if (w.definite) {
      if (offsets.empty()) {
        rep.Add({"lost-write", "acknowledged " + Describe(w) + " (line " + std::to_string(o.line) +
                                   ") is not in the log",
                 {w.op}});
      } else if (offsets.size() > 1) {
        rep.Add({"duplicated-write", "acknowledged " + Describe(w) + " appears " + std::to_string(offsets.size()) +
                                         " times in the log (first at offset " + std::to_string(offsets[0]) + ")",
                 {w.op}});
      } else if (w.offset && offsets[0] != *w.offset) {
        rep.Add({"misplaced-write", Describe(w) + " was acknowledged at offset " + std::to_string(*w.offset) +
                                        " but the log holds it at offset " + std::to_string(offsets[0]),
                 {w.op}});
      }
    } else if (w.possible) {
      if (offsets.size() > 1) {
        rep.Add({"duplicated-write", "unacknowledged " + Describe(w) + " appears " +
                                         std::to_string(offsets.size()) + " times in the log",
                 {w.op}});
      }
    } else if (!offsets.empty()) {
      rep.Add({"failed-write-in-log", "failed " + Describe(w) + " appears in the log at offset " +
                                          std::to_string(offsets[0]),
               {w.op}});
    }
  }
  if (history.has_log) {
    for (const LogRecord& r : history.log) {
      bool known = false;
      if (r.op && writes.InvokedOpId(*r.op)) known = true;
      if (!known && r.value) known = writes.Invoked(r.key, *r.value);
      if (!known && !r.value) known = deleted_keys.contains(r.key);
      if (!known) {
        rep.Add({"phantom-write", "log offset " + std::to_string(r.offset) + " (" + r.key + "=" +
                                      r.value.value_or("<tombstone>") + ", line " + std::to_string(r.line) +
                                      ") was never invoked",
                 {}});
      }
    }
  }
  if (!history.has_log && claimed.empty()) return rep.Skip("no log and no reported offsets");
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = history.has_log ? std::to_string(judged) + " writes against " + std::to_string(history.log.size()) +
                                      " log records; " + std::to_string(rep.violation_count) + " violation(s)"
                                : "log not recorded: checked reported offsets only; " +
                                      std::to_string(rep.violation_count) + " violation(s)";
  return rep;
}

}  // namespace kvlog::checker
