#include "checker/durability.h"

#include <algorithm>

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace kvlog::checker {
namespace {

std::string Describe(const Write& w) {
  return w.value ? fmt::format("{} {}={}", w.f, w.key, *w.value) : fmt::format("{} {}", w.f, w.key);
}

// The log records of the writes of one operation with several (a batch),
// writes [begin, end) of the index. An atomic batch is one log record, which
// the history gives as one record per key it wrote, the last write to each
// key (history.h): a write that a later write of the same batch to its key
// overwrote has no record of its own. The batch is known to be atomic when
// two of its writes reported one offset, or two of its records share one.
// Then each overwritten write is left unjudged (`skip`), and the last write
// to a key takes the records of the batch's writes of the same key and value
// (Write::ordinal shared them out among those). Otherwise each write keeps
// its own records.
struct BatchRecords {
  std::vector<std::vector<size_t>> records;  // by write, from begin
  std::vector<bool> skip;
  bool atomic = false;
};

BatchRecords RecordsOfBatch(const History& history, const WriteIndex& writes, size_t begin, size_t end) {
  const std::vector<Write>& all = writes.writes();
  const size_t n = end - begin;
  BatchRecords out;
  out.records.resize(n);
  out.skip.assign(n, false);
  std::vector<std::pair<int64_t, size_t>> at;  // (offset, log index) of its records
  for (size_t k = 0; k < n; ++k) {
    out.records[k] = writes.LogRecords(all[begin + k]);
    for (size_t i : out.records[k]) at.emplace_back(history.log[i].offset, i);
    for (size_t l = 0; l < k && all[begin + k].offset; ++l) {
      if (all[begin + l].offset == all[begin + k].offset) out.atomic = true;
    }
  }
  std::sort(at.begin(), at.end());
  for (size_t i = 1; i < at.size(); ++i) {
    if (at[i].first == at[i - 1].first && at[i].second != at[i - 1].second) out.atomic = true;
  }
  if (!out.atomic) return out;
  for (size_t k = 0; k < n; ++k) {
    const Write& w = all[begin + k];
    bool overwritten = false;
    for (size_t l = k + 1; l < n && !overwritten; ++l) overwritten = all[begin + l].key == w.key;
    if (overwritten) {
      // Judged as usual if it has records of its own (not the last write's).
      out.skip[k] = out.records[k].empty() || w.same > 1;
      continue;
    }
    for (size_t l = 0; l < k; ++l) {
      if (all[begin + l].key == w.key && all[begin + l].value == w.value) {
        out.records[k].insert(out.records[k].end(), out.records[l].begin(), out.records[l].end());
      }
    }
    std::sort(out.records[k].begin(), out.records[k].end());
    out.records[k].erase(std::unique(out.records[k].begin(), out.records[k].end()), out.records[k].end());
  }
  return out;
}

}  // namespace

CheckReport CheckDurability(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes) {
  CheckReport rep;
  rep.checker = "durability";
  size_t judged = 0;
  absl::flat_hash_map<int64_t, const Write*> claimed;  // offset -> acknowledged write
  absl::flat_hash_set<std::string> deleted_keys;
  const std::vector<Write>& all = writes.writes();
  BatchRecords batch;  // of the writes [batch_begin, batch_end), one operation's
  size_t batch_begin = 0, batch_end = 0;
  for (size_t wi = 0; wi < all.size(); ++wi) {
    const Write& w = all[wi];
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
    // The writes of one operation are contiguous in the index.
    if (wi >= batch_end) {
      batch_begin = wi;
      batch_end = wi + 1;
      while (batch_end < all.size() && all[batch_end].op == w.op) ++batch_end;
      batch = batch_end - batch_begin > 1 ? RecordsOfBatch(history, writes, batch_begin, batch_end) : BatchRecords{};
    }
    const bool in_batch = !batch.records.empty();
    if (in_batch && batch.skip[wi - batch_begin]) continue;  // overwritten within an atomic batch
    if (!w.value && !w.op_id && !w.offset) continue;         // a delete nothing can name
    ++judged;
    // Its records that took effect: a cas record whose condition failed
    // (an Update attempt that conflicted) is no copy of the write.
    const std::vector<size_t> own = in_batch ? std::vector<size_t>{} : writes.LogRecords(w);
    const std::vector<size_t>& records = in_batch ? batch.records[wi - batch_begin] : own;
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
        // A write a later one of its batch overwrote: not in the log if the
        // batch was atomic, which nothing here says.
        const bool overwritten = in_batch && std::any_of(all.begin() + static_cast<std::ptrdiff_t>(wi) + 1,
                                                         all.begin() + static_cast<std::ptrdiff_t>(batch_end),
                                                         [&](const Write& later) { return later.key == w.key; });
        rep.Add({"lost-write",
                 fmt::format("acknowledged {} (line {}) is not in the log{}", Describe(w), o.line,
                             overwritten ? fmt::format("; a later write of its batch to {} is: if the batch was "
                                                       "atomic, its record holds only that one, and the history "
                                                       "must say so (each sub-operation's offset)",
                                                       w.key)
                                         : ""),
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
