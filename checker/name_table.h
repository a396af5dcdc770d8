// NameTable: the process-wide table behind the one-byte name types
// (LevelName, FunctionName). Codes 1..known are a type's known names; an
// unknown name a history uses gets the next free code, so text round-trips
// and errors can name it.
//
// Invariants: a slot is written once, under the mutex, before the size that
// publishes it is stored (release); readers load the size (acquire) and
// index slots below it without locking. Slot 0 is "". Never destroyed: codes
// outlive static destructors.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace kvlog::checker {

class NameTable {
 public:
  static constexpr int kSlots = 256;

  // `known` become codes 1, 2, ... in order.
  explicit NameTable(std::span<const std::string_view> known);

  // The code of `name` among the unknown names, added when new; -1 when
  // the table is full. The caller has ruled out the known names (and "").
  int OtherCode(std::string_view name);
  const std::string& Name(uint8_t code) const { return names_[code]; }

 private:
  std::array<std::string, kSlots> names_;
  int known_;
  std::atomic<int> size_;
  std::mutex mu_;
};

}  // namespace kvlog::checker
