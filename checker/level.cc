#include "checker/level.h"

#include <stdexcept>

#include <fmt/format.h>

#include "checker/name_table.h"

namespace kvlog::checker {
namespace {

constexpr int kKnown = 4;
static_assert(1 + kKnown + LevelName::kMaxOtherNames <= NameTable::kSlots);

NameTable& Names() {
  static NameTable* table = new NameTable({"local", "bounded", "at_least", "linearizable"});  // never destroyed
  return *table;
}

int KnownCode(std::string_view name) {
  if (name == "local") return 1;
  if (name == "bounded") return 2;
  if (name == "at_least") return 3;
  if (name == "linearizable") return 4;
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
