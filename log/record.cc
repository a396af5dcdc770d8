#include "log/record.h"

namespace kvlog::log {

const std::string* Record::FindHeader(std::string_view header_key) const {
  for (const Header& h : headers) {
    if (h.key == header_key) return &h.value;
  }
  return nullptr;
}

}  // namespace kvlog::log
