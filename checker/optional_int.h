// OptionalInt: a std::optional<int64_t> in 8 bytes, for the five times and
// positions of every Operation (call_time, ret_time, offset, applied, bound):
// as optionals they were 80 of its bytes, and a large history's operations
// are the checker's largest block of memory, faulted in and swept by every
// check.
//
// Absent is INT64_MIN (kAbsent). No history may use that value for a time,
// an offset, a position or a bound: the pairer refuses it, naming the line
// (OperationPairer::Add). Reads like the optional it replaced (bool, *,
// value_or, reset, ==, and a conversion to std::optional<int64_t>).
#pragma once

#include <cassert>
#include <compare>
#include <cstdint>
#include <limits>
#include <optional>

namespace kvlog::checker {

class OptionalInt {
 public:
  static constexpr int64_t kAbsent = std::numeric_limits<int64_t>::min();

  constexpr OptionalInt() = default;
  constexpr OptionalInt(std::nullopt_t) {}                       // NOLINT: reads as an optional
  constexpr OptionalInt(int64_t value) : value_(value) { assert(value != kAbsent); }  // NOLINT
  constexpr OptionalInt(const std::optional<int64_t>& value)     // NOLINT
      : value_(value ? *value : kAbsent) {
    assert(!value || *value != kAbsent);
  }

  constexpr bool has_value() const { return value_ != kAbsent; }
  constexpr explicit operator bool() const { return has_value(); }
  constexpr int64_t operator*() const { return value_; }
  constexpr int64_t value_or(int64_t absent) const { return has_value() ? value_ : absent; }
  constexpr void reset() { value_ = kAbsent; }
  constexpr operator std::optional<int64_t>() const {  // NOLINT
    return has_value() ? std::optional<int64_t>(value_) : std::nullopt;
  }

  // As std::optional: equal when both absent or both hold the same value;
  // absent orders before any value.
  constexpr bool operator==(const OptionalInt& other) const = default;
  constexpr auto operator<=>(const OptionalInt& other) const { return value_ <=> other.value_; }
  constexpr bool operator==(std::nullopt_t) const { return !has_value(); }
  constexpr bool operator==(const std::optional<int64_t>& other) const { return *this == OptionalInt(other); }

 private:
  int64_t value_ = kAbsent;
};

}  // namespace kvlog::checker
