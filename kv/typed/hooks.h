// Typed hooks: wrap a hook that takes a decoded value into the raw
// ClientOptions::on_set / on_delete a kv::Client calls.
//
//   kv::ClientOptions options;
//   options.on_set = kv::typed::WrapOnSet<User>(
//       "users/", kv::typed::JsonSerde<User>{},
//       [](std::string_view key, const User& user, log::Offset offset) { ... },
//       options.logger);
//   options.on_delete = kv::typed::WrapOnDelete("users/", [](std::string_view key, log::Offset) { ... });
//
// A wrapped hook sees only keys that start with its prefix, so a store holding
// several resource types (users/, accounts/) gives each its own typed hook;
// CombineOnSet / CombineOnDelete join them into the one hook a client takes.
// A value that does not decode is never passed on and never silently dropped:
// the wrapper logs it at kError through `logger`, with the key and offset.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kv/options.h"
#include "kv/typed/serde.h"

namespace kvlog::kv::typed {

template <typename T>
using TypedOnSet = std::function<void(std::string_view key, const T& value, log::Offset offset)>;

// An OnSet that decodes values under `prefix` with `serde` and calls `hook`.
// `logger` may be empty, in which case decode failures go to StderrLogger().
template <typename T, SerdeFor<T> S>
OnSet WrapOnSet(std::string prefix, S serde, TypedOnSet<T> hook, Logger logger) {
  if (!logger) logger = StderrLogger();
  return [prefix = std::move(prefix), serde = std::move(serde), hook = std::move(hook),
          logger = std::move(logger)](std::string_view key, std::string_view value, log::Offset offset) {
    if (!key.starts_with(prefix)) return;
    auto decoded = serde.Deserialize(value);
    if (!decoded) {
      logger(LogLevel::kError, fmt::format("{} (offset {}); the typed hook was not called",
                                           DecodeError("on_set hook", key, decoded.error()).message(), offset));
      return;
    }
    hook(key, *decoded, offset);
  };
}

// An OnDelete that calls `hook` for keys under `prefix`.
OnDelete WrapOnDelete(std::string prefix, OnDelete hook);

// One hook that calls each of `hooks` in order. Empty hooks are left out.
OnSet CombineOnSet(std::vector<OnSet> hooks);
OnDelete CombineOnDelete(std::vector<OnDelete> hooks);

}  // namespace kvlog::kv::typed
