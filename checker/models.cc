#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "absl/container/flat_hash_set.h"

#include "checker/model.h"

namespace kvlog::checker {

std::vector<ModelPart> Model::Partition(const std::vector<Operation>& ops, const std::vector<size_t>& kept) const {
  ModelPart all;
  all.ops.reserve(kept.size());
  for (size_t i : kept) all.ops.push_back({i, -1});
  std::vector<ModelPart> parts;
  parts.push_back(std::move(all));
  return parts;
}

std::string Model::DescribeOp(const Operation& op) const {
  std::string s = fmt::format("process {} {}", op.process, op.f);
  if (op.key) s += fmt::format(" key {}", *op.key);
  s += " " + op.value().ToString();
  if (op.result && !*op.result) s += " (compare failed)";
  if (op.info()) s += " (outcome unknown)";
  return s;
}

namespace {

bool IsWrite(std::string_view f) { return f == "write" || f == "put"; }

// What a batch's record may be: a write of one key.
bool IsBatchRecordFunction(std::string_view f) { return IsWrite(f) || f == "delete" || f == "append"; }

// The batch's records: the completion's list when it has one (it may add
// offsets), else the invocation's.
const Value& BatchRecords(const Operation& op) { return op.ok() && op.output.is_list() ? op.output : op.input; }

// A batch record's f and key, or false when it is not a {f, key, ...} map
// with a write f and a string key.
bool BatchRecord(const Value& record, std::string* f, std::string* key) {
  if (!record.is_map()) return false;
  const Value* fv = record.Find("f");
  const Value* kv = record.Find("key");
  if (!fv || !kv || !kv->is_string() || !(fv->is_string())) return false;
  *f = fv->as_string();
  *key = kv->as_string();
  return IsBatchRecordFunction(*f);
}

// A range's result: a list of [key value] pairs with string keys.
bool RangePairs(const Operation& op) {
  if (!op.output.is_list()) return false;
  for (const Value& pair : op.output.items()) {
    if (!pair.is_list() || pair.items().size() != 2 || !pair.items()[0].is_string()) return false;
  }
  return true;
}

// The reads a range is judged as, one per key it covers: each returned pair
// reads its value, and every other key of `keys` between the range's lower
// bound (its `key`, else the least key returned) and the greatest key
// returned reads nil. A range that returned nothing says nothing. A key
// returned twice (which Handles refuses) is read once.
template <typename Fn>
void ForEachRangeRead(const Operation& o, const std::set<std::string>& keys, Fn&& read) {
  const auto& pairs = o.output.items();
  if (pairs.empty()) return;
  std::set<std::string> returned;
  for (const Value& pair : pairs) {
    const std::string& key = pair.items()[0].as_string();
    if (returned.insert(key).second) read(key, pair.items()[1]);
  }
  std::string lo = *returned.begin();
  if (o.key && *o.key < lo) lo = *o.key;
  const std::string& hi = *returned.rbegin();
  for (auto it = keys.lower_bound(lo); it != keys.end() && *it <= hi; ++it) {
    if (!returned.count(*it)) read(*it, Value());
  }
}

// Per key, the values its definite reads returned; keys with a cas or an
// append are marked as observing every value.
struct ObservedValues {
  std::map<std::string, absl::flat_hash_set<Value, ValueHash>> returned;
  std::set<std::string> all;
  bool Returned(const std::string& key, const Value& v) const {
    if (all.count(key)) return true;
    auto it = returned.find(key);
    return it != returned.end() && it->second.count(v);
  }
};

ObservedValues Observed(const std::vector<Operation>& ops, const std::vector<size_t>& kept,
                        const std::set<std::string>& keys) {
  ObservedValues seen;
  std::string f, key;
  for (size_t i : kept) {
    const Operation& o = ops[i];
    if (o.f == "range") {
      ForEachRangeRead(o, keys, [&](const std::string& k, const Value& v) { seen.returned[k].insert(v); });
    } else if (IsReadFunction(o.f)) {
      seen.returned[o.key.value_or("")].insert(o.output);
    } else if (o.f == "batch") {
      for (const Value& r : BatchRecords(o).items()) {
        if (BatchRecord(r, &f, &key) && f == "append") seen.all.insert(key);
      }
    } else if (o.f == "cas" || o.f == "append") {
      seen.all.insert(o.key.value_or(""));
    }
  }
  return seen;
}

// Whether a record after records[at] writes `key`.
bool LaterRecordOn(const std::vector<Value>& records, size_t at, const std::string& key) {
  std::string f, k;
  for (size_t i = at + 1; i < records.size(); ++i) {
    if (BatchRecord(records[i], &f, &k) && k == key) return true;
  }
  return false;
}

// Register and cas-register; also the per-key state of the kv models.
// Observed-read rule: a read's output must equal the state; nil = absent.
class RegisterModel : public Model {
 public:
  RegisterModel(std::string name, bool cas, bool per_key, Value initial, bool ranges)
      : name_(std::move(name)), cas_(cas), per_key_(per_key), ranges_(ranges), initial_(std::move(initial)) {}

  std::string_view Name() const override { return name_; }

  // Per key. A batch is N independent records (not atomic: other writers'
  // records may come between them and readers may see some of them), so each
  // record is a write of its key with the batch's interval and outcome; two
  // records of one batch on one key keep their order. A range read at one
  // position is projected onto each key it covers: the keys it returned read
  // their values, and every other key of the history between its lower bound
  // (the invocation's `key`, else the least key returned) and the greatest
  // key returned reads nil. Judging a range per key is a necessary condition
  // only: a range that saw a state no single moment had (k1 new, k2 old where
  // k2 was written before k1) passes here.
  //
  // A batch record followed by another record of the same batch on its key is
  // left out when no read of that key ever returns the value it writes (and
  // the key has no cas or append, which could tell its state apart without
  // returning it): the part is linearizable with it iff it is without it. In
  // any linearization holding it, the ops between it and the key's next write
  // would read a value nobody reads, so there are none, and a blind write
  // overwrites it; in one without it, it goes just before its batch's next
  // record on the key, which has the same interval and outcome. Without this,
  // the search tries every position of each overwritten record among the
  // other writers' operations (a 131-op history on one key: 4.0 M
  // configurations, against 123 K).
  std::vector<ModelPart> Partition(const std::vector<Operation>& ops,
                                   const std::vector<size_t>& kept) const override {
    if (!per_key_) return Model::Partition(ops, kept);
    std::map<std::string, size_t> by_key;
    std::vector<ModelPart> parts;
    auto part = [&](const std::string& key) -> ModelPart& {
      auto [it, added] = by_key.emplace(key, parts.size());
      if (added) {
        parts.emplace_back();
        parts.back().name = key;
      }
      return parts[it->second];
    };
    auto project = [&](const Operation& from, const std::string& key, std::string f, Value input,
                       Value output) -> size_t {
      ModelPart& p = part(key);
      Operation o;
      o.index = from.index;
      o.process = from.process;
      o.f = std::move(f);
      o.key = key;
      o.input = std::move(input);
      o.output = std::move(output);
      o.outcome = from.outcome;
      o.call = from.call;
      o.ret = from.ret;
      o.line = from.line;
      p.ops.push_back({from.index, static_cast<int32_t>(p.projected.size())});
      p.projected.push_back(std::move(o));
      return p.ops.size() - 1;
    };
    // The keys a range may cover without returning them.
    std::set<std::string> keys;
    bool has_range = false;
    for (size_t i : kept) {
      const Operation& o = ops[i];
      if (o.f == "range") has_range = true;
      if (o.key) keys.insert(std::string(*o.key));
      if (o.f == "batch") {
        std::string f, key;
        for (const Value& r : BatchRecords(o).items()) {
          if (BatchRecord(r, &f, &key)) keys.insert(key);
        }
      }
    }
    if (has_range) {
      for (size_t i : kept) {
        if (ops[i].f != "range") continue;
        for (const Value& pair : ops[i].output.items()) keys.insert(pair.items()[0].as_string());
      }
    }
    // Only batches that write a key twice have records to leave out.
    bool rewrites = false;
    for (size_t i : kept) {
      if (ops[i].f != "batch") continue;
      std::set<std::string> written;
      std::string f, key;
      for (const Value& r : BatchRecords(ops[i]).items()) {
        if (BatchRecord(r, &f, &key) && !written.insert(key).second) rewrites = true;
      }
      if (rewrites) break;
    }
    const ObservedValues observed = rewrites ? Observed(ops, kept, keys) : ObservedValues{};
    for (size_t i : kept) {
      const Operation& o = ops[i];
      if (o.f == "batch") {
        const Value& records = BatchRecords(o);
        // Positions (in their part) of this batch's records, by key.
        std::map<std::string, std::vector<uint32_t>> placed;
        std::string f, key;
        const auto& items = records.items();
        for (size_t r_at = 0; r_at < items.size(); ++r_at) {
          const Value& r = items[r_at];
          if (!BatchRecord(r, &f, &key)) continue;
          const Value* v = r.Find("value");
          Value input = v ? *v : Value();
          if (rewrites && f != "append" && !observed.Returned(key, f == "delete" ? Value() : input) &&
              LaterRecordOn(items, r_at, key)) {
            continue;
          }
          std::vector<uint32_t>& mine = placed[key];
          const uint32_t at = static_cast<uint32_t>(project(o, key, f, std::move(input), Value()));
          for (uint32_t before : mine) part(key).order.push_back({before, at});
          mine.push_back(at);
        }
      } else if (o.f == "range") {
        ForEachRangeRead(o, keys, [&](const std::string& k, const Value& v) { project(o, k, "get", Value(), v); });
      } else {
        ModelPart& p = part(o.key.value_or(""));
        p.ops.push_back({o.index, -1});
      }
    }
    return parts;
  }

  Value Init() const override { return initial_; }

  bool Handles(const Operation& op) const override {
    const FunctionName f = op.f;
    if (f == "read" || f == "get" || IsWrite(f)) return true;
    if (f == "cas") return cas_ || per_key_;
    if (!per_key_) return false;
    if (f == "delete" || f == "append") return true;
    if (f == "batch") {
      const Value& records = BatchRecords(op);
      if (!records.is_list()) return false;
      std::string rf, key;
      for (const Value& r : records.items()) {
        if (!BatchRecord(r, &rf, &key)) return false;
      }
      return true;
    }
    if (f == "range") {
      if (!ranges_ || !RangePairs(op)) return false;
      std::set<std::string_view> seen;
      for (const Value& pair : op.output.items()) {
        if (!seen.insert(pair.items()[0].as_string()).second) return false;  // a key twice
      }
      return true;
    }
    return false;
  }

  std::optional<bool> Check(const Value& state, const Operation& op) const override {
    if (IsReadFunction(op.f)) return op.info() || op.output == state;
    if ((cas_ || per_key_) && op.f == "cas" && op.result && !*op.result) {
      const Value& v = op.input;
      return v.is_list() && v.items().size() == 2 && state != v.items()[0];
    }
    return std::nullopt;
  }

  bool Step(const Value& state, const Operation& op, Value* next) const override {
    const FunctionName f = op.f;
    if (IsReadFunction(f)) {
      *next = state;
      return op.info() || op.output == state;
    }
    if (IsWrite(f)) {
      *next = op.input;
      return true;
    }
    if (per_key_ && f == "delete") {
      *next = Value();
      return true;
    }
    if (per_key_ && f == "append") {
      const std::string add = op.input.is_string() ? std::string() : op.input.ToString();
      const std::string& suffix = op.input.is_string() ? op.input.as_string() : add;
      std::string s;
      if (state.is_string()) {
        s.reserve(state.as_string().size() + suffix.size());
        s = state.as_string();
      } else if (!state.is_nil()) {
        s = state.ToString();
      }
      s += suffix;
      *next = Value::String(std::move(s));
      return true;
    }
    if ((cas_ || per_key_) && f == "cas") {
      const Value& v = op.input;
      if (!v.is_list() || v.items().size() != 2) return false;
      bool matches = state == v.items()[0];
      if (op.result && !*op.result) {  // observed: the compare failed
        *next = state;
        return !matches;
      }
      if (!matches) return false;
      *next = v.items()[1];
      return true;
    }
    return false;  // an operation this model does not know cannot be placed
  }

 private:
  std::string name_;
  bool cas_;
  bool per_key_;
  bool ranges_;
  Value initial_;
};

}  // namespace

std::unique_ptr<Model> MakeModel(std::string_view name) {
  if (name == "register") return std::make_unique<RegisterModel>("register", false, false, Value(), false);
  if (name == "cas-register") return std::make_unique<RegisterModel>("cas-register", true, false, Value(), false);
  if (name == "kv") return std::make_unique<RegisterModel>("kv", true, true, Value(), true);
  if (name == "kv-append-per-key") {
    // A missing key reads as "" here, and a range cannot say which keys it
    // skipped as missing and which as "": no ranges.
    return std::make_unique<RegisterModel>("kv-append-per-key", true, true, Value::String(""), false);
  }
  return nullptr;
}

std::vector<std::string> ModelNames() { return {"register", "cas-register", "kv", "kv-append-per-key"}; }

std::string ChooseModel(const std::vector<Operation>& ops) {
  bool keys = false, cas = false, append = false, multi = false;
  bool read_nil = false, read_empty = false, wrote_empty = false;
  for (const Operation& o : ops) {
    keys = keys || o.key.has_value();
    cas = cas || o.f == "cas";
    append = append || o.f == "append";
    multi = multi || o.f == "batch" || o.f == "range";
    if (IsWrite(o.f) && o.input.is_string() && o.input.as_string().empty()) wrote_empty = true;
    if (o.ok() && (o.f == "get" || o.f == "read")) {
      read_nil = read_nil || o.output.is_nil();
      read_empty = read_empty || (o.output.is_string() && o.output.as_string().empty());
    }
  }
  if (append) return "kv-append-per-key";
  if (keys || multi) {
    // Reads of "" that nothing wrote, and never a nil: missing keys read as "".
    if (read_empty && !read_nil && !wrote_empty && !multi) return "kv-append-per-key";
    return "kv";
  }
  return cas ? "cas-register" : "register";
}

}  // namespace kvlog::checker
