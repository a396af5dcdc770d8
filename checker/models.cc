#include <map>

#include "checker/model.h"

namespace kvlog::checker {

std::vector<std::vector<size_t>> Model::Partition(const std::vector<Operation>& ops) const {
  std::vector<size_t> all(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) all[i] = i;
  return {std::move(all)};
}

std::string Model::DescribeOp(const Operation& op) const {
  std::string s = "process " + std::to_string(op.process) + " " + op.f;
  if (op.key) s += " key " + *op.key;
  s += " " + op.value().ToString();
  if (op.result && !*op.result) s += " (compare failed)";
  if (op.info()) s += " (outcome unknown)";
  return s;
}

namespace {

bool IsWrite(std::string_view f) { return f == "write" || f == "put"; }

// Register and cas-register; also the per-key state of the kv model.
// Observed-read rule: a read's output must equal the state; nil = absent.
class RegisterModel : public Model {
 public:
  RegisterModel(std::string name, bool cas, bool per_key, Value initial)
      : name_(std::move(name)), cas_(cas), per_key_(per_key), initial_(std::move(initial)) {}

  std::string_view Name() const override { return name_; }

  std::vector<std::vector<size_t>> Partition(const std::vector<Operation>& ops) const override {
    if (!per_key_) return Model::Partition(ops);
    std::map<std::string, std::vector<size_t>> by_key;
    for (size_t i = 0; i < ops.size(); ++i) by_key[ops[i].key.value_or("")].push_back(i);
    std::vector<std::vector<size_t>> parts;
    for (auto& [k, v] : by_key) parts.push_back(std::move(v));
    return parts;
  }

  Value Init() const override { return initial_; }

  bool Handles(const Operation& op) const override {
    const std::string& f = op.f;
    if (f == "read" || f == "get" || IsWrite(f)) return true;
    if (f == "cas") return cas_ || per_key_;
    return per_key_ && (f == "delete" || f == "append");
  }

  bool Step(const Value& state, const Operation& op, Value* next) const override {
    const std::string& f = op.f;
    if (IsReadFunction(f)) {
      if (op.info()) {
        *next = state;
        return true;
      }
      *next = state;
      return op.output == state;
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
      std::string s = state.is_nil() ? "" : state.ToString();
      *next = Value::String(s + op.input.ToString());
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
  Value initial_;
};

}  // namespace

std::unique_ptr<Model> MakeModel(std::string_view name) {
  if (name == "register") return std::make_unique<RegisterModel>("register", false, false, Value());
  if (name == "cas-register") return std::make_unique<RegisterModel>("cas-register", true, false, Value());
  if (name == "kv") return std::make_unique<RegisterModel>("kv", true, true, Value());
  if (name == "kv-append-per-key") {
    return std::make_unique<RegisterModel>("kv-append-per-key", true, true, Value::String(""));
  }
  return nullptr;
}

std::vector<std::string> ModelNames() { return {"register", "cas-register", "kv", "kv-append-per-key"}; }

}  // namespace kvlog::checker
