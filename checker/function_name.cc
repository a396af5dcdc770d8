#include "checker/function_name.h"

#include <iterator>
#include <ostream>
#include <stdexcept>

#include "checker/name_table.h"

namespace kvlog::checker {
namespace {

static_assert(FunctionName::kFirstOther + FunctionName::kMaxOtherNames <= NameTable::kSlots);

NameTable& Names() {
  static NameTable* table = [] {
    const auto& k = FunctionName::kKnownNames;
    return new NameTable({k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10], k[11]});  // never destroyed
  }();
  static_assert(std::size(FunctionName::kKnownNames) == 12);
  return *table;
}

}  // namespace

FunctionName::FunctionName(std::string_view name) {
  if (name.empty()) return;
  if (const Code known = KnownCode(name); known != kEmpty) {
    code_ = known;
    return;
  }
  const int code = Names().OtherCode(name);
  if (code < 0 || code >= kFirstOther + kMaxOtherNames) {
    throw std::length_error(fmt::format("more than {} distinct unknown operation functions", kMaxOtherNames));
  }
  code_ = static_cast<uint8_t>(code);
}

const std::string& FunctionName::str() const { return Names().Name(code_); }

std::ostream& operator<<(std::ostream& out, const FunctionName& f) { return out << f.str(); }

}  // namespace kvlog::checker
