#include "checker/session.h"

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <queue>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

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

// A session's state per key, by KeyIds id: a dense vector for the ids below
// its size (a range read touches hundreds of keys; an array index per pair,
// not a hash lookup), a hash map for ids past it. The vectors of all sessions
// grow from one budget of cells, so that many sessions over many keys stay
// bounded; a session whose vector could not grow keeps the rest in the map
// (and never grows again, so no id is ever in both).
class SessionKeys {
 public:
  KeyState& Of(uint32_t id, size_t* budget) {
    if (id < dense_.size()) return dense_[id];
    if (!closed_) {
      const size_t want = std::max<size_t>(size_t{id} + 1, 2 * dense_.size());
      const size_t more = want - dense_.size();
      if (more <= *budget) {
        *budget -= more;
        dense_.resize(want);
        return dense_[id];
      }
      closed_ = true;
    }
    return sparse_[id];
  }

 private:
  std::vector<KeyState> dense_;
  absl::flat_hash_map<uint32_t, KeyState> sparse_;
  bool closed_ = false;
};

// Cells of KeyState (48 bytes: 48 MB) all sessions' dense vectors may hold together.
constexpr size_t kDenseKeyCells = size_t{1} << 20;

// Read-your-writes counts a write as the reader's own from its acknowledgement
// on, when the reader's replica (client) made it: by the reader's process or
// by another process on that replica (a replica's async writes are recorded
// each as a process of its own, as they overlap). The writes of a replica are
// kept in the session of its first process (its owner), beside that process's
// reads, so the usual reader (the owner itself) finds both in one KeyState. A
// history without replicas: each process owns its writes.
struct Session {
  SessionKeys keys;  // Per key: what the process read; the owner's writes (KeyState::own).
  std::optional<int64_t> applied;
  size_t applied_op = 0;
  int32_t owner = -1;  // Index (in the session store) of the owner's session.
};

// A completed write, counted for its owner once the history has passed its
// completion.
struct PendingOwn {
  int64_t ret = 0;
  int32_t owner = 0;
  uint32_t key_id = 0;
  OwnWrite own;
  bool operator>(const PendingOwn& o) const { return ret > o.ret; }
};

// Keys as small ids: a session's state is keyed by id, and a range pair's key
// is found by the identity of its key string (the JSONL reader interns keys),
// so judging a pair hashes a word, not a string.
class KeyIds {
 public:
  uint32_t Of(std::string_view key) {
    if (auto it = ids_.find(absl::string_view(key.data(), key.size())); it != ids_.end()) return it->second;
    const auto id = static_cast<uint32_t>(names_.size());
    const std::string& stored = names_.emplace_back(key);
    ids_.emplace(absl::string_view(stored.data(), stored.size()), id);  // views the stored name
    return id;
  }
  // A range pair's key (a string, or any value named by its text).
  uint32_t OfValue(const Value& key) {
    const uintptr_t identity = key.is_string() ? key.Identity() : 0;
    if (identity == 0) return key.is_string() ? Of(key.as_string()) : Of(key.ToString());
    auto it = by_identity_.find(identity);
    if (it != by_identity_.end()) return it->second;
    const uint32_t id = Of(key.as_string());
    // A history built in memory (not read from JSONL) may give every pair its
    // own key string: the cache then only grows, so it is bounded by the
    // number of keys and starts over past that.
    if (by_identity_.size() >= 4 * names_.size() + 1024) by_identity_.clear();
    by_identity_.emplace(identity, id);
    return id;
  }
  // A range pair's key, `previous` the id of the pair before it in its list
  // (kNone for the first): ranges list their keys in the same order every
  // time, so each id remembers the identity of its key string and the id that
  // followed it last, and a pair whose key is that guess costs a compare of
  // one word.
  static constexpr uint32_t kNone = ~uint32_t{0};
  uint32_t OfPairKey(const Value& key, uint32_t previous) {
    const uintptr_t identity = key.is_string() ? key.Identity() : 0;
    if (identity != 0 && previous < next_.size()) {
      const uint32_t guess = next_[previous];
      if (guess != kNone && identity_[guess] == identity) return guess;
    }
    const uint32_t id = OfValue(key);
    if (identity != 0) {
      if (identity_.size() < names_.size()) {
        identity_.resize(names_.size(), 0);
        next_.resize(names_.size(), kNone);
      }
      identity_[id] = identity;
      if (previous != kNone) next_[previous] = id;
    }
    return id;
  }
  // The id that followed `previous` in the last list (kNone if none yet).
  uint32_t Next(uint32_t previous) const { return previous < next_.size() ? next_[previous] : kNone; }
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  std::vector<uintptr_t> identity_;  // by id: the identity of its key string last seen
  std::vector<uint32_t> next_;       // by id: the id of the pair that followed it last
  std::deque<std::string> names_;  // stable addresses: ids_ views them
  absl::flat_hash_map<absl::string_view, uint32_t> ids_;
  absl::flat_hash_map<uintptr_t, uint32_t> by_identity_;
};

// What the write index says about a value read from a key.
struct ReadValue {
  std::optional<int64_t> version;  // WriteIndex::VersionOf
  bool invoked = false;            // some write of it was invoked
};

std::string Str(int64_t v) { return v < 0 ? std::string("the initial state") : fmt::format("offset {}", v); }

// What one part of the sessions found: the violations of its operations, in
// operation order (the first kMaxReportedViolations, and each one's
// operation, by which the parts' lists merge), and its counts.
struct SessionPart {
  CheckReport rep;
  std::vector<size_t> at;  // by violation in rep.violations: the operation it was found at
  size_t reads_judged = 0, writes_seen = 0, sessions = 0;
};

// The session check of the sessions of part `part` of `parts`: a replica's
// processes (or a process without a replica) form a group, numbered in the
// order their first completed operation comes; group g is part g % parts's.
// A session's verdicts depend only on its group's operations and on the
// writes, which every part walks in full: a part finds exactly the
// violations the whole check finds at its groups' operations, in the same
// order.
SessionPart CheckSessionPart(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes,
                             int part, int parts) {
  SessionPart out;
  CheckReport& rep = out.rep;
  size_t at = 0;  // the operation being judged
  auto add = [&](Violation v) {
    if (rep.violations.size() < kMaxReportedViolations) out.at.push_back(at);
    rep.Add(std::move(v));
  };
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
  // Sessions by process, stored where references stay valid.
  absl::flat_hash_map<int64_t, int32_t> session_of;
  std::deque<Session> sessions;
  size_t reads_judged = 0, writes_seen = 0;

  KeyIds key_ids;
  size_t dense_budget = kDenseKeyCells / static_cast<size_t>(parts);
  // The last writes of a value to each key (by key id, newest first) among
  // the operations invoked so far: a read usually returns one of them, and
  // then its version is the write's (WriteIndex::VersionOfWrite, an array
  // read) instead of a lookup in the index's table of every (key, value),
  // whose size makes each lookup a few cache misses. Any write of the same
  // key and value gives the same answer, so a hit is exact; a miss asks the
  // index as before.
  constexpr uint32_t kNoWrite = ~uint32_t{0};
  using Recent = std::array<uint32_t, 4>;
  std::vector<Recent> recent;
  std::vector<uint32_t> write_key(all_writes.size(), KeyIds::kNone);  // by write: its key's id
  size_t noted = 0;  // writes noted so far (of operations up to the current one)
  auto note_writes = [&](size_t up_to_op) {
    for (; noted < all_writes.size() && all_writes[noted].op <= up_to_op; ++noted) {
      const Write& w = all_writes[noted];
      const uint32_t id = key_ids.Of(w.key);
      write_key[noted] = id;
      if (!w.value) continue;
      if (recent.size() <= id) {
        Recent none;
        none.fill(kNoWrite);
        recent.resize(key_ids.size(), none);
      }
      Recent& r = recent[id];
      std::copy_backward(r.begin(), r.end() - 1, r.end());
      r[0] = static_cast<uint32_t>(noted);
    }
  };
  auto read_value = [&](uint32_t key_id, const Value& v) {
    std::string text;  // a string names itself: no copy
    const std::string& value = v.is_string() ? v.as_string() : (text = v.ToString());
    ReadValue r;
    if (key_id < recent.size()) {
      for (const uint32_t w : recent[key_id]) {
        if (w == kNoWrite) break;
        if (*all_writes[w].value == value) {
          r.version = writes.VersionOfWrite(w);
          r.invoked = true;
          return r;
        }
      }
    }
    const std::string& key = key_ids.Name(key_id);
    r.version = writes.VersionOf(key, value);
    r.invoked = r.version || writes.Invoked(key, value);
    return r;
  };
  // A range read judges each [key value] pair as a read of that key. The
  // reader interns pairs, and a key's pair recurs from range to range until
  // the key is written again: each key remembers the identity of its last
  // pair and what the write index said of it, so most pairs are judged
  // without a lookup in the index (one per distinct pair and key, not per
  // pair read).
  struct LastPair {
    uintptr_t identity = 0;
    ReadValue read;
  };
  std::vector<LastPair> last_pair;

  // `value()` gives the value read; `nil` says whether it is nil without
  // looking at it (a repeated range pair's value is read only for a report).
  // `known`: what the write index says of a non-nil value, when the caller
  // knows it already.
  auto judge_read = [&](const Operation& o, Session& s, uint32_t key_id, bool nil, auto&& value,
                        const ReadValue* known) {
    ++reads_judged;
    const std::string& key = key_ids.Name(key_id);
    std::optional<int64_t> version;
    if (!nil) {
      const ReadValue r = known ? *known : read_value(key_id, value());
      version = r.version;
      if (!r.invoked) {
        const Value& v = value();
        add({"read-unknown-value",
                 fmt::format("process {} read {} from key {}, a value no write produced", o.process,
                             v.is_string() ? v.as_string() : v.ToString(), key),
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
        add({"read-inconsistent",
                 fmt::format("process {} read nil from key {} at position {}, where the log holds {} (offset {})",
                             o.process, key, *o.applied, *r->value, r->offset),
                 {o.index}});
        return;
      }
    }
    KeyState& ks = s.keys.Of(key_id, &dense_budget);
    // Read-your-writes.
    Session& owner = sessions[static_cast<size_t>(s.owner)];
    if (const KeyState& mine = &owner == &s ? ks : owner.keys.Of(key_id, &dense_budget); mine.has_own) {
      const OwnWrite& w = mine.own;
      if (w.version >= 0 && o.applied && *o.applied <= w.version) {
        add({"read-your-writes",
                 fmt::format("process {} read key {} at position {}, before its own write at {}", o.process, key,
                             *o.applied, Str(w.version)),
                 {w.op, o.index}});
      } else if (version && w.version >= 0 && *version < w.version) {
        add({"read-your-writes",
                 fmt::format("process {} read key {} = {} ({}), older than its own write at {}", o.process, key,
                             value().ToString(), Str(*version), Str(w.version)),
                 {w.op, o.index}});
      } else if (nil && !version && !w.is_delete) {
        // Nil after our own put: fine only if some delete of the key may be newer.
        bool newer_delete = false;
        for (const Write* d : deletes_of(key)) {
          const Operation& dop = ops[d->op];
          if (dop.call > o.ret) continue;
          if (!d->offset || w.version < 0 || *d->offset > w.version) newer_delete = true;
        }
        if (!newer_delete) {
          add({"read-your-writes",
                   fmt::format("process {} read nil from key {} after its own write, and no delete could have "
                               "come after it",
                               o.process, key),
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
        add({"monotonic-reads", fmt::format("process {} read key {} at {} after having read it at {}", o.process,
                                                key, Str(*version), Str(ks.read.version)),
                 {ks.read.op, o.index}});
      } else {
        ks.read = LastRead{*version, o.index};
      }
    }
  };

  absl::flat_hash_map<std::string, int32_t> replica_owner;
  // Groups (see above) by replica, numbered as they come; kOthers marks
  // the processes of another part's groups.
  absl::flat_hash_map<std::string, size_t> replica_group;
  size_t groups = 0;
  constexpr int32_t kOthers = -1;
  std::priority_queue<PendingOwn, std::vector<PendingOwn>, std::greater<PendingOwn>> pending;
  for (const Operation& o : ops) {
    while (cursor < all_writes.size() && all_writes[cursor].op < o.index) ++cursor;
    note_writes(o.index);
    // The writes completed before this operation was invoked are their owners' now.
    for (; !pending.empty() && pending.top().ret < o.call; pending.pop()) {
      const PendingOwn& p = pending.top();
      KeyState& ks = sessions[static_cast<size_t>(p.owner)].keys.Of(p.key_id, &dense_budget);
      if (!ks.has_own) {
        ks.has_own = true;
        ks.own = OwnWrite{};
      }
      if (p.own.version >= ks.own.version || p.own.version < 0) ks.own = p.own;
    }
    if (!o.ok()) continue;
    const auto [it, added] = session_of.try_emplace(o.process, static_cast<int32_t>(sessions.size()));
    if (added) {
      const size_t group =
          o.replica ? replica_group.try_emplace(std::string(*o.replica), groups).first->second : groups;
      if (group == groups) ++groups;
      if (static_cast<int>(group % static_cast<size_t>(parts)) != part) {
        it->second = kOthers;
      } else {
        sessions.emplace_back();
        const int32_t self = it->second;
        sessions.back().owner = o.replica ? replica_owner.try_emplace(std::string(*o.replica), self).first->second : self;
      }
    }
    if (it->second == kOthers) continue;
    at = o.index;
    Session& s = sessions[static_cast<size_t>(it->second)];
    if (IsReadFunction(o.f)) {
      if (o.applied) {
        if (s.applied && *o.applied < *s.applied) {
          add({"monotonic-reads",
                   fmt::format("process {} read at position {} after reading at {}", o.process, *o.applied,
                               *s.applied),
                   {s.applied_op, o.index}});
        } else {
          s.applied = o.applied;
          s.applied_op = o.index;
        }
      }
      if (o.f == "range") {
        if (o.output.is_list()) {
          uint32_t previous = KeyIds::kNone;
          for (const Value& pair : o.output.items()) {
            // The common pair: the one the key that followed the previous
            // pair's key last time had then too. Its identity (the word in
            // the list, not its storage) says so: last_pair only records
            // pairs of that key with a non-nil value, and equal identities
            // are one stored pair while the operations live. Its storage is
            // then not read at all (a profile of kvcheck on 21 M range pairs
            // had half of this check's own time in the two dependent loads of
            // a pair's items). Its value is looked at only for a report.
            const uintptr_t identity = pair.Identity();
            if (const uint32_t guess = key_ids.Next(previous);
                identity != 0 && guess != KeyIds::kNone && guess < last_pair.size() &&
                last_pair[guess].identity == identity) {
              previous = guess;
              judge_read(o, s, guess, /*nil=*/false, [&]() -> const Value& { return pair.items()[1]; },
                         &last_pair[guess].read);
              continue;
            }
            if (!pair.is_list() || pair.items().size() != 2) continue;
            const uint32_t key_id = key_ids.OfPairKey(pair.items()[0], previous);
            previous = key_id;
            const Value& v = pair.items()[1];
            auto value = [&]() -> const Value& { return v; };
            if (v.is_nil()) {
              judge_read(o, s, key_id, /*nil=*/true, value, nullptr);
              continue;
            }
            if (last_pair.size() <= key_id) last_pair.resize(key_ids.size());
            LastPair& last = last_pair[key_id];
            if (last.identity == 0 || last.identity != identity) {
              last.identity = identity;
              last.read = read_value(key_id, v);
            }
            judge_read(o, s, key_id, /*nil=*/false, value, &last.read);
          }
        }
      } else {
        judge_read(o, s, key_ids.Of(o.key ? std::string_view(*o.key) : std::string_view()), o.output.is_nil(),
                   [&]() -> const Value& { return o.output; }, nullptr);
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
        own.version = writes.VersionOfWrite(cursor).value_or(-1);
      }
      pending.push(PendingOwn{o.ret, s.owner, write_key[cursor], own});
    }
  }
  out.reads_judged = reads_judged;
  out.writes_seen = writes_seen;
  out.sessions = sessions.size();
  return out;
}

}  // namespace

CheckReport CheckSessions(const History& history, const std::vector<Operation>& ops, const WriteIndex& writes,
                          int threads, size_t parallel_min_ops) {
  const int parts = ops.size() >= parallel_min_ops ? std::max(threads, 1) : 1;
  std::vector<SessionPart> found(static_cast<size_t>(parts));
  {
    std::vector<std::jthread> workers;
    for (int p = 1; p < parts; ++p) {
      workers.emplace_back([&, p] { found[static_cast<size_t>(p)] = CheckSessionPart(history, ops, writes, p, parts); });
    }
    found[0] = CheckSessionPart(history, ops, writes, 0, parts);
  }  // joins the workers
  CheckReport rep;
  rep.checker = "session";
  size_t reads_judged = 0, writes_seen = 0, sessions = 0;
  for (const SessionPart& f : found) {
    reads_judged += f.reads_judged;
    writes_seen += f.writes_seen;
    sessions += f.sessions;
    rep.violation_count += f.rep.violation_count;
  }
  // The parts' violations in operation order (an operation is one part's;
  // within a part, as found), the first kMaxReportedViolations of them: the
  // list one part alone gives.
  std::vector<size_t> next(found.size(), 0);
  while (rep.violations.size() < kMaxReportedViolations) {
    size_t best = found.size();
    for (size_t p = 0; p < found.size(); ++p) {
      if (next[p] < found[p].at.size() && (best == found.size() || found[p].at[next[p]] < found[best].at[next[best]])) {
        best = p;
      }
    }
    if (best == found.size()) break;
    rep.violations.push_back(std::move(found[best].rep.violations[next[best]++]));
  }
  if (reads_judged == 0) return rep.Skip("no completed reads");
  rep.verdict = rep.violation_count ? Verdict::kInvalid : Verdict::kValid;
  rep.summary = fmt::format("{} reads and {} writes in {} sessions; {} violation(s)", reads_judged, writes_seen,
                            sessions, rep.violation_count);
  return rep;
}

}  // namespace kvlog::checker
