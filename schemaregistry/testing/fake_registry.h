// An in-process stand-in for a Confluent Schema Registry, for tests: no
// Schema Registry server can be installed on kvlog's machines. It serves, on
// 127.0.0.1 and an ephemeral port, exactly the subset schemaregistry::Client
// speaks, with the registry's documented behaviour for it:
//
//   POST /subjects/{subject}/versions  registers a new version, or returns the
//        id the same schema (text, type, references) already has: ids are per
//        schema, global across subjects. An empty schema or an unknown
//        schemaType is 422 with error_code 42201.
//   GET /schemas/ids/{id}              404 with error_code 40403 when unknown.
//   GET /subjects/{subject}/versions/latest  404 with error_code 40401 when unknown.
//
// Anything else is 404 with error_code 404. Compatibility checks are not
// modelled: every new schema is accepted as a new version.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}  // namespace httplib

namespace kvlog::schemaregistry::testing {

// Invariant: ids_ and schemas_ only grow; schemas_[id - 1] is the schema with
// that id. Thread-safe: the server thread and the test thread share it.
class FakeSchemaRegistry {
 public:
  // Starts serving and returns once the server accepts connections; ok() says
  // whether the port could be bound.
  FakeSchemaRegistry();
  ~FakeSchemaRegistry();  // Stops the server and joins its thread.

  FakeSchemaRegistry(const FakeSchemaRegistry&) = delete;
  FakeSchemaRegistry& operator=(const FakeSchemaRegistry&) = delete;

  bool ok() const { return port_ > 0; }
  // "http://127.0.0.1:<port>"
  std::string url() const;
  int port() const { return port_; }

  // While set, every request gets HTTP 500 with error_code 50001.
  void set_failing(bool failing);
  // Requests served so far, as "METHOD path".
  std::vector<std::string> requests() const;

 private:
  struct Stored {
    std::string canonical;  // The request's schema, type and references, as JSON.
    std::string body;       // What GET /schemas/ids/{id} returns.
  };

  void Route();

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listener_done_{false};  // listen_after_bind returned.
  int port_ = -1;

  mutable std::mutex mu_;
  bool failing_ = false;                               // Guarded by mu_.
  std::vector<Stored> schemas_;                        // Guarded by mu_. Index id - 1.
  std::map<std::string, std::vector<int>> subjects_;   // Guarded by mu_. Subject -> id of each version.
  std::vector<std::string> requests_;                  // Guarded by mu_.
};

}  // namespace kvlog::schemaregistry::testing
