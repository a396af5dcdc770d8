// Model: the sequential specification a linearizability check compares a
// history against (Porcupine's shape: init, step, equal, partition, describe).
// A model is stateless; states are Values it creates and interprets.
#ifndef KVLOG_CHECKER_MODEL_H_
#define KVLOG_CHECKER_MODEL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checker/history.h"
#include "checker/value.h"

namespace kvlog::checker {

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string_view Name() const = 0;

  // Splits the operations (by index) into sub-histories that can be checked
  // independently (P-compositionality): the history is linearizable iff each
  // part is. The default is one part holding everything.
  virtual std::vector<std::vector<size_t>> Partition(const std::vector<Operation>& ops) const;

  // The state before any operation.
  virtual Value Init() const = 0;

  // Applies `op` to `state`. Returns false if `op` cannot happen in `state`
  // (its observed output contradicts it); otherwise sets *next. For an `info`
  // operation (outcome unknown) the output is unknown: Step reports what the
  // operation would do if it took effect.
  virtual bool Step(const Value& state, const Operation& op, Value* next) const = 0;

  virtual bool Equal(const Value& a, const Value& b) const { return a == b; }

  // Whether this model can judge `op` at all (a register cannot judge a
  // batch). A history with an operation no model step covers gets the verdict
  // unknown, not a false "not linearizable".
  virtual bool Handles(const Operation& op) const { return true; }

  virtual std::string Describe(const Value& state) const { return state.ToString(); }
  virtual std::string DescribeOp(const Operation& op) const;
};

// The models kvcheck knows:
//   "register"      read/write of one value, initially nil
//   "cas-register"  register plus cas [expected new]
//   "kv"            per key (P-compositional): put, get, delete, append, cas,
//                   plus read/write as synonyms; a missing key reads as nil
//   "kv-append-per-key"  kv where a missing key reads as "" (Porcupine's kv)
// Returns nullptr for an unknown name.
std::unique_ptr<Model> MakeModel(std::string_view name);
std::vector<std::string> ModelNames();

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_MODEL_H_
