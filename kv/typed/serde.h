// Serde: how a typed layer turns a value of type T into the bytes a kv::Client
// stores, and back.
//
//   struct UserSerde {
//     using value_type = User;
//     Result<std::string> Serialize(const User& user) const;
//     Result<User> Deserialize(std::string_view bytes) const;
//   };
//
// A serde never throws: a value it cannot encode, or bytes it cannot decode,
// come back as an Error whose message says what was wrong. kvlog's own serdes
// are JsonSerde<T> (kv/typed/json_serde.h) and ProtobufSerde<M>
// (kv/typed/protobuf/protobuf_serde.h). A serde must be safe to call from
// several threads at once through a const reference: hooks decode on the
// client's applier while callers encode on their own threads.
#pragma once

#include <concepts>
#include <string>
#include <string_view>

#include "log/status.h"

namespace kvlog::kv::typed {

// S encodes and decodes values of type T.
template <typename S, typename T>
concept SerdeFor = requires(const S& serde, const T& value, std::string_view bytes) {
  { serde.Serialize(value) } -> std::same_as<Result<std::string>>;
  { serde.Deserialize(bytes) } -> std::same_as<Result<T>>;
};

// S names the type it handles as S::value_type and encodes and decodes it.
template <typename S>
concept Serde = requires { typename S::value_type; } && SerdeFor<S, typename S::value_type>;

// `key` quoted for an error or log message: printable ASCII as is, every other
// byte as \xNN, cut after kMaxQuotedKeyBytes bytes with "..." appended.
inline constexpr std::size_t kMaxQuotedKeyBytes = 256;
std::string QuoteKey(std::string_view key);

// The error a typed read or hook reports when the value stored at `key` does
// not decode: kCorrupt, "<what>: value at key \"k\" does not decode: <cause>".
Error DecodeError(std::string_view what, std::string_view key, const Error& cause);

}  // namespace kvlog::kv::typed
