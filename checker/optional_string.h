// OptionalString: a std::optional<std::string> in 16 bytes, for the strings
// every Operation and LogRecord carries (keys, values, replica and operation
// ids). As optionals they were 40 bytes each: 120 of an Operation's 224 and
// 160 of a LogRecord's 256, and a large history's operations and log are the
// checker's largest blocks of memory, faulted in and swept by every check.
//
// Up to kInline (15) bytes are held in place, which is every key, value and
// id kvsim writes; a longer string owns a heap copy (copies copy it, as
// std::string's do). Reads like the optional it replaced (bool, has_value,
// *, ->, value_or, reset, emplace, ==), except that `*` gives a
// std::string_view: code that needs a std::string makes one (value_or makes
// one, as the optional's does).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace kvlog::checker {

class OptionalString {
 public:
  static constexpr size_t kInline = 15;

  OptionalString() noexcept { bytes_[15] = static_cast<char>(kAbsent); }
  OptionalString(std::nullopt_t) noexcept : OptionalString() {}  // NOLINT: reads as an optional
  OptionalString(std::string_view s) { Set(s); }                   // NOLINT
  OptionalString(const std::string& s) { Set(s); }                 // NOLINT
  OptionalString(const char* s) { Set(s); }                        // NOLINT
  OptionalString(const std::optional<std::string>& s) {            // NOLINT
    if (s) {
      Set(*s);
    } else {
      bytes_[15] = static_cast<char>(kAbsent);
    }
  }
  OptionalString(const OptionalString& other) {
    if (other.tag() == kHeap) {
      Set(*other);
    } else {
      std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    }
  }
  OptionalString(OptionalString&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    other.bytes_[15] = static_cast<char>(kAbsent);
  }
  OptionalString& operator=(const OptionalString& other) {
    if (this != &other) {
      OptionalString copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  OptionalString& operator=(OptionalString&& other) noexcept {
    if (this != &other) {
      Free();
      std::memcpy(bytes_, other.bytes_, sizeof bytes_);
      other.bytes_[15] = static_cast<char>(kAbsent);
    }
    return *this;
  }
  ~OptionalString() { Free(); }

  bool has_value() const { return tag() != kAbsent; }
  explicit operator bool() const { return has_value(); }
  // The string; empty when absent (std::optional's would be undefined).
  std::string_view operator*() const {
    const uint8_t t = tag();
    if (t <= kInline) return {bytes_, t};
    if (t == kAbsent) return {};
    const char* p;
    std::memcpy(&p, bytes_, sizeof p);
    return {p, HeapSize()};
  }
  // x->size(), x->empty(), x->data(): as on the string_view `*x`.
  struct Arrow {
    std::string_view view;
    const std::string_view* operator->() const { return &view; }
  };
  Arrow operator->() const { return {**this}; }
  // A copy, as std::optional<std::string>'s.
  std::string value_or(std::string_view absent) const { return std::string(has_value() ? **this : absent); }
  void reset() noexcept {
    Free();
    bytes_[15] = static_cast<char>(kAbsent);
  }
  void emplace(std::string_view s) {
    Free();
    Set(s);
  }
  std::optional<std::string> ToOptional() const {
    return has_value() ? std::optional<std::string>(std::string(**this)) : std::nullopt;
  }

  // As std::optional: equal when both absent or both hold the same bytes;
  // absent is never equal to a string (not even an empty one).
  friend bool operator==(const OptionalString& a, const OptionalString& b) {
    return a.has_value() == b.has_value() && *a == *b;
  }
  friend bool operator==(const OptionalString& a, std::nullopt_t) { return !a.has_value(); }
  friend bool operator==(const OptionalString& a, std::string_view b) { return a.has_value() && *a == b; }
  friend bool operator==(const OptionalString& a, const std::string& b) { return a == std::string_view(b); }
  friend bool operator==(const OptionalString& a, const char* b) { return a == std::string_view(b); }
  friend bool operator==(const OptionalString& a, const std::optional<std::string>& b) {
    return b ? a == std::string_view(*b) : !a.has_value();
  }

 private:
  static_assert(std::endian::native == std::endian::little, "the tag is the heap size word's top byte");
  // bytes_[15], the tag: the length (0 to kInline) of a string held in
  // place in bytes_[0, 15); kHeap: bytes_[0, 8) point to a heap copy of
  // HeapSize() bytes (the low 56 bits of bytes_[8, 16)); kAbsent: none.
  static constexpr uint8_t kHeap = 0xfe;
  static constexpr uint8_t kAbsent = 0xff;
  uint8_t tag() const { return static_cast<uint8_t>(bytes_[15]); }
  size_t HeapSize() const {
    uint64_t word;
    std::memcpy(&word, bytes_ + 8, sizeof word);
    return static_cast<size_t>(word & ((uint64_t{1} << 56) - 1));
  }
  void Set(std::string_view s) {
    if (s.size() <= kInline) {
      std::memcpy(bytes_, s.data(), s.size());
      bytes_[15] = static_cast<char>(s.size());
      return;
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    std::memcpy(bytes_, &p, sizeof p);
    const uint64_t word = static_cast<uint64_t>(s.size()) | uint64_t{kHeap} << 56;
    std::memcpy(bytes_ + 8, &word, sizeof word);
  }
  void Free() noexcept {
    if (tag() != kHeap) return;
    char* p;
    std::memcpy(&p, bytes_, sizeof p);
    delete[] p;
  }

  alignas(8) char bytes_[16];
};

}  // namespace kvlog::checker
