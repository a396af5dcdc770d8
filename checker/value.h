// Value: what an operation reads or writes. Jepsen histories carry integers,
// strings, nil, vectors (a cas is [expected new]) and maps (a batch is a list of
// {f, key, value} maps); Value holds exactly those shapes.
#ifndef KVLOG_CHECKER_VALUE_H_
#define KVLOG_CHECKER_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kvlog::checker {

class Value {
 public:
  enum class Kind { kNil, kBool, kInt, kString, kList, kMap };

  Value() = default;  // nil
  Value(const Value& other);
  Value(Value&& other) noexcept = default;
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept = default;
  ~Value() = default;
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value String(std::string s);
  static Value List(std::vector<Value> items);
  // A map with string keys, in the given order (keys are unique).
  static Value Map(std::vector<std::string> keys, std::vector<Value> values);

  Kind kind() const { return kind_; }
  bool is_nil() const { return kind_ == Kind::kNil; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_map() const { return kind_ == Kind::kMap; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }
  const std::string& as_string() const { return str_; }
  const std::vector<Value>& items() const;      // list or map values
  const std::vector<std::string>& keys() const;  // map keys
  // The value stored under `key` in a map, or nullptr.
  const Value* Find(const std::string& key) const;

  // Canonical text: integers and strings as themselves (strings unquoted),
  // nil as "nil"; lists and maps in EDN-like notation. Used to name a value
  // (values are unique per workload) and in reports.
  std::string ToString() const;

  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  // Lists and maps keep their parts behind one pointer: most values are
  // scalars, and a Value is copied into every Event and Operation, so this
  // keeps it at 56 bytes instead of 96 (two empty vectors inline).
  struct Compound;

  Kind kind_ = Kind::kNil;
  int64_t int_ = 0;
  std::string str_;
  std::unique_ptr<Compound> compound_;  // list or map; may be null when empty
};

struct Value::Compound {
  std::vector<std::string> keys;
  std::vector<Value> items;
};

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_VALUE_H_
