#include "kv/typed/serde.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace kvlog::kv::typed {

std::string QuoteKey(std::string_view key) {
  std::string out = "\"";
  const std::size_t shown = std::min(key.size(), kMaxQuotedKeyBytes);
  for (std::size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    }
  }
  out += '"';
  if (shown < key.size()) out += "...";
  return out;
}

Error DecodeError(std::string_view what, std::string_view key, const Error& cause) {
  std::string message(what);
  message += ": value at key ";
  message += QuoteKey(key);
  message += " does not decode: ";
  message += cause.message();
  return Error(ErrorCode::kCorrupt, std::move(message));
}

}  // namespace kvlog::kv::typed
