#include "checker/linearizability.h"

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
#include "absl/hash/hash.h"

namespace kvlog::checker {
namespace {

using Clock = std::chrono::steady_clock;

// Search steps a part runs before it yields to the next part in the queue.
constexpr uint64_t kSliceSteps = 1 << 16;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A hash of a Value consistent with Value::operator==.
struct ValueHash {
  size_t operator()(const Value& v) const {
    size_t h = static_cast<size_t>(v.kind()) * 0x9E3779B97F4A7C15ull;
    switch (v.kind()) {
      case Value::Kind::kNil:
        return h;
      case Value::Kind::kBool:
      case Value::Kind::kInt:
        return absl::HashOf(h, v.as_int());
      case Value::Kind::kString:
        return absl::HashOf(h, std::string_view(v.as_string()));
      case Value::Kind::kList:
      case Value::Kind::kMap:
        for (const std::string& k : v.keys()) h = absl::HashOf(h, std::string_view(k));
        for (const Value& item : v.items()) h = absl::HashOf(h, (*this)(item));
        return h;
    }
    return h;
  }
};

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
        state_ids_(0, StateHash{this}, StateEq{this}), memo_(0, MemoHash{this}, MemoEq{this}) {}

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
          if (memo_.size() > max_cache_) {
            result_.outcome = PartOutcome::kOutOfBudget;
            result_.detail = "memoisation limit reached (" + std::to_string(max_cache_) + " configurations)";
            return Finish();
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
      if (stack_.empty()) {
        result_.outcome = PartOutcome::kNot;
        for (int op : best_ops_) result_.witness.prefix.push_back(op_ptr_[op]->index);
        result_.witness.blocking_op = op_ptr_[best_blocking_]->index;
        result_.blocking_local = static_cast<size_t>(best_blocking_);
        result_.witness.state_after_prefix = model_.Describe(states_[best_state_]);
        return Finish();
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
      e = nodes_[f.node].next;
    }
    return Finish();
  }

  PartResult& result() { return result_; }

  const Operation& LocalOp(int i) const { return *op_ptr_[i]; }

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
    result_.configurations = memo_.size();
    memo_ = decltype(memo_)(0, MemoHash{this}, MemoEq{this});
    entries_ = {};
    pool_ = {};
    transitions_ = {};
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
    if (added) return id;
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
    const uint64_t key = static_cast<uint64_t>(state) << 32 | static_cast<uint32_t>(op);
    auto [it, added] = transitions_.try_emplace(key, -1);
    if (!added) return it->second;
    if (std::optional<bool> same = model_.Check(states_[state], o)) {
      it->second = *same ? static_cast<int32_t>(state) : -1;
      return it->second;
    }
    Value next;
    if (!model_.Step(states_[state], o, &next)) return -1;
    const int32_t id = static_cast<int32_t>(Intern(std::move(next)));
    transitions_[key] = id;
    return id;
  }

  // The memo: entries are indexes into the arrays below.
  struct Entry {
    uint64_t hash;
    uint64_t offset;  // of its window in pool_
    uint32_t state;
    uint32_t lo, len;  // window: words [lo, lo + len)
  };
  struct MemoHash {
    const Search* s;
    size_t operator()(uint32_t i) const { return s->entries_[i].hash; }
  };
  struct MemoEq {
    const Search* s;
    bool operator()(uint32_t a, uint32_t b) const {
      const Entry& x = s->entries_[a];
      const Entry& y = s->entries_[b];
      return x.hash == y.hash && x.state == y.state && x.lo == y.lo && x.len == y.len &&
             std::memcmp(&s->pool_[x.offset], &s->pool_[y.offset], x.len * sizeof(uint64_t)) == 0;
    }
  };

  // Records the current linearized set with `state`; false if already seen.
  bool MemoInsert(uint32_t state) {
    Entry en;
    en.hash = zobrist_hash_ ^ SplitMix64(0xA5A5A5A5ull + state);
    en.offset = pool_.size();
    en.state = state;
    en.lo = lo_;
    en.len = hi_ > lo_ ? hi_ - lo_ : 0;
    pool_.insert(pool_.end(), bits_.begin() + en.lo, bits_.begin() + en.lo + en.len);
    entries_.push_back(en);
    if (memo_.insert(static_cast<uint32_t>(entries_.size() - 1)).second) return true;
    entries_.pop_back();
    pool_.resize(en.offset);
    return false;
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
  absl::flat_hash_map<uint64_t, int32_t> transitions_;
  std::vector<Entry> entries_;
  std::vector<uint64_t> pool_;
  absl::flat_hash_set<uint32_t, MemoHash, MemoEq> memo_;
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
      unknown.detail = "model " + std::string(model.Name()) + " cannot judge f=" + ops[i].f + " (line " +
                       std::to_string(ops[i].line) + ")";
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
      w.explanation = "after the " + std::to_string(w.prefix.size()) +
                      " operations of the longest linearizable prefix the state is " + w.state_after_prefix +
                      ", and " + model.DescribeOp(blocking) + " (line " + std::to_string(blocking.line) +
                      ") cannot be placed: every order that respects real time contradicts an observed output";
      result.witness = std::move(w);
      result.detail.clear();
      return result;
    }
    if (results[i].outcome == PartOutcome::kOutOfBudget) {
      unknown = true;
      result.detail = results[i].detail + (parts[i].name.empty() ? "" : " (key " + parts[i].name + ")");
    }
  }
  result.verdict = unknown ? Verdict::kUnknown : Verdict::kValid;
  return result;
}

CheckReport LinearizabilityReport(const Model& model, const LinearizabilityResult& r) {
  CheckReport rep;
  rep.checker = "linearizability";
  rep.verdict = r.verdict;
  rep.summary = std::to_string(r.ops_checked) + " operations in " + std::to_string(r.parts) +
                " part(s), model " + std::string(model.Name());
  if (!r.detail.empty()) rep.summary += "; " + r.detail;
  if (r.witness) {
    // The blocking operation is the one to look at; the prefix is in the witness.
    rep.Add({"not-linearizable", r.witness->explanation, {r.witness->blocking_op}});
  }
  return rep;
}

}  // namespace kvlog::checker
