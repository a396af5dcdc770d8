#include "checker/testing/generate.h"

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include <fmt/format.h>

#include "checker/digest.h"

namespace kvlog::checker::testing {
namespace {

struct Replica {
  int64_t applied = 0;   // position: next offset to read
  size_t next = 0;       // index of the next log record to apply
  std::map<std::string, std::string> store;
};

void ApplyUpTo(const std::vector<LogRecord>& log, Replica* r, size_t count) {
  while (r->next < count) {
    const LogRecord& rec = log[r->next++];
    if (rec.value) {
      r->store[rec.key] = *rec.value;
    } else {
      r->store.erase(rec.key);
    }
    r->applied = rec.offset + 1;
  }
}

}  // namespace

History GenerateKvHistory(const GenerateOptions& o) {
  std::mt19937_64 rng(o.seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  History h;
  h.source = fmt::format("generated-kv-{}", o.seed);
  h.has_log = true;
  h.events.reserve(o.operations * 2);
  h.log.reserve(o.operations);
  std::vector<Replica> replicas(o.replicas);
  int64_t time = 0;
  int64_t next_value = 0;
  std::map<std::pair<std::string, std::string>, Value> pair_memo;
  for (size_t i = 0; i < o.operations; ++i) {
    // Some replica catches up a little.
    Replica& lag = replicas[pick(o.replicas)];
    ApplyUpTo(h.log, &lag, std::min(h.log.size(), lag.next + static_cast<size_t>(pick(8))));
    const int r = pick(o.replicas);
    Replica& rep = replicas[r];
    const std::string replica = fmt::format("c{}", r);
    const std::string key = fmt::format("k{}", pick(o.keys));
    Event inv;
    inv.process = r;
    inv.type = EventType::kInvoke;
    inv.key = key;
    inv.time = time;
    inv.replica = replica;
    Event done = inv;
    done.type = EventType::kOk;
    time += 1 + pick(1000);
    done.time = time;
    time += 1 + pick(100);
    if (o.range_percent > 0 && pick(100) < o.range_percent) {
      // A range read [key, hi] at the replica's position: kvsim's shape.
      std::string hi = fmt::format("k{}", pick(o.keys));
      if (hi < key) {  // inv.key is `key`: the two bounds swap
        inv.key = hi;
        hi = key;
      }
      inv.f = done.f = "range";
      done.key = inv.key;
      std::vector<Value> pairs;
      for (auto it = rep.store.lower_bound(std::string(*inv.key)); it != rep.store.end() && it->first <= hi; ++it) {
        // Pairs share their storage across ranges, as a reader's would.
        Value& pair = pair_memo[{it->first, it->second}];
        if (pair.is_nil()) pair = Value::List({Value::String(it->first), Value::String(it->second)});
        pairs.push_back(pair);
      }
      done.value = Value::List(std::move(pairs));
      done.applied = rep.applied;
    } else if (pick(100) < o.read_percent) {
      inv.f = done.f = "get";
      auto it = rep.store.find(key);
      if (it != rep.store.end()) done.value = Value::String(it->second);
      done.applied = rep.applied;
    } else {
      LogRecord rec;
      rec.offset = static_cast<int64_t>(h.log.size()) * 2;  // offsets are not dense
      rec.key = key;
      rec.writer = replica;
      if (pick(100) < o.delete_percent) {
        inv.f = done.f = "delete";
        rec.f = "delete";
      } else {
        inv.f = done.f = "put";
        std::string v = fmt::format("v{}", next_value++);
        inv.value = done.value = Value::String(v);
        rec.value = v;
      }
      done.offset = rec.offset;
      h.log.push_back(rec);
      ApplyUpTo(h.log, &rep, h.log.size());  // a write waits for its own replica
    }
    h.events.push_back(std::move(inv));
    h.events.push_back(std::move(done));
  }
  for (int r = 0; r < o.replicas; ++r) {
    Replica& rep = replicas[r];
    // Most replicas end fully caught up; some stop part way.
    size_t upto = pick(4) == 0 ? std::min(h.log.size(), rep.next + static_cast<size_t>(pick(4))) : h.log.size();
    ApplyUpTo(h.log, &rep, upto);
    h.finals.push_back({fmt::format("c{}", r), rep.applied, StateDigest::Of(rep.store), 0});
  }
  int line = 0;
  for (auto& e : h.events) e.line = ++line;
  for (auto& r : h.log) r.line = ++line;
  for (auto& f : h.finals) f.line = ++line;
  return h;
}

bool InjectViolation(History* h, Breakage b, uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Offsets of each key's puts, in log order, and each value's offset.
  std::map<std::string, std::vector<const LogRecord*>> puts;
  for (const auto& r : h->log) {
    if (r.value) puts[r.key].push_back(&r);
  }
  auto older_value = [&](std::string_view key, int64_t before) -> std::optional<std::string> {
    auto it = puts.find(std::string(key));
    if (it == puts.end()) return std::nullopt;
    std::optional<std::string> v;
    for (const LogRecord* r : it->second) {
      if (r->offset < before) v = std::string(*r->value);
    }
    return v;
  };
  std::map<std::string, int64_t> offset_of;
  for (const auto& r : h->log) {
    if (r.value) offset_of[r.key + '\0' + std::string(*r.value)] = r.offset;
  }
  const size_t n = h->events.size();
  const size_t start = n ? rng() % n : 0;
  switch (b) {
    case Breakage::kStaleOwnRead: {
      // A read after the process's own put: make it see an older value, served
      // at a position before that put.
      std::map<std::pair<int64_t, std::string>, int64_t> own;  // (process, key) -> offset
      for (size_t i = 0; i < n; ++i) {
        Event& e = h->events[i];
        if (e.type != EventType::kOk || !e.key) continue;
        if (e.f == "put" && e.offset) own[{e.process, std::string(*e.key)}] = *e.offset;
        if (e.f == "get" && i >= start) {
          auto it = own.find({e.process, std::string(*e.key)});
          if (it == own.end()) continue;
          auto v = older_value(*e.key, it->second);
          if (!v) continue;
          e.value = Value::String(*v);
          e.applied = it->second;  // not past its own write
          return true;
        }
      }
      return false;
    }
    case Breakage::kNonMonotonic: {
      std::map<std::pair<int64_t, std::string>, int64_t> last;  // (process, key) -> version read
      for (size_t i = 0; i < n; ++i) {
        Event& e = h->events[i];
        if (e.type != EventType::kOk || e.f != "get" || !e.key || e.value.is_nil()) continue;
        auto off = offset_of.find(std::string(*e.key) + '\0' + e.value.as_string());
        if (off == offset_of.end()) continue;
        auto it = last.find({e.process, std::string(*e.key)});
        if (i >= start && it != last.end()) {
          auto v = older_value(*e.key, it->second);
          if (v) {
            e.value = Value::String(*v);
            return true;
          }
        }
        last[{e.process, std::string(*e.key)}] = std::max(it == last.end() ? -1 : it->second, off->second);
      }
      return false;
    }
    case Breakage::kLostWrite: {
      if (h->log.empty()) return false;
      for (size_t step = 0; step < h->log.size(); ++step) {
        size_t i = (start + step) % h->log.size();
        if (h->log[i].value) {
          h->log.erase(h->log.begin() + static_cast<std::ptrdiff_t>(i));
          return true;
        }
      }
      return false;
    }
    case Breakage::kDuplicateWrite: {
      for (size_t step = 0; step < h->log.size(); ++step) {
        const LogRecord r = h->log[(start + step) % h->log.size()];
        if (!r.value) continue;
        LogRecord copy = r;
        copy.offset = h->log.back().offset + 1;
        h->log.push_back(copy);
        return true;
      }
      return false;
    }
    case Breakage::kPhantomWrite: {
      LogRecord r;
      r.offset = h->log.empty() ? 0 : h->log.back().offset + 1;
      r.key = "k0";
      r.value = fmt::format("never-written-{}", seed);
      h->log.push_back(r);
      return true;
    }
    case Breakage::kDivergence: {
      if (h->finals.empty()) return false;
      FinalState& f = h->finals[start % h->finals.size()];
      StateDigest d;
      d.Add("k0", fmt::format("corrupt-{}", seed));
      f.digest = d.Hex();
      return true;
    }
  }
  return false;
}

History GenerateRegisterHistory(uint64_t seed, size_t operations, int processes) {
  std::mt19937_64 rng(seed);
  // Linearization points are 10, 20, 30, ...; each operation's interval
  // contains its point and never overlaps the process's previous operation.
  struct Op {
    int process;
    int64_t call, point, ret;
    std::string f;
    Value input, output;
  };
  std::vector<Op> ops;
  std::vector<int64_t> free_at(processes, 0);
  Value state;  // nil
  int64_t next = 1;
  for (size_t i = 0; i < operations; ++i) {
    const int64_t point = 10 * static_cast<int64_t>(i + 1);
    // A process that is free before this point.
    int p = static_cast<int>(rng() % processes);
    for (int k = 0; k < processes && free_at[p] >= point - 1; ++k) p = (p + 1) % processes;
    if (free_at[p] >= point - 1) continue;
    Op op;
    op.process = p;
    op.point = point;
    op.call = std::max(free_at[p] + 1, point - 1 - static_cast<int64_t>(rng() % 25));
    op.ret = point + 1 + static_cast<int64_t>(rng() % 25);
    free_at[p] = op.ret;
    switch (rng() % 3) {
      case 0:
        op.f = "read";
        op.output = state;
        break;
      case 1:
        op.f = "write";
        op.input = Value::Int(next++);
        state = op.input;
        break;
      default: {
        op.f = "cas";
        Value expected = rng() % 2 && !state.is_nil() ? state : Value::Int(next + 1000);
        Value nv = Value::Int(next++);
        op.input = Value::List({expected, nv});
        if (expected != state) {
          op.f = "read";  // a cas that would fail: record a read instead
          op.input = Value();
          op.output = state;
        } else {
          state = nv;
        }
      }
    }
    ops.push_back(op);
  }
  struct Timed {
    int64_t t;
    Event e;
  };
  std::vector<Timed> events;
  for (const Op& op : ops) {
    Event inv;
    inv.process = op.process;
    inv.type = EventType::kInvoke;
    inv.f = op.f;
    inv.value = op.input;
    inv.time = op.call;
    Event done = inv;
    done.type = EventType::kOk;
    done.value = op.f == "read" ? op.output : op.input;
    done.time = op.ret;
    events.push_back({op.call * 2, std::move(inv)});
    events.push_back({op.ret * 2 + 1, std::move(done)});
  }
  std::stable_sort(events.begin(), events.end(), [](const Timed& a, const Timed& b) { return a.t < b.t; });
  History h;
  h.source = fmt::format("generated-register-{}", seed);
  int line = 0;
  for (auto& t : events) {
    t.e.line = ++line;
    h.events.push_back(std::move(t.e));
  }
  return h;
}

History GenerateKvLinearizableHistory(uint64_t seed, size_t operations, int processes, int keys) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  // Moments 10, 20, 30, ...: at each, one operation (or one record of a
  // batch) takes effect. An operation's interval holds its moments.
  struct Op {
    int process;
    int64_t call = 0, ret = 0;
    std::string f, key;
    Value input, output;
    EventType outcome = EventType::kOk;
    bool completes = true;  // an info op may have no completion at all
  };
  struct Pending {
    int op = -1;                 // index in ops of the batch in progress
    std::vector<bool> effects;   // per record: takes effect
    size_t next = 0;             // the next record
  };
  std::vector<Op> ops;
  std::vector<int64_t> free_at(processes, 0);
  std::vector<Pending> pending(processes);
  // Each slot runs one process at a time; after an operation that never
  // completes, the slot goes on as a new process (Jepsen's convention).
  std::vector<int> id(processes);
  for (int p = 0; p < processes; ++p) id[p] = p;
  int next_id = processes;
  auto finished = [&](int p, const Op& op) {
    if (op.completes) {
      free_at[p] = op.ret;
    } else {
      free_at[p] = op.call + 1;
      id[p] = next_id++;
    }
  };
  std::map<std::string, std::string> state;
  int64_t next_value = 0;
  auto key_name = [&](uint64_t k) { return fmt::format("k{}", k); };
  auto apply = [&](const Value& record) {
    const std::string& key = record.Find("key")->as_string();
    const Value* v = record.Find("value");
    if (v && !v->is_nil()) {
      state[key] = v->as_string();
    } else {
      state.erase(key);
    }
  };
  int64_t moment = 0;
  size_t started = 0;
  auto busy = [&] {
    for (const Pending& p : pending) {
      if (p.op >= 0) return true;
    }
    return false;
  };
  while (started < operations || busy()) {
    moment += 10;
    const int p = static_cast<int>(uniform(static_cast<uint64_t>(processes)));
    if (pending[p].op >= 0) {  // the next record of p's batch
      Pending& b = pending[p];
      Op& op = ops[static_cast<size_t>(b.op)];
      const Value& record = op.input.items()[b.next];
      if (b.effects[b.next]) apply(record);
      if (++b.next == b.effects.size()) {
        op.ret = moment + 1 + static_cast<int64_t>(uniform(5));
        finished(p, op);
        b = Pending{};
      }
      continue;
    }
    if (started >= operations || free_at[p] >= moment - 1) continue;
    ++started;
    Op op;
    op.process = id[p];
    op.call = std::max(free_at[p] + 1, moment - 1 - static_cast<int64_t>(uniform(25)));
    op.ret = moment + 1 + static_cast<int64_t>(uniform(25));
    // Writes may end info (took effect or not) or fail (did not).
    // (Few info: each stays a candidate to the end of the history, and the
    // search is exponential in how many of them overlap.)
    const uint64_t fate = uniform(40);
    const bool info = fate == 0;
    const bool fail = fate == 1;
    const bool happens = fail ? false : info ? uniform(2) == 0 : true;
    switch (uniform(5)) {
      case 0:
        op.f = "get";
        op.key = key_name(uniform(static_cast<uint64_t>(keys)));
        if (auto it = state.find(op.key); it != state.end()) op.output = Value::String(it->second);
        break;
      case 1: {
        op.f = "range";
        std::string lo = key_name(uniform(static_cast<uint64_t>(keys)));
        std::string hi = key_name(uniform(static_cast<uint64_t>(keys)));
        if (hi < lo) std::swap(lo, hi);
        op.key = lo;
        std::vector<Value> pairs;
        for (auto it = state.lower_bound(lo); it != state.end() && it->first <= hi; ++it) {
          pairs.push_back(Value::List({Value::String(it->first), Value::String(it->second)}));
        }
        op.output = Value::List(std::move(pairs));
        break;
      }
      case 2:
      case 3:
        op.f = uniform(5) == 0 ? "delete" : "put";
        op.key = key_name(uniform(static_cast<uint64_t>(keys)));
        if (op.f == "put") op.input = Value::String(fmt::format("v{}", next_value++));
        op.outcome = fail ? EventType::kFail : info ? EventType::kInfo : EventType::kOk;
        if (happens) {
          apply(Value::Map({"f", "key", "value"}, {Value::String(op.f), Value::String(op.key), op.input}));
        }
        break;
      default: {
        op.f = "batch";
        std::vector<Value> records;
        const size_t n = 1 + uniform(4);
        for (size_t r = 0; r < n; ++r) {
          const bool del = uniform(4) == 0;
          records.push_back(Value::Map(
              {"f", "key", "value"},
              {Value::String(del ? "delete" : "put"), Value::String(key_name(uniform(static_cast<uint64_t>(keys)))),
               del ? Value() : Value::String(fmt::format("v{}", next_value++))}));
        }
        op.input = Value::List(std::move(records));
        op.outcome = fail ? EventType::kFail : info ? EventType::kInfo : EventType::kOk;
        Pending b;
        b.op = static_cast<int>(ops.size());
        for (size_t r = 0; r < n; ++r) b.effects.push_back(fail ? false : info ? uniform(2) == 0 : true);
        // The first record now, the rest at later moments of p's choosing.
        if (b.effects[0]) apply(op.input.items()[0]);
        b.next = 1;
        if (n > 1) pending[p] = std::move(b);
        break;
      }
    }
    if (op.outcome == EventType::kInfo) op.completes = uniform(3) != 0;
    if (pending[p].op < 0) finished(p, op);
    ops.push_back(std::move(op));
  }
  struct Timed {
    int64_t t;
    Event e;
  };
  std::vector<Timed> events;
  for (const Op& op : ops) {
    Event inv;
    inv.process = op.process;
    inv.type = EventType::kInvoke;
    inv.f = op.f;
    inv.key = op.key.empty() ? std::nullopt : std::optional<std::string>(op.key);
    if (op.f == "batch") inv.key.reset();
    inv.value = op.input;
    inv.time = op.call;
    if (!op.completes) {
      events.push_back({op.call * 2, std::move(inv)});
      continue;
    }
    Event done = inv;
    done.type = op.outcome;
    done.value = op.f == "get" || op.f == "range" ? op.output : op.input;
    done.time = op.ret;
    events.push_back({op.call * 2, std::move(inv)});
    events.push_back({op.ret * 2 + 1, std::move(done)});
  }
  std::stable_sort(events.begin(), events.end(), [](const Timed& a, const Timed& b) { return a.t < b.t; });
  History h;
  h.source = fmt::format("generated-kv-{}", seed);
  int line = 0;
  for (auto& t : events) {
    t.e.line = ++line;
    h.events.push_back(std::move(t.e));
  }
  return h;
}

}  // namespace kvlog::checker::testing
