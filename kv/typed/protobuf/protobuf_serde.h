// ProtobufSerde<M>: values as Protobuf messages, for any generated message
// type M, optionally framed in the Confluent Schema Registry wire format
// (kv/typed/protobuf/confluent_wire.h) so Confluent's consumers can read them.
//
//   kv::typed::ProtobufSerde<User> bare;                        // just the message
//   kv::typed::ProtobufSerde<User> framed({.confluent = kv::typed::ConfluentOptions{
//       .schema_id = id,                                         // from the registry
//       .check_schema_id = registry.SchemaIdChecker(),           // optional
//   }});
//
// With Confluent framing, Serialize writes schema_id and M's message indexes,
// found by M's full name in M's .proto file. Deserialize checks the magic
// byte, asks check_schema_id whether the schema id is known (by default only
// schema_id is), resolves the message indexes in M's own .proto file and
// requires them to name M: a value written as another message of the same
// file fails, naming both. The reader resolves indexes against the schema it
// was compiled with, so writer and reader are expected to share that file.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "log/status.h"

namespace kvlog::kv::typed {

struct ConfluentOptions {
  // The schema id written into every value: the id the Schema Registry gave
  // this message's .proto file under its subject.
  int32_t schema_id = 0;
  // Whether a schema id read from a value is one this reader accepts: OK, or
  // kNotFound for an unknown id (decoding then fails with kCorrupt, "unknown
  // schema id N"); any other error (a registry that cannot be reached) fails
  // decoding with that error's code. Empty: only schema_id is accepted.
  // Called on every decode, also from hooks on the client's applier, so it
  // must be cheap once warm (schemaregistry::Client caches what it learns).
  std::function<Status(int32_t schema_id)> check_schema_id;
};

struct ProtobufSerdeOptions {
  // Empty: the bare Protobuf encoding, no framing.
  std::optional<ConfluentOptions> confluent;
};

// The message-index path of the message called `full_name` (e.g.
// "shop.Account.Entry") in `file`: [1, 0] for the first message nested in the
// second top-level message. kNotFound when the file has no such message.
Result<std::vector<int32_t>> MessageIndexesByName(const google::protobuf::FileDescriptor& file,
                                                  std::string_view full_name);
// The message at `message_indexes` in `file`; kNotFound when there is none.
Result<const google::protobuf::Descriptor*> MessageAt(const google::protobuf::FileDescriptor& file,
                                                      std::span<const int32_t> message_indexes);

// The .proto source of `file`, as the Schema Registry takes it for
// schemaType PROTOBUF.
std::string ProtoSchemaText(const google::protobuf::FileDescriptor& file);

namespace internal {
// Encodes `message` (framed when options.confluent is set, with `indexes`).
Result<std::string> SerializeMessage(const google::protobuf::Message& message, const ProtobufSerdeOptions& options,
                                     std::span<const int32_t> indexes);
// Decodes `bytes` into `message`, clearing it first.
Status ParseMessage(std::string_view bytes, const ProtobufSerdeOptions& options, google::protobuf::Message& message);
}  // namespace internal

template <typename M>
  requires std::derived_from<M, google::protobuf::Message>
class ProtobufSerde {
 public:
  using value_type = M;

  explicit ProtobufSerde(ProtobufSerdeOptions options = {}) : options_(std::move(options)) {
    const google::protobuf::Descriptor* descriptor = M::descriptor();
    // A generated message is always in its own file, so this cannot fail.
    indexes_ = MessageIndexesByName(*descriptor->file(), descriptor->full_name()).value_or(std::vector<int32_t>{});
  }

  Result<std::string> Serialize(const M& message) const {
    return internal::SerializeMessage(message, options_, indexes_);
  }
  Result<M> Deserialize(std::string_view bytes) const {
    M message;
    KVLOG_RETURN_IF_ERROR(internal::ParseMessage(bytes, options_, message));
    return message;
  }

  // M's message-index path in its .proto file.
  const std::vector<int32_t>& message_indexes() const { return indexes_; }

 private:
  ProtobufSerdeOptions options_;
  std::vector<int32_t> indexes_;
};

}  // namespace kvlog::kv::typed
