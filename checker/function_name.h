// FunctionName: an operation's f in one byte. The checkers know eleven
// functions (put, get, delete, batch, range, cas, read, write, append, incr,
// transfer: KnownFunction); the pairer refuses any other, so an Operation
// built from a history holds one of those. Code that builds operations by hand
// may name another: it is kept in a process-wide table (name_table.h), as
// LevelName keeps unknown levels.
//
// It reads like the std::string it replaced (==, !=, a string_view, fmt):
// comparing with a literal is one byte compare (the literal's code is folded at
// compile time), where the string was a memcmp behind a cache miss in every
// pass over the operations; and an Operation is 31 bytes smaller.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

namespace kvlog::checker {
namespace function_name_internal {

// Up to 8 bytes of `s`, little-endian, zero-padded (KnownCode checks the
// length too). At run time `s` is 3 to 8 bytes (KnownCode's range): two
// loads that may overlap, no loop.
[[gnu::always_inline]] constexpr uint64_t Pack(std::string_view s) {
  if (std::is_constant_evaluated() || s.size() < 3 || s.size() > 8) {
    uint64_t word = 0;
    for (size_t i = 0; i < s.size() && i < 8; ++i) word |= uint64_t{static_cast<uint8_t>(s[i])} << (8 * i);
    return word;
  }
  const size_t n = s.size();
  if (n == 3) {
    uint16_t lo;
    std::memcpy(&lo, s.data(), 2);
    return lo | uint64_t{static_cast<uint8_t>(s[2])} << 16;
  }
  uint32_t lo, hi;  // bytes [0, 4) and [n - 4, n): they overlap when n < 8, alike
  std::memcpy(&lo, s.data(), 4);
  std::memcpy(&hi, s.data() + n - 4, 4);
  return lo | uint64_t{hi} << (8 * (n - 4));
}

// The known names, indexed by FunctionName's codes ("" is kEmpty): the one
// list the codes, KnownCode and the process-wide table all follow.
inline constexpr std::string_view kKnownNames[] = {"",     "put",   "get",   "delete", "batch", "range",
                                                   "cas",  "read",  "write", "append", "incr",  "transfer"};
inline constexpr auto kKnownWords = [] {
  std::array<uint64_t, std::size(kKnownNames)> words{};
  for (size_t i = 0; i < words.size(); ++i) words[i] = Pack(kKnownNames[i]);
  return words;
}();

}  // namespace function_name_internal

class FunctionName {
 public:
  enum Code : uint8_t {
    kEmpty = 0,  // "" (a default-constructed operation)
    kPut,
    kGet,
    kDelete,
    kBatch,
    kRange,
    kCas,
    kRead,
    kWrite,
    kAppend,
    kIncr,
    kTransfer,
    kFirstOther,  // unknown names from here on
  };
  // How many distinct unknown names one process may hold.
  static constexpr int kMaxOtherNames = 200;

  static constexpr const auto& kKnownNames = function_name_internal::kKnownNames;
  static_assert(std::size(function_name_internal::kKnownNames) == kFirstOther);

  // The code of a known name; kEmpty for "" and for any unknown name. The
  // pairer asks for every event: the name is packed into a word (the known
  // names are 3 to 8 bytes) and switched on, no string compares; with a
  // literal it folds to a constant.
  [[gnu::always_inline]] static constexpr Code KnownCode(std::string_view f) {
    if (f.size() < 3 || f.size() > 8) return kEmpty;
    const Code code = CodeOfWord(function_name_internal::Pack(f));
    // The length too: "put" and "put\0" pack alike.
    return f.size() == kKnownNames[code].size() ? code : kEmpty;
  }

  // The known code whose name packs to `word`; kEmpty for none.
  [[gnu::always_inline]] static constexpr Code CodeOfWord(uint64_t word) {
    using function_name_internal::kKnownWords;
    // clang-format off: one line per code
    switch (word) {
      case kKnownWords[kPut]: return kPut;
      case kKnownWords[kGet]: return kGet;
      case kKnownWords[kDelete]: return kDelete;
      case kKnownWords[kBatch]: return kBatch;
      case kKnownWords[kRange]: return kRange;
      case kKnownWords[kCas]: return kCas;
      case kKnownWords[kRead]: return kRead;
      case kKnownWords[kWrite]: return kWrite;
      case kKnownWords[kAppend]: return kAppend;
      case kKnownWords[kIncr]: return kIncr;
      case kKnownWords[kTransfer]: return kTransfer;
      default: return kEmpty;
    }
    // clang-format on
  }

  FunctionName() = default;
  // Names any function, known or not. More than kMaxOtherNames distinct
  // unknown names in one process throw std::length_error.
  FunctionName(std::string_view name);  // NOLINT: `op.f = "put"`
  FunctionName(const char* name) : FunctionName(std::string_view(name)) {}  // NOLINT
  FunctionName(const std::string& name) : FunctionName(std::string_view(name)) {}  // NOLINT
  FunctionName(Code code) : code_(code) {}  // NOLINT: a known code

  Code code() const { return static_cast<Code>(code_); }
  // One of the eleven functions the checkers know.
  bool known() const { return code_ != kEmpty && code_ < kFirstOther; }
  // Only observes state: read, get, range.
  bool is_read() const { return code_ == kGet || code_ == kRead || code_ == kRange; }

  const std::string& str() const;
  operator std::string_view() const { return str(); }  // NOLINT: reads as the string it was
  bool empty() const { return code_ == kEmpty; }
  size_t size() const { return str().size(); }

  bool operator==(const FunctionName& other) const { return code_ == other.code_; }
  [[gnu::always_inline]] bool operator==(std::string_view name) const {
    const Code known = KnownCode(name);
    if (known != kEmpty) return code_ == known;
    if (name.empty()) return code_ == kEmpty;
    return code_ >= kFirstOther && str() == name;
  }
  [[gnu::always_inline]] bool operator==(const char* name) const { return *this == std::string_view(name); }
  [[gnu::always_inline]] bool operator==(const std::string& name) const { return *this == std::string_view(name); }

 private:
  uint8_t code_ = kEmpty;
};

std::ostream& operator<<(std::ostream& out, const FunctionName& f);

}  // namespace kvlog::checker

template <>
struct fmt::formatter<kvlog::checker::FunctionName> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(const kvlog::checker::FunctionName& f, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(f.str()), ctx);
  }
};
