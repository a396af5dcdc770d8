#include "kv/typed/hooks.h"

#include <algorithm>

namespace kvlog::kv::typed {

OnDelete WrapOnDelete(std::string prefix, OnDelete hook) {
  return [prefix = std::move(prefix), hook = std::move(hook)](std::string_view key, log::Offset offset) {
    if (key.starts_with(prefix) && hook) hook(key, offset);
  };
}

OnSet CombineOnSet(std::vector<OnSet> hooks) {
  std::erase_if(hooks, [](const OnSet& hook) { return !hook; });
  return [hooks = std::move(hooks)](std::string_view key, std::string_view value, log::Offset offset) {
    for (const OnSet& hook : hooks) hook(key, value, offset);
  };
}

OnDelete CombineOnDelete(std::vector<OnDelete> hooks) {
  std::erase_if(hooks, [](const OnDelete& hook) { return !hook; });
  return [hooks = std::move(hooks)](std::string_view key, log::Offset offset) {
    for (const OnDelete& hook : hooks) hook(key, offset);
  };
}

}  // namespace kvlog::kv::typed
