// Value: what an operation reads or writes. Jepsen histories carry integers,
// strings, nil, vectors (a cas is [expected new]) and maps (a batch is a list of
// {f, key, value} maps); Value holds exactly those shapes.
#ifndef KVLOG_CHECKER_VALUE_H_
#define KVLOG_CHECKER_VALUE_H_

#include <cstdint>
#include <new>
#include <string>
#include <vector>

namespace kvlog::checker {

class Value {
 public:
  enum class Kind { kNil, kBool, kInt, kString, kList, kMap };

  Value() : int_(0) {}  // nil
  Value(const Value& other) : int_(0) { CopyFrom(other); }
  Value(Value&& other) noexcept : int_(0) { MoveFrom(std::move(other)); }
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept;
  ~Value() { Destroy(); }
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
  const std::string& as_string() const;
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
  // One payload at a time: a Value is copied into every Event and Operation
  // and most values are scalars, so it is 40 bytes (kind + a std::string's
  // room) instead of 96 (an int, a string and two vectors side by side).
  struct Compound;
  void Destroy() noexcept;             // frees the payload; leaves nil
  void CopyFrom(const Value& other);      // *this is nil
  void MoveFrom(Value&& other) noexcept;  // *this is nil
  bool compound() const { return kind_ == Kind::kList || kind_ == Kind::kMap; }

  Kind kind_ = Kind::kNil;
  union {
    int64_t int_;         // nil (0), bool (0 or 1), int
    std::string str_;     // string
    Compound* compound_;  // list or map, owned; null when empty
  };
};

struct Value::Compound {
  std::vector<std::string> keys;
  std::vector<Value> items;
};

inline void Value::Destroy() noexcept {
  if (kind_ == Kind::kString) {
    str_.~basic_string();
  } else if (compound()) {
    delete compound_;
  }
  kind_ = Kind::kNil;
  int_ = 0;
}

inline void Value::CopyFrom(const Value& other) {
  if (other.kind_ == Kind::kString) {
    new (&str_) std::string(other.str_);
  } else if (other.compound()) {
    compound_ = other.compound_ ? new Compound(*other.compound_) : nullptr;
  } else {
    int_ = other.int_;
  }
  kind_ = other.kind_;
}

inline Value& Value::operator=(const Value& other) {
  if (this == &other) return *this;
  if (compound()) {
    Value copy(other);  // `other` may live inside *this
    Destroy();
    MoveFrom(std::move(copy));
  } else if (kind_ == Kind::kString && other.kind_ == Kind::kString) {
    str_ = other.str_;
  } else {
    Destroy();
    CopyFrom(other);
  }
  return *this;
}

inline void Value::MoveFrom(Value&& other) noexcept {
  // Like the member-wise move it replaces: `other` keeps its kind, emptied.
  if (other.kind_ == Kind::kString) {
    new (&str_) std::string(std::move(other.str_));
  } else if (other.compound()) {
    compound_ = other.compound_;
    other.compound_ = nullptr;
  } else {
    int_ = other.int_;
  }
  kind_ = other.kind_;
}

inline Value& Value::operator=(Value&& other) noexcept {
  if (this != &other) {
    Value moved(std::move(other));  // `other` may live inside *this
    Destroy();
    MoveFrom(std::move(moved));
  }
  return *this;
}

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_VALUE_H_
