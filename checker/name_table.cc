#include "checker/name_table.h"

namespace kvlog::checker {

NameTable::NameTable(std::span<const std::string_view> known)
    : known_(static_cast<int>(known.size())), size_(1 + static_cast<int>(known.size())) {
  int code = 1;
  for (std::string_view name : known) names_[code++] = std::string(name);
}

int NameTable::OtherCode(std::string_view name) {
  const int n = size_.load(std::memory_order_acquire);
  for (int i = 1 + known_; i < n; ++i) {
    if (names_[i] == name) return i;
  }
  std::lock_guard lock(mu_);
  const int now = size_.load(std::memory_order_relaxed);
  for (int i = n; i < now; ++i) {
    if (names_[i] == name) return i;
  }
  if (now == kSlots) return -1;
  names_[now] = std::string(name);
  size_.store(now + 1, std::memory_order_release);
  return now;
}

}  // namespace kvlog::checker
