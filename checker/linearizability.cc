#include "checker/linearizability.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_map.h"

namespace kvlog::checker {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

enum class PartOutcome { kLinearizable, kNot, kOutOfBudget };

struct PartResult {
  PartOutcome outcome = PartOutcome::kLinearizable;
  LinearizabilityWitness witness;
  std::string detail;
};

// Wing & Gong search over one part. Invariants: the doubly linked list holds
// the call (and, for definite ops, return) entries of the ops not yet
// linearized, in history order; `linearized` and `hash` describe exactly the
// ops on `stack`; `remaining` counts definite ops not yet linearized.
class Search {
 public:
  Search(const std::vector<Operation>& all, std::vector<size_t> ops, const Model& model,
         Clock::time_point deadline, size_t max_cache)
      : all_(all), ops_(std::move(ops)), model_(model), deadline_(deadline), max_cache_(max_cache) {}

  PartResult Run() {
    const size_t n = ops_.size();
    words_ = (n + 63) / 64;
    // Entries: 0 is the head sentinel; then one call per op, one return per
    // definite op, sorted by position in the history.
    struct Raw {
      int64_t pos;
      int op;
      bool call;
    };
    std::vector<Raw> raw;
    raw.reserve(2 * n);
    size_t remaining = 0;
    for (size_t i = 0; i < n; ++i) {
      const Operation& o = all_[ops_[i]];
      raw.push_back({o.call, static_cast<int>(i), true});
      if (!o.info()) {
        raw.push_back({o.ret, static_cast<int>(i), false});
        ++remaining;
      }
    }
    std::sort(raw.begin(), raw.end(), [](const Raw& a, const Raw& b) { return a.pos < b.pos; });
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
    zobrist_.resize(n);
    for (size_t i = 0; i < n; ++i) zobrist_[i] = SplitMix64(i + 1);

    std::vector<uint64_t> bits(words_, 0);
    uint64_t hash = 0;
    struct Frame {
      int node;
      Value state;
    };
    std::vector<Frame> stack;
    Value state = model_.Init();
    PartResult result;
    size_t best = 0;
    bool have_best = false;
    int e = nodes_[0].next;
    uint64_t steps = 0;
    while (remaining > 0) {
      if ((++steps & 1023) == 1 && Clock::now() >= deadline_) {
        result.outcome = PartOutcome::kOutOfBudget;
        result.detail = "time budget exhausted";
        return result;
      }
      if (e != -1 && nodes_[e].call) {
        const int op = nodes_[e].op;
        Value next;
        if (model_.Step(state, all_[ops_[op]], &next)) {
          bits[op / 64] |= 1ull << (op % 64);
          hash ^= zobrist_[op];
          if (CacheInsert(hash, bits, next)) {
            stack.push_back({e, std::move(state)});
            state = std::move(next);
            Lift(e);
            if (!all_[ops_[op]].info()) --remaining;
            e = nodes_[0].next;
            continue;
          }
          bits[op / 64] &= ~(1ull << (op % 64));
          hash ^= zobrist_[op];
          if (cache_size_ > max_cache_) {
            result.outcome = PartOutcome::kOutOfBudget;
            result.detail = "memoisation limit reached";
            return result;
          }
        }
        e = nodes_[e].next;
        continue;
      }
      // A return entry (or the end): its op had to be linearized by now.
      if (!have_best || stack.size() > best) {
        have_best = true;
        best = stack.size();
        result.witness.prefix.clear();
        for (const Frame& f : stack) result.witness.prefix.push_back(ops_[nodes_[f.node].op]);
        result.witness.blocking_op = e != -1 ? ops_[nodes_[e].op] : ops_[0];
        result.witness.state_after_prefix = model_.Describe(state);
      }
      if (stack.empty()) {
        result.outcome = PartOutcome::kNot;
        return result;
      }
      Frame f = std::move(stack.back());
      stack.pop_back();
      const int op = nodes_[f.node].op;
      bits[op / 64] &= ~(1ull << (op % 64));
      hash ^= zobrist_[op];
      state = std::move(f.state);
      Unlift(f.node);
      if (!all_[ops_[op]].info()) ++remaining;
      e = nodes_[f.node].next;
    }
    return result;
  }

 private:
  struct Node {
    int op = -1;
    bool call = false;
    int prev = -1, next = -1;
    int match = -1;  // call: its return entry, or -1 for an info op
  };

  void Unlink(int i) {
    Node& n = nodes_[i];
    nodes_[n.prev].next = n.next;
    if (n.next != -1) nodes_[n.next].prev = n.prev;
  }
  void Relink(int i) {
    Node& n = nodes_[i];
    nodes_[n.prev].next = i;
    if (n.next != -1) nodes_[n.next].prev = i;
  }
  void Lift(int call) {
    Unlink(call);
    if (nodes_[call].match != -1) Unlink(nodes_[call].match);
  }
  void Unlift(int call) {
    if (nodes_[call].match != -1) Relink(nodes_[call].match);
    Relink(call);
  }

  // Records (bits, state); false if it was already seen.
  bool CacheInsert(uint64_t hash, const std::vector<uint64_t>& bits, const Value& state) {
    auto& bucket = cache_[hash];
    for (uint32_t idx : bucket) {
      if (std::equal(bits.begin(), bits.end(), pool_.begin() + idx * words_) &&
          model_.Equal(states_[idx], state)) {
        return false;
      }
    }
    bucket.push_back(static_cast<uint32_t>(states_.size()));
    pool_.insert(pool_.end(), bits.begin(), bits.end());
    states_.push_back(state);
    ++cache_size_;
    return true;
  }

  const std::vector<Operation>& all_;
  const std::vector<size_t> ops_;
  const Model& model_;
  const Clock::time_point deadline_;
  const size_t max_cache_;
  size_t words_ = 0;
  std::vector<Node> nodes_;
  std::vector<uint64_t> zobrist_;
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> cache_;
  std::vector<uint64_t> pool_;
  std::vector<Value> states_;
  size_t cache_size_ = 0;
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
  std::vector<Operation> subset;
  subset.reserve(kept.size());
  for (size_t i : kept) subset.push_back(ops[i]);
  std::vector<std::vector<size_t>> parts_local = model.Partition(subset);
  std::vector<std::vector<size_t>> parts;
  for (auto& p : parts_local) {
    std::vector<size_t> g;
    g.reserve(p.size());
    for (size_t i : p) g.push_back(kept[i]);
    if (!g.empty()) parts.push_back(std::move(g));
  }
  // Largest first, so parallel workers finish together.
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });

  LinearizabilityResult result;
  result.parts = parts.size();
  result.ops_checked = kept.size();
  std::vector<PartResult> results(parts.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= parts.size() || failed.load()) return;
      Search s(ops, parts[i], model, deadline, options.max_cache_entries);
      results[i] = s.Run();
      if (ops[parts[i][0]].key) results[i].witness.part = *ops[parts[i][0]].key;
      if (results[i].outcome == PartOutcome::kNot) failed.store(true);
    }
  };
  int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(parts.size())));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  bool unknown = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (results[i].outcome == PartOutcome::kNot) {
      result.verdict = Verdict::kInvalid;
      LinearizabilityWitness w = std::move(results[i].witness);
      w.explanation = "after the " + std::to_string(w.prefix.size()) +
                      " operations of the longest linearizable prefix the state is " +
                      w.state_after_prefix + ", and " + model.DescribeOp(ops[w.blocking_op]) +
                      " (line " + std::to_string(ops[w.blocking_op].line) +
                      ") cannot be placed: every order that respects real time contradicts an observed output";
      result.witness = std::move(w);
      return result;
    }
    if (results[i].outcome == PartOutcome::kOutOfBudget) {
      unknown = true;
      std::string key = parts[i].empty() || !ops[parts[i][0]].key ? "" : " (key " + *ops[parts[i][0]].key + ")";
      result.detail = results[i].detail + key;
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
