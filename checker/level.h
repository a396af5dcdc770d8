// LevelName: the read level an event or operation names (Event::level), in one
// byte. Histories carry it as text ("level": "bounded" in JSONL); the known
// names are local, bounded, at_least and linearizable (kv::ReadLevel). A
// history may name another (the read-levels check refuses it, naming it), so
// an unknown name is kept too: the byte indexes a process-wide table of the
// names seen, the four known ones first.
//
// It reads like the std::optional<std::string> it replaced (bool, *, ==,
// value_or, reset): on an 800 K-operation history that optional cost 32 bytes
// of every Event and Operation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvlog::checker {

class LevelName {
 public:
  enum class Kind : uint8_t { kNone, kLocal, kBounded, kAtLeast, kLinearizable, kOther };
  // How many distinct unknown names one process may hold.
  static constexpr int kMaxOtherNames = 250;

  LevelName() = default;
  LevelName(std::nullopt_t) {}  // NOLINT: reads as an optional
  // Names any level, known or not. More than kMaxOtherNames distinct
  // unknown names in one process: use TryMake, which says so.
  LevelName(std::string_view name);  // NOLINT: `event.level = "local"`
  LevelName(const char* name) : LevelName(std::string_view(name)) {}  // NOLINT
  LevelName(const std::string& name) : LevelName(std::string_view(name)) {}  // NOLINT
  // nullopt when `name` is a new unknown name and the table is full.
  static std::optional<LevelName> TryMake(std::string_view name);

  Kind kind() const;
  bool has_value() const { return code_ != 0; }
  explicit operator bool() const { return has_value(); }
  // The name; "" when absent.
  const std::string& operator*() const;
  const std::string* operator->() const { return &**this; }
  std::string value_or(std::string_view absent) const {
    return has_value() ? **this : std::string(absent);
  }
  void reset() { code_ = 0; }

  bool operator==(const LevelName& other) const { return code_ == other.code_; }
  // False when absent, as for an optional.
  bool operator==(std::string_view name) const { return has_value() && **this == name; }
  bool operator==(const char* name) const { return *this == std::string_view(name); }
  bool operator==(const std::string& name) const { return *this == std::string_view(name); }

 private:
  uint8_t code_ = 0;  // 0 absent; 1..4 the known names; then unknown ones
};

}  // namespace kvlog::checker
