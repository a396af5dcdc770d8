// JsonSerde<T>: values as JSON text, for any T that nlohmann-json can convert,
// i.e. with to_json / from_json functions found by argument-dependent lookup
// (or NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE).
//
//   struct User { std::string name; std::string email; };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(User, name, email)
//   kv::typed::JsonSerde<User> serde;   // {"email":"ada@example.com","name":"Ada"}
//
// nlohmann-json reports errors by throwing; this serde catches them and returns
// kInvalidArgument (encode) or kCorrupt (decode) with nlohmann's message.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "log/status.h"

namespace kvlog::kv::typed {

template <typename T>
class JsonSerde {
 public:
  using value_type = T;

  Result<std::string> Serialize(const T& value) const {
    try {
      // Invalid UTF-8 in a string fails here, not silently on the reader.
      return nlohmann::json(value).dump();
    } catch (const nlohmann::json::exception& e) {
      return MakeError(ErrorCode::kInvalidArgument, std::string("json: cannot encode: ") + e.what());
    }
  }

  Result<T> Deserialize(std::string_view bytes) const {
    try {
      return nlohmann::json::parse(bytes).template get<T>();
    } catch (const nlohmann::json::exception& e) {
      return MakeError(ErrorCode::kCorrupt, std::string("json: ") + e.what());
    }
  }
};

}  // namespace kvlog::kv::typed
