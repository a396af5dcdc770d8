#include "kv/typed/protobuf/protobuf_serde.h"

#include <limits>

#include <fmt/format.h>

#include "kv/typed/protobuf/confluent_wire.h"

namespace kvlog::kv::typed {

using google::protobuf::Descriptor;
using google::protobuf::FileDescriptor;

Result<std::vector<int32_t>> MessageIndexesByName(const FileDescriptor& file, std::string_view full_name) {
  const Descriptor* descriptor = file.pool()->FindMessageTypeByName(std::string(full_name));
  if (descriptor == nullptr || descriptor->file() != &file) {
    return MakeError(ErrorCode::kNotFound,
                     "protobuf: no message " + std::string(full_name) + " in " + file.name());
  }
  std::vector<int32_t> indexes;
  for (const Descriptor* d = descriptor; d != nullptr; d = d->containing_type()) indexes.push_back(d->index());
  return std::vector<int32_t>(indexes.rbegin(), indexes.rend());
}

Result<const Descriptor*> MessageAt(const FileDescriptor& file, std::span<const int32_t> message_indexes) {
  auto not_found = [&] {
    return MakeError(ErrorCode::kNotFound,
                     "protobuf: no message at indexes " + confluent::FormatIndexes(message_indexes) + " in " +
                         file.name());
  };
  if (message_indexes.empty()) return not_found();
  const int32_t first = message_indexes[0];
  if (first < 0 || first >= file.message_type_count()) return not_found();
  const Descriptor* descriptor = file.message_type(first);
  for (int32_t index : message_indexes.subspan(1)) {
    if (index < 0 || index >= descriptor->nested_type_count()) return not_found();
    descriptor = descriptor->nested_type(index);
  }
  return descriptor;
}

std::string ProtoSchemaText(const FileDescriptor& file) { return file.DebugString(); }

namespace internal {

Result<std::string> SerializeMessage(const google::protobuf::Message& message, const ProtobufSerdeOptions& options,
                                     std::span<const int32_t> indexes) {
  if (!message.IsInitialized()) {
    return MakeError(ErrorCode::kInvalidArgument, "protobuf: " + message.GetTypeName() +
                                                      " is missing required fields: " +
                                                      message.InitializationErrorString());
  }
  std::string payload;
  if (!message.SerializeToString(&payload)) {
    return MakeError(ErrorCode::kInvalidArgument, "protobuf: cannot encode " + message.GetTypeName());
  }
  if (!options.confluent) return payload;
  if (indexes.empty()) {
    return MakeError(ErrorCode::kInternal, "protobuf: no message indexes for " + message.GetTypeName());
  }
  return confluent::EncodeFrame(options.confluent->schema_id, indexes, payload);
}

Status ParseMessage(std::string_view bytes, const ProtobufSerdeOptions& options, google::protobuf::Message& message) {
  std::string_view payload = bytes;
  if (options.confluent) {
    auto frame = confluent::DecodeFrame(bytes);
    KVLOG_RETURN_IF_ERROR(frame);
    const ConfluentOptions& confluent = *options.confluent;
    if (confluent.check_schema_id) {
      if (auto known = confluent.check_schema_id(frame->schema_id); !known) {
        // Only a definite "no such id" makes the value corrupt; a registry
        // that cannot be asked now keeps its own code (kUnavailable, ...).
        if (known.error().code() != ErrorCode::kNotFound) {
          return MakeError(known.error().code(), fmt::format("confluent: cannot check schema id {}: {}",
                                                             frame->schema_id, known.error().message()));
        }
        return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: unknown schema id {}: {}", frame->schema_id,
                                                          known.error().message()));
      }
    } else if (frame->schema_id != confluent.schema_id) {
      return MakeError(ErrorCode::kCorrupt, fmt::format("confluent: unknown schema id {}; this serde knows only "
                                                        "schema id {}",
                                                        frame->schema_id, confluent.schema_id));
    }
    const Descriptor* expected = message.GetDescriptor();
    auto named = MessageAt(*expected->file(), frame->message_indexes);
    if (!named) {
      return MakeError(ErrorCode::kCorrupt,
                       fmt::format("confluent: schema id {}: {}", frame->schema_id, named.error().message()));
    }
    if (*named != expected) {
      return MakeError(ErrorCode::kCorrupt,
                       fmt::format("confluent: schema id {}, message indexes {} name {}, but this serde decodes {}",
                                   frame->schema_id, confluent::FormatIndexes(frame->message_indexes),
                                   (*named)->full_name(), expected->full_name()));
    }
    payload = frame->payload;
  }
  message.Clear();
  if (payload.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return MakeError(ErrorCode::kCorrupt,
                     fmt::format("protobuf: {} bytes is over the 2 GiB a Protobuf message can hold", payload.size()));
  }
  if (!message.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return MakeError(ErrorCode::kCorrupt, fmt::format("protobuf: bytes do not parse as {} ({} bytes)",
                                                      message.GetTypeName(), payload.size()));
  }
  return OkStatus();
}

}  // namespace internal
}  // namespace kvlog::kv::typed
