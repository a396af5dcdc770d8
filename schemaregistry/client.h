// A client for the Confluent Schema Registry REST API: register a schema under
// a subject and learn its id; look a schema up by id.
//
//   schemaregistry::ClientOptions options;
//   options.url = "http://localhost:8081";
//   auto registry = schemaregistry::Client::Open(options);
//   auto id = (*registry)->Register("users-value",
//       {.schema = kv::typed::ProtoSchemaText(*User::descriptor()->file()),
//        .schema_type = std::string(schemaregistry::kProtobuf), .references = {}});
//   kv::typed::ConfluentOptions framing{.schema_id = *id,
//                                       .check_schema_id = (*registry)->SchemaIdChecker()};
//
// The subset spoken (content type application/vnd.schemaregistry.v1+json):
//   POST /subjects/{subject}/versions      {"schema", "schemaType", "references"} -> {"id"}
//   GET  /schemas/ids/{id}                 -> {"schema", "schemaType", "references"}
//   GET  /subjects/{subject}/versions/latest -> {"subject", "id", "version", "schema", ...}
// The registry's errors ({"error_code", "message"}) map to ErrorCodes:
// 40401/40402/40403 and other 404s -> kNotFound, 409 (incompatible schema) ->
// kFailedPrecondition, 422 (invalid schema) -> kInvalidArgument, 401/403 ->
// kFailedPrecondition, 5xx and network failures -> kUnavailable. Every message
// names the request and repeats the registry's own message.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "log/status.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace kvlog::schemaregistry {

// schemaType values. The registry treats an absent schemaType as AVRO.
inline constexpr std::string_view kAvro = "AVRO";
inline constexpr std::string_view kProtobuf = "PROTOBUF";
inline constexpr std::string_view kJson = "JSON";

struct SchemaReference {
  std::string name;     // The import path, e.g. "common/money.proto".
  std::string subject;  // The subject it is registered under.
  int32_t version = 0;
  friend bool operator==(const SchemaReference&, const SchemaReference&) = default;
};

struct Schema {
  std::string schema;                  // The schema text (.proto source for PROTOBUF).
  std::string schema_type = "AVRO";    // kAvro, kProtobuf or kJson.
  std::vector<SchemaReference> references;
  friend bool operator==(const Schema&, const Schema&) = default;
};

struct RegisteredSchema {
  std::string subject;
  int32_t id = 0;
  int32_t version = 0;
  Schema schema;
};

struct ClientOptions {
  // "http://host:port", optionally with a path prefix ("http://proxy/registry").
  // "https://..." works too: Debian's cpp-httplib is built with OpenSSL.
  std::string url;
  // HTTP basic authentication, when set.
  std::optional<std::pair<std::string, std::string>> basic_auth;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
  std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
};

// Invariant: cache entries only ever hold answers the registry gave; ids are
// immutable in the registry, so a cached id -> schema never goes stale.
// Thread-safe: one request at a time goes out; cached answers need none.
class Client {
 public:
  // Checks the URL; does not contact the registry. kInvalidArgument for a URL
  // that is not http:// or https://.
  static Result<std::unique_ptr<Client>> Open(ClientOptions options);
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Registers `schema` under `subject` (a new version, or the existing one if
  // the subject already holds this schema) and returns its id.
  Result<int32_t> Register(std::string_view subject, const Schema& schema);
  // The schema with this id. kNotFound when the registry has none. Cached.
  Result<Schema> GetSchemaById(int32_t id);
  // The latest version registered under `subject`. Not cached.
  Result<RegisteredSchema> GetLatest(std::string_view subject);

  // For kv::typed::ConfluentOptions::check_schema_id: OK when the registry
  // knows the id, its error otherwise. The client must outlive the function.
  std::function<Status(int32_t schema_id)> SchemaIdChecker();

  // Requests sent so far (cache hits send none).
  std::size_t requests_sent() const;

 private:
  struct Response;
  Client(ClientOptions options, std::string base_path, std::unique_ptr<httplib::Client> http);

  // Sends one request; returns the parsed JSON body text on 200, or the error.
  Result<std::string> Send(std::string_view method, const std::string& path, const std::string* body,
                           std::string_view what);

  const ClientOptions options_;
  const std::string base_path_;  // "" or "/prefix", no trailing slash.

  mutable std::mutex mu_;
  std::unique_ptr<httplib::Client> http_;                            // Guarded by mu_.
  std::map<int32_t, Schema> by_id_;                                  // Guarded by mu_.
  std::map<std::pair<std::string, std::string>, int32_t> registered_;  // (subject, schema) -> id. Guarded by mu_.
  std::size_t requests_sent_ = 0;                                    // Guarded by mu_.
};

// `text` with every byte outside A-Z a-z 0-9 - . _ ~ percent-encoded, for a
// subject in a URL path.
std::string EncodePathSegment(std::string_view text);

}  // namespace kvlog::schemaregistry
