// Value: what an operation reads or writes. Jepsen histories carry integers,
// strings, nil, vectors (a cas is [expected new]) and maps (a batch is a list of
// {f, key, value} maps); Value holds exactly those shapes.
#ifndef KVLOG_CHECKER_VALUE_H_
#define KVLOG_CHECKER_VALUE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace kvlog::checker {

class Value {
 public:
  enum class Kind : uint8_t { kNil, kBool, kInt, kString, kList, kMap };

  Value() : int_(0) {}  // nil
  Value(const Value& other) noexcept : kind_(other.kind_), int_(other.int_) {
    if (shared() && payload_) payload_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  // `other` keeps its kind, emptied (an empty string, list or map).
  Value(Value&& other) noexcept : kind_(other.kind_), int_(other.int_) {
    if (other.shared()) other.payload_ = nullptr;
  }
  Value& operator=(const Value& other) noexcept {
    Value copy(other);
    Swap(copy);
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    Value moved(std::move(other));
    Swap(moved);
    return *this;
  }
  ~Value() { Release(); }

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

  // Whether two values share one stored string, list or map (so are equal
  // without comparing their contents). Readers intern repeated values.
  bool SameStorage(const Value& other) const { return shared() && kind_ == other.kind_ && payload_ == other.payload_; }

 private:
  // A Value is 16 bytes: its kind and either an integer or a pointer to an
  // immutable, reference-counted string, list or map. Copies share that
  // storage (a copy is a counter increment), so an operation's values, the
  // events they came from and a reader's interned strings cost one copy of
  // the bytes between them: a range read returning 300 pairs costs 16 bytes
  // a pair when the reader interns the pairs (jsonl.cc does). Nothing
  // mutates the storage after construction, so sharing it across threads is
  // safe; the counter is atomic.
  struct Payload {
    mutable std::atomic<uint32_t> refs{1};
  };
  struct StringPayload;
  struct CompoundPayload;
  bool shared() const { return kind_ >= Kind::kString; }
  void Release() noexcept;
  void Swap(Value& other) noexcept {
    std::swap(kind_, other.kind_);
    std::swap(int_, other.int_);
  }

  Kind kind_ = Kind::kNil;
  union {
    int64_t int_;              // nil (0), bool (0 or 1), int
    const Payload* payload_;   // string, list or map; null when moved from
  };
};

}  // namespace kvlog::checker

#endif  // KVLOG_CHECKER_VALUE_H_
