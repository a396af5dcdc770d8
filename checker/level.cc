#include "checker/level.h"

#include <array>
#include <atomic>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

namespace kvlog::checker {
namespace {

constexpr int kKnown = 4;
constexpr int kSlots = 1 + kKnown + LevelName::kMaxOtherNames;
static_assert(kSlots <= 256);

// Slot 0 is "" (absent); 1..4 the known names; then the unknown names in the
// order first seen. A slot is written once, under the mutex, before its code
// is published: readers index it without locking.
struct Table {
  std::array<std::string, kSlots> names{"", "local", "bounded", "at_least", "linearizable"};
  std::atomic<int> size{1 + kKnown};
  std::mutex mu;
};

Table& Names() {
  static Table* table = new Table;  // never destroyed: codes outlive statics
  return *table;
}

int KnownCode(std::string_view name) {
  if (name == "local") return 1;
  if (name == "bounded") return 2;
  if (name == "at_least") return 3;
  if (name == "linearizable") return 4;
  return 0;
}

// The code of `name`, added when new; -1 when the table is full.
int CodeOf(std::string_view name) {
  if (int code = KnownCode(name)) return code;
  Table& t = Names();
  const int n = t.size.load(std::memory_order_acquire);
  for (int i = 1 + kKnown; i < n; ++i) {
    if (t.names[i] == name) return i;
  }
  std::lock_guard lock(t.mu);
  const int now = t.size.load(std::memory_order_relaxed);
  for (int i = n; i < now; ++i) {
    if (t.names[i] == name) return i;
  }
  if (now == kSlots) return -1;
  t.names[now] = std::string(name);
  t.size.store(now + 1, std::memory_order_release);
  return now;
}

}  // namespace

std::optional<LevelName> LevelName::TryMake(std::string_view name) {
  const int code = CodeOf(name);
  if (code < 0) return std::nullopt;
  LevelName level;
  level.code_ = static_cast<uint8_t>(code);
  return level;
}

LevelName::LevelName(std::string_view name) {
  const int code = CodeOf(name);
  if (code < 0) {
    throw std::length_error(fmt::format("more than {} distinct unknown read levels", kMaxOtherNames));
  }
  code_ = static_cast<uint8_t>(code);
}

LevelName::Kind LevelName::kind() const {
  return code_ <= kKnown ? static_cast<Kind>(code_) : Kind::kOther;
}

const std::string& LevelName::operator*() const { return Names().names[code_]; }

}  // namespace kvlog::checker
