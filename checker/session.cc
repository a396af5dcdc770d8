#include "checker/session.h"

#include "absl/container/flat_hash_map.h"

namespace kvlog::checker {
namespace {

struct OwnWrite {
  int64_t version = -1;  // -1: unknown offset
  bool is_delete = false;
  size_t op = 0;
};

struct LastRead {
  int64_t version = -1;
  size_t op = 0;
};

// What a session knows about one key: one map, so a read looks the key up once.
struct KeyState {
  bool has_own = false;   // the process completed a write to the key
  bool has_read = false;  // the process read a version of the key
  OwnWrite own;           // its last completed write
  LastRead read;          // the newest version it read
};

struct Session {
  absl::flat_hash_map<std::string, KeyState> keys;
  std::optional<int64_t> applied;
  size_t applied_op = 0;
};

std::string Str(int64_t v) { return v < 0 ? "the initial state" : "offset " + std::to_string(v); }

}  // namespace

CheckReport CheckSessions(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes) {
  CheckReport rep;
  rep.checker = "session";
  // Deletes per key, to decide whether a nil read could be a newer delete.
  // Only a nil read after the process's own put asks, and rarely: built on
  // first use rather than by a pass over every write on every run.
  absl::flat_hash_map<std::string, std::vector<const Write*>> deletes;
  bool deletes_built = false;
  auto deletes_of = [&](const std::string& key) -> const std::vector<const Write*>& {
    static const std::vector<const Write*> kNone;
    if (!deletes_built) {
      for (const Write& w : writes.writes()) {
        if (!w.value) deletes[w.key].push_back(&w);
      }
      deletes_built = true;
    }
    auto it = deletes.find(key);
    return it == deletes.end() ? kNone : it->second;
  };
  // Writes are listed in operation order: walk them with a cursor.
  const std::vector<Write>& all_writes = writes.writes();
  size_t cursor = 0;
  absl::flat_hash_map<int64_t, Session> sessions;
  size_t reads_judged = 0, writes_seen = 0;

  auto judge_read = [&](const Operation& o, Session& s, const std::string& key, const Value& v) {
    ++reads_judged;
    std::optional<int64_t> version;
    if (!v.is_nil()) {
      std::string text;  // a string names itself: no copy
      const std::string& value = v.is_string() ? v.as_string() : (text = v.ToString());
      version = writes.VersionOf(key, value);
      if (!version && !writes.Invoked(key, value)) {
        rep.Add({"read-unknown-value", "process " + std::to_string(o.process) + " read " + value + " from key " + key +
                                           ", a value no write produced",
                 {o.index}});
        return;
      }
    } else if (o.applied && history.has_log) {
      const LogRecord* r = writes.StateAt(key, *o.applied);
      if (!r) {
        version = -1;
      } else if (!r->value) {
        version = r->offset;
      } else {
        rep.Add({"read-inconsistent", "process " + std::to_string(o.process) + " read nil from key " + key +
                                          " at position " + std::to_string(*o.applied) + ", where the log holds " +
                                          *r->value + " (offset " + std::to_string(r->offset) + ")",
                 {o.index}});
        return;
      }
    }
    KeyState& ks = s.keys[key];
    // Read-your-writes.
    if (ks.has_own) {
      const OwnWrite& w = ks.own;
      if (w.version >= 0 && o.applied && *o.applied <= w.version) {
        rep.Add({"read-your-writes", "process " + std::to_string(o.process) + " read key " + key +
                                         " at position " + std::to_string(*o.applied) + ", before its own write at " +
                                         Str(w.version),
                 {w.op, o.index}});
      } else if (version && w.version >= 0 && *version < w.version) {
        rep.Add({"read-your-writes", "process " + std::to_string(o.process) + " read key " + key + " = " +
                                         v.ToString() + " (" + Str(*version) + "), older than its own write at " +
                                         Str(w.version),
                 {w.op, o.index}});
      } else if (v.is_nil() && !version && !w.is_delete) {
        // Nil after our own put: fine only if some delete of the key may be newer.
        bool newer_delete = false;
        for (const Write* d : deletes_of(key)) {
          const Operation& dop = ops[d->op];
          if (dop.call > o.ret) continue;
          if (!d->offset || w.version < 0 || *d->offset > w.version) newer_delete = true;
        }
        if (!newer_delete) {
          rep.Add({"read-your-writes", "process " + std::to_string(o.process) + " read nil from key " + key +
                                           " after its own write, and no delete could have come after it",
                   {w.op, o.index}});
        }
      }
    }
    // Monotonic reads.
    if (version) {
      if (!ks.has_read) {
        ks.has_read = true;
        ks.read = LastRead{*version, o.index};
      } else if (*version < ks.read.version) {
        rep.Add({"monotonic-reads", "process " + std::to_string(o.process) + " read key " + key + " at " +
                                        Str(*version) + " after having read it at " + Str(ks.read.version),
                 {ks.read.op, o.index}});
      } else {
        ks.read = LastRead{*version, o.index};
      }
    }
  };

  for (const Operation& o : ops) {
    while (cursor < all_writes.size() && all_writes[cursor].op < o.index) ++cursor;
    if (!o.ok()) continue;
    Session& s = sessions[o.process];
    if (IsReadFunction(o.f)) {
      if (o.applied) {
        if (s.applied && *o.applied < *s.applied) {
          rep.Add({"monotonic-reads", "process " + std::to_string(o.process) + " read at position " +
                                          std::to_string(*o.applied) + " after reading at " +
                                          std::to_string(*s.applied),
                   {s.applied_op, o.index}});
        } else {
          s.applied = o.applied;
          s.applied_op = o.index;
        }
      }
      if (o.f == "range") {
        if (o.output.is_list()) {
          for (const Value& pair : o.output.items()) {
            if (pair.is_list() && pair.items().size() == 2) {
              judge_read(o, s, pair.items()[0].ToString(), pair.items()[1]);
            }
          }
        }
      } else {
        static const std::string kNoKey;
        judge_read(o, s, o.key ? *o.key : kNoKey, o.output);
      }
      continue;
    }
    for (; cursor < all_writes.size() && all_writes[cursor].op == o.index; ++cursor) {
      const Write* w = &all_writes[cursor];
      if (!w->definite) continue;
      ++writes_seen;
      OwnWrite own;
      own.op = o.index;
      own.is_delete = !w->value;
      if (w->offset) {
        own.version = *w->offset;
      } else if (w->value) {
        own.version = writes.VersionOf(w->key, *w->value).value_or(-1);
      }
      KeyState& ks = s.keys[w->key];
      if (!ks.has_own) {
        ks.has_own = true;
        ks.own = OwnWrite{};
      }
      if (own.version >= ks.own.version || own.version < 0) ks.own = own;
    }
  }
  if (reads_judged == 0) {
    rep.verdict = Verdict::kSkipped;
    rep.summary = "no completed reads";
    return rep;
  }
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = std::to_string(reads_judged) + " reads and " + std::to_string(writes_seen) + " writes in " +
                std::to_string(sessions.size()) + " sessions; " + std::to_string(rep.violation_count) + " violation(s)";
  return rep;
}

}  // namespace kvlog::checker
