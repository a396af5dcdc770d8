#include "checker/linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/rng.h"

namespace kvlog::checker {
namespace {

using Clock = std::chrono::steady_clock;

// Search steps a part runs before it yields to the next part in the queue.
constexpr uint64_t kSliceSteps = 1 << 16;

using base::SplitMix64;

enum class PartOutcome { kLinearizable, kNot, kOutOfBudget, kCancelled };

struct PartResult {
  PartOutcome outcome = PartOutcome::kLinearizable;
  LinearizabilityWitness witness;
  std::string detail;
  uint64_t configurations = 0;
  size_t blocking_local = 0;  // the blocking op's position in its part
};

// Wing & Gong's search over one part, with Lowe's memo of visited
// configurations (the set of operations linearized, the model state).
//
// States are interned: each distinct Value gets an id, and each (state, op)
// transition is computed once, so the search compares and hashes integers.
// The set of linearized operations is a bitset over the part's operations in
// call order; a memo entry keeps only its window [lo, hi) of 64-bit words
// (below lo every word is all ones, from hi on all zeros), which is short
// because operations are linearized roughly in call order.
//
// Invariants: the doubly linked list holds the call (and, for definite ops,
// return) entries of the ops not yet linearized, in history order; `bits_`,
// `zobrist_hash_`, `lo_` and `hi_` describe exactly the ops on the stack;
// `remaining` counts definite ops not yet linearized.
class Search {
 public:
  Search(const std::vector<Operation>& all, const ModelPart& part, const Model& model, Clock::time_point deadline,
         size_t max_cache, const std::atomic<bool>* cancel)
      : all_(all), part_(part), model_(model), deadline_(deadline), max_cache_(max_cache), cancel_(cancel),
        state_ids_(0, StateHash{this}, StateEq{this}) {}

  // Searches for at most about `max_steps` more steps. Returns true when the
  // search has ended (`result()` holds the outcome), false when it paused: a
  // later call continues where it stopped.
  bool Resume(uint64_t max_steps) {
    if (!started_) {
      started_ = true;
      if (!Start()) return Finish();
    }
    if (Clock::now() >= deadline_) {
      result_.outcome = PartOutcome::kOutOfBudget;
      result_.detail = "time budget exhausted";
      return Finish();
    }
    const uint64_t stop_at = steps_ + max_steps;
    while (remaining_ > 0) {
      if ((++steps_ & 255) == 0) {
        if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
          result_.outcome = PartOutcome::kCancelled;
          return Finish();
        }
        if ((steps_ & 4095) == 0 && Clock::now() >= deadline_) {
          result_.outcome = PartOutcome::kOutOfBudget;
          result_.detail = "time budget exhausted";
          return Finish();
        }
        if (steps_ >= stop_at) return false;
      }
      int& e = e_;
      if (e != -1 && nodes_[e].call) {
        Prefetch(e);
        const int op = nodes_[e].op;
        const int32_t next = Blocked(op) ? -1 : Transition(state_, op);
        if (next >= 0) {
          SetBit(bit_[op]);
          zobrist_hash_ ^= zobrist_[op];
          if (MemoInsert(static_cast<uint32_t>(next))) {
            stack_.push_back({e, state_});
            state_ = static_cast<uint32_t>(next);
            Lift(e);
            if (!op_ptr_[op]->info()) --remaining_;
            e = nodes_[0].next;
            continue;
          }
          ClearBit(bit_[op]);
          zobrist_hash_ ^= zobrist_[op];
          if (entries_.size() > max_cache_) {
            result_.outcome = PartOutcome::kOutOfBudget;
            result_.detail = fmt::format("memoisation limit reached ({} configurations)", max_cache_);
            return Finish();
          }
          // The configuration with this read added was searched and failed,
          // so this one fails too (see Backtrack).
          if (pure_[op]) {
            if (Backtrack()) return Finish();
            continue;
          }
        }
        e = nodes_[e].next;
        continue;
      }
      // A return entry (or the end): its op had to be linearized by now.
      if (!have_best_ || stack_.size() > best_ops_.size()) {
        have_best_ = true;
        best_ops_.resize(std::min(low_water_, best_ops_.size()));
        for (size_t i = best_ops_.size(); i < stack_.size(); ++i) best_ops_.push_back(nodes_[stack_[i].node].op);
        low_water_ = stack_.size();
        best_state_ = state_;
        best_blocking_ = e != -1 ? nodes_[e].op : 0;
      }
      if (Backtrack()) return Finish();
    }
    return Finish();
  }

  PartResult& result() { return result_; }

 private:
  // The current configuration has failed: returns to the configuration below
  // it on the stack and its next candidate. Returns true when the stack was
  // empty (the part is not linearizable; result_ holds the witness).
  //
  // A configuration C fails if C plus a pure operation R (one that never
  // changes the state, e.g. a read) fails: in any completion of C that places
  // R later, R can move to the front, since it leaves every state as it is
  // and placing it earlier only removes a real-time constraint on the ops it
  // overtakes. So when R's frame is popped, C's other candidates are skipped.
  // Reads are the most frequent operations, and this keeps the search from
  // trying every order of the writes around each failed read.
  bool Backtrack() {
    for (;;) {
      if (stack_.empty()) {
        result_.outcome = PartOutcome::kNot;
        for (int op : best_ops_) result_.witness.prefix.push_back(op_ptr_[op]->index);
        result_.witness.blocking_op = op_ptr_[best_blocking_]->index;
        result_.blocking_local = static_cast<size_t>(best_blocking_);
        result_.witness.state_after_prefix = model_.Describe(states_[best_state_]);
        return true;
      }
      const Frame f = stack_.back();
      stack_.pop_back();
      low_water_ = std::min(low_water_, stack_.size());
      const int op = nodes_[f.node].op;
      ClearBit(bit_[op]);
      zobrist_hash_ ^= zobrist_[op];
      state_ = f.state;
      Unlift(f.node);
      if (!op_ptr_[op]->info()) ++remaining_;
      e_ = nodes_[f.node].next;
      if (!pure_[op]) return false;
    }
  }

 private:
  struct Frame {
    int node;
    uint32_t state;
  };

  // Builds the entry list; false if there is nothing to search.
  bool Start() {
    const size_t n = part_.ops.size();
    if (n == 0) return false;
    words_ = (n + 63) / 64;
    op_ptr_.resize(n);
    for (size_t i = 0; i < n; ++i) op_ptr_[i] = &part_.At(all_, i);
    // Entries: 0 is the head sentinel; then one call per op, one return per
    // definite op, sorted by position in the history. Records of one batch
    // share their positions: calls come first.
    struct Raw {
      int64_t pos;
      int op;
      bool call;
    };
    std::vector<Raw> raw;
    raw.reserve(2 * n);
    for (size_t i = 0; i < n; ++i) {
      const Operation& o = *op_ptr_[i];
      raw.push_back({o.call, static_cast<int>(i), true});
      if (!o.info()) {
        raw.push_back({o.ret, static_cast<int>(i), false});
        ++remaining_;
      }
    }
    std::stable_sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) {
      if (a.pos != b.pos) return a.pos < b.pos;
      return a.call && !b.call;
    });
    nodes_.assign(raw.size() + 1, Node{});
    std::vector<int> call_node(n, -1), ret_node(n, -1);
    for (size_t i = 0; i < raw.size(); ++i) {
      Node& nd = nodes_[i + 1];
      nd.op = raw[i].op;
      nd.call = raw[i].call;
      nd.prev = static_cast<int>(i);
      nd.next = i + 2 <= raw.size() ? static_cast<int>(i + 2) : -1;
      (raw[i].call ? call_node : ret_node)[raw[i].op] = static_cast<int>(i + 1);
    }
    nodes_[0].next = raw.empty() ? -1 : 1;
    for (size_t i = 0; i < n; ++i) nodes_[call_node[i]].match = ret_node[i];
    // Bit positions follow call order, so the linearized set is dense at the
    // front and its window short.
    bit_.assign(n, 0);
    uint32_t b = 0;
    for (const Raw& r : raw) {
      if (r.call) bit_[r.op] = b++;
    }
    zobrist_.resize(n);
    for (size_t i = 0; i < n; ++i) zobrist_[i] = SplitMix64(i + 1);
    observes_.resize(n);
    for (size_t i = 0; i < n; ++i) observes_[i] = IsReadFunction(op_ptr_[i]->f) || op_ptr_[i]->result == false;
    // Whether an op is pure does not depend on the state (Model::Check).
    const Value init = model_.Init();
    pure_.resize(n);
    for (size_t i = 0; i < n; ++i) pure_[i] = observes_[i] && model_.Check(init, *op_ptr_[i]).has_value();
    // Order constraints: later_[later_begin_[op] ..] lists the ops that, once
    // linearized, keep `op` from being linearized after them.
    later_begin_.assign(n + 1, 0);
    for (const auto& [x, y] : part_.order) ++later_begin_[x + 1];
    for (size_t i = 0; i < n; ++i) later_begin_[i + 1] += later_begin_[i];
    later_.resize(part_.order.size());
    std::vector<uint32_t> fill(later_begin_.begin(), later_begin_.end() - 1);
    for (const auto& [x, y] : part_.order) later_[fill[x]++] = y;

    bits_.assign(words_, 0);
    state_ = Intern(model_.Init());
    best_state_ = state_;
    stack_.reserve(n);
    e_ = nodes_[0].next;
    return true;
  }

  // Ends the search: keeps the result, frees the rest.
  bool Finish() {
    result_.configurations = entries_.size();
    table_ = {};
    entries_ = {};
    pool_ = {};
    transitions_ = {};
    dense_ = {};
    return true;
  }

  struct Node {
    int op = -1;
    bool call = false;
    int prev = -1, next = -1;
    int match = -1;  // call: its return entry, or -1 for an info op
  };

  void Unlink(int i) {
    Node& nd = nodes_[i];
    nodes_[nd.prev].next = nd.next;
    if (nd.next != -1) nodes_[nd.next].prev = nd.prev;
  }
  void Relink(int i) {
    Node& nd = nodes_[i];
    nodes_[nd.prev].next = i;
    if (nd.next != -1) nodes_[nd.next].prev = i;
  }
  void Lift(int call) {
    Unlink(call);
    if (nodes_[call].match != -1) Unlink(nodes_[call].match);
  }
  void Unlift(int call) {
    if (nodes_[call].match != -1) Relink(nodes_[call].match);
    Relink(call);
  }

  // An op that must come before one already linearized cannot be placed.
  bool Blocked(int op) const {
    for (uint32_t i = later_begin_[op]; i < later_begin_[op + 1]; ++i) {
      const uint32_t b = bit_[later_[i]];
      if (bits_[b / 64] >> (b % 64) & 1) return true;
    }
    return false;
  }

  void SetBit(uint32_t b) {
    const uint32_t w = b / 64;
    bits_[w] |= 1ull << (b % 64);
    if (w >= hi_) hi_ = w + 1;
    while (lo_ < words_ && bits_[lo_] == ~0ull) ++lo_;
  }
  void ClearBit(uint32_t b) {
    const uint32_t w = b / 64;
    bits_[w] &= ~(1ull << (b % 64));
    if (w < lo_) lo_ = w;
    while (hi_ > lo_ && bits_[hi_ - 1] == 0) --hi_;
  }

  // The id of state `v`: states_[id] == v. Each state is hashed once.
  uint32_t Intern(Value v) {
    const uint32_t id = static_cast<uint32_t>(states_.size());
    state_hash_.push_back(ValueHash()(v));
    states_.push_back(std::move(v));
    auto [it, added] = state_ids_.insert(id);
    if (added) {
      // A row of the dense transition table per state, while it stays small.
      const size_t n = op_ptr_.size();
      if (dense_states_ == id && (static_cast<size_t>(id) + 1) * n <= kDenseTransitions) {
        dense_.resize((static_cast<size_t>(id) + 1) * n, kUnknownTransition);
        ++dense_states_;
      }
      return id;
    }
    states_.pop_back();
    state_hash_.pop_back();
    return *it;
  }

  // The state after `op` from `state`, or -1 if `op` cannot happen there.
  // An op that leaves the state as it is (a read) is checked directly: a
  // compare costs less than a lookup in a table that large. The result of an
  // op that changes the state is computed once per (state, op).
  int32_t Transition(uint32_t state, int op) {
    const Operation& o = *op_ptr_[op];
    if (observes_[op]) {
      std::optional<bool> same = model_.Check(states_[state], o);
      if (same) return *same ? static_cast<int32_t>(state) : -1;
    }
    // The first states get a dense table (a register has few states); the
    // rest a hash map.
    const size_t n = op_ptr_.size();
    int32_t* cached = nullptr;
    if (state < dense_states_) {
      cached = &dense_[state * n + static_cast<size_t>(op)];
    } else {
      const uint64_t key = static_cast<uint64_t>(state) << 32 | static_cast<uint32_t>(op);
      cached = &transitions_.try_emplace(key, kUnknownTransition).first->second;
    }
    if (*cached != kUnknownTransition) return *cached;
    int32_t result = -1;
    if (std::optional<bool> same = model_.Check(states_[state], o)) {
      result = *same ? static_cast<int32_t>(state) : -1;
    } else {
      Value next;
      if (model_.Step(states_[state], o, &next)) {
        result = static_cast<int32_t>(Intern(std::move(next)));  // may grow dense_: find the slot again
        if (state < dense_states_) {
          cached = &dense_[state * n + static_cast<size_t>(op)];
        } else {
          cached = &transitions_[static_cast<uint64_t>(state) << 32 | static_cast<uint32_t>(op)];
        }
      }
    }
    *cached = result;
    return result;
  }

  // The memo: an open-addressing table (linear probing) whose slots hold the
  // configuration's hash and state id, so a probe reads one cache line until
  // both match; only then are the bitset windows compared.
  struct Slot {
    uint64_t hash = 0;
    uint32_t entry = 0;  // index into entries_ + 1; 0 = empty
    uint32_t state = 0;
  };
  struct Entry {
    uint64_t offset;   // of its window in pool_
    uint32_t lo, len;  // window: words [lo, lo + len)
  };

  // Records the current linearized set with `state`; false if already seen.
  bool MemoInsert(uint32_t state) {
    const uint64_t hash = zobrist_hash_ ^ SplitMix64(0xA5A5A5A5ull + state);
    const uint32_t lo = lo_, len = hi_ > lo_ ? hi_ - lo_ : 0;
    if ((entries_.size() + 1) * 2 > table_.size()) Grow();
    const size_t mask = table_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& slot = table_[i];
      if (slot.entry == 0) {
        entries_.push_back({pool_.size(), lo, len});
        pool_.insert(pool_.end(), bits_.begin() + lo, bits_.begin() + lo + len);
        slot = {hash, static_cast<uint32_t>(entries_.size()), state};
        return true;
      }
      if (slot.hash == hash && slot.state == state) {
        const Entry& e = entries_[slot.entry - 1];
        if (e.lo == lo && e.len == len) {
          const uint64_t* a = pool_.data() + e.offset;
          const uint64_t* b = bits_.data() + lo;
          uint32_t w = 0;
          while (w < len && a[w] == b[w]) ++w;
          if (w == len) return false;
        }
      }
    }
  }

  // The memo probes are cache misses, one after the other as the search
  // tries the candidates in turn. So while at entry `at`, start loading the
  // slot the candidate a few entries on will probe.
  void Prefetch(int at) {
    if (table_.empty()) return;
    int e = at;
    for (int k = 0; k < kPrefetchDistance; ++k) {
      e = nodes_[e].next;
      if (e == -1 || !nodes_[e].call) return;
    }
    const int op = nodes_[e].op;
    // Nothing is computed here: a read is assumed to keep the state, other
    // ops use the transition only if it is already known.
    int32_t next = static_cast<int32_t>(state_);
    if (!observes_[op]) {
      if (state_ < dense_states_) {
        next = dense_[state_ * op_ptr_.size() + static_cast<size_t>(op)];
      } else {
        auto it = transitions_.find(static_cast<uint64_t>(state_) << 32 | static_cast<uint32_t>(op));
        next = it == transitions_.end() ? -1 : it->second;
      }
    }
    if (next < 0) return;
    const uint64_t hash = zobrist_hash_ ^ zobrist_[op] ^ SplitMix64(0xA5A5A5A5ull + static_cast<uint32_t>(next));
    __builtin_prefetch(&table_[hash & (table_.size() - 1)]);
  }
  static constexpr int kPrefetchDistance = 2;

  void Grow() {
    std::vector<Slot> old = std::move(table_);
    table_.assign(old.empty() ? 1024 : 2 * old.size(), Slot{});
    const size_t mask = table_.size() - 1;
    for (const Slot& slot : old) {
      if (slot.entry == 0) continue;
      size_t i = slot.hash & mask;
      while (table_[i].entry != 0) i = (i + 1) & mask;
      table_[i] = slot;
    }
  }

  const std::vector<Operation>& all_;
  const ModelPart& part_;
  const Model& model_;
  const Clock::time_point deadline_;
  const size_t max_cache_;
  const std::atomic<bool>* cancel_;
  std::vector<const Operation*> op_ptr_;
  size_t words_ = 0;
  std::vector<Node> nodes_;
  std::vector<uint32_t> bit_;
  std::vector<uint64_t> zobrist_;
  std::vector<bool> observes_;  // the op may leave the state as it is: try Check first
  std::vector<bool> pure_;      // the op leaves every state as it is, where it can happen
  std::vector<uint32_t> later_begin_, later_;
  std::vector<uint64_t> bits_;
  uint32_t lo_ = 0, hi_ = 0;
  uint64_t zobrist_hash_ = 0;
  // Interned states: ids into states_, hashed by the stored hash.
  struct StateHash {
    const Search* s;
    size_t operator()(uint32_t id) const { return s->state_hash_[id]; }
  };
  struct StateEq {
    const Search* s;
    bool operator()(uint32_t a, uint32_t b) const {
      return s->state_hash_[a] == s->state_hash_[b] && s->states_[a] == s->states_[b];
    }
  };
  std::vector<Value> states_;
  std::vector<uint64_t> state_hash_;
  absl::flat_hash_set<uint32_t, StateHash, StateEq> state_ids_;
  static constexpr int32_t kUnknownTransition = -2;
  static constexpr size_t kDenseTransitions = size_t{1} << 18;
  std::vector<int32_t> dense_;  // [state * n + op] for states < dense_states_
  uint32_t dense_states_ = 0;
  absl::flat_hash_map<uint64_t, int32_t> transitions_;
  std::vector<Slot> table_;
  std::vector<Entry> entries_;
  std::vector<uint64_t> pool_;
  // The search's position, kept between Resume calls.
  bool started_ = false;
  PartResult result_;
  size_t remaining_ = 0;  // definite ops not yet linearized
  uint32_t state_ = 0;
  int e_ = -1;
  uint64_t steps_ = 0;
  std::vector<Frame> stack_;
  // The longest linearizable prefix seen: best_ops_ holds the ops of the
  // stack as it was when it was longest; frames below low_water_ have not
  // changed since, so only the rest is copied when it grows again.
  std::vector<int> best_ops_;
  size_t low_water_ = 0;
  uint32_t best_state_ = 0;
  int best_blocking_ = 0;
  bool have_best_ = false;
};

}  // namespace

LinearizabilityResult CheckLinearizability(const std::vector<Operation>& ops, const Model& model,
                                           const LinearizabilityOptions& options) {
  const Clock::time_point deadline = Clock::now() + options.budget;
  // Keep what can matter: definite outcomes, and unknown outcomes of
  // operations that change state. Failed operations did not happen.
  std::vector<size_t> kept;
  for (const Operation& o : ops) {
    if (o.outcome == EventType::kFail) continue;
    if (o.info() && IsReadFunction(o.f)) continue;
    kept.push_back(o.index);
  }
  for (size_t i : kept) {
    if (!model.Handles(ops[i])) {
      LinearizabilityResult unknown;
      unknown.verdict = Verdict::kUnknown;
      unknown.detail = fmt::format("model {} cannot judge f={} (line {})", model.Name(), ops[i].f, ops[i].line);
      return unknown;
    }
  }
  std::vector<ModelPart> parts = model.Partition(ops, kept);
  parts.erase(std::remove_if(parts.begin(), parts.end(), [](const ModelPart& p) { return p.ops.empty(); }),
              parts.end());
  // Largest first, so parallel workers finish together.
  std::stable_sort(parts.begin(), parts.end(),
                   [](const ModelPart& a, const ModelPart& b) { return a.ops.size() > b.ops.size(); });

  LinearizabilityResult result;
  result.parts = parts.size();
  result.ops_checked = kept.size();
  std::vector<PartResult> results(parts.size());
  // Parts take turns: a worker searches one for a slice of steps, then puts
  // it back at the end of the queue if it has not ended. So a small part
  // that is not linearizable is found while a large one is still searching,
  // whatever the number of workers, and then every other part stops: once
  // one part is not linearizable neither is the history.
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable cv;
  std::deque<size_t> queue;  // guarded by mu
  size_t running = 0;        // guarded by mu: parts a worker holds
  for (size_t i = 0; i < parts.size(); ++i) queue.push_back(i);
  std::vector<std::unique_ptr<Search>> searches(parts.size());
  auto worker = [&] {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return !queue.empty() || running == 0; });
      if (queue.empty()) return;
      const size_t i = queue.front();
      queue.pop_front();
      if (failed.load()) {  // the verdict is known: the rest need not run
        results[i].outcome = PartOutcome::kCancelled;
        searches[i].reset();
        continue;
      }
      ++running;
      lock.unlock();
      if (!searches[i]) {
        searches[i] = std::make_unique<Search>(ops, parts[i], model, deadline, options.max_cache_entries, &failed);
      }
      const bool ended = searches[i]->Resume(kSliceSteps);
      if (ended) {
        results[i] = std::move(searches[i]->result());
        results[i].witness.part = parts[i].name;
        if (results[i].outcome == PartOutcome::kNot) failed.store(true);
        searches[i].reset();
      }
      lock.lock();
      --running;
      if (!ended) queue.push_back(i);
      cv.notify_all();
    }
  };
  int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(1, std::min<int>(threads, static_cast<int>(parts.size())));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  bool unknown = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    result.configurations += results[i].configurations;
    if (results[i].outcome == PartOutcome::kNot) {
      result.verdict = Verdict::kInvalid;
      LinearizabilityWitness w = std::move(results[i].witness);
      const ModelPart& part = parts[i];
      const Operation& blocking = part.At(ops, results[i].blocking_local);
      w.explanation = fmt::format(
          "after the {} operations of the longest linearizable prefix the state is {}, and {} (line {}) cannot be "
          "placed: every order that respects real time contradicts an observed output",
          w.prefix.size(), w.state_after_prefix, model.DescribeOp(blocking), blocking.line);
      result.witness = std::move(w);
      result.detail.clear();
      return result;
    }
    if (results[i].outcome == PartOutcome::kOutOfBudget) {
      unknown = true;
      result.detail = parts[i].name.empty() ? results[i].detail
                                            : fmt::format("{} (key {})", results[i].detail, parts[i].name);
    }
  }
  result.verdict = unknown ? Verdict::kUnknown : Verdict::kValid;
  return result;
}

CheckReport LinearizabilityReport(const Model& model, const LinearizabilityResult& r) {
  CheckReport rep;
  rep.checker = "linearizability";
  rep.verdict = r.verdict;
  rep.summary = fmt::format("{} operations in {} part(s), model {}", r.ops_checked, r.parts, model.Name());
  if (!r.detail.empty()) rep.summary += "; " + r.detail;
  if (r.witness) {
    // The blocking operation is the one to look at; the prefix is in the witness.
    rep.Add({"not-linearizable", r.witness->explanation, {r.witness->blocking_op}});
  }
  return rep;
}

}  // namespace kvlog::checker
