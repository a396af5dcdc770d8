// Value: what an operation reads or writes. Jepsen histories carry integers,
// strings, nil, vectors (a cas is [expected new]) and maps (a batch is a list of
// {f, key, value} maps); Value holds exactly those shapes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace kvlog::checker {

class Value {
 public:
  enum class Kind : uint8_t { kNil, kBool, kInt, kString, kList, kMap };

  Value() = default;  // nil
  Value(const Value& other) noexcept : bits_(other.bits_) {
    if (const Payload* p = payload()) p->refs.fetch_add(1, std::memory_order_relaxed);
  }
  // `other` keeps its kind, emptied (an empty string, list or map; 0).
  Value(Value&& other) noexcept : bits_(other.bits_) {
    if (other.shared()) other.bits_ &= kTagMask;
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

  // Bulk reference counting, for an owner that hands out many copies of one
  // value (jsonl.cc's interner: the [key value] pair that a key's ranges
  // repeat, 21 M copies on kvsim's 800 K-op history, where each copy's locked
  // increment, and the load of the counter's cache line, was half of the
  // interner's own time). AddReferences(n) counts n references at once;
  // UncountedCopy() is a copy whose reference was counted in advance (its
  // release subtracts one, as any copy's does); DropReferences(n) takes back
  // n of those counted in advance that no copy will release. This value's
  // own reference stays counted meanwhile, so the count never reaches zero
  // on the way (checked). No-ops on values without a storage.
  void AddReferences(uint32_t n) const noexcept {
    if (const Payload* p = payload()) p->refs.fetch_add(n, std::memory_order_relaxed);
  }
  void DropReferences(uint32_t n) const noexcept;
  Value UncountedCopy() const noexcept {
    Value copy;
    copy.bits_ = bits_;
    return copy;
  }

  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value String(std::string s);
  static Value List(std::vector<Value> items);
  // A map with string keys, in the given order (keys are unique).
  static Value Map(std::vector<std::string> keys, std::vector<Value> values);

  Kind kind() const { return tag() == kBoxedInt ? Kind::kInt : static_cast<Kind>(tag()); }
  bool is_nil() const { return bits_ == 0; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_string() const { return tag() == kStringTag; }
  bool is_list() const { return tag() == kListTag; }
  bool is_map() const { return tag() == kMapTag; }

  // Other kinds read as false, 0 and "".
  bool as_bool() const { return as_int() != 0; }
  int64_t as_int() const;
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
  bool SameStorage(const Value& other) const { return shared() && bits_ == other.bits_; }
  // A number naming this value's stored string, list or map while the value
  // (or a copy) lives: equal identities are the same storage, hence equal
  // values (different identities may still be equal values). 0 for values
  // held in the word (nil, bools, small integers) and for moved-from ones.
  // Checkers cache what they derived from an interned value under it.
  uintptr_t Identity() const { return payload() ? bits_ : 0; }

 private:
  // A Value is 8 bytes: one word whose low 3 bits say what it holds (see the
  // tags below): nil, a bool or an integer held in the word itself, or a
  // pointer to an immutable, reference-counted string, list or map (or an
  // integer too wide for the word's 61 bits). Copies share that storage (a
  // copy is a counter increment), so an operation's values, the events they
  // came from and a reader's interned strings cost one copy of the bytes
  // between them: a range read returning 300 pairs costs 8 bytes a pair when
  // the reader interns the pairs (jsonl.cc does). A range-heavy 800 K-op
  // history holds tens of millions of such pairs, which is why the word is
  // one, not a kind byte beside it (16 bytes with padding). Nothing mutates
  // the storage after construction, so sharing it across threads is safe; the
  // counter is atomic.
  struct Payload {
    mutable std::atomic<uint32_t> refs{1};
  };
  struct StringPayload;
  struct CompoundPayload;
  struct IntPayload;
  // Tags 0..5 are the Kind values; a boxed integer is kInt too.
  static constexpr uintptr_t kTagMask = 7;
  static constexpr uintptr_t kStringTag = static_cast<uintptr_t>(Kind::kString);
  static constexpr uintptr_t kListTag = static_cast<uintptr_t>(Kind::kList);
  static constexpr uintptr_t kMapTag = static_cast<uintptr_t>(Kind::kMap);
  static constexpr uintptr_t kBoxedInt = 6;
  static_assert(static_cast<uintptr_t>(Kind::kMap) < kBoxedInt);
  uintptr_t tag() const { return bits_ & kTagMask; }
  bool shared() const { return tag() >= kStringTag; }
  // The storage of a string, list, map or boxed integer; null otherwise or
  // when moved from (or an empty list or map).
  const Payload* payload() const {
    return shared() ? reinterpret_cast<const Payload*>(bits_ & ~kTagMask) : nullptr;
  }
  void SetPayload(const Payload* p, uintptr_t tag) { bits_ = reinterpret_cast<uintptr_t>(p) | tag; }
  // Inline for the common case of nothing to release (nil, a number, a
  // moved-from value): a range-heavy history destroys tens of millions.
  void Release() noexcept {
    if (payload()) ReleaseShared();
  }
  void ReleaseShared() noexcept;
  void Swap(Value& other) noexcept { std::swap(bits_, other.bits_); }

  uintptr_t bits_ = 0;  // nil
};

// A hash consistent with Value::operator==, for hash sets and maps of values.
struct ValueHash {
  size_t operator()(const Value& v) const;
};

}  // namespace kvlog::checker
