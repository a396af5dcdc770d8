// Value: what an operation reads or writes. Jepsen histories carry integers,
// strings, nil, vectors (a cas is [expected new]) and maps (a batch is a list of
// {f, key, value} maps); Value holds exactly those shapes.
#ifndef KVLOG_CHECKER_VALUE_H_
#define KVLOG_CHECKER_VALUE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace kvlog::checker {

class Value {
 public:
  enum class Kind { kNil, kBool, kInt, kString, kList, kMap };

  Value() : int_(0) {}  // nil
  Value(const Value& other);
  Value(Value&& other) noexcept;
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept;
  ~Value();
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

  // Other kinds read as false, 0 and "".
  bool as_bool() const { return as_int() != 0; }
  int64_t as_int() const { return kind_ == Kind::kBool || kind_ == Kind::kInt ? int_ : 0; }
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
  // A Value is copied into every Event and Operation and most values are
  // scalars: lists and maps keep their parts behind one pointer, which
  // shares its room with the int (no value is both). 48 bytes instead of 96
  // (an int, a string and two vectors side by side). The string stays a
  // plain member (empty unless kind is string): placing it in the union too
  // would save 8 more bytes but trips GCC's -Wmaybe-uninitialized at -O1.
  struct Compound;
  bool compound() const { return kind_ == Kind::kList || kind_ == Kind::kMap; }

  Kind kind_ = Kind::kNil;
  union {
    int64_t int_;         // nil (0), bool (0 or 1), int
    Compound* compound_;  // list or map, owned; null when empty
  };
  std::string str_;  // string
};

struct Value::Compound {
  std::vector<std::string> keys;
  std::vector<Value> items;
};

inline Value::~Value() {
  if (compound()) delete compound_;
}

inline Value::Value(const Value& other) : kind_(other.kind_), int_(0), str_(other.str_) {
  if (other.compound()) {
    compound_ = other.compound_ ? new Compound(*other.compound_) : nullptr;
  } else {
    int_ = other.int_;
  }
}

// Like the member-wise move it replaces: `other` keeps its kind, emptied.
inline Value::Value(Value&& other) noexcept : kind_(other.kind_), int_(0), str_(std::move(other.str_)) {
  if (other.compound()) {
    compound_ = other.compound_;
    other.compound_ = nullptr;
  } else {
    int_ = other.int_;
  }
}

inline Value& Value::operator=(Value&& other) noexcept {
  if (this == &other) return *this;
  Compound* old = compound() ? compound_ : nullptr;  // may hold `other`: freed last
  str_ = std::move(other.str_);
  if (other.compound()) {
    compound_ = other.compound_;
    other.compound_ = nullptr;
  } else {
    int_ = other.int_;
  }
  kind_ = other.kind_;
  delete old;
  return *this;
}

inline Value& Value::operator=(const Value& other) {
  if (this == &other) return *this;
  if (compound() || other.compound()) return *this = Value(other);  // copy first: `other` may live inside *this
  str_ = other.str_;
  int_ = other.int_;
  kind_ = other.kind_;
  return *this;
}

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_VALUE_H_
