// Model: the sequential specification a linearizability check compares a
// history against (Porcupine's shape: init, step, partition, describe).
// A model is stateless; states are Values it creates and interprets.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checker/history.h"
#include "checker/value.h"

namespace kvlog::checker {

// One P-compositional part of a history: the operations that touch it, as it
// sees them. An operation of the history appears as itself, or (a batch or a
// range over several keys) projected onto the part's key.
struct ModelPart {
  std::string name;  // the key, or "" for a whole-history part
  // A history operation as the part sees it: ops[i] if `projection` < 0,
  // else projected[projection] (its `index` is the history operation's).
  struct Op {
    size_t index;
    int32_t projection = -1;
  };
  std::vector<Op> ops;
  std::vector<Operation> projected;
  // Pairs (a, b) of positions in `ops`: if both take effect, a takes effect
  // before b (two records of one batch on the part's key, in batch order).
  std::vector<std::pair<uint32_t, uint32_t>> order;

  const Operation& At(const std::vector<Operation>& history, size_t i) const {
    return ops[i].projection < 0 ? history[ops[i].index] : projected[static_cast<size_t>(ops[i].projection)];
  }
};

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string_view Name() const = 0;

  // Splits the operations named by `kept` (indexes into `ops`) into parts that
  // can be checked independently (P-compositionality): the history is
  // linearizable iff each part is. The default is one part holding them all.
  virtual std::vector<ModelPart> Partition(const std::vector<Operation>& ops, const std::vector<size_t>& kept) const;

  // The state before any operation.
  virtual Value Init() const = 0;

  // Applies `op` to `state`. Returns false if `op` cannot happen in `state`
  // (its observed output contradicts it); otherwise sets *next. For an `info`
  // operation (outcome unknown) the output is unknown: Step reports what the
  // operation would do if it took effect. Step must be a function of (state,
  // op) and states must be canonical: two states are the same iff their
  // Values are == (the search interns states by Value).
  virtual bool Step(const Value& state, const Operation& op, Value* next) const = 0;

  // For an operation that leaves the state as it is (a read, a cas whose
  // compare failed): whether it can happen in `state`, without building the
  // next state. nullopt for operations that may change the state: the search
  // then calls Step. Must agree with Step, and whether the answer is nullopt
  // must depend on `op` only: the search relies on an op that Check answers
  // never changing any state.
  virtual std::optional<bool> Check(const Value& state, const Operation& op) const { return std::nullopt; }

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
//                   read/write as synonyms, batch (each record a write of its
//                   key, not atomic) and range (a read of each key it covers,
//                   judged per key); a missing key reads as nil
//   "kv-append-per-key"  kv where a missing key reads as "" (Porcupine's kv)
// Returns nullptr for an unknown name.
std::unique_ptr<Model> MakeModel(std::string_view name);
std::vector<std::string> ModelNames();

// The model a history calls for when none is named, from the operations it
// holds: `append` -> kv-append-per-key (as are keyed histories whose reads of
// a never-written key return "" rather than nil: Porcupine's convention);
// other keyed operations (or batch/range) -> kv; no keys: cas -> cas-register,
// else register.
std::string ChooseModel(const std::vector<Operation>& ops);

}  // namespace kvlog::checker
