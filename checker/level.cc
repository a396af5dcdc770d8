#include "checker/level.h"

#include <iterator>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

#include "checker/name_table.h"

namespace kvlog::checker {
namespace {

// Codes 1..kKnown, in LevelName::Kind's order.
constexpr std::string_view kKnownNames[] = {"local", "bounded", "at_least", "linearizable"};
constexpr int kKnown = std::size(kKnownNames);
static_assert(1 + kKnown + LevelName::kMaxOtherNames <= NameTable::kSlots);

NameTable& Names() {
  static NameTable* table = new NameTable(kKnownNames);  // never destroyed
  return *table;
}

int KnownCode(std::string_view name) {
  for (int i = 0; i < kKnown; ++i) {
    if (name == kKnownNames[i]) return i + 1;
  }
  return 0;
}

// The code of `name`, added when new; -1 when LevelName's share is full.
int CodeOf(std::string_view name) {
  if (int code = KnownCode(name)) return code;
  const int code = Names().OtherCode(name);
  return code > kKnown + LevelName::kMaxOtherNames ? -1 : code;
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

const std::string& LevelName::operator*() const { return Names().Name(code_); }

}  // namespace kvlog::checker
