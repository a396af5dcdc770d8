#include "checker/function_name.h"

#include <span>
#include <ostream>
#include <stdexcept>

#include "checker/name_table.h"

namespace kvlog::checker {
namespace {

static_assert(FunctionName::kFirstOther + FunctionName::kMaxOtherNames <= NameTable::kSlots);

NameTable& Names() {
  // The known names after "" (code 0, the table's own slot 0). Never destroyed.
  static NameTable* table = new NameTable(std::span(FunctionName::kKnownNames).subspan(1));
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
